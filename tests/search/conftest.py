"""Shared helpers of the search tests: the synthetic problem's strategies, recorders and faulty evaluators."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from supernas.search import EvalResult, Strategy, Trial, make_strategy, parse_constraint, parse_objectives
from supernas.search.objectives import Metric
from supernas.search_space import SubnetConfig
from supernas.testing import SYNTHETIC_SPACE, SYNTHETIC_SPEC, SyntheticEvaluator

OBJECTIVES = parse_objectives("accuracy,latency_ms")
FAST = {"linas": {"population": 30, "generations": 10}}  # strategy options that keep LINAS quick


def make(name: str, seed: int = 0, constraints: Sequence[str] = ()) -> Strategy:
    """Strategy ``name`` on the synthetic problem, batches of 6."""
    return make_strategy(
        name,
        SYNTHETIC_SPACE,
        SYNTHETIC_SPEC,
        OBJECTIVES,
        [parse_constraint(c) for c in constraints],
        seed,
        6,
        **FAST.get(name, {}),
    )


class Recording:
    """A recorder that keeps what a SQL recorder would commit."""

    def __init__(self) -> None:
        self.committed: dict[str, Trial] = {}
        self.batches: list[list[str]] = []

    def on_batch(self, iteration: int, candidates: Sequence) -> None:  # type: ignore[type-arg]
        self.batches.append([c.config.arch_id for c in candidates])

    def on_start(self, iteration: int, config: SubnetConfig) -> None:
        pass

    def on_result(self, iteration: int, config: SubnetConfig, result: EvalResult) -> None:
        self.committed[config.arch_id] = Trial(config, result.metrics)

    def on_front(self, *args: object) -> None:
        pass

    def on_fits(self, *args: object) -> None:
        pass

    def on_reference(self, reference: list[float]) -> None:
        self.reference = reference


class Crashing(SyntheticEvaluator):
    """Dies after ``limit`` results, like a killed process."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def evaluate(self, configs: Sequence[SubnetConfig], on_result: Callable[[int, EvalResult], None]) -> None:
        def counted(i: int, r: EvalResult) -> None:
            if self.calls > self.limit:
                raise KeyboardInterrupt
            on_result(i, r)

        super().evaluate(configs, counted)


class Reversed(SyntheticEvaluator):
    """Reports results in reverse order, with every fifth one failed."""

    def evaluate(self, configs: Sequence[SubnetConfig], on_result: Callable[[int, EvalResult], None]) -> None:
        results: list[tuple[int, EvalResult]] = []
        super().evaluate(configs, lambda i, r: results.append((i, r)))
        for i, r in reversed(results):
            failed = int(configs[i].arch_id, 16) % 5 == 0
            on_result(i, EvalResult(None, "boom") if failed else r)


@pytest.fixture
def objectives() -> tuple[Metric, ...]:
    """accuracy (max) and latency_ms (min)."""
    return OBJECTIVES


@pytest.fixture
def fast() -> dict[str, dict[str, int]]:
    """Options per strategy name that keep the tests quick."""
    return FAST


@pytest.fixture
def strategy() -> Callable[..., Strategy]:
    """``strategy(name, seed=0, constraints=())``: a strategy on the synthetic problem."""
    return make


@pytest.fixture
def recording() -> type[Recording]:
    """The recorder class that keeps what a SQL recorder would commit."""
    return Recording


@pytest.fixture
def crashing() -> type[Crashing]:
    """``crashing(limit)``: a synthetic evaluator that dies after ``limit`` results."""
    return Crashing


@pytest.fixture
def reversed_evaluator() -> type[Reversed]:
    """A synthetic evaluator reporting in reverse order, every fifth result failed."""
    return Reversed
