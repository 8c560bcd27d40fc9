"""``api/reports.py``: measured fronts, the list of searches, where a search stands, hypervolume curves."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence

import pytest

from supernas.api.reports import (
    completed_members,
    front_members,
    hypervolume_series,
    list_searches,
    search_front,
    search_status,
)
from supernas.api.searches import SearchRequest, create_search, run_stored_search
from supernas.errors import StorageError
from supernas.search import EvalResult
from supernas.search_space import SubnetConfig
from supernas.store import EvaluationStatus, Store
from supernas.testing import SYNTHETIC_SPEC, SyntheticEvaluator, tiny_space

SPACE = tiny_space(
    depth=(1, 2), embed_dim=(16,), loops=(1,), lora_rank=(0,), weight_bits=(8, 32), act_bits=(32,), keep_ratio=(1.0,)
)  # 72 architectures


class FailingSome(SyntheticEvaluator):
    """Every config whose arch_id ends in 0..3 fails (about a quarter)."""

    def evaluate(self, configs: Sequence[SubnetConfig], on_result: Callable[[int, EvalResult], None]) -> None:
        def maybe_fail(i: int, r: EvalResult) -> None:
            on_result(i, EvalResult(None, "boom") if configs[i].arch_id[-1] in "0123" else r)

        super().evaluate(configs, maybe_fail)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """``acc`` (accuracy first, 12 measured, some failed), ``lat`` (latency first, 8 measured), ``new`` (not run)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 's.db'}"
    with Store.open(url, create=True) as s:
        create_search(s, "acc", SearchRequest.parse("accuracy,latency_ms", [], "random", 12, 4, 0), None)
        run_stored_search(s, "acc", SPACE, SYNTHETIC_SPEC, FailingSome(SPACE, SYNTHETIC_SPEC))
        create_search(s, "lat", SearchRequest.parse("latency_ms,accuracy", [], "random", 8, 4, 1), None)
        run_stored_search(s, "lat", SPACE, SYNTHETIC_SPEC, SyntheticEvaluator(SPACE, SYNTHETIC_SPEC))
        create_search(s, "new", SearchRequest.parse("accuracy,params", [], "nsga2", 8, 4, 0), None)
        yield s


def test_the_front_is_the_latest_stored_one_best_first(store: Store) -> None:
    report = search_front(store, "acc")
    last = store.fronts("acc")[-1]
    assert {m.arch_id for m in report.front} == set(last.members) and report.front
    accuracies = [m.metrics["accuracy"] for m in report.front]
    assert accuracies == sorted(accuracies, reverse=True)  # accuracy is maximised: best first
    assert (report.status, report.hypervolume, report.n_evaluated) == ("COMPLETE", last.hypervolume, 12)
    latencies = [m.metrics["latency_ms"] for m in search_front(store, "lat").front]
    assert latencies == sorted(latencies)  # latency is minimised: lowest first


def test_the_front_report_is_plain_json(store: Store) -> None:
    data = json.loads(json.dumps(search_front(store, "acc").to_dict()))
    assert list(data) == ["search", "status", "objectives", "hypervolume", "n_evaluated", "front"]
    assert data["status"] == "COMPLETE" and data["objectives"][0] == {"name": "accuracy", "direction": "max"}
    member = data["front"][0]
    assert list(member) == ["arch_id", "metrics", "config", "iteration", "predictions", "device"]
    assert SubnetConfig.from_dict(member["config"]).arch_id == member["arch_id"]
    assert {"accuracy", "latency_ms"} <= set(member["metrics"])


def test_a_search_that_never_ran_has_an_empty_front(store: Store) -> None:
    report = search_front(store, "new")
    assert (report.status, report.hypervolume, report.n_evaluated, report.front) == ("RUNNING", 0.0, 0, [])
    assert front_members(store, "new") == []


def test_completed_members_are_every_complete_evaluation(store: Store) -> None:
    members = completed_members(store, "acc")
    counts = store.count_evaluations("acc")
    assert len(members) == counts[EvaluationStatus.COMPLETE] and counts[EvaluationStatus.FAILED] > 0
    assert all(m.metrics for m in members.values())


def test_list_searches_counts_each_search_oldest_first(store: Store) -> None:
    rows = {s.name: s for s in list_searches(store)}
    assert [s.name for s in list_searches(store)] == ["acc", "lat", "new"]
    acc = rows["acc"]
    failed = store.count_evaluations("acc")[EvaluationStatus.FAILED]
    assert (acc.strategy, acc.status, acc.supernet, acc.objectives) == (
        "random",
        "COMPLETE",
        None,
        ["accuracy", "latency_ms"],
    )
    assert (acc.budget, acc.evaluated, acc.failed) == (12, 12, failed) and failed > 0
    assert acc.hypervolume == store.fronts("acc")[-1].hypervolume
    assert (rows["new"].evaluated, rows["new"].hypervolume, rows["new"].strategy) == (0, None, "nsga2")
    assert json.loads(json.dumps(acc.to_dict()))["created_at"] == acc.created_at


def test_search_status_lists_counts_and_every_iteration(store: Store) -> None:
    report = search_status(store, "acc")
    assert report.status == "COMPLETE" and report.strategy == "random"
    assert (
        report.counts[EvaluationStatus.COMPLETE] + report.counts[EvaluationStatus.FAILED] == 12
        and report.counts[EvaluationStatus.PENDING] == 0
    )
    assert [i["iteration"] for i in report.iterations] == [0, 1, 2]
    assert [i["n_evaluated"] for i in report.iterations] == [4, 8, 12]
    assert report.iterations[-1]["front_size"] == len(store.fronts("acc")[-1].members)
    assert report.hv_reference == store.get_search("acc").hv_reference and report.hv_reference is not None
    assert report.predictor_fits == []  # random search fits no predictors


def test_hypervolume_series_label_searches_and_never_decrease(store: Store) -> None:
    series = hypervolume_series(store, ["acc", "lat"])
    assert list(series) == ["acc (random)", "lat (random)"]
    assert [n for n, _ in series["acc (random)"]] == [4, 8, 12]
    assert [n for n, _ in series["lat (random)"]] == [4, 8]
    values = [hv for _, hv in series["acc (random)"]]
    assert values == sorted(values) and values[-1] == store.fronts("acc")[-1].hypervolume
    assert hypervolume_series(store, ["new"]) == {"new (nsga2)": []}


def test_reports_of_an_unknown_search_name_the_known_ones(store: Store) -> None:
    for report in (search_front, search_status):
        with pytest.raises(StorageError, match="unknown search 'nope'; known: acc, lat, new"):
            report(store, "nope")
