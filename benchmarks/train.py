"""Default `supernas train` on digits: wall time, peak resident memory and accuracies.

Runs the README's training command in a subprocess under ``/usr/bin/time -v`` (peak RSS
of the training process), then evaluates 20 random subnets of the trained supernet on
the validation and test splits (median and range).

Run: ``.venv/bin/python benchmarks/train.py [--epochs E] [--json]``
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from supernas.data import load_task
from supernas.search_space import sample
from supernas.supernet.checkpoint import load_supernet
from supernas.supernet.measure import accuracy


def run_training(out: Path, epochs: int | None) -> tuple[float, int, dict[str, Any]]:
    """Wall seconds, peak RSS in bytes and the final metrics of one training run."""
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "supernas.cli.main", "train", "--out", str(out), "--json"]
    if epochs is not None:
        cmd += ["--epochs", str(epochs)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))  # type: ignore[union-attr]
    return wall, rss_kb * 1024, json.loads(proc.stdout)


def random_subnets(path: Path, n: int, seed: int) -> dict[str, list[float]]:
    """Validation and test accuracy of ``n`` random subnets (seeded)."""
    loaded = load_supernet(path)
    task = load_task(loaded.task)
    rng = np.random.default_rng(seed)
    scores: dict[str, list[float]] = {"val": [], "test": []}
    for _ in range(n):
        config = sample(loaded.supernet.space, rng)
        with torch.no_grad():
            scores["val"].append(accuracy(lambda x, c=config: loaded.supernet(x, c), task.val.x, task.val.y))
            scores["test"].append(accuracy(lambda x, c=config: loaded.supernet(x, c), task.test.x, task.test.y))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="override the default budget")
    parser.add_argument("--random", type=int, default=20, help="random subnets to evaluate")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "digits.pt"
        wall, rss, metrics = run_training(out, args.epochs)
        scores = random_subnets(out, args.random, seed=123)
    result = {
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(rss / 2**20),
        "test_largest": metrics["test_largest"],
        "test_smallest": metrics["test_smallest"],
        "val_largest": metrics["val_largest"],
        "val_smallest": metrics["val_smallest"],
        "random_val_median": statistics.median(scores["val"]),
        "random_test_median": statistics.median(scores["test"]),
        "random_test_range": [min(scores["test"]), max(scores["test"])],
        "epochs": metrics["train_config"]["epochs"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
