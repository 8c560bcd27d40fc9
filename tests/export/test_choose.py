"""Choosing front members: by rank, arch_id or the knee (``choose``), or several (``select``), and the refusals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from supernas.errors import ExportError
from supernas.export.choose import choose, knee, select

ACC_LAT = [{"name": "accuracy", "direction": "max"}, {"name": "latency_ms", "direction": "min"}]
LAT_ACC = [{"name": "latency_ms", "direction": "min"}, {"name": "accuracy", "direction": "max"}]


def _row(arch_id: str, accuracy: float, latency_ms: float) -> dict[str, Any]:
    return {"arch_id": arch_id, "metrics": {"accuracy": accuracy, "latency_ms": latency_ms}}


FRONT = [_row("f1", 0.95, 9.0), _row("f2", 0.90, 3.0), _row("f3", 0.60, 1.0)]
COMPLETE: dict[str, Mapping[str, Any]] = {r["arch_id"]: r for r in [*FRONT, _row("x9", 0.50, 5.0)]}


def test_knee_ignores_the_units_of_each_objective() -> None:
    scaled = [{**r, "metrics": {**r["metrics"], "latency_ms": 1000 * r["metrics"]["latency_ms"] + 7}} for r in FRONT]
    assert knee(FRONT, ACC_LAT) == knee(scaled, ACC_LAT) == 1  # min-max normalised: only the order counts


def test_knee_follows_each_objective_direction() -> None:
    rows = [_row("a", 0.9, 5.0), _row("b", 0.5, 1.0), _row("c", 0.95, 1.5)]  # c dominates a and b
    assert knee(rows, ACC_LAT) == 2  # were accuracy minimised, b would be nearest the corner
    assert knee(rows, LAT_ACC) == 2  # the order of the objectives does not matter
    assert knee([_row("only", 0.1, 99.0)], ACC_LAT) == 0
    accuracy_minimised = [{"name": "accuracy", "direction": "min"}, ACC_LAT[1]]
    assert knee(rows, accuracy_minimised) == 1  # the stored direction decides, not the metric registry


def test_knee_with_a_constant_objective_picks_the_best_in_the_other() -> None:
    rows = [_row("a", 0.7, 2.0), _row("b", 0.9, 2.0), _row("c", 0.8, 2.0)]  # no span in latency: no division by 0
    assert knee(rows, ACC_LAT) == 1


def test_knee_of_an_empty_front_is_refused() -> None:
    with pytest.raises(ExportError, match=r"^the search has no measured front yet; run or resume it first$") as info:
        knee([], ACC_LAT)
    assert info.value.field is None


def test_choose_by_rank_is_one_based_in_front_order() -> None:
    assert choose(FRONT, ACC_LAT, 1, None, False, COMPLETE) is FRONT[0]
    assert choose(FRONT, ACC_LAT, 3, None, False, COMPLETE) is FRONT[2]


@pytest.mark.parametrize("rank", [0, -1, 4])
def test_choose_refuses_a_rank_outside_the_front(rank: int) -> None:
    with pytest.raises(ExportError) as info:
        choose(FRONT, ACC_LAT, rank, None, False, COMPLETE)
    assert info.value.field == "rank"
    assert str(info.value) == f"rank {rank} is out of range; valid: 1..3 (the front's members)"


def test_choose_by_arch_takes_any_completed_evaluation() -> None:
    assert choose(FRONT, ACC_LAT, None, "f2", False, COMPLETE) is FRONT[1]
    assert choose(FRONT, ACC_LAT, None, "x9", False, COMPLETE) is COMPLETE["x9"]  # measured, not on the front


def test_choose_refuses_an_unknown_arch_with_a_few_known_ones() -> None:
    with pytest.raises(ExportError) as info:
        choose(FRONT, ACC_LAT, None, "nope", False, COMPLETE)
    assert info.value.field == "arch"
    assert str(info.value) == "arch 'nope' is not a completed evaluation of this search; e.g. f1, f2, f3, x9"
    many = {f"id{k}": _row(f"id{k}", 0.5, 1.0) for k in (7, 3, 5, 1, 6, 2)}
    with pytest.raises(ExportError, match=r"; e\.g\. id1, id2, id3, id5, id6, …$"):  # the first five, sorted
        choose(FRONT, ACC_LAT, None, "nope", False, many)
    with pytest.raises(ExportError, match=r"; e\.g\. none yet$"):
        choose(FRONT, ACC_LAT, None, "nope", False, {})


def test_choose_by_knee_returns_the_knee_row() -> None:
    assert choose(FRONT, ACC_LAT, None, None, True, COMPLETE) is FRONT[knee(FRONT, ACC_LAT)]
    with pytest.raises(ExportError, match="no measured front yet"):
        choose([], ACC_LAT, None, None, True, COMPLETE)


@pytest.mark.parametrize(
    ("rank", "arch", "use_knee", "got"),
    [
        (None, None, False, "none"),
        (1, "f1", False, "`rank`, `arch`"),
        (0, None, True, "`rank`, `knee`"),  # 0 is a given rank, not "unset"
        (2, "f1", True, "`rank`, `arch`, `knee`"),
    ],
)
def test_choose_needs_exactly_one_way(rank: int | None, arch: str | None, use_knee: bool, got: str) -> None:
    with pytest.raises(ExportError) as info:
        choose(FRONT, ACC_LAT, rank, arch, use_knee, COMPLETE)
    assert str(info.value) == f"choose exactly one of `rank` K, `arch` ARCH_ID, `knee` (got {got})"
    assert info.value.field is None and "\n" not in str(info.value)


def test_select_one_member_is_a_list_of_the_chosen_row() -> None:
    assert select(FRONT, ACC_LAT, COMPLETE, rank=2) == [FRONT[1]]
    assert select(FRONT, ACC_LAT, COMPLETE, front=False, top=None, arch="x9") == [COMPLETE["x9"]]


def test_select_top_orders_by_the_first_objective_and_its_direction() -> None:
    assert [r["arch_id"] for r in select(FRONT, ACC_LAT, COMPLETE, top=4)] == ["f1", "f2", "f3", "x9"]
    assert [r["arch_id"] for r in select(FRONT, LAT_ACC, COMPLETE, top=3)] == ["f3", "f2", "x9"]  # min: fastest first


def test_select_top_breaks_ties_by_arch_id() -> None:
    tied = {a: _row(a, 0.8, 1.0) for a in ("c", "a", "b")}
    assert [r["arch_id"] for r in select([], ACC_LAT, tied, top=2)] == ["a", "b"]


@pytest.mark.parametrize(
    ("top", "complete", "valid"),
    [
        (0, COMPLETE, "1..4 (the completed evaluations)"),
        (-2, COMPLETE, "1..4 (the completed evaluations)"),
        (True, COMPLETE, "1..4 (the completed evaluations)"),  # a bool is not a count
        (1, {}, "none: nothing is measured yet"),
    ],
)
def test_select_refuses_a_top_outside_the_completed(top: int, complete: dict[str, Any], valid: str) -> None:
    with pytest.raises(ExportError) as info:
        select(FRONT, ACC_LAT, complete, top=top)
    assert info.value.field == "top"
    assert str(info.value) == f"top {top} is out of range; valid: {valid}"


def test_select_front_of_an_empty_search_is_refused() -> None:
    with pytest.raises(ExportError, match=r"^the search has no measured front yet; run or resume it first$"):
        select([], ACC_LAT, COMPLETE, front=True)


def test_select_needs_exactly_one_way() -> None:
    options = "`front`, `top` N, `rank` K, `arch` ARCH_ID, `knee`"
    with pytest.raises(ExportError) as info:
        select(FRONT, ACC_LAT, COMPLETE)
    assert str(info.value) == f"choose exactly one of {options} (got none)"
    with pytest.raises(ExportError) as info:
        select(FRONT, ACC_LAT, COMPLETE, top=2, arch="f1", use_knee=True)
    assert str(info.value) == f"choose exactly one of {options} (got `top`, `arch`, `knee`)"
    assert info.value.field is None
