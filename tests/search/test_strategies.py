"""``search/strategies.py``: every strategy is deterministic, never measures twice and reaches its budget."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from supernas.errors import SearchError
from supernas.search import Strategy, make_strategy, run_search
from supernas.search.objectives import Metric
from supernas.search_space import count_architectures
from supernas.search_space.enumerate import enumerate_configs
from supernas.testing import SYNTHETIC_SPACE, SYNTHETIC_SPEC, SyntheticEvaluator, tiny_space

STRATEGIES = ["random", "nsga2", "optuna", "linas"]


def test_an_unknown_strategy_names_the_valid_ones(objectives: tuple[Metric, ...]) -> None:
    with pytest.raises(SearchError, match="unknown strategy 'grid'; valid: linas, nsga2, random, optuna"):
        make_strategy("grid", SYNTHETIC_SPACE, SYNTHETIC_SPEC, objectives, [], 0, 4)


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategies_are_deterministic_and_measure_each_architecture_once(
    name: str, strategy: Callable[..., Strategy]
) -> None:
    runs = []
    for seed in (0, 0, 1):
        evaluator = SyntheticEvaluator()
        result = run_search(strategy(name, seed), evaluator, budget=30)
        assert len(result.trials) == 30 == evaluator.calls
        assert len({t.config.arch_id for t in result.trials}) == 30
        runs.append([t.config.arch_id for t in result.trials])
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_linas_returns_only_measured_configs_and_attaches_predictions(
    strategy: Callable[..., Strategy], recording: type
) -> None:
    rec = recording()
    s = strategy("linas")
    result = run_search(s, SyntheticEvaluator(), budget=18, recorder=rec)
    measured = {t.config.arch_id for t in result.trials}
    assert {t.config.arch_id for t in result.front} <= measured
    assert set(s.last_fits) == {"accuracy", "latency_ms"}
    later = s.ask(6)
    assert later and all(c.predictions and set(c.predictions) == {"accuracy", "latency_ms"} for c in later)
    assert not {c.config.arch_id for c in later} & measured
    assert rec.reference[0] == 0.0  # accuracy's natural bound


@pytest.mark.parametrize("name", ["random", "nsga2", "linas"])  # optuna's samplers may stall (the driver stops)
def test_strategies_reach_the_budget_in_a_small_well_explored_space(
    name: str, objectives: tuple[Metric, ...], fast: dict[str, dict[str, int]]
) -> None:
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
    s = make_strategy(name, space, SYNTHETIC_SPEC, objectives, [], 0, 8, **fast.get(name, {}))
    result = run_search(s, SyntheticEvaluator(space, SYNTHETIC_SPEC), budget=budget)
    assert len(result.trials) == budget and len({t.config.arch_id for t in result.trials}) == budget


@pytest.mark.parametrize("batch", [1, 2, 3])
@pytest.mark.parametrize("name", ["linas", "nsga2", "random", "optuna"])
def test_every_strategy_reaches_the_full_budget_with_small_batches(
    name: str, batch: int, objectives: tuple[Metric, ...], fast: dict[str, dict[str, int]]
) -> None:
    budget = 10
    s = make_strategy(name, SYNTHETIC_SPACE, SYNTHETIC_SPEC, objectives, [], 0, batch, **fast.get(name, {}))
    evaluator = SyntheticEvaluator()
    result = run_search(s, evaluator, budget=budget)
    assert len({t.config.arch_id for t in result.trials}) == budget == evaluator.calls


@pytest.mark.parametrize("name", ["linas", "nsga2", "random", "optuna"])
def test_an_exhaustive_budget_measures_every_architecture(
    name: str, objectives: tuple[Metric, ...], fast: dict[str, dict[str, int]]
) -> None:
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
    s = make_strategy(name, space, SYNTHETIC_SPEC, objectives, [], 0, 2, **fast.get(name, {}))
    result = run_search(s, SyntheticEvaluator(space, SYNTHETIC_SPEC), budget=size)
    assert {t.config.arch_id for t in result.trials} == {c.arch_id for c in enumerate_configs(space)}
