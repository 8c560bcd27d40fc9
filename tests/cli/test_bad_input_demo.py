"""Bad input to ``supernas demo``: one line naming the field, exit 2, nothing written, nothing trained."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.bad_input import HUGE, LONG, UNWRITABLE, Case, Outcome, case

DIR = ("--dir", "empty")


def demo(*argv: str, names: str | tuple[str, ...]) -> Case:
    return case("demo", *argv, names=names)


CASES = [
    demo("--dir", "missing", names="--dir"),
    demo("--dir", "notes.txt", names="--dir"),
    demo("--dir", f"{UNWRITABLE}/sub", names="--dir"),
    demo("--dir", "/proc", names="--dir"),
    demo("--dir", LONG, names="--dir"),
    demo("--dir", "demo/export-taken", names=("--dir", "export")),
    demo("--dir", "demo/bad-db", names=("--dir", "supernas.db")),
    demo("--dir", "demo/other-db", names=("--dir", "supernas.db")),
    demo("--dir", "demo/bad-checkpoint", names=("--dir", "digits-demo.pt")),
    demo("--dir", "demo/unfinished", names=("--dir", "unfinished training with other settings")),
    demo(*DIR, "--epochs", "0", names="--epochs"),
    demo(*DIR, "--epochs", "-1", names="--epochs"),
    demo(*DIR, "--epochs", HUGE, names="--epochs"),
    demo(*DIR, "--epochs", "ten", names="--epochs"),
    demo(*DIR, "--budget", "0", names="--budget"),
    demo(*DIR, "--budget", "5", names="--budget"),
    demo(*DIR, "--budget", HUGE, names="--budget"),
    demo(*DIR, "--executor", "slurm", names="--executor"),
    demo(*DIR, "--seed", "-1", names="--seed"),
    demo(*DIR, "--seed", str(2**32), names="--seed"),
    demo(*DIR, "--finetune-epochs", "-1", names="--finetune-epochs"),
    demo(*DIR, "--finetune-epochs", "1001", names="--finetune-epochs"),
    demo(*DIR, "--finetune-epochs", HUGE, names="--finetune-epochs"),
    demo(*DIR, "extra", names="unexpected extra argument"),
    demo(*DIR, "--task", "mnist", names="No such option: --task"),
]


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_refused_in_one_line_with_exit_2_and_nothing_written(bad: Case, refused: Callable[[Case], Outcome]) -> None:
    refused(bad)
