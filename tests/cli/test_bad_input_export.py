"""Bad input to ``supernas export``: one line naming the field, exit 2, nothing written (no directory, no row)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.bad_input import (
    BAD_STORAGE,
    HUGE,
    LONG,
    MISSING_STORAGE,
    SYNTHETIC,
    UNWRITABLE,
    Case,
    Outcome,
    case,
)

KNEE = ("s", "--knee", "--out", "new-export")


def export(*argv: str, names: str | tuple[str, ...]) -> Case:
    return case("export", *argv, names=names)


CASES = [
    export(names="Missing argument 'search'"),
    export("s", "--knee", names="Missing option '--out'"),
    export("s", "--out", "new-export", names="choose exactly one of --rank K, --arch ARCH_ID, --knee"),
    export("s", "--knee", "--rank", "1", "--out", "new-export", names="choose exactly one of"),
    export("nope", "--knee", "--out", "new-export", names="unknown search 'nope'"),
    export(LONG, "--knee", "--out", "new-export", names="unknown search"),
    export(SYNTHETIC, "--knee", "--out", "new-export", names=f"search {SYNTHETIC!r} has no supernet"),
    export("changed-search", "--knee", "--out", "new-export", names="no measured front"),
    export("s", "--rank", "0", "--out", "new-export", names="--rank 0 is out of range; valid: 1.."),
    export("s", "--rank", "-1", "--out", "new-export", names="--rank"),
    export("s", "--rank", "99", "--out", "new-export", names="--rank 99 is out of range; valid: 1.."),
    export("s", "--rank", HUGE, "--out", "new-export", names="--rank"),
    export("s", "--rank", "one", "--out", "new-export", names="--rank"),
    export("s", "--arch", "nope", "--out", "new-export", names="--arch 'nope' is not a completed evaluation"),
    export("s", "--arch", "", "--out", "new-export", names="--arch"),
    export("s", "--arch", LONG, "--out", "new-export", names="--arch"),
    export(*KNEE, "--format", "tflite", names="--format 'tflite' is not valid; valid: "),
    export(*KNEE, "--format", "", names="--format"),
    export(*KNEE, "--format", "ONNX", names="--format"),
    export(*KNEE, "--int8", "--format", "onnx", names="--int8 works with --format safetensors only"),
    export(*KNEE, "--int8", "--format", "pt2", names="--int8"),
    export(*KNEE, "--weights", "nope", names="--weights"),
    export(*KNEE, "--weights", "trained", names="--weights 'trained' is not available"),
    export("s", "--knee", "--out", "tiny.pt", names=("--out", "already exists and is not an empty directory")),
    export("s", "--knee", "--out", "full", names="--out"),
    export("s", "--knee", "--out", "missing/x", names="--out"),
    export("s", "--knee", "--out", "notes.txt/x", names="--out"),
    export("s", "--knee", "--out", f"{UNWRITABLE}/x", names="--out"),
    export("s", "--knee", "--out", "/proc/x", names="--out"),
    export("s", "--knee", "--out", "/proc", names="--out"),
    export("s", "--knee", "--out", LONG, names="--out"),
    *(export(*KNEE, "--storage", url, names=names) for url, names in BAD_STORAGE + MISSING_STORAGE),
    export(*KNEE, "--json=yes", names="--json"),
    export(*KNEE, "--onnx", names="No such option: --onnx"),
]


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_refused_in_one_line_with_exit_2_and_nothing_written(bad: Case, refused: Callable[[Case], Outcome]) -> None:
    refused(bad)
