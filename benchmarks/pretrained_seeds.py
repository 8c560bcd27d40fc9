"""Goal 3 of issue 16 over several seeds: how reproducible the from-scratch target is, and how often a
pretrained start reaches it within a third of the from-scratch time.

Goal 3 compares one pretrained run with one from-scratch run: the pretrained start must reach the
from-scratch supernet's final validation accuracy of the largest subnet, the smallest subnet and the
median of 20 random subnets, all at once, within a third of the from-scratch wall time. This script
runs that comparison for each seed in ``--seeds``, one seed after the other in this process: the
from-scratch run (the ``supernas train --task digits`` defaults, 120 epochs) and then the pretrained
start (the library's ``PRETRAINED_START`` defaults) from the same source, both measured as
``benchmarks/pretrained.py`` item 3 does (its ``run_curve``: the clock includes ``prepare_training``
and excludes evaluation; the pretrained run is evaluated after every epoch, on the seed's 20 random
subnets).

Then, besides the goal per seed, it asks how reproducible the target is: for every ordered pair of
different seeds (a, b), does from-scratch run a, at its full time, reach run b's three values? And
does pretrained run a reach them at a checkpoint within a third of its own from-scratch run's time
(goal 3's reading, as in ``benchmarks/pretrained.py``), and at its last checkpoint there? How often a
from-scratch run reaches an independent one's values shows how much of a single-run goal is chance.

The source is a digits ViT saved by ``benchmarks/pretrained.py --save-source FILE``. Every finished
seed is written to ``--json-out`` at once; run again with the same file to continue after a stop
(seeds already there are not run again).

Run: ``.venv/bin/python benchmarks/pretrained_seeds.py --source-weights FILE --json-out FILE
[--seeds 0 1 2 3 4] [--threads 2]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from itertools import permutations
from pathlib import Path
from typing import Any

import torch
from pretrained import random_configs, run_curve, saved_source

from supernas.atomic import write_json
from supernas.data import load_task
from supernas.search_space import SearchSpace, default_space
from supernas.supernet.pretrained import PretrainedViT, load_timm
from supernas.supernet.train import PRETRAINED_START

SCRATCH_EPOCHS = 120  # the from-scratch schedule goal 3 names
RANDOM_SUBNETS = 20  # random subnets whose median is the third value
METRICS = ("largest", "smallest", "median_random")  # the three values of goal 3, in table order


def run_seed(seed: int, space: SearchSpace, source: PretrainedViT) -> dict[str, Any]:
    """The from-scratch run and the pretrained run of one seed, on the seed's random subnets."""
    configs = random_configs(space, RANDOM_SUBNETS, seed)
    scratch_settings = {"epochs": SCRATCH_EPOCHS, "seed": seed}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = run_curve("from-scratch", space, scratch_settings, None, configs, SCRATCH_EPOCHS, Path(tmp), "cpu")
        pretrained = run_curve("pretrained", space, {"seed": seed}, source, configs, 1, Path(tmp), "cpu")
    return {"seed": seed, "scratch": scratch, "pretrained": pretrained}


def values(point: dict[str, Any]) -> tuple[float, ...]:
    return tuple(point[key] for key in METRICS)


def holds(reached: tuple[float, ...], target: tuple[float, ...]) -> bool:
    """Whether three values (one checkpoint's) are all at or above the target's."""
    return all(value >= goal for value, goal in zip(reached, target))


