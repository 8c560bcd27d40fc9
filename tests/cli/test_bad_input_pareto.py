"""Bad input to ``supernas pareto show|plot``: one line naming the field, exit 2, nothing written."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.bad_input import BAD_STORAGE, LONG, MISSING_STORAGE, SYNTHETIC, UNWRITABLE, Case, Outcome, case

OUT = ("--out", "new.png", "--x", "params")

CASES = [
    case("pareto", "show", names="Missing argument 'name'"),
    case("pareto", "show", "nope", names="unknown search 'nope'"),
    case("pareto", "show", LONG, names="unknown search"),
    case("pareto", "show", "nope", "--trained", names="unknown search 'nope'"),
    *(case("pareto", "show", "s", "--storage", url, names=names) for url, names in BAD_STORAGE + MISSING_STORAGE),
    case("pareto", "show", "s", "--json=1", names="--json"),
    case("pareto", "show", "s", "--x", "params", names="No such option: --x"),
    case("pareto", "plot", names="Missing argument 'name'"),
    case("pareto", "plot", "nope", *OUT, names="unknown search 'nope'"),
    case("pareto", "plot", SYNTHETIC, *OUT, names=f"search {SYNTHETIC!r} has no completed evaluations"),
    case("pareto", "plot", "s", *OUT, "--trained", names="no completed trainings"),
    case("pareto", "plot", "s", *OUT, "--x", "speed", names="--x"),
    case("pareto", "plot", "s", *OUT, "--y", "speed", names="--y"),
    case("pareto", "plot", "s", *OUT, "--x", "", names="--x"),
    case("pareto", "plot", "s", "--out", "new.png", names="--x"),  # latency_ms: not measured by this search
    case("pareto", "plot", "s", "--x", "params", "--out", "front.txt", names="--out"),
    case("pareto", "plot", "s", "--x", "params", "--out", "front", names="--out"),
    case("pareto", "plot", "s", "--x", "params", "--out", "empty", names="--out"),
    case("pareto", "plot", "s", "--x", "params", "--out", "missing/front.png", names="--out"),
    case("pareto", "plot", "s", "--x", "params", "--out", "notes.txt/front.png", names="--out"),
    case("pareto", "plot", "s", "--x", "params", "--out", f"{UNWRITABLE}/front.png", names="--out"),
    case("pareto", "plot", "s", "--x", "params", "--out", "/proc/front.png", names="--out"),
    case("pareto", "plot", "s", "--x", "params", "--out", LONG + ".png", names="--out"),
    case("pareto", "plot", "s", *OUT, "--html", "front.txt", names="--html"),
    case("pareto", "plot", "s", *OUT, "--html", "missing/front.html", names="--html"),
    case("pareto", "plot", "s", *OUT, "--html", "/proc/front.html", names="--html"),
    case("pareto", "plot", "s", *OUT, "--html", "notes.txt/front.html", names="--html"),
    case("pareto", "plot", "s", *OUT, "--html", LONG + ".html", names="--html"),
    *(case("pareto", "plot", "s", *OUT, "--storage", url, names=names) for url, names in BAD_STORAGE[::2]),
    case("pareto", "plot", "s", *OUT, "--storage", "sqlite:///missing.db", names="--storage"),
    case("pareto", "nosuch", names="No such command 'nosuch'"),
]


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_refused_in_one_line_with_exit_2_and_nothing_written(bad: Case, refused: Callable[[Case], Outcome]) -> None:
    refused(bad)
