"""Bad input to ``supernas searches``: one line naming the field, exit 2, nothing written (no database made)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.bad_input import BAD_STORAGE, MISSING_STORAGE, Case, Outcome, case

CASES = [
    *(case("searches", "--storage", url, names=names) for url, names in BAD_STORAGE + MISSING_STORAGE),
    case("searches", names="--storage", env={"SUPERNAS_STORAGE": "sqlite:///:memory:"}),
    case("searches", names="--storage", env={"SUPERNAS_STORAGE": "sqlite:///db/other.db"}),
    case("searches", "s", names="unexpected extra argument"),
    case("searches", "--json=1", names="--json"),
    case("searches", "--all", names="No such option: --all"),
    case("searches", "--storage", names="'--storage' requires an argument"),
]


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_refused_in_one_line_with_exit_2_and_nothing_written(bad: Case, refused: Callable[[Case], Outcome]) -> None:
    refused(bad)
