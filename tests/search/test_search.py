"""Search core: objectives, strategies, the driver, replay after a crash, the synthetic problem."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from supernas.errors import SearchError
from supernas.search import (
    EvalResult,
    Trial,
    hypervolume,
    make_strategy,
    nondominated,
    parse_constraint,
    parse_objectives,
    run_search,
)
from supernas.search.engine import measured_front
from supernas.search.objectives import to_minimization
from supernas.search_space import SubnetConfig, count_architectures
from supernas.search_space.enumerate import enumerate_configs
from supernas.testing import SYNTHETIC_SPACE, SYNTHETIC_SPEC, SyntheticEvaluator

OBJECTIVES = parse_objectives("accuracy,latency_ms")
STRATEGIES = ["random", "nsga2", "optuna", "linas"]
FAST = {"linas": {"population": 30, "generations": 10}}


def strategy(name: str, seed: int = 0, constraints: Sequence[str] = ()):  # type: ignore[no-untyped-def]
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


def test_objective_and_constraint_parsing() -> None:
    assert [m.direction for m in parse_objectives("accuracy, latency_ms,params")] == ["max", "min", "min"]
    for text, needle in [
        ("accuracy,speed", "unknown objective 'speed'; valid: accuracy, latency_ms"),
        ("accuracy,accuracy", "repeats an objective"),
        ("accuracy", "at least two"),
    ]:
        with pytest.raises(SearchError, match=needle):
            parse_objectives(text)
    c = parse_constraint(" latency_ms <= 2.5 ")
    assert (c.metric, c.op, c.bound, str(c)) == ("latency_ms", "<=", 2.5, "latency_ms<=2.5")
    assert c.violation(3.0) == 0.5 and parse_constraint("accuracy>=0.9").violation(0.95) < 0
    for text in ("latency_ms<2", "latency_ms<=fast", "<=3", "speed<=3"):
        with pytest.raises(SearchError, match=r"^constraints ") as info:
            parse_constraint(text)
        assert info.value.field == "constraints"
    with pytest.raises(SearchError, match="unknown strategy 'grid'; valid: linas, nsga2, random, optuna"):
        make_strategy("grid", SYNTHETIC_SPACE, SYNTHETIC_SPEC, OBJECTIVES, [], 0, 4)


def test_hypervolume_of_a_hand_computed_front() -> None:
    F = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0]])
    assert list(nondominated(F)) == [0, 1, 2]
    assert hypervolume(F, np.array([4.0, 4.0])) == pytest.approx(6.0)  # 3 + 2 + 1 unit squares
    assert hypervolume(np.array([[5.0, 5.0]]), np.array([4.0, 4.0])) == 0.0


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategies_are_deterministic_and_measure_each_architecture_once(name: str) -> None:
    runs = []
    for seed in (0, 0, 1):
        evaluator = SyntheticEvaluator()
        result = run_search(strategy(name, seed), evaluator, budget=30)
        assert len(result.trials) == 30 == evaluator.calls
        assert len({t.config.arch_id for t in result.trials}) == 30
        runs.append([t.config.arch_id for t in result.trials])
    assert runs[0] == runs[1] and runs[0] != runs[2]


@pytest.mark.parametrize("name", STRATEGIES)
@pytest.mark.parametrize("kill_after", [1, 7, 19])
def test_a_killed_search_replayed_from_its_commits_ends_like_an_uninterrupted_one(name: str, kill_after: int) -> None:
    full = run_search(strategy(name), SyntheticEvaluator(), budget=24)
    first = Recording()
    with pytest.raises(KeyboardInterrupt):
        run_search(strategy(name), Crashing(kill_after), budget=24, recorder=first)
    assert len(first.committed) == kill_after
    second, evaluator = Recording(), SyntheticEvaluator()
    resumed = run_search(strategy(name), evaluator, budget=24, recorder=second, history=first.committed)
    assert evaluator.calls == 24 - kill_after  # nothing measured twice
    assert not set(second.committed) & set(first.committed)
    assert [t.config.arch_id for t in resumed.trials] == [t.config.arch_id for t in full.trials]
    assert [t.config.arch_id for t in resumed.front] == [t.config.arch_id for t in full.front]


@pytest.mark.parametrize("name", ["linas", "nsga2"])
def test_out_of_order_results_failures_and_constraints(name: str) -> None:
    result = run_search(strategy(name, constraints=["latency_ms<=1.0"]), Reversed(), budget=24)
    failed = [t for t in result.trials if t.metrics is None]
    assert failed and len(result.trials) == 24  # failures count against the budget
    assert result.front and all(t.metrics is not None and t.metrics["latency_ms"] <= 1.0 for t in result.front)
    assert result.front == measured_front(result.trials, OBJECTIVES, [parse_constraint("latency_ms<=1.0")])


def test_linas_returns_only_measured_configs_and_attaches_predictions() -> None:
    rec = Recording()
    s = strategy("linas")
    result = run_search(s, SyntheticEvaluator(), budget=18, recorder=rec)
    measured = {t.config.arch_id for t in result.trials}
    assert {t.config.arch_id for t in result.front} <= measured
    assert set(s.last_fits) == {"accuracy", "latency_ms"}
    later = s.ask(6)
    assert later and all(c.predictions and set(c.predictions) == {"accuracy", "latency_ms"} for c in later)
    assert not {c.config.arch_id for c in later} & measured
    assert rec.reference[0] == 0.0  # accuracy's natural bound


def test_hypervolume_never_decreases_and_the_exact_front_is_enumerable() -> None:
    result = run_search(strategy("random"), SyntheticEvaluator(), budget=30)
    assert all(b >= a - 1e-12 for a, b in zip(result.hypervolumes, result.hypervolumes[1:]))
    configs = list(enumerate_configs(SYNTHETIC_SPACE))
    assert len(configs) == count_architectures(SYNTHETIC_SPACE) == len({c.arch_id for c in configs})
    F = to_minimization([{"accuracy": 0.5, "latency_ms": 1.0}], OBJECTIVES)
    assert F.tolist() == [[-0.5, 1.0]]


@pytest.mark.parametrize("name", ["random", "nsga2", "linas"])  # optuna's samplers may stall (the driver stops)
def test_strategies_reach_the_budget_in_a_small_well_explored_space(name: str) -> None:
    from supernas.testing import tiny_space

    space = tiny_space(
        depth=(1, 2),
        embed_dim=(16,),
        loops=(1,),
        lora_rank=(0,),
        weight_bits=(8, 32),
        act_bits=(32,),
        keep_ratio=(1.0,),
    )
    size = count_architectures(space)
    budget = size - 2  # nearly all of it: NSGA-II's mating runs out of non-duplicate offspring on the way
    s = make_strategy(name, space, SYNTHETIC_SPEC, OBJECTIVES, [], 0, 8, **FAST.get(name, {}))
    result = run_search(s, SyntheticEvaluator(space, SYNTHETIC_SPEC), budget=budget)
    assert len(result.trials) == budget and len({t.config.arch_id for t in result.trials}) == budget


@pytest.mark.parametrize("batch", [1, 2, 3])
@pytest.mark.parametrize("name", ["linas", "nsga2", "random", "optuna"])
def test_every_strategy_reaches_the_full_budget_with_small_batches(name: str, batch: int) -> None:
    budget = 10
    s = make_strategy(name, SYNTHETIC_SPACE, SYNTHETIC_SPEC, OBJECTIVES, [], 0, batch, **FAST.get(name, {}))
    evaluator = SyntheticEvaluator()
    result = run_search(s, evaluator, budget=budget)
    assert len({t.config.arch_id for t in result.trials}) == budget == evaluator.calls


@pytest.mark.parametrize("name", ["linas", "nsga2", "random", "optuna"])
def test_an_exhaustive_budget_measures_every_architecture(name: str) -> None:
    from supernas.testing import tiny_space

    space = tiny_space(
        depth=(1,),
        embed_dim=(16,),
        heads=(1,),
        mlp_ratio=(1.0, 2.0),
        loops=(1,),
        lora_rank=(0,),
        weight_bits=(8, 32),
        act_bits=(32,),
        reduction_layers=(),
        keep_ratio=(1.0,),
    )
    size = count_architectures(space)
    s = make_strategy(name, space, SYNTHETIC_SPEC, OBJECTIVES, [], 0, 2, **FAST.get(name, {}))
    result = run_search(s, SyntheticEvaluator(space, SYNTHETIC_SPEC), budget=size)
    assert {t.config.arch_id for t in result.trials} == {c.arch_id for c in enumerate_configs(space)}
