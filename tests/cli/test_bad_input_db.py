"""Bad input to ``supernas db upgrade|info``: one line naming the field, exit 2, no database made or changed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.bad_input import BAD_STORAGE, MISSING_STORAGE, UNWRITABLE_STORAGE, Case, Outcome, case

CASES = [
    *(case("db", "upgrade", "--storage", url, names=names) for url, names in BAD_STORAGE + UNWRITABLE_STORAGE),
    *(case("db", "info", "--storage", url, names=names) for url, names in BAD_STORAGE + MISSING_STORAGE),
    case("db", "upgrade", "now", names="unexpected extra argument"),
    case("db", "info", "--json=2", names="--json"),
    case("db", "downgrade", names="No such command 'downgrade'"),
]


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_refused_in_one_line_with_exit_2_and_nothing_written(bad: Case, refused: Callable[[Case], Outcome]) -> None:
    refused(bad)
