"""Bad input to ``supernas status``: one line naming the field, exit 2, nothing written (no plot, no database)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.bad_input import BAD_STORAGE, LONG, MISSING_STORAGE, UNWRITABLE, Case, Outcome, case

CASES = [
    case("status", names="Missing argument 'name'"),
    case("status", "nope", names="unknown search 'nope'"),
    case("status", LONG, names="unknown search"),
    case("status", "s", "--plot", "hv.txt", names="--plot"),
    case("status", "s", "--plot", "hv", names="--plot"),
    case("status", "s", "--plot", "missing/hv.png", names="--plot"),
    case("status", "s", "--plot", "notes.txt/hv.png", names="--plot"),
    case("status", "s", "--plot", f"{UNWRITABLE}/hv.png", names="--plot"),
    case("status", "s", "--plot", "/proc/hv.png", names="--plot"),
    case("status", "s", "--plot", "empty", names="--plot"),
    case("status", "s", "--plot", LONG + ".png", names="--plot"),
    case("status", "s", "--plot", "hv.png", "--compare", "nope", names="unknown search 'nope'"),
    case("status", "s", "--compare", "s", names="--compare"),
    case("status", "nope", "--plot", "hv.png", names="unknown search 'nope'"),
    case("status", "s", "--plot", "hv.png", "--storage", "sqlite:///missing.db", names="--storage"),
    *(case("status", "s", "--storage", url, names=names) for url, names in BAD_STORAGE + MISSING_STORAGE),
    case("status", "s", "--json=yes", names="--json"),
    case("status", "s", "--trained", names="No such option: --trained"),
]


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_refused_in_one_line_with_exit_2_and_nothing_written(bad: Case, refused: Callable[[Case], Outcome]) -> None:
    refused(bad)
