"""What a teacher table saves: epoch time of distillation with per-step teacher passes vs table lookups.

Two trainings that distil from a frozen teacher, on digits with the default digits space:

* **supernet** — elastic training from a pretrained start (``Trainer.start_from(..., teacher=True)``:
  the sandwich rule, every subnet distilling from the source);
* **finetune** — one subnet fine-tuned with the largest subnet as its teacher (``SubnetTrainer``).

Each is timed for one epoch with the table and one without, alternating, ``--repeats`` times in this
one process (the machine's load hits both alike); reported: the median epoch seconds of each, their
ratio, and the one-off seconds of building the table (after an untimed warm-up epoch: a process's first
passes of each tensor shape are several times slower). Both runs start from the same weights and
draw the same batches, so the losses of the two must agree (printed as a check).

Run: ``.venv/bin/python benchmarks/teacher_table.py [--repeats 5] [--threads 2] [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from supernas.data import load_task
from supernas.search_space import default_space, largest, sample
from supernas.supernet import Supernet, extract
from supernas.supernet.finetune import FinetuneConfig, SubnetTrainer
from supernas.supernet.train import TrainConfig, Trainer

CPU = torch.device("cpu")


def supernet_trainer(table: bool, epochs: int) -> Trainer:
    task = load_task("digits")
    space = default_space(task.spec)
    trainer = Trainer(task, space, TrainConfig(epochs=epochs, eval_subnets=0), CPU)
    source = Supernet(space, task.spec, torch.Generator().manual_seed(1)).state_dict()
    trainer.start_from(source, teacher=True, provenance={"source": "benchmark"})
    assert trainer.teacher_targets is not None
    trainer.teacher_targets.use_table = table  # without: the per-step teacher, as when a table does not pay
    return trainer


def subnet_trainer(table: bool, epochs: int) -> SubnetTrainer:
    task = load_task("digits")
    space = default_space(task.spec)
    supernet = Supernet(space, task.spec, torch.Generator().manual_seed(1)).eval()
    config = sample(space, np.random.default_rng(0))
    trainer = SubnetTrainer(
        extract(supernet, config), task, FinetuneConfig(epochs=epochs), CPU, extract(supernet, largest(space))
    )
    assert trainer.teacher_targets is not None
    trainer.teacher_targets.use_table = table
    return trainer


def measure(
    name: str, make: Callable[[bool, int], Trainer | SubnetTrainer], repeats: int, epochs: int
) -> dict[str, float]:
    make(False, epochs).run_epoch()  # warm-up, not timed: a process's first passes of each shape are slow
    with_table, without = make(True, epochs), make(False, epochs)
    start = time.perf_counter()
    assert with_table.teacher_targets is not None
    with_table.teacher_targets.prepare(epochs)
    build = time.perf_counter() - start
    table = with_table.teacher_targets.table
    assert table is not None, "the table must pay at this many epochs"
    seconds: dict[str, list[float]] = {"table": [], "per-step": []}
    losses: dict[str, list[float]] = {"table": [], "per-step": []}
    for _ in range(repeats):
        for key, trainer in (("table", with_table), ("per-step", without)):
            start = time.perf_counter()
            record = trainer.run_epoch()
            seconds[key].append(time.perf_counter() - start)
            losses[key].append(record.loss)
    table_s, step_s = statistics.median(seconds["table"]), statistics.median(seconds["per-step"])
    gap = max(abs(a - b) / abs(b) for a, b in zip(losses["table"], losses["per-step"]))
    print(
        f"{name:<9} epoch s, median of {repeats}: table {table_s:.2f}  per-step teacher {step_s:.2f}  "
        f"ratio {table_s / step_s:.3f}  | table built once in {build:.2f} s "
        f"({tuple(table.probs.shape)})  | largest relative loss gap {gap:.1e}"
    )
    return {"table": table_s, "per_step": step_s, "build": build, "gap": gap}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="epochs timed per variant (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--quick", action="store_true", help="one repeat: check that it runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    repeats = 1 if args.quick else args.repeats
    print(f"teacher table benchmark: torch {torch.__version__}, {args.threads} threads, digits, CPU")
    measure("supernet", supernet_trainer, repeats, epochs=60)
    measure("finetune", subnet_trainer, repeats, epochs=20)


if __name__ == "__main__":
    main()
