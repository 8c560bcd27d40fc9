"""The smallest subnet trained alone: what a third of the from-scratch steps can give it (issue 16, goal 3).

Goal 3 asks a pretrained start to reach the from-scratch supernet's validation accuracy on the
largest, the smallest and 20 random subnets within a third of the from-scratch wall time. In a
supernet step (the sandwich rule) the smallest subnet gets one gradient step; the pretrained
start's default schedule (``PRETRAINED_START``, the default ``--epochs``) is sized to take about
a third of the from-scratch time (docs/benchmarks.md). This script trains the smallest subnet of
the default digits space as a plain module (``extract``), with nothing else sharing its weights,
for that many epochs of the same batch size: from the library's pretrained start (import,
importance ordering, recursion fit) distilling from the source, as in the supernet; and, as a
reference for the target, from fresh weights without a teacher for the from-scratch schedule.
What it reaches shows what the smallest subnet learns in that many steps when weight sharing
costs it nothing.

The source is a digits ViT saved by ``benchmarks/pretrained.py --save-source FILE``.

Run: ``.venv/bin/python benchmarks/smallest_alone.py --source-weights FILE [--epochs E]
[--lr 5e-3 8e-3] [--kd-weight 0.5 1.0] [--seeds 0 1 2] [--scratch-epochs 120] [--json-out FILE]``
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from pretrained import library_start, saved_source

from supernas.atomic import write_json
from supernas.data import TaskData, load_task
from supernas.search_space import default_space, largest, smallest
from supernas.supernet import Supernet, extract
from supernas.supernet.finetune import FinetuneConfig, SubnetTrainer
from supernas.supernet.pretrained import load_timm
from supernas.supernet.static import StaticSubnet
from supernas.supernet.train import PRETRAINED_START, TrainConfig

SUPERNET = TrainConfig()  # the from-scratch supernet training: its batch size, warmup, lr and epochs


def train_alone(
    student: StaticSubnet, task: TaskData, config: FinetuneConfig, teacher: StaticSubnet | None
) -> dict[str, Any]:
    """Train ``student`` alone; its validation accuracy before training and after every epoch."""
    trainer = SubnetTrainer(student, task, config, torch.device("cpu"), teacher)
    start_accuracy = trainer.accuracy(task.val)
    began = time.perf_counter()
    curve = [trainer.run_epoch().val_accuracy for _ in range(config.epochs)]
    return {"start_accuracy": start_accuracy, "curve": curve, "seconds": time.perf_counter() - began}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source-weights", type=Path, required=True, help="the digits ViT's state dict")
    parser.add_argument(
        "--epochs", type=int, default=int(PRETRAINED_START["epochs"]), help="epochs from the pretrained start"
    )
    parser.add_argument("--lr", type=float, nargs="+", default=[5e-3, 8e-3], help="peak learning rates")
    parser.add_argument("--kd-weight", type=float, nargs="+", default=[0.5, 1.0], help="distillation shares")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="shuffling and augmentation seeds")
    parser.add_argument(
        "--scratch-epochs", type=int, default=SUPERNET.epochs, help="epochs of the from-scratch reference"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--json-out", type=Path, default=None, help="write every curve to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    task = load_task("digits")
    space = default_space(task.spec)
    source = load_timm(saved_source(args.source_weights, space))
    with tempfile.TemporaryDirectory() as tmp:
        start = library_start(source, space, {"seed": 0}, Path(tmp))
    teacher = extract(start, largest(space)).eval()
    config = smallest(space)
    print(f"smallest subnet: {config}")
    print("columns: init | epochs | lr | KD share | seed | accuracy at the start, at the end, best | s/epoch")

    runs: list[dict[str, Any]] = []
    for lr, kd, seed in itertools.product(args.lr, args.kd_weight, args.seeds):
        settings = FinetuneConfig(
            epochs=args.epochs, batch_size=SUPERNET.batch_size, lr=lr, warmup=SUPERNET.warmup, kd_weight=kd, seed=seed
        )
        result = train_alone(extract(start, config), task, settings, teacher)
        runs.append({"init": "pretrained", "lr": lr, "kd_weight": kd, "seed": seed, "epochs": args.epochs} | result)
    for seed in args.seeds:
        settings = FinetuneConfig(
            epochs=args.scratch_epochs,
            batch_size=SUPERNET.batch_size,
            lr=SUPERNET.lr,
            warmup=SUPERNET.warmup,
            seed=seed,
        )
        fresh = Supernet(space, task.spec, torch.Generator().manual_seed(seed))
        result = train_alone(extract(fresh, config), task, settings, None)
        runs.append(
            {"init": "scratch", "lr": SUPERNET.lr, "kd_weight": 0.0, "seed": seed, "epochs": args.scratch_epochs}
            | result
        )

    for run in runs:
        curve = run["curve"]
        print(
            f"{run['init']:10s} {run['epochs']:4d} {run['lr']:g} {run['kd_weight']:g} {run['seed']} "
            f"{100 * run['start_accuracy']:.2f} "
            f"{100 * curve[-1]:.2f} {100 * max(curve):.2f} {run['seconds'] / run['epochs']:.2f}"
        )
    pretrained = [r["curve"][-1] for r in runs if r["init"] == "pretrained"]
    scratch = [r["curve"][-1] for r in runs if r["init"] == "scratch"]
    print(
        f"pretrained start, {args.epochs} epochs: median {100 * statistics.median(pretrained):.2f} %, "
        f"range {100 * min(pretrained):.2f}-{100 * max(pretrained):.2f} % over {len(pretrained)} runs; "
        f"from scratch, {args.scratch_epochs} epochs: median {100 * statistics.median(scratch):.2f} %, "
        f"range {100 * min(scratch):.2f}-{100 * max(scratch):.2f} %"
    )
    if args.json_out is not None:
        write_json(args.json_out, {"smallest": str(config), "threads": args.threads, "runs": runs})


if __name__ == "__main__":
    main()
