"""The optimizer step: fused AdamW (what supernas uses) vs PyTorch's per-tensor AdamW, on the digits supernet.

Two measurements in one process, with a fixed torch thread count:

1. **Step.** ``optimizer.step()`` alone on the default digits supernet's parameters, every one with a
   gradient: median over repeats of the mean of ``--steps`` steps, each implementation.
2. **Epoch.** One epoch of ``supernas train --task digits`` defaults (after a warm-up epoch), the two
   optimizers alternating over ``--repeats`` repeats: the median seconds of each and their ratio.

Run: ``.venv/bin/python benchmarks/optimizer.py [--threads 2] [--repeats 5] [--steps 50]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from supernas.data import load_task
from supernas.search_space import default_space
from supernas.supernet.optim import adamw
from supernas.supernet.train import TrainConfig, Trainer

CPU = torch.device("cpu")


def per_tensor(trainer: Trainer) -> torch.optim.AdamW:
    """PyTorch's loop over parameter tensors, with the trainer's settings (what supernas used before)."""
    cfg = trainer.config
    return torch.optim.AdamW(
        trainer.supernet.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, eps=cfg.adam_eps, foreach=False
    )


def step_ms(optimizer: torch.optim.Optimizer, steps: int, repeats: int) -> float:
    """Median over ``repeats`` of the mean milliseconds of ``steps`` optimizer steps."""
    optimizer.step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            optimizer.step()
        times.append((time.perf_counter() - start) / steps * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = load_task("digits")
    space = default_space(task.spec)
    config = TrainConfig()

    trainer = Trainer(task, space, config, CPU)
    params = list(trainer.supernet.parameters())
    for p in params:
        p.grad = torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()))
    print(f"digits supernet: {len(params)} weight tensors, {sum(p.numel() for p in params):,} weights")
    fused = step_ms(adamw(params, CPU, lr=config.lr, weight_decay=config.weight_decay), args.steps, args.repeats)
    loop = step_ms(per_tensor(trainer), args.steps, args.repeats)
    print(f"1. optimizer step: fused {fused:.2f} ms, per-tensor {loop:.2f} ms (median of {args.repeats})")

    seconds: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.repeats):
        for is_fused in (True, False):
            trainer = Trainer(task, space, config, CPU)
            if not is_fused:
                trainer.optimizer = per_tensor(trainer)
                trainer.scheduler = torch.optim.lr_scheduler.LambdaLR(trainer.optimizer, trainer._lr_factor)
            trainer.run_epoch()  # warm-up
            start = time.perf_counter()
            trainer.run_epoch()
            seconds[is_fused].append(time.perf_counter() - start)
    a, b = statistics.median(seconds[True]), statistics.median(seconds[False])
    print(f"2. epoch of the default digits training: fused {a:.3f} s, per-tensor {b:.3f} s, ratio {a / b:.3f}")


if __name__ == "__main__":
    main()
