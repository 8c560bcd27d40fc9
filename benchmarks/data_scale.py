"""Training from an image folder at two sizes: peak memory must not grow with the number of images.

Generates 5,000- and 50,000-image folders of 32×32 RGB digits (``make_image_folder.py``, or reuses
them under ``--data``), then trains the ``deit-tiny`` preset on each, as ``supernas train --task
folder:…`` does (``api.prepare_training``, then ``supernet.train.train``), for a fixed number of
steps, once with 0 and once with 2 loader worker processes, each run in a fresh process. Reports
per run: the task's load time (every header read, statistics of the training sample), training
images per second (after warm-up steps) and the peak resident memory of the training process
(the largest process of its tree, from ``wait4``). Goal: peak RSS at 50,000 ≤ 1.2 × at 5,000.

Run: ``.venv/bin/python benchmarks/data_scale.py [--steps 10] [--batch 32] [--data DIR] [--quick]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from supernas.data import load_task

WARMUP_STEPS = 3  # steps before the clock starts (first batches, lazy initialisation)


class _Enough(Exception):
    """Stops training after the measured steps."""


def child(task: str, workers: int, steps: int, batch: int, threads: int) -> None:
    """Train ``steps`` steps and print what was measured as JSON (runs in its own process)."""
    from supernas.api import prepare_training
    from supernas.search_space import preset_space
    from supernas.supernet.train import train

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        spec = load_task(task).spec
        load_s = time.perf_counter() - start
        plan = prepare_training(  # loads the task again, as the CLI does
            Path(tmp) / "s.pt",
            task=task,
            space=preset_space("deit-tiny", spec),
            settings={"batch_size": batch, "epochs": 1, "eval_subnets": 0},
        )
        stamps: list[float] = []

        def on_step(epoch: int, step: int, per_epoch: int) -> None:
            stamps.append(time.perf_counter())
            if len(stamps) == WARMUP_STEPS + steps:
                raise _Enough

        with contextlib.suppress(_Enough):
            train(plan.task, plan.space, plan.config, plan.out, loader_workers=workers, on_step=on_step)
    seconds = stamps[-1] - stamps[WARMUP_STEPS - 1]
    print(json.dumps({"load_s": load_s, "images_per_s": steps * batch / seconds, "images": len(plan.task.train)}))


def run_child(task: str, workers: int, steps: int, batch: int, threads: int) -> dict[str, float]:
    """One child run: its JSON plus its peak RSS in MiB."""
    cmd = [sys.executable, __file__, "--child", task, "--workers", str(workers), "--steps", str(steps)]
    cmd += ["--batch", str(batch), "--threads", str(threads)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child failed:\n{err[-3000:]}")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_rss_mib": usage.ru_maxrss / 1024}


def folder(data: Path, count: int) -> Path:
    """``data/digits-COUNT``, generated when missing."""
    sys.path.insert(0, str(Path(__file__).parent))
    from make_image_folder import make_image_folder

    path = data / f"digits-{count}"
    if not path.exists():
        start = time.perf_counter()
        make_image_folder(path, count)
        print(f"generated {count} images in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the training process")
    parser.add_argument("--sizes", type=int, nargs=2, default=(5000, 50000))
    parser.add_argument("--data", type=Path, help="where the folders are (generated there when missing)")
    parser.add_argument("--quick", action="store_true", help="300 and 3,000 images, 3 steps of 16: check it runs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.workers, args.steps, args.batch, args.threads)
        return
    if args.quick:
        args.sizes, args.steps, args.batch = (300, 3000), 3, 16
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        rows = []
        for count in args.sizes:
            path = folder(data, count)
            for workers in (0, 2):
                result = run_child(f"folder:{path}", workers, args.steps, args.batch, args.threads)
                rows.append((count, workers, result))
                print(f"done: {count} images, {workers} loader workers: {result}", file=sys.stderr)
    print(
        f"deit-tiny at 32×32, batch {args.batch}, {args.steps} steps after {WARMUP_STEPS} warm-up, "
        f"{args.threads} thread(s)"
    )
    print(
        f"{'images':>8} {'train split':>11} {'loader workers':>14} {'load s':>7} {'images/s':>9} {'peak RSS MiB':>12}"
    )
    for count, workers, r in rows:
        print(
            f"{count:>8} {r['images']:>11} {workers:>14} {r['load_s']:>7.1f} {r['images_per_s']:>9.1f} "
            f"{r['peak_rss_mib']:>12.0f}"
        )
    for workers in (0, 2):
        small, large = (r["peak_rss_mib"] for c, w, r in rows if w == workers)
        print(
            f"peak RSS {args.sizes[1]} / {args.sizes[0]} images, {workers} loader workers: "
            f"{large / small:.3f} (goal ≤ 1.2)"
        )


if __name__ == "__main__":
    main()
