"""Data-parallel training on Ray Train against one process: the same loss curve, and steps per second.

Three runs of the same training (same seed, same global batch, the built-in digits space on 8×8
digits; every epoch is exactly one step, so each epoch's loss is one step's):

* one process with 2 torch threads, and one process with 1 thread — the thread count changes float
  summation order, so their difference is the numerical noise floor of one-process training;
* ``TorchTrainer`` with 2 workers of 1 CPU each (gloo), each running its half of every batch with the
  trainer's explicit gradient all-reduce (the loop of ``supernas.workers.ddp.run_worker``, timed,
  without checkpoints).

Prints both loss curves, the largest relative differences (first 3 steps, all steps) next to the
noise floor, and steps per second (after the first step; Ray Train's start-up is excluded).

Run: ``.venv/bin/python benchmarks/ddp.py [--steps 20] [--batch 128] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits

from supernas.data import load_task
from supernas.search_space import SearchSpace, default_space
from supernas.supernet.train import TrainConfig, Trainer, World
from supernas.testing import tiny_space
from supernas.workers.cluster import ClusterSettings, RayCluster


def make_task(directory: Path, batch: int) -> str:
    """An npz task whose training split is exactly one global batch (then 64 val, 64 test rows)."""
    digits = load_digits()
    n = batch + 128
    split = np.array([0] * batch + [1] * 64 + [2] * 64)
    np.savez(directory / "digits.npz", x=digits.images[:n, None], y=digits.target[:n], split=split)
    return f"npz:{directory / 'digits.npz'}"


def timed_run(trainer: Trainer) -> tuple[list[float], list[float]]:
    """Per-step losses and the clock after every step."""
    losses, stamps = [], []
    while trainer.epoch < trainer.config.epochs:
        losses.append(trainer.run_epoch().loss)
        stamps.append(time.perf_counter())
    return losses, stamps


def one_process(task: str, space: SearchSpace, config: TrainConfig, threads: int) -> tuple[list[float], list[float]]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return timed_run(Trainer(load_task(task), space, config, torch.device("cpu"), loader_workers=0))
    finally:
        torch.set_num_threads(previous)


def worker_loop(config: dict[str, Any]) -> None:
    """One Ray Train worker: the trainer as one rank of the world; rank 0 writes losses and times."""
    import ray.train

    torch.set_num_threads(1)
    context = ray.train.get_context()
    world = World(context.get_world_rank(), context.get_world_size())
    trainer = Trainer(
        load_task(config["task"]),
        SearchSpace.from_dict(config["space"]),
        TrainConfig(**config["train"]),
        torch.device("cpu"),
        loader_workers=0,
        world=world,
    )
    losses, stamps = timed_run(trainer)
    if world.rank == 0:
        Path(config["result"]).write_text(json.dumps({"losses": losses, "stamps": stamps}))


def ray_train(
    task: str, space: SearchSpace, config: TrainConfig, workers: int, result: Path
) -> tuple[list[float], list[float]]:
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    loop = {"task": task, "space": space.to_dict(), "train": config.__dict__, "result": str(result)}
    with tempfile.TemporaryDirectory() as storage:
        TorchTrainer(
            worker_loop,
            train_loop_config=loop,
            scaling_config=ScalingConfig(num_workers=workers, use_gpu=False, resources_per_worker={"CPU": 1}),
            run_config=RunConfig(name="ddp-benchmark", storage_path=storage),
        ).fit()
    data = json.loads(result.read_text())
    return data["losses"], data["stamps"]


def steps_per_s(stamps: list[float]) -> float:
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")


def max_rel(a: list[float], b: list[float]) -> float:
    return max(abs(x - y) / abs(x) for x, y in zip(a, b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--quick", action="store_true", help="3 steps of 32 on the tiny space: check that it runs")
    args = parser.parse_args()
    space = tiny_space() if args.quick else default_space(load_task("digits").spec)
    steps, batch = (3, 32) if args.quick else (args.steps, args.batch)
    config = TrainConfig(epochs=steps, batch_size=batch, eval_subnets=0)
    with tempfile.TemporaryDirectory() as tmp:
        task = make_task(Path(tmp), batch)
        one_thread = one_process(task, space, config, 1)  # first: it also warms up imports and allocators
        two_threads = one_process(task, space, config, 2)
        with RayCluster(ClusterSettings(num_cpus=2)):
            start = time.perf_counter()
            ddp = ray_train(task, space, config, 2, Path(tmp) / "ddp.json")
            fit_s = time.perf_counter() - start
    print(f"{steps} steps, global batch {batch}, {'tiny' if args.quick else 'digits'} space, seed 0")
    print(f"{'step':>4} {'1 process, 2 threads':>21} {'1 process, 1 thread':>20} {'2 Ray Train workers':>20}")
    for i, (a, b, c) in enumerate(zip(two_threads[0], one_thread[0], ddp[0])):
        print(f"{i + 1:>4} {a:>21.7f} {b:>20.7f} {c:>20.7f}")
    first = min(3, steps)
    for label, curve in (("1 thread vs 2 threads (noise floor)", one_thread[0]), ("2 workers vs 1 process", ddp[0])):
        print(
            f"max relative loss difference, {label}: first {first} steps "
            f"{max_rel(two_threads[0][:first], curve[:first]):.1e}, all {max_rel(two_threads[0], curve):.1e}"
        )
    print(
        f"steps/s: 1 process 2 threads {steps_per_s(two_threads[1]):.2f}, 1 thread {steps_per_s(one_thread[1]):.2f}, "
        f"2 workers {steps_per_s(ddp[1]):.2f} (Ray Train fit took {fit_s:.0f} s in all)"
    )


if __name__ == "__main__":
    main()
