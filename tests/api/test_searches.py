"""``api/searches.py``: validated requests, store-backed searches that resume from their commits, naming."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from supernas.api.searches import (
    MAX_SEED,
    SearchRequest,
    StoreRecorder,
    create_search,
    free_search_name,
    history,
    request_of,
    run_stored_search,
)
from supernas.errors import SearchError
from supernas.predictors import FitResult
from supernas.search import Candidate, EvalResult
from supernas.search_space import SubnetConfig, count_architectures, largest, smallest
from supernas.store import EvaluationStatus, Store
from supernas.testing import SYNTHETIC_SPEC, SyntheticEvaluator, tiny_space

SPACE = tiny_space(
    depth=(1, 2), embed_dim=(16,), loops=(1,), lora_rank=(0,), weight_bits=(8, 32), act_bits=(32,), keep_ratio=(1.0,)
)  # 72 architectures


def request(**overrides: object) -> SearchRequest:
    args: dict[str, object] = {
        "objectives": "accuracy,latency_ms",
        "constraints": [],
        "strategy": "random",
        "budget": 12,
        "batch_size": 4,
        "seed": 0,
    }
    return SearchRequest.parse(**{**args, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", create=True) as s:
        yield s


class Crashing(SyntheticEvaluator):
    """Raises ``error`` once ``limit`` results have been reported."""

    def __init__(self, limit: int, error: BaseException) -> None:
        super().__init__(SPACE, SYNTHETIC_SPEC)
        self.limit, self.error = limit, error

    def evaluate(self, configs: Sequence[SubnetConfig], on_result: Callable[[int, EvalResult], None]) -> None:
        def counted(i: int, r: EvalResult) -> None:
            if self.calls > self.limit:
                raise self.error
            on_result(i, r)

        super().evaluate(configs, counted)


def test_a_valid_request_keeps_what_it_was_given() -> None:
    r = request(constraints=["params<=5000", "latency_ms<=3"], strategy="optuna", options={"sampler": "tpe"})
    assert [m.name for m in r.objectives] == ["accuracy", "latency_ms"]
    assert [str(c) for c in r.constraints] == ["params<=5000", "latency_ms<=3"]
    assert (r.strategy, r.budget, r.batch_size, r.seed, r.options) == ("optuna", 12, 4, 0, {"sampler": "tpe"})
    assert r.metrics == ["accuracy", "latency_ms", "params"]  # objectives first, no repeats


@pytest.mark.parametrize("seed", [0, 1, MAX_SEED])
def test_seeds_cover_the_unsigned_32_bit_range(seed: int) -> None:
    assert MAX_SEED == 2**32 - 1 and request(seed=seed).seed == seed


@pytest.mark.parametrize(
    ("overrides", "field", "needle"),
    [
        ({"strategy": "grid"}, "strategy", "unknown strategy 'grid'; valid: linas, nsga2, random, optuna"),
        ({"seed": -1}, "seed", "-1 is out of range; valid: an integer in 0..4294967295"),
        ({"seed": 2**32}, "seed", "4294967296 is out of range"),
        ({"seed": 1.5}, "seed", "1.5 is out of range"),
        ({"budget": 0}, "budget", "0 is out of range; valid: an integer in 1..1000000"),
        ({"budget": 1_000_001}, "budget", "is out of range"),
        ({"budget": True}, "budget", "True is out of range"),
        ({"batch_size": 0}, "batch_size", "0 is out of range; valid: an integer in 1..10000"),
        ({"budget": 3}, "budget", "3 is smaller than `batch_size` 4; valid: a budget >= the batch"),
        ({"objectives": "accuracy"}, "objectives", "at least two objectives"),
        ({"constraints": ["speed<=1"]}, "constraints", "unknown metric 'speed'"),
        ({"strategy": "optuna", "options": {"sampler": "cmaes"}}, "sampler", "'cmaes' is not valid; valid: nsga2, tpe"),
    ],
)
def test_invalid_requests_name_the_field(overrides: dict[str, object], field: str, needle: str) -> None:
    with pytest.raises(SearchError, match=needle) as info:
        request(**overrides)
    assert info.value.field == field and str(info.value).startswith((f"{field} ", f"{field}:"))


def test_options_a_strategy_does_not_have_are_refused() -> None:
    with pytest.raises(SearchError, match="strategy 'random' has no option 'sampler'; valid: none"):
        request(options={"sampler": "tpe"})
    with pytest.raises(SearchError, match="strategy 'optuna' has no option 'population'; valid: sampler"):
        request(strategy="optuna", options={"population": "10"})


def test_strategy_for_refuses_a_budget_larger_than_the_space() -> None:
    assert count_architectures(SPACE) == 72
    assert request(budget=72).strategy_for(SPACE, SYNTHETIC_SPEC).name == "random"
    with pytest.raises(SearchError, match=r"^budget 73 is more than the 72 distinct architectures") as info:
        request(budget=73).strategy_for(SPACE, SYNTHETIC_SPEC)
    assert info.value.field == "budget"


def test_a_stored_search_runs_to_its_budget_and_records_everything(store: Store) -> None:
    r = request()
    record = create_search(store, "s", r, None, {"executor": "local"})
    assert record.status == "RUNNING" and record.settings == {"strategy_options": {}, "executor": "local"}
    assert request_of(record) == r
    seen: list[int] = []
    result = run_stored_search(
        store,
        "s",
        SPACE,
        SYNTHETIC_SPEC,
        SyntheticEvaluator(SPACE, SYNTHETIC_SPEC),
        on_start=lambda _, n: seen.append(n),
    )
    assert seen == [0]
    assert store.get_search("s").status == "COMPLETE"
    assert store.count_evaluations("s") == {"PENDING": 0, "RUNNING": 0, "COMPLETE": 12, "FAILED": 0}
    fronts = store.fronts("s")
    assert [f.n_evaluated for f in fronts] == [4, 8, 12]
    assert fronts[-1].members == [t.config.arch_id for t in result.front]
    assert store.get_search("s").hv_reference == result.reference


def test_a_killed_search_resumes_from_its_commits_and_ends_like_an_uninterrupted_one(store: Store) -> None:
    create_search(store, "full", request(), None)
    full = run_stored_search(store, "full", SPACE, SYNTHETIC_SPEC, SyntheticEvaluator(SPACE, SYNTHETIC_SPEC))
    create_search(store, "killed", request(), None)
    with pytest.raises(KeyboardInterrupt):
        run_stored_search(store, "killed", SPACE, SYNTHETIC_SPEC, Crashing(6, KeyboardInterrupt()))
    assert store.get_search("killed").status == "INTERRUPTED"
    assert store.count_evaluations("killed")[EvaluationStatus.COMPLETE] == 6
    assert len(history(store, "killed")) == 6
    evaluator = SyntheticEvaluator(SPACE, SYNTHETIC_SPEC)
    resumed = run_stored_search(store, "killed", SPACE, SYNTHETIC_SPEC, evaluator)
    assert evaluator.calls == 6  # the committed half is replayed, not measured again
    assert [t.config.arch_id for t in resumed.trials] == [t.config.arch_id for t in full.trials]
    assert store.fronts("killed")[-1].members == store.fronts("full")[-1].members
    assert store.get_search("killed").status == "COMPLETE"


def test_an_evaluator_error_marks_the_search_failed_and_releases_its_lease(store: Store) -> None:
    create_search(store, "s", request(), None)
    with pytest.raises(RuntimeError, match="device lost"):
        run_stored_search(store, "s", SPACE, SYNTHETIC_SPEC, Crashing(2, RuntimeError("device lost")))
    assert store.get_search("s").status == "FAILED"
    store.acquire_lease("s", "otherhost:1:x", 30.0)  # free again: another owner takes it at once


def test_history_holds_finished_evaluations_only(store: Store) -> None:
    create_search(store, "s", request(), None)
    a, b, c = smallest(SPACE), largest(SPACE), smallest(tiny_space(depth=(2,), loops=(1,)))
    store.add_pending("s", 0, [(x.arch_id, x.to_dict(), None) for x in (a, b, c)])
    store.complete("s", a.arch_id, {"accuracy": 0.5, "latency_ms": 1.0})
    store.fail("s", b.arch_id, "boom")
    got = history(store, "s")
    assert set(got) == {a.arch_id, b.arch_id}
    assert got[a.arch_id].metrics == {"accuracy": 0.5, "latency_ms": 1.0} and got[a.arch_id].config == a
    assert got[b.arch_id].metrics is None


def test_the_store_recorder_commits_each_step_after_its_guard(store: Store) -> None:
    create_search(store, "s", request(), None)
    a, b = smallest(SPACE), largest(SPACE)
    calls: list[str] = []
    recorder = StoreRecorder(store, "s", guard=lambda: calls.append("guard"))
    recorder.on_batch(0, [Candidate(a, {"accuracy": 0.4}), Candidate(b)])
    recorder.on_start(0, a)
    assert {e.arch_id: e.status for e in store.evaluations("s")} == {a.arch_id: "RUNNING", b.arch_id: "PENDING"}
    recorder.on_result(0, a, EvalResult({"accuracy": 0.5}, None, "w", "cpu", 0.25))
    recorder.on_start(0, b)
    recorder.on_result(0, b, EvalResult(None, "out of memory", "w", "cpu", 0.5))
    recorder.on_front(0, [a.arch_id], 0.3, 2)
    recorder.on_reference([0.0, 2.0])
    fit = FitResult("ridge", None, 0.7, 0.1, 2, 2, {})  # type: ignore[arg-type]
    recorder.on_fits(0, {"accuracy": fit})
    rows = {e.arch_id: e for e in store.evaluations("s")}
    assert rows[a.arch_id].status == "COMPLETE" and rows[a.arch_id].metrics == {"accuracy": 0.5}
    assert rows[a.arch_id].predictions == {"accuracy": 0.4} and rows[a.arch_id].device == "cpu"
    assert rows[b.arch_id].status == "FAILED" and rows[b.arch_id].error == "out of memory"
    assert [(f.members, f.hypervolume) for f in store.fronts("s")] == [([a.arch_id], 0.3)]
    assert store.get_search("s").hv_reference == [0.0, 2.0]
    assert [(f.objective, f.kind, f.kendall_tau) for f in store.predictor_fits("s")] == [("accuracy", "ridge", 0.7)]
    assert calls == ["guard"] * 8


def test_a_guard_that_raises_stops_the_write(store: Store) -> None:
    create_search(store, "s", request(), None)

    def lost() -> None:
        raise SearchError("taken over")

    with pytest.raises(SearchError, match="taken over"):
        StoreRecorder(store, "s", guard=lost).on_batch(0, [Candidate(smallest(SPACE))])
    assert store.evaluations("s") == []


def test_free_search_name_counts_up_past_taken_names(store: Store) -> None:
    assert free_search_name(store, "demo") == "demo"
    create_search(store, "demo", request(), None)
    assert free_search_name(store, "demo") == "demo-2"
    create_search(store, "demo-2", request(), None)
    create_search(store, "demo-4", request(), None)
    assert free_search_name(store, "demo") == "demo-3"
    assert free_search_name(store, "other") == "other"
