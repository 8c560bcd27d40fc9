"""Searches backed by the store: create, run, resume and report.

Everything a search needs to continue lives in the database: its settings (the
strategy is rebuilt from name, seed and options) and every committed result (the
strategy is replayed over them). Evaluations left RUNNING by a killed process are
queued again; COMPLETE ones are never measured twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from supernas.errors import SearchError
from supernas.predictors import FitResult
from supernas.search.engine import EvalResult, Evaluator, Progress, SearchResult, run_search
from supernas.search.objectives import Constraint, Metric, needed_metrics, parse_constraint, parse_objectives
from supernas.search.strategies import STRATEGIES, Candidate, Trial, make_strategy
from supernas.search_space import InputSpec, SearchSpace, SubnetConfig
from supernas.store import SearchRecord, Store, SupernetRecord


@dataclass(frozen=True)
class SearchRequest:
    """A validated search request; building one writes nothing."""

    objectives: tuple[Metric, ...]  # at least two
    constraints: tuple[Constraint, ...]  # may be empty
    strategy: str  # a STRATEGIES name
    budget: int  # distinct architectures to measure
    batch_size: int  # architectures per iteration
    seed: int  # seeds the strategy
    options: dict[str, Any] = field(default_factory=dict)  # strategy options

    @classmethod
    def parse(
        cls,
        objectives: str | Sequence[str],
        constraints: Sequence[str],
        strategy: str,
        budget: int,
        batch_size: int,
        seed: int,
        options: Mapping[str, Any] | None = None,
    ) -> SearchRequest:
        if strategy not in STRATEGIES:
            raise SearchError(f"--strategy: unknown strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
        if batch_size < 1:
            raise SearchError(f"--batch {batch_size} is out of range; valid: an integer >= 1")
        if budget < batch_size:
            raise SearchError(f"--budget {budget} is smaller than --batch {batch_size}; valid: a budget >= the batch")
        return cls(
            objectives=parse_objectives(objectives),
            constraints=tuple(parse_constraint(c) for c in constraints),
            strategy=strategy,
            budget=budget,
            batch_size=batch_size,
            seed=seed,
            options=dict(options or {}),
        )

    @property
    def metrics(self) -> list[str]:
        """Metrics every evaluation must return."""
        return needed_metrics(self.objectives, self.constraints)


def register_supernet(store: Store, loaded: Any, stem: str, metrics: Mapping[str, Any] | None = None) -> SupernetRecord:
    """Register a loaded checkpoint (idempotent by sha256); the name is ``stem``, made unique if taken."""
    existing = store.find_supernet_by_sha(loaded.sha256)
    if existing is not None:
        return existing
    taken = {s.name for s in store.list_supernets()}
    name = f"{stem}-{loaded.sha256[:8]}" if stem in taken else stem
    return store.add_supernet(
        name=name,
        task=loaded.task,
        space=loaded.supernet.space.to_dict(),
        spec=loaded.supernet.spec.to_dict(),
        class_names=list(loaded.class_names),
        checkpoint_path=str(loaded.path.resolve()),
        checkpoint_sha256=loaded.sha256,
        train_metrics=dict(metrics if metrics is not None else loaded.metrics),
    )


def create_search(
    store: Store,
    name: str,
    request: SearchRequest,
    supernet_name: str | None,
    settings: Mapping[str, Any] | None = None,
) -> SearchRecord:
    """Record a new search (status RUNNING) with everything needed to run or resume it."""
    return store.create_search(
        name=name,
        strategy=request.strategy,
        objectives=[{"name": m.name, "direction": m.direction} for m in request.objectives],
        constraints=[str(c) for c in request.constraints],
        budget=request.budget,
        batch_size=request.batch_size,
        seed=request.seed,
        supernet_name=supernet_name,
        settings={"strategy_options": request.options, **(settings or {})},
    )


def request_of(record: SearchRecord) -> SearchRequest:
    """The request a stored search was created with."""
    return SearchRequest.parse(
        [o["name"] for o in record.objectives],
        record.constraints,
        record.strategy,
        record.budget,
        record.batch_size,
        record.seed,
        record.settings.get("strategy_options", {}),
    )


class StoreRecorder:
    """Commits every step of a running search, each in its own transaction."""

    def __init__(self, store: Store, search: str) -> None:
        self.store, self.search = store, search

    def on_batch(self, iteration: int, candidates: Sequence[Candidate]) -> None:
        self.store.add_pending(
            self.search, iteration, [(c.config.arch_id, c.config.to_dict(), c.predictions) for c in candidates]
        )

    def on_start(self, iteration: int, config: SubnetConfig) -> None:
        self.store.mark_running(self.search, config.arch_id)

    def on_result(self, iteration: int, config: SubnetConfig, result: EvalResult) -> None:
        if result.metrics is not None:
            self.store.complete(
                self.search, config.arch_id, result.metrics, result.worker, result.device, result.seconds
            )
        else:
            self.store.fail(
                self.search, config.arch_id, result.error or "failed", result.worker, result.device, result.seconds
            )

    def on_front(self, iteration: int, members: list[str], hypervolume: float, n_evaluated: int) -> None:
        self.store.add_front(self.search, iteration, members, hypervolume, n_evaluated)

    def on_fits(self, iteration: int, fits: Mapping[str, FitResult]) -> None:
        for objective, fit in fits.items():
            self.store.add_predictor_fit(
                self.search, iteration, objective, fit.kind, fit.kendall_tau, fit.mape, fit.n_train, fit.to_dict()
            )

    def on_reference(self, reference: list[float]) -> None:
        self.store.set_hv_reference(self.search, reference)


def history(store: Store, search: str) -> dict[str, Trial]:
    """Committed results of ``search`` (COMPLETE and FAILED), by arch_id."""
    out = {}
    for e in store.evaluations(search):
        if e.status in ("COMPLETE", "FAILED"):
            out[e.arch_id] = Trial(SubnetConfig.from_dict(e.config), e.metrics if e.status == "COMPLETE" else None)
    return out


def run_stored_search(
    store: Store,
    search: str,
    space: SearchSpace,
    spec: InputSpec,
    evaluator: Evaluator,
    progress: Callable[[Progress], Any] | None = None,
) -> SearchResult:
    """Run (or resume) the stored search ``search`` to its budget."""
    record = store.get_search(search)
    request = request_of(record)
    strategy = make_strategy(
        request.strategy,
        space,
        spec,
        request.objectives,
        request.constraints,
        request.seed,
        request.batch_size,
        **request.options,
    )
    store.reset_running(search)
    store.set_search_status(search, "RUNNING")
    try:
        result = run_search(
            strategy,
            evaluator,
            request.budget,
            StoreRecorder(store, search),
            history(store, search),
            record.hv_reference,
            progress,
        )
    except KeyboardInterrupt:
        store.set_search_status(search, "INTERRUPTED")
        raise
    except Exception:
        store.set_search_status(search, "FAILED")
        raise
    store.set_search_status(search, "COMPLETE")
    return result


def measured_front(store: Store, search: str) -> list[Any]:
    """The members of the latest stored front, as evaluation records (measured, never predicted)."""
    fronts = store.fronts(search)
    if not fronts:
        return []
    by_arch = {e.arch_id: e for e in store.evaluations(search, "COMPLETE")}
    return [by_arch[a] for a in fronts[-1].members if a in by_arch]


def load_registered_supernet(store: Store, name: str) -> Any:
    """The registered supernet ``name``, refusing a checkpoint that changed since registration."""
    from supernas.errors import CheckpointError
    from supernas.supernet.checkpoint import load_supernet

    record = store.get_supernet(name)
    loaded = load_supernet(record.checkpoint_path)
    if loaded.sha256 != record.checkpoint_sha256:
        raise CheckpointError(f"supernet {name!r}: {record.checkpoint_path!r} changed since it was registered")
    return loaded


def evaluation_row(e: Any) -> dict[str, Any]:
    """An evaluation record as a plain row (for JSON output and export choices)."""
    return {
        "arch_id": e.arch_id,
        "metrics": e.metrics,
        "config": e.config,
        "iteration": e.iteration,
        "predictions": e.predictions,
        "device": e.device,
    }


def front_rows(store: Store, name: str) -> list[dict[str, Any]]:
    """The measured front of ``name`` as plain rows, best first in the first objective."""
    record = store.get_search(name)
    first = record.objectives[0]
    rows = [evaluation_row(e) for e in measured_front(store, name)]
    return sorted(rows, key=lambda r: r["metrics"][first["name"]], reverse=first["direction"] == "max")
