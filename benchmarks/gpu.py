"""One prepared device check: training step precision, DDP scaling, fractional-GPU evaluation actors.

Runs on whatever it finds — CUDA GPUs when present, else the CPU — within ``--budget-s`` (8 minutes),
and prints one table:

* **train step** — one sandwich step (largest, smallest and one random subnet of the ``deit-tiny``
  preset at 32×32, forward and backward, AdamW) in fp32 and under bf16 autocast (what supernas uses
  on CUDA): ms per step and images per second, after warm-up steps;
* **DDP scaling** — Ray Train with 1, 2, 4 … workers of one GPU each (NCCL, the trainer's explicit
  gradient all-reduce) at the same global batch: steps per second and speed-up over one worker
  (skipped without CUDA GPUs);
* **evaluation actors** — the evaluation pool (``supernas.workers.pool``) measuring accuracy and
  latency of random subnets with actors holding 1, 0.5 and 0.25 of a GPU: evaluations per second
  (skipped without CUDA GPUs).

A section that does not fit the remaining budget is skipped and says so.

Run: ``.venv/bin/python benchmarks/gpu.py [--budget-s 480] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from supernas.data import Split, TaskData
from supernas.search_space import InputSpec, SearchSpace, preset_space, sample
from supernas.supernet.train import TrainConfig, Trainer, World

SPEC = InputSpec("image", (3, 32, 32), 10)
WARMUP = {"cuda": 3, "cpu": 1}  # untimed steps first (CPU: one, its steps are slow)


@dataclass
class Row:
    section: str
    setting: str
    device: str
    value: str
    note: str = ""


def synthetic_task(n_train: int, n_val: int, seed: int = 0) -> TaskData:
    """Random 32×32 RGB inputs with random labels (speed only: nothing is learnt)."""
    g = torch.Generator().manual_seed(seed)
    splits = [
        Split(torch.randn(n, *SPEC.shape, generator=g), torch.randint(0, 10, (n,), generator=g))
        for n in (n_train, n_val, n_val)
    ]
    return TaskData("synthetic", SPEC, tuple(str(k) for k in range(10)), *splits)


class PrecisionTrainer(Trainer):
    """The trainer with a chosen autocast: ``fp32`` (none) or ``bf16``, on any device."""

    precision = "bf16"

    def _autocast(self) -> AbstractContextManager[Any]:
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()


def timed_steps(trainer: Trainer, steps: int) -> float:
    """Seconds per step over ``steps`` steps after the warm-up ones (the epoch holds exactly those)."""
    warmup = WARMUP[trainer.device.type]
    stamps: list[float] = []

    def on_step(epoch: int, step: int, per_epoch: int) -> None:
        if trainer.device.type == "cuda":
            torch.cuda.synchronize(trainer.device)
        stamps.append(time.perf_counter())

    trainer.run_epoch(on_step)
    return (stamps[-1] - stamps[warmup - 1]) / steps


def train_step_rows(device: torch.device, batch: int, steps: int, deadline: float) -> list[Row]:
    space = preset_space("deit-tiny", SPEC)
    task = synthetic_task((WARMUP[device.type] + steps) * batch, 8)
    rows = []
    for precision in ("fp32", "bf16"):
        if time.monotonic() > deadline - 120:
            rows.append(Row("train step", precision, str(device), "skipped", "time budget"))
            continue
        trainer = PrecisionTrainer(
            task, space, TrainConfig(epochs=1, batch_size=batch, eval_subnets=0), device, loader_workers=0
        )
        trainer.precision = precision
        seconds = timed_steps(trainer, steps)
        rows.append(
            Row(
                "train step",
                f"{precision}, batch {batch}",
                str(device),
                f"{seconds * 1e3:.1f} ms/step",
                f"{batch / seconds:.0f} images/s",
            )
        )
    return rows


def ddp_worker(config: dict[str, Any]) -> None:
    """A Ray Train worker: the trainer as one rank on its GPU, timed; rank 0 writes the result."""
    import ray.train
    import ray.train.torch

    context = ray.train.get_context()
    world = World(context.get_world_rank(), context.get_world_size())
    batch, steps = config["batch"], config["steps"]
    trainer = Trainer(
        synthetic_task((WARMUP["cuda"] + steps) * batch, 8),
        SearchSpace.from_dict(config["space"]),
        TrainConfig(epochs=1, batch_size=batch, eval_subnets=0),
        ray.train.torch.get_device(),
        loader_workers=0,
        world=world,
    )
    seconds = timed_steps(trainer, steps)
    if world.rank == 0:
        Path(config["result"]).write_text(json.dumps({"seconds_per_step": seconds}))


def ddp_rows(gpus: int, batch: int, steps: int, deadline: float) -> list[Row]:
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    rows: list[Row] = []
    base = None
    workers = 1
    while workers <= gpus:
        if time.monotonic() > deadline - 90:
            rows.append(Row("DDP scaling", f"{workers} GPU workers", "cuda", "skipped", "time budget"))
            break
        with tempfile.TemporaryDirectory() as tmp:
            config = {
                "space": preset_space("deit-tiny", SPEC).to_dict(),
                "batch": batch,
                "steps": steps,
                "result": f"{tmp}/r.json",
            }
            TorchTrainer(
                ddp_worker,
                train_loop_config=config,
                scaling_config=ScalingConfig(num_workers=workers, use_gpu=True),
                run_config=RunConfig(name="gpu-benchmark", storage_path=tmp),
            ).fit()
            seconds = json.loads(Path(config["result"]).read_text())["seconds_per_step"]
        base = base or seconds
        rows.append(
            Row(
                "DDP scaling",
                f"{workers} GPU workers, global batch {batch}",
                "cuda, NCCL",
                f"{1 / seconds:.2f} steps/s",
                f"speed-up {base / seconds:.2f}×",
            )
        )
        workers *= 2
    return rows


def pool_rows(subnets: int, deadline: float) -> list[Row]:
    from supernas.supernet import Supernet
    from supernas.workers.pool import EvaluationPool, PoolSettings, make_payload

    space = preset_space("deit-tiny", SPEC)
    net = Supernet(space, SPEC, torch.Generator().manual_seed(0))
    val = synthetic_task(8, 1024).val
    payload = make_payload(net, (val.x, val.y))
    rng = np.random.default_rng(0)
    configs = [sample(space, rng).to_dict() for _ in range(subnets)]
    rows = []
    for share in (1.0, 0.5, 0.25):
        if time.monotonic() > deadline - 60:
            rows.append(Row("evaluation actors", f"{share:g} GPU each", "cuda", "skipped", "time budget"))
            continue
        pool = EvaluationPool(payload, PoolSettings(gpus_per_worker=share))
        try:
            start = time.perf_counter()
            results = list(pool.evaluate(configs, ["accuracy", "latency_ms"]))
            seconds = time.perf_counter() - start
        finally:
            pool.close()
        failed = sum(r.metrics is None for r in results)
        note = f"{len(pool.devices)} actors" + (f", {failed} failed" if failed else "")
        rows.append(
            Row(
                "evaluation actors",
                f"{share:g} GPU each, {subnets} subnets",
                "cuda",
                f"{subnets / seconds:.2f} evals/s",
                note,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=480.0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    args = parser.parse_args()
    deadline = time.monotonic() + args.budget_s
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    gpus = torch.cuda.device_count()
    batch, steps = ((32, 3) if args.quick else (128, 20)) if cuda else (8, 1)  # CPU: indicative only (bf16 is slow)
    rows = train_step_rows(device, batch, steps, deadline)
    if not cuda:
        rows.append(Row("DDP scaling", "GPU workers", "cpu", "skipped", "no CUDA GPU (CPU DDP: benchmarks/ddp.py)"))
        rows.append(Row("evaluation actors", "0.25 / 0.5 / 1 GPU each", "cpu", "skipped", "no CUDA GPU"))
    else:
        from supernas.workers.cluster import ClusterSettings, RayCluster

        with RayCluster(ClusterSettings()):
            rows += ddp_rows(gpus, 64 if args.quick else 256, 3 if args.quick else 20, deadline)
            rows += pool_rows(4 if args.quick else 32, deadline)
    name = torch.cuda.get_device_name(0) if cuda else "CPU"
    print(f"device: {name} ({gpus} CUDA GPUs), torch {torch.__version__}, deit-tiny preset at 32×32")
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("section", "setting", "device", "value")]
    for r in rows:
        cells = [getattr(r, f).ljust(w) for f, w in zip(("section", "setting", "device", "value"), widths)]
        print("  ".join(cells), r.note)


if __name__ == "__main__":
    main()
