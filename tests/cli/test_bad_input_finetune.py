"""Bad input to ``supernas finetune``: one line naming the field, exit 2, nothing written, no Ray started."""

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

KNEE = ("s", "--knee")


def finetune(*argv: str, names: str | tuple[str, ...]) -> Case:
    return case("finetune", *argv, names=names)


CASES = [
    finetune(names="Missing argument 'search'"),
    finetune("s", names="choose exactly one of --front, --top N, --rank K, --arch ARCH_ID, --knee (got none)"),
    finetune("s", "--knee", "--front", names="choose exactly one of"),
    finetune("nope", "--knee", names="unknown search 'nope'"),
    finetune(LONG, "--knee", names="unknown search"),
    finetune(SYNTHETIC, "--knee", names=("search", "has no supernet")),
    finetune("changed-search", "--knee", names="no measured front"),
    finetune("s", "--top", "0", names="--top 0 is out of range; valid: 1.."),
    finetune("s", "--top", "-1", names="--top"),
    finetune("s", "--top", HUGE, names="--top"),
    finetune("s", "--rank", "0", names="--rank"),
    finetune("s", "--rank", "99", names="--rank 99 is out of range; valid: 1.."),
    finetune("s", "--arch", "nope", names="--arch 'nope' is not a completed evaluation of this search"),
    finetune(*KNEE, "--epochs", "0", names="--epochs 0 is out of range; valid: an integer in 1..1000"),
    finetune(*KNEE, "--epochs", "-1", names="--epochs"),
    finetune(*KNEE, "--epochs", "1001", names="--epochs 1001 is out of range; valid: an integer in 1..1000"),
    finetune(*KNEE, "--epochs", HUGE, names="--epochs"),
    finetune(*KNEE, "--init", "random", names="--init 'random' is not valid; valid: inherited, scratch"),
    finetune(*KNEE, "--init", "", names="--init"),
    finetune(*KNEE, "--teacher", "smallest", names="--teacher 'smallest' is not valid; valid: largest, none"),
    finetune(*KNEE, "--lr", "0", names="--lr 0.0 is out of range; valid: a number > 0"),
    finetune(*KNEE, "--lr", "-1", names="--lr"),
    finetune(*KNEE, "--lr", "nan", names="--lr"),
    finetune(*KNEE, "--lr", "inf", names="--lr"),
    finetune(*KNEE, "--lr", "21", names="--lr"),
    finetune(*KNEE, "--kd-weight", "-0.1", names="--kd-weight"),
    finetune(*KNEE, "--kd-weight", "1.5", names="--kd-weight 1.5 is out of range; valid: a number in [0, 1]"),
    finetune(*KNEE, "--kd-weight", "nan", names="--kd-weight"),
    finetune(*KNEE, "--seed", "-1", names="--seed -1 is out of range; valid: an integer in 0..4294967295"),
    finetune(*KNEE, "--seed", str(2**32), names=f"--seed {2**32} is out of range; valid: an integer in 0..4294967295"),
    finetune(*KNEE, "--executor", "slurm", names="--executor 'slurm' is not valid; valid: ray, local"),
    finetune(*KNEE, "--workers", "-1", names="--workers"),
    finetune(*KNEE, "--cpus-per-worker", "0", names="--cpus-per-worker"),
    finetune(*KNEE, "--gpus-per-worker", "-1", names="--gpus-per-worker"),
    finetune(*KNEE, "--gpus-per-worker", "64", names="--gpus-per-worker 64 is more than this machine has"),
    finetune(*KNEE, "--ray-address", "nohost", names="--ray-address"),
    finetune(*KNEE, "--ray-address", "127.0.0.1:1", names="--ray-address"),
    finetune(*KNEE, "--device", "tpu", names="--device"),
    finetune(*KNEE, "--dir", "notes.txt", names="--dir"),
    finetune(*KNEE, "--dir", "notes.txt/sub", names="--dir"),
    finetune(*KNEE, "--dir", f"{UNWRITABLE}/sub", names="--dir"),
    finetune(*KNEE, "--dir", "/proc", names="--dir"),
    finetune(*KNEE, "--dir", LONG, names="--dir"),
    *(finetune(*KNEE, "--storage", url, names=names) for url, names in BAD_STORAGE + MISSING_STORAGE),
    finetune(*KNEE, "--storage", "sqlite:///missing.db", "--executor", "local", names="--storage"),
    finetune(*KNEE, "--json=1", names="--json"),
    finetune(*KNEE, "--budget", "3", names="No such option: --budget"),
]


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_refused_in_one_line_with_exit_2_and_nothing_written(bad: Case, refused: Callable[[Case], Outcome]) -> None:
    refused(bad)
