"""``store/models.py``: the status enums (plain strings that know when they are final) and aware timestamps."""

from __future__ import annotations

import json

import pytest

from supernas.store.models import EvaluationStatus, SearchStatus, TrainingStatus, utcnow


@pytest.mark.parametrize("status", [EvaluationStatus, TrainingStatus])
def test_only_complete_and_failed_are_finished(status: type[EvaluationStatus] | type[TrainingStatus]) -> None:
    assert [s.value for s in status] == ["PENDING", "RUNNING", "COMPLETE", "FAILED"]
    assert {s.value for s in status if s.finished} == {"COMPLETE", "FAILED"}


@pytest.mark.parametrize("status", [EvaluationStatus.COMPLETE, SearchStatus.INTERRUPTED, TrainingStatus.RUNNING])
def test_statuses_are_plain_strings(status: EvaluationStatus | SearchStatus | TrainingStatus) -> None:
    assert status == status.value and str(status) == status.value and f"{status}" == status.value
    assert json.dumps({"status": status}) == f'{{"status": "{status.value}"}}'
    assert type(status)(status.value) is status


def test_search_statuses() -> None:
    assert [s.value for s in SearchStatus] == ["RUNNING", "COMPLETE", "FAILED", "INTERRUPTED"]


def test_utcnow_is_timezone_aware() -> None:
    now = utcnow()
    assert now.tzinfo is not None and now.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
