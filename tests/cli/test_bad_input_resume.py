"""Bad input to ``supernas resume``: one line naming the field, exit 2, nothing written, no Ray started."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.bad_input import BAD_STORAGE, LONG, MISSING_STORAGE, SYNTHETIC, Case, Outcome, case

CASES = [
    case("resume", names="Missing argument 'name'"),
    case("resume", "nope", names="unknown search 'nope'"),
    case("resume", "", names="unknown search ''"),
    case("resume", LONG, names="unknown search"),
    case("resume", SYNTHETIC, names=f"search {SYNTHETIC!r} has no supernet"),
    case("resume", "changed-search", names="changed since it was registered"),
    case("resume", "gone-search", names="gone.pt"),
    case("resume", "s", "--executor", "slurm", names="--executor"),
    case("resume", "s", "--workers", "-1", names="--workers"),
    case("resume", "s", "--workers", "ten", names="--workers"),
    case("resume", "s", "--ray-address", "nohost", names="--ray-address"),
    case("resume", "s", "--executor", "ray", "--ray-address", "127.0.0.1:1", names="--ray-address"),
    *(case("resume", "s", "--storage", url, names=names) for url, names in BAD_STORAGE + MISSING_STORAGE),
    case("resume", "s", "t", names="unexpected extra argument"),
    case("resume", "s", "--budget", "5", names="No such option: --budget"),
]


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_refused_in_one_line_with_exit_2_and_nothing_written(bad: Case, refused: Callable[[Case], Outcome]) -> None:
    refused(bad)
