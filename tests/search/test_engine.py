"""``search/engine.py``: the ask/tell driver — replay after a crash, out-of-order results, the measured front."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from supernas.errors import SearchError
from supernas.search import Candidate, EvalResult, Strategy, make_strategy, parse_constraint, run_search
from supernas.search.engine import NullRecorder, measured_front
from supernas.search.objectives import Metric
from supernas.search_space import SubnetConfig
from supernas.testing import SYNTHETIC_SPEC, SyntheticEvaluator, tiny_space

STRATEGIES = ["random", "nsga2", "optuna", "linas"]


@pytest.mark.parametrize("name", STRATEGIES)
@pytest.mark.parametrize("kill_after", [1, 7, 19])
def test_a_killed_search_replayed_from_its_commits_ends_like_an_uninterrupted_one(
    name: str, kill_after: int, strategy: Callable[..., Strategy], recording: type, crashing: type
) -> None:
    full = run_search(strategy(name), SyntheticEvaluator(), budget=24)
    first = recording()
    with pytest.raises(KeyboardInterrupt):
        run_search(strategy(name), crashing(kill_after), budget=24, recorder=first)
    assert len(first.committed) == kill_after
    second, evaluator = recording(), SyntheticEvaluator()
    resumed = run_search(strategy(name), evaluator, budget=24, recorder=second, history=first.committed)
    assert evaluator.calls == 24 - kill_after  # nothing measured twice
    assert not set(second.committed) & set(first.committed)
    assert [t.config.arch_id for t in resumed.trials] == [t.config.arch_id for t in full.trials]
    assert [t.config.arch_id for t in resumed.front] == [t.config.arch_id for t in full.front]


@pytest.mark.parametrize("name", ["linas", "nsga2"])
def test_out_of_order_results_failures_and_constraints(
    name: str, strategy: Callable[..., Strategy], reversed_evaluator: type, objectives: tuple[Metric, ...]
) -> None:
    result = run_search(strategy(name, constraints=["latency_ms<=1.0"]), reversed_evaluator(), budget=24)
    failed = [t for t in result.trials if t.metrics is None]
    assert failed and len(result.trials) == 24  # failures count against the budget
    assert result.front and all(t.metrics is not None and t.metrics["latency_ms"] <= 1.0 for t in result.front)
    assert result.front == measured_front(result.trials, objectives, [parse_constraint("latency_ms<=1.0")])


def test_hypervolume_never_decreases(strategy: Callable[..., Strategy]) -> None:
    result = run_search(strategy("random"), SyntheticEvaluator(), budget=30)
    assert all(b >= a - 1e-12 for a, b in zip(result.hypervolumes, result.hypervolumes[1:]))


def test_a_budget_below_one_is_refused_naming_the_field(strategy: Callable[..., Strategy]) -> None:
    with pytest.raises(SearchError, match=r"^budget 0 is out of range") as info:
        run_search(strategy("random"), SyntheticEvaluator(), budget=0)
    assert info.value.field == "budget"


def test_an_evaluator_that_drops_a_result_stops_the_search(strategy: Callable[..., Strategy]) -> None:
    class Forgetful(SyntheticEvaluator):
        def evaluate(self, configs: Sequence[SubnetConfig], on_result: Callable[[int, EvalResult], None]) -> None:
            super().evaluate(configs[1:], lambda i, r: on_result(i + 1, r))  # never reports the first config

    with pytest.raises(SearchError, match="no result for 1 of 6 configs"):
        run_search(strategy("random"), Forgetful(), budget=6)


def test_a_budget_beyond_the_space_stalls_into_an_error(objectives: tuple[Metric, ...]) -> None:
    space = tiny_space(
        depth=(1,),
        embed_dim=(16,),
        heads=(1,),
        mlp_ratio=(1.0,),
        loops=(1,),
        lora_rank=(0,),
        weight_bits=(8, 32),
        act_bits=(32,),
        reduction_layers=(),
        keep_ratio=(1.0,),
    )
    s = make_strategy("random", space, SYNTHETIC_SPEC, objectives, [], 0, 2)
    with pytest.raises(SearchError, match=r"proposed no unmeasured architecture in 25 batches; 2 of the budget 3"):
        run_search(s, SyntheticEvaluator(space, SYNTHETIC_SPEC), budget=3)


def test_the_recorder_sees_each_batch_result_and_front_in_order(strategy: Callable[..., Strategy]) -> None:
    events: list[tuple[str, int]] = []

    class Log(NullRecorder):
        def on_batch(self, iteration: int, candidates: Sequence[Candidate]) -> None:
            events.append(("batch", len(candidates)))

        def on_result(self, iteration: int, config: SubnetConfig, result: EvalResult) -> None:
            events.append(("result", iteration))

        def on_front(self, iteration: int, members: list[str], hypervolume: float, n_evaluated: int) -> None:
            events.append(("front", n_evaluated))

    result = run_search(strategy("random"), SyntheticEvaluator(), budget=8, recorder=Log())
    assert events == [
        ("batch", 6),
        *[("result", 0)] * 6,
        ("front", 6),
        ("batch", 2),
        *[("result", 1)] * 2,
        ("front", 8),
    ]
    assert result.evaluated_per_iteration == [6, 8] and len(result.hypervolumes) == 2
