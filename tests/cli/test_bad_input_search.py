"""Bad input to ``supernas search``: one line naming the field, exit 2, nothing written, no Ray started."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.bad_input import BAD_STORAGE, HUGE, LONG, UNWRITABLE_STORAGE, Case, Outcome, case
from tests.cli.test_bad_input_train import CHECKPOINTS

BASE = ("--supernet", "tiny.pt", "--objectives", "accuracy,params", "--budget", "4", "--batch", "2")
LOCAL = (*BASE, "--executor", "local")


def search(*argv: str, names: str | tuple[str, ...]) -> Case:
    return case("search", *argv, names=names)


CASES = [
    search(names="Missing option '--supernet'"),
    *(search("--supernet", f"ckpt/{name}", names=("--supernet", name)) for name in CHECKPOINTS),
    search("--supernet", "ckpt/unknown-task.pt", "--executor", "local", names=("--supernet", "mnist")),
    search("--supernet", "ckpt/missing-npz-task.pt", "--executor", "local", names=("--supernet", "gone.npz")),
    search("--supernet", "missing.pt", names="--supernet"),
    search("--supernet", "nosuch", names=("--supernet", "nosuch")),
    search("--supernet", "changed", names=("--supernet", "changed since it was registered")),
    search("--supernet", "gone", names=("--supernet", "gone.pt")),
    search("--supernet", "", names="--supernet"),
    search("--supernet", LONG, names="--supernet"),
    search("--supernet", "nosuch", "--storage", "sqlite:///missing.db", names="--storage"),
    search(*BASE, "--objectives", "accuracy", names="--objectives"),
    search(*BASE, "--objectives", "accuracy,accuracy", names="--objectives"),
    search(*BASE, "--objectives", "speed,params", names="--objectives"),
    search(*BASE, "--objectives", "", names="--objectives"),
    search(*BASE, "--objectives", "accuracy,päräms", names="--objectives"),
    search(*BASE, "--constraint", "latency_ms<=abc", names="--constraint"),
    search(*BASE, "--constraint", "speed<=1", names="--constraint"),
    search(*BASE, "--constraint", "accuracy", names="--constraint"),
    search(*BASE, "--constraint", "params<=nan", names="--constraint"),
    search(*BASE, "--constraint", "params<=inf", names="--constraint"),
    search(*BASE, "--constraint", "", names="--constraint"),
    search(*BASE, "--budget", "0", names="--budget"),
    search(*BASE, "--budget", "-1", names="--budget"),
    search(*BASE, "--budget", "ten", names="--budget"),
    search(*BASE, "--budget", HUGE, names="--budget"),
    search(*BASE, "--budget", "1000001", names="--budget"),
    search(*BASE, "--budget", "999999", names="--budget"),  # more than the tiny space's architectures
    search(*BASE, "--budget", "4", "--batch", "10", names="--budget"),
    search(*BASE, "--batch", "0", names="--batch"),
    search(*BASE, "--batch", "10001", names="--batch"),
    search(*BASE, "--batch", "1.5", names="--batch"),
    search(*BASE, "--strategy", "grid", names="--strategy"),
    search(*BASE, "--strategy", "", names="--strategy"),
    search(*BASE, "--strategy", "optuna", "--sampler", "cmaes", names="--sampler"),
    search(*BASE, "--strategy", "linas", "--sampler", "tpe", names="--sampler"),
    search(*BASE, "--seed", "-1", names="--seed"),
    search(*BASE, "--seed", str(2**32), names="--seed"),
    search(*BASE, "--seed", HUGE, names="--seed"),
    search(*BASE, "--name", "", names="--name"),
    search(*BASE, "--name", LONG, names="--name"),
    search(*BASE, "--name", "a\nb", names="--name"),
    search(*BASE, "--name", " s", names="--name"),
    search(*BASE, "--name", "s", names=("--name", "'s'")),
    search("--supernet", "other.pt", *BASE[2:], "--name", "s", "--executor", "local", names=("--name", "'s'")),
    search(*BASE, "--executor", "slurm", names="--executor"),
    search(*BASE, "--workers", "-1", names="--workers"),
    search(*BASE, "--workers", "4097", names="--workers"),
    search(*BASE, "--cpus-per-worker", "0", names="--cpus-per-worker"),
    search(*BASE, "--cpus-per-worker", "nan", names="--cpus-per-worker"),
    search(*BASE, "--cpus-per-worker", "inf", names="--cpus-per-worker"),
    search(*BASE, "--gpus-per-worker", "-1", names="--gpus-per-worker"),
    search(*BASE, "--gpus-per-worker", "64", names="--gpus-per-worker"),
    search(*BASE, "--gpus-per-worker", "nan", names="--gpus-per-worker"),
    search(*BASE, "--ray-address", "nohost", names="--ray-address"),
    search(*BASE, "--ray-address", "127.0.0.1:1", names="--ray-address"),
    search(*BASE, "--ray-address", "ray://127.0.0.1:notaport", names="--ray-address"),
    search(*BASE, "--device", "tpu", names="--device"),
    search(*BASE, "--latency-batch", "0", names="--latency-batch"),
    search(*BASE, "--latency-batch", HUGE, names="--latency-batch"),
    *(search(*BASE, "--storage", url, names=names) for url, names in BAD_STORAGE + UNWRITABLE_STORAGE),
    *(search(*LOCAL, "--storage", url, names=names) for url, names in BAD_STORAGE[::4]),
    search(*BASE, "--json=yes", names="--json"),
    search(*BASE, "--bugdet", "3", names="No such option: --bugdet"),
]


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_refused_in_one_line_with_exit_2_and_nothing_written(bad: Case, refused: Callable[[Case], Outcome]) -> None:
    refused(bad)
