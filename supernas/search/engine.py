"""The ask/tell driver: one loop shared by every strategy and evaluator.

``run_search`` asks the strategy for a batch, answers candidates it already has
results for from ``history`` (this is how a killed search resumes: the strategy
is rebuilt from its seed and replayed over the stored results), measures the
rest through the evaluator, tells the strategy, and records the measured front.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from supernas.errors import SearchError
from supernas.predictors import FitResult
from supernas.search.objectives import Constraint, Metric, to_minimization, violations
from supernas.search.pareto import hypervolume, nondominated, reference_point
from supernas.search.strategies import Candidate, LinasStrategy, Strategy, Trial
from supernas.search_space import SubnetConfig

STALL_LIMIT = 25  # consecutive batches without a new architecture before the search fails


@dataclass(frozen=True)
class EvalResult:
    """What an evaluator reports for one config."""

    metrics: dict[str, float] | None  # None when the evaluation failed
    error: str | None = None  # why it failed
    worker: str | None = None  # who measured it
    device: str | None = None  # where it was measured
    seconds: float = 0.0  # evaluation wall time


class Evaluator(Protocol):
    """Measures configs; reports each result as soon as it is known, in any order."""

    def evaluate(self, configs: Sequence[SubnetConfig], on_result: Callable[[int, EvalResult], None]) -> None:
        """Call ``on_result(index into configs, result)`` once per config."""
        ...


class Recorder(Protocol):
    """Persists a search as it runs (see ``supernas.api.searches.StoreRecorder`` for the SQL one)."""

    def on_batch(self, iteration: int, candidates: Sequence[Candidate]) -> None: ...
    def on_start(self, iteration: int, config: SubnetConfig) -> None: ...
    def on_result(self, iteration: int, config: SubnetConfig, result: EvalResult) -> None: ...
    def on_front(self, iteration: int, members: list[str], hypervolume: float, n_evaluated: int) -> None: ...
    def on_fits(self, iteration: int, fits: Mapping[str, FitResult]) -> None: ...
    def on_reference(self, reference: list[float]) -> None: ...


class NullRecorder:
    """Keeps nothing."""

    def on_batch(self, iteration: int, candidates: Sequence[Candidate]) -> None:
        pass

    def on_start(self, iteration: int, config: SubnetConfig) -> None:
        pass

    def on_result(self, iteration: int, config: SubnetConfig, result: EvalResult) -> None:
        pass

    def on_front(self, iteration: int, members: list[str], hypervolume: float, n_evaluated: int) -> None:
        pass

    def on_fits(self, iteration: int, fits: Mapping[str, FitResult]) -> None:
        pass

    def on_reference(self, reference: list[float]) -> None:
        pass


@dataclass(frozen=True)
class Progress:
    """Where a search stands, for progress displays."""

    iteration: int  # 0-based iteration just finished
    n_evaluated: int  # distinct architectures measured (COMPLETE + FAILED)
    budget: int  # target of n_evaluated
    hypervolume: float  # of the measured front
    front_size: int  # members of the measured front


@dataclass
class SearchResult:
    """The measured front and how the search got there."""

    front: list[Trial]  # feasible, measured, non-dominated: never predictions
    trials: list[Trial]  # every measured trial in order
    hypervolumes: list[float] = field(default_factory=list)  # after each iteration
    evaluated_per_iteration: list[int] = field(default_factory=list)  # n_evaluated after each iteration
    reference: list[float] | None = None  # hypervolume reference point (minimisation form)


def measured_front(
    trials: Sequence[Trial], objectives: Sequence[Metric], constraints: Sequence[Constraint]
) -> list[Trial]:
    """Feasible, COMPLETE, non-dominated trials (ties kept once per architecture)."""
    ok = [t for t in trials if t.metrics is not None]
    if constraints:
        G = violations([t.metrics for t in ok], constraints)
        ok = [t for t, g in zip(ok, G) if (g <= 0).all()]
    if not ok:
        return []
    F = to_minimization([t.metrics for t in ok], objectives)
    return [ok[i] for i in nondominated(F)]


def run_search(
    strategy: Strategy,
    evaluator: Evaluator,
    budget: int,
    recorder: Recorder | None = None,
    history: Mapping[str, Trial] | None = None,
    reference: Sequence[float] | None = None,
    progress: Callable[[Progress], Any] | None = None,
) -> SearchResult:
    """Run ``strategy`` until ``budget`` distinct architectures are measured."""
    if budget < 1:
        raise SearchError(f"{budget} is out of range; valid: an integer >= 1", field="budget")
    recorder = recorder or NullRecorder()
    history = dict(history or {})
    objectives, constraints = strategy.objectives, strategy.constraints
    trials: dict[str, Trial] = {}
    result = SearchResult(front=[], trials=[], reference=None if reference is None else list(reference))
    iteration, stalled = 0, 0
    while len(trials) < budget and stalled < STALL_LIMIT:
        candidates = _unique(strategy.ask(min(strategy.batch_size, budget - len(trials))))
        new = [c for c in candidates if c.config.arch_id not in trials]
        new = new[: budget - len(trials)]
        if (
            isinstance(strategy, LinasStrategy)
            and strategy.last_fits
            and any(c.config.arch_id not in history for c in new)
        ):
            recorder.on_fits(iteration, strategy.last_fits)
        _measure(new, iteration, evaluator, recorder, history, trials)
        stalled = 0 if new else stalled + 1
        if all(c.config.arch_id in trials for c in candidates):  # else the budget ran out mid-batch
            strategy.tell([trials[c.config.arch_id] for c in candidates])
        if result.reference is None and any(t.metrics for t in trials.values()):
            ok = [t.metrics for t in trials.values() if t.metrics is not None]
            result.reference = reference_point(
                to_minimization(ok, objectives), [m.direction for m in objectives]
            ).tolist()
            recorder.on_reference(result.reference)
        _record_front(result, trials, objectives, constraints, iteration, recorder)
        if progress is not None:
            progress(Progress(iteration, len(trials), budget, result.hypervolumes[-1], len(result.front)))
        iteration += 1
    if len(trials) < budget:
        raise SearchError(
            f"strategy {strategy.name!r} proposed no unmeasured architecture in {STALL_LIMIT} batches; "
            f"{len(trials)} of the budget {budget} measured (the space has {strategy.n_architectures} architectures)"
        )
    result.trials = list(trials.values())
    return result


def _unique(candidates: Sequence[Candidate]) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    for c in candidates:
        seen.setdefault(c.config.arch_id, c)
    return list(seen.values())


def _measure(
    new: Sequence[Candidate],
    iteration: int,
    evaluator: Evaluator,
    recorder: Recorder,
    history: Mapping[str, Trial],
    trials: dict[str, Trial],
) -> None:
    """Answer ``new`` from ``history`` where possible, measure the rest, record each result."""
    todo = [c for c in new if c.config.arch_id not in history]
    for c in new:
        if c.config.arch_id in history:
            trials[c.config.arch_id] = history[c.config.arch_id]
    if not todo:
        return
    recorder.on_batch(iteration, todo)
    for c in todo:
        recorder.on_start(iteration, c.config)
    results: dict[str, Trial] = {}

    def on_result(index: int, result: EvalResult) -> None:
        config = todo[index].config
        recorder.on_result(iteration, config, result)
        results[config.arch_id] = Trial(config, None if result.metrics is None else dict(result.metrics))

    evaluator.evaluate([c.config for c in todo], on_result)
    missing = [c.config.arch_id for c in todo if c.config.arch_id not in results]
    if missing:
        raise SearchError(f"the evaluator returned no result for {len(missing)} of {len(todo)} configs")
    for c in todo:  # in ask order, whatever order results arrived in
        trials[c.config.arch_id] = results[c.config.arch_id]


def _record_front(
    result: SearchResult,
    trials: Mapping[str, Trial],
    objectives: Sequence[Metric],
    constraints: Sequence[Constraint],
    iteration: int,
    recorder: Recorder,
) -> None:
    front = measured_front(list(trials.values()), objectives, constraints)
    F = to_minimization([t.metrics for t in front], objectives) if front else np.zeros((0, len(objectives)))
    hv = hypervolume(F, np.asarray(result.reference)) if result.reference is not None and front else 0.0
    result.front = front
    result.hypervolumes.append(hv)
    result.evaluated_per_iteration.append(len(trials))
    recorder.on_front(iteration, [t.config.arch_id for t in front], hv, len(trials))
