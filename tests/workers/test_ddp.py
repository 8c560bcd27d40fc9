"""Data-parallel training: two ranks compute the one-process gradient; Ray Train runs match one process."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from supernas.data import Split, TaskData, load_task
from supernas.errors import TrainingError, WorkerError
from supernas.search_space import InputSpec
from supernas.supernet.checkpoint import load_supernet, read_checkpoint, save_checkpoint
from supernas.supernet.train import TrainConfig, Trainer, World, train
from supernas.testing import tiny_space
from supernas.workers.ddp import DDPSettings, run_ddp, run_worker

TINY = tiny_space(depth=(1, 2))
# Agreement of a 2-worker run with one process, relative, per step (for at most a few steps): both compute
# the same sums in another float32 order (two half-batch means weighted 1/2 each instead of one mean), so
# gradients differ by ~1e-7 relative; AdamW can turn that into weight differences of up to lr per step on
# coordinates whose gradient is ~0, moving the loss by ~1e-7 after 3 steps (measured: 0, 0, 2.0e-7).
# 1e-5 leaves a 50x margin; wrong shards or a missing all-reduce change the loss at 1e-3 or more.
LOSS_RTOL = 1e-5


ONE_STEP = TrainConfig(epochs=1, batch_size=24, grad_clip=1e9)  # no clipping: a gradient off by a factor shows


def _task(n: int = 24) -> TaskData:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 3, (n,), generator=g)
    return TaskData("toy", InputSpec("image", (1, 8, 8), 3), ("a", "b", "c"), Split(x, y), Split(x, y), Split(x, y))


def _rank(rank: int, store: str, out: str, config: TrainConfig) -> None:
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    trainer = Trainer(_task(), TINY, config, torch.device("cpu"), world=World(rank, 2))
    record = trainer.run_epoch()  # one step: the batch is the whole split, 12 rows per rank
    grads = {name: p.grad for name, p in trainer.supernet.named_parameters()}
    torch.save({"grads": grads, "loss": record.loss}, out)
    torch.distributed.destroy_process_group()


@pytest.mark.parametrize("projection", [False, True], ids=["plain", "grad-projection"])
def test_two_ranks_compute_the_gradient_of_the_whole_batch(tmp_path: Path, projection: bool) -> None:
    config = replace(ONE_STEP, grad_projection=projection, seed=1)  # seed 1: this step's subnets conflict
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:  # first, so that the forked ranks inherit everything this imports
        alone = Trainer(_task(), TINY, config, torch.device("cpu"))
        loss = alone.run_epoch().loss
        if projection:  # this batch's students oppose the largest subnet: projection changes the gradient
            unprojected = Trainer(_task(), TINY, ONE_STEP, torch.device("cpu"))
            unprojected.run_epoch()
            assert not torch.equal(alone._flat_grad(), unprojected._flat_grad())
    finally:
        torch.set_num_threads(threads)
    fork = multiprocessing.get_context("fork")
    args = [(r, str(tmp_path / "store"), str(tmp_path / f"{r}.pt"), config) for r in (0, 1)]
    ranks = [fork.Process(target=_rank, args=arg) for arg in args]
    for process in ranks:
        process.start()
    for process in ranks:
        process.join(timeout=60)
        assert process.exitcode == 0
    for rank in (0, 1):
        shared = torch.load(tmp_path / f"{rank}.pt", weights_only=True)
        assert shared["loss"] == pytest.approx(loss, rel=1e-6)
        for name, p in alone.supernet.named_parameters():
            theirs = shared["grads"][name]
            assert (p.grad is None) == (theirs is None), name  # unused weights stay without a gradient
            if p.grad is not None:
                assert (p.grad - theirs).abs().max() <= 1e-5 * p.grad.abs().max() + 1e-9, name


def test_a_worker_continues_from_out_exactly(tmp_path: Path) -> None:
    np.savez(tmp_path / "t.npz", x=np.random.default_rng(0).normal(size=(60, 1, 8, 8)), y=np.arange(60) % 3)
    task_name = f"npz:{tmp_path / 't.npz'}"
    config = TrainConfig(epochs=2, batch_size=16, eval_subnets=1)
    plain = train(load_task(task_name), TINY, config, tmp_path / "plain.pt", loader_workers=0)
    trainer = Trainer(load_task(task_name), TINY, config, torch.device("cpu"), loader_workers=0)
    trainer.run_epoch()
    save_checkpoint(tmp_path / "out.pt", trainer.state())  # the last epoch rank 0 wrote before a failure
    loop = {
        "task": task_name,
        "space": TINY.to_dict(),
        "train": config.__dict__,
        "augment": "auto",
        "out": str(tmp_path / "out.pt"),
        "cwd": str(tmp_path),
        "threads": torch.get_num_threads(),
        "loader_workers": 0,
    }
    run_worker(loop, World(), torch.device("cpu"))
    a, b = read_checkpoint(tmp_path / "plain.pt"), read_checkpoint(tmp_path / "out.pt")
    assert b["complete"] and b["metrics"] == plain.metrics
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_settings_and_an_existing_out_are_checked_before_ray_is_used(tmp_path: Path) -> None:
    with pytest.raises(WorkerError, match=r"gpus_per_worker 0.5 is not valid; valid: 0 \(CPUs, gloo\) or 1"):
        DDPSettings(gpus_per_worker=0.5)
    with pytest.raises(WorkerError, match="workers 0 is out of range"):
        DDPSettings(workers=0)
    (tmp_path / "x.pt").write_bytes(b"")
    with pytest.raises(TrainingError, match="already exists; pass `resume`"):
        run_ddp("digits", TINY, TrainConfig(), tmp_path / "x.pt", DDPSettings())


@pytest.mark.slow
def test_two_ray_train_workers_match_one_process_with_the_same_global_batch(ray_cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    digits = load_digits()
    split = np.array([0] * 128 + [1] * 64 + [2] * 64)  # one global batch of 128 is the whole training split
    np.savez(tmp_path / "d.npz", x=digits.images[:256, None], y=digits.target[:256], split=split)
    task_name = f"npz:{tmp_path / 'd.npz'}"
    config = TrainConfig(epochs=3, batch_size=128, eval_subnets=1)  # 3 epochs of one step: one loss per step
    with pytest.raises(WorkerError, match="3 workers need 3 CPUs and 0 GPUs; the cluster has 2 CPUs"):
        run_ddp(task_name, TINY, config, tmp_path / "x.pt", DDPSettings(workers=3, loader_workers=0))
    two = run_ddp(task_name, TINY, config, tmp_path / "two.pt", DDPSettings(workers=2, loader_workers=0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each worker
    try:
        one = train(load_task(task_name), TINY, config, tmp_path / "one.pt", loader_workers=0)
    finally:
        torch.set_num_threads(threads)
    assert [r.loss for r in two.history] == pytest.approx([r.loss for r in one.history], rel=LOSS_RTOL)
    loaded = load_supernet(tmp_path / "two.pt")  # a normal, complete supernet checkpoint written by rank 0
    assert loaded.complete and loaded.task == task_name and two.resumed_from == 0
    again = run_ddp(task_name, TINY, config, tmp_path / "two.pt", DDPSettings(workers=2), resume=True)
    assert again.metrics == two.metrics and again.resumed_from == 3  # complete: nothing runs again