def within_a_third(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The pretrained run's checkpoints at or before a third of its own from-scratch run's time."""
    budget = run["scratch"]["train_seconds"] / 3
    return [p for p in run["pretrained"]["points"] if p["seconds"] <= budget]


def first_holding(points: list[dict[str, Any]], target: tuple[float, ...]) -> dict[str, Any] | None:
    """The first checkpoint that holds all three target values at once (one a user could stop at)."""
    return next((p for p in points if holds(values(p), target)), None)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per seed: the targets, the pretrained run at a third and when it first holds all three (the goal,
    as ``benchmarks/pretrained.py`` reads it); across seeds: how often a run reaches another seed's values."""
    seeds = []
    windows = {run["seed"]: within_a_third(run) for run in runs}
    for run in runs:
        target = values(run["scratch"]["points"][-1])
        window = windows[run["seed"]]
        first = first_holding(run["pretrained"]["points"], target)
        scratch_seconds = run["scratch"]["train_seconds"]
        seeds.append(
            {
                "seed": run["seed"],
                "target": target,
                "scratch_seconds": scratch_seconds,
                "third_epoch": window[-1]["epoch"],
                "at_a_third": values(window[-1]),
                "end_share": run["pretrained"]["train_seconds"] / scratch_seconds,
                "first_all_three": None if first is None else first["seconds"] / scratch_seconds,
                "goal": first_holding(window, target) is not None,
            }
        )
    by_seed = {s["seed"]: s for s in seeds}
    pairs = list(permutations(by_seed, 2))
    return {
        "seeds": seeds,
        "pairs": [list(p) for p in pairs],
        "scratch_reaches_other": [holds(by_seed[a]["target"], by_seed[b]["target"]) for a, b in pairs],
        "pretrained_third_reaches_other": [holds(by_seed[a]["at_a_third"], by_seed[b]["target"]) for a, b in pairs],
        "pretrained_within_third_reaches_other": [
            first_holding(windows[a], by_seed[b]["target"]) is not None for a, b in pairs
        ],
        "median_target": [statistics.median(s["target"][k] for s in seeds) for k in range(len(METRICS))],
        "median_at_a_third": [statistics.median(s["at_a_third"][k] for s in seeds) for k in range(len(METRICS))],
    }


def percent(row: tuple[float, ...] | list[float]) -> str:
    return " / ".join(f"{100 * v:5.2f}" for v in row)


def report(summary: dict[str, Any]) -> None:
    print("\ncolumns: seed | from-scratch values (the targets): largest / smallest / median of 20 random, % |")
    print("from-scratch seconds | epoch of the pretrained run's last checkpoint at a third of that time |")
    print("its values there, % | its end as a share of the from-scratch time | share at which a checkpoint")
    print("first holds all three | goal 3 met (that share <= 1/3)")
    for s in summary["seeds"]:
        first = "never" if s["first_all_three"] is None else f"{s['first_all_three']:.3f}"
        print(
            f"{s['seed']:>4}  {percent(s['target'])}  {s['scratch_seconds']:6.1f}  {s['third_epoch']:>3}  "
            f"{percent(s['at_a_third'])}  {s['end_share']:.3f}  {first:>5}  {'yes' if s['goal'] else 'no'}"
        )
    print(f"median  {percent(summary['median_target'])}  at a third: {percent(summary['median_at_a_third'])}")
    n = len(summary["pairs"])
    if n:
        print(f"\nordered pairs of different seeds (a, b): {n}; how often run a holds all three of run b's values")
        scratch, third = sum(summary["scratch_reaches_other"]), sum(summary["pretrained_third_reaches_other"])
        within = sum(summary["pretrained_within_third_reaches_other"])
        print(f"from-scratch run a at its end (its full time): {scratch} of {n}")
        print(f"pretrained run a at its last checkpoint within a third: {third} of {n}")
        print(f"pretrained run a at any checkpoint within a third (goal 3's reading): {within} of {n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source-weights", type=Path, required=True, help="the digits ViT's state dict")
    parser.add_argument("--json-out", type=Path, required=True, help="every finished seed; read back to continue")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="one run pair per seed")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = load_task("digits")
    space = default_space(task.spec)
    before = json.loads(args.json_out.read_text()) if args.json_out.exists() else None
    if before is not None and (before["pretrained_start"], before["threads"]) != (PRETRAINED_START, args.threads):
        parser.error(f"{args.json_out} holds runs of another pretrained start or thread count; use a new --json-out")
    runs: list[dict[str, Any]] = [] if before is None else before["runs"]
    done = {run["seed"] for run in runs}
    print(f"pretrained start {dict(PRETRAINED_START)}; seeds done before: {sorted(done) or 'none'}")
    source = load_timm(saved_source(args.source_weights, space))
    for seed in args.seeds:
        if seed in done:
            continue
        runs.append(run_seed(seed, space, source))
        write_json(args.json_out, {"threads": args.threads, "pretrained_start": PRETRAINED_START, "runs": runs})
        print(f"seed {seed} done", flush=True)
    chosen = [run for run in runs if run["seed"] in set(args.seeds)]
    summary = summarise(chosen)
    report(summary)
    write_json(
        args.json_out, {"threads": args.threads, "pretrained_start": PRETRAINED_START, "runs": runs, "summary": summary}
    )


if __name__ == "__main__":
    main()
