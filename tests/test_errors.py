"""``supernas/errors.py``: messages that name their field, exit codes, pickling."""

from __future__ import annotations

import pickle

import pytest

from supernas import errors
from supernas.errors import (
    CheckpointError,
    LeaseLostError,
    SearchBusyError,
    SearchError,
    StorageError,
    StorageLostError,
    SupernasError,
    TrainingDivergedError,
    TrainingError,
    choices_text,
)


def test_the_field_leads_the_message() -> None:
    e = TrainingError("0 is out of range; valid: an integer >= 1", field="epochs")
    assert str(e) == "epochs 0 is out of range; valid: an integer >= 1"
    assert e.detail == "0 is out of range; valid: an integer >= 1" and e.field == "epochs"
    assert str(TrainingError("no field here")) == "no field here"


def test_naming_puts_any_label_in_front_and_joins_colons_and_commas_directly() -> None:
    e = SearchError("0 is out of range", field="budget")
    assert e.naming("--budget") == "--budget 0 is out of range"
    assert e.naming(None) == e.naming("") == "0 is out of range"
    colon = SearchError(": unknown objective 'speed'", field="objectives")
    assert str(colon) == "objectives: unknown objective 'speed'"
    assert colon.naming("--objectives") == "--objectives: unknown objective 'speed'"
    assert SearchError(", not both", field="rank").naming("--rank") == "--rank, not both"


def test_exit_codes_separate_user_input_from_run_time_failures() -> None:
    user = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, SupernasError) and cls.exit_code == 2
    ]
    assert SupernasError in user and SearchBusyError in user and CheckpointError in user
    for failure in (StorageLostError, LeaseLostError, TrainingDivergedError):
        assert failure.exit_code == 1
    assert issubclass(StorageLostError, StorageError) and issubclass(LeaseLostError, SearchError)
    assert issubclass(TrainingDivergedError, TrainingError) and issubclass(SearchBusyError, SearchError)


@pytest.mark.parametrize("cls", [SupernasError, SearchError, LeaseLostError, StorageLostError, CheckpointError])
def test_pickling_keeps_the_class_message_and_field(cls: type[SupernasError]) -> None:
    e = cls("3 is out of range", field="workers")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is cls and back.field == "workers" and str(back) == str(e) == "workers 3 is out of range"
    plain = pickle.loads(pickle.dumps(cls("no field")))
    assert plain.field is None and str(plain) == "no field"


def test_every_error_is_a_supernas_error() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    assert all(issubclass(c, SupernasError) for c in classes)
    named = {"SearchSpaceError", "DataError", "CheckpointError", "TrainingError", "StorageError", "SearchError"}
    assert named | {"WorkerError", "ExportError", "OutputError"} <= {c.__name__ for c in classes}


def test_choices_text() -> None:
    assert choices_text(["a", 2, 3.5]) == "a, 2, 3.5"
    assert choices_text({"x": 1, "y": 2}) == "x, y"
    assert choices_text([]) == ""
