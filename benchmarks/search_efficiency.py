"""Search efficiency: hypervolume ratio to a reference front at budgets 50/100/200.

Two problems:

* ``synthetic`` — a synthetic problem over the real genome (32,004 architectures) whose
  exact Pareto front is known by enumeration;
* ``digits`` — a trained digits supernet (``--checkpoint``), objectives accuracy and
  latency_ms measured in process; the reference front is the union of every point
  measured by every run.

Each strategy runs once per seed to the largest budget; the hypervolume at smaller
budgets is read from the same trajectory. All runs of a problem share one reference
point. Prints median and min–max over seeds.

Run: ``.venv/bin/python benchmarks/search_efficiency.py --problem synthetic [--seeds 5] [--json]``
     ``.venv/bin/python benchmarks/search_efficiency.py --problem digits --checkpoint runs/digits.pt``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from supernas.search import Trial, hypervolume, make_strategy, nondominated, parse_objectives, run_search
from supernas.search.engine import EvalResult, Evaluator
from supernas.search.objectives import to_minimization
from supernas.search_space import InputSpec, SearchSpace, SubnetConfig
from supernas.search_space.enumerate import enumerate_configs
from supernas.testing import SYNTHETIC_SPACE, SYNTHETIC_SPEC, SyntheticEvaluator, synthetic_metrics

STRATEGIES = ("linas", "nsga2", "random", "optuna")
BUDGETS = (50, 100, 200)
OBJECTIVES = parse_objectives("accuracy,latency_ms")


def trajectories(
    space: SearchSpace, spec: InputSpec, make_evaluator: Callable[[], Evaluator], seeds: Sequence[int], batch: int
) -> dict[str, list[list[Trial]]]:
    """Every measured trial, in order, of each strategy and seed."""
    out: dict[str, list[list[Trial]]] = {}
    for name in STRATEGIES:
        out[name] = []
        for seed in seeds:
            start = time.perf_counter()
            strategy = make_strategy(name, space, spec, OBJECTIVES, [], seed, batch)
            result = run_search(strategy, make_evaluator(), max(BUDGETS))
            out[name].append(result.trials)
            print(f"  {name} seed {seed}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return out


def ratios(runs: dict[str, list[list[Trial]]], reference_front: np.ndarray, ref: np.ndarray) -> dict[str, Any]:
    """HV ratio at each budget: median, min and max over seeds."""
    best = hypervolume(reference_front, ref)
    table: dict[str, Any] = {}
    for name, per_seed in runs.items():
        table[name] = {}
        for budget in BUDGETS:
            values = []
            for trials in per_seed:
                F = to_minimization([t.metrics for t in trials[:budget] if t.metrics], OBJECTIVES)
                values.append(hypervolume(F[nondominated(F)], ref) / best)
            table[name][budget] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return table


def synthetic(seeds: Sequence[int], batch: int) -> dict[str, Any]:
    rows = [synthetic_metrics(SYNTHETIC_SPACE, SYNTHETIC_SPEC, c) for c in enumerate_configs(SYNTHETIC_SPACE)]
    F = to_minimization(rows, OBJECTIVES)
    front = F[nondominated(F)]
    ref = F.max(axis=0) * np.array([0.0, 1.1])  # accuracy bound 0; 10 % beyond the slowest
    runs = trajectories(SYNTHETIC_SPACE, SYNTHETIC_SPEC, SyntheticEvaluator, seeds, batch)
    return {"architectures": len(rows), "front_size": len(front), "ratios": ratios(runs, front, ref)}


class CachedEvaluator:
    """Measures each architecture once for all runs, so every strategy sees the same value for it."""

    def __init__(self, inner: Evaluator) -> None:
        self.inner = inner
        self.cache: dict[str, EvalResult] = {}  # arch_id -> its one measurement

    def evaluate(self, configs: Sequence[SubnetConfig], on_result: Callable[[int, EvalResult], None]) -> None:
        missing = [i for i, c in enumerate(configs) if c.arch_id not in self.cache]

        def store(j: int, result: EvalResult) -> None:
            self.cache[configs[missing[j]].arch_id] = result

        self.inner.evaluate([configs[i] for i in missing], store)
        for i, config in enumerate(configs):
            on_result(i, self.cache[config.arch_id])


def digits(checkpoint: str, seeds: Sequence[int], batch: int) -> dict[str, Any]:
    from supernas.api.evaluation import LocalEvaluator
    from supernas.data import load_task
    from supernas.supernet.checkpoint import load_supernet
    from supernas.supernet.measure import SubnetMeasurer

    loaded = load_supernet(checkpoint)
    task = load_task(loaded.task)
    measurer = SubnetMeasurer(loaded.supernet, (task.val.x, task.val.y))
    cached = CachedEvaluator(LocalEvaluator(measurer, [m.name for m in OBJECTIVES]))
    runs = trajectories(
        loaded.supernet.space,
        loaded.supernet.spec,
        lambda: cached,
        seeds,
        batch,
    )
    everything = [t.metrics for per_seed in runs.values() for trials in per_seed for t in trials if t.metrics]
    F = to_minimization(everything, OBJECTIVES)
    ref = F.max(axis=0) * np.array([0.0, 1.1])
    return {
        "measured_points": len(F),
        "distinct_architectures": len(cached.cache),
        "reference_front_size": len(nondominated(F)),
        "ratios": ratios(runs, F[nondominated(F)], ref),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", choices=("synthetic", "digits"), default="synthetic")
    parser.add_argument("--checkpoint", help="trained supernet for --problem digits")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    if args.problem == "digits":
        if not args.checkpoint:
            parser.error("--problem digits needs --checkpoint")
        result = digits(args.checkpoint, seeds, args.batch)
    else:
        result = synthetic(seeds, args.batch)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.problem}: " + ", ".join(f"{k} {v}" for k, v in result.items() if k != "ratios"))
    print(f"{'strategy':<8} " + " ".join(f"{'HV@' + str(b):>22}" for b in BUDGETS))
    for name, row in result["ratios"].items():
        cells = [f"{row[b]['median']:.4f} ({row[b]['min']:.3f}–{row[b]['max']:.3f})" for b in BUDGETS]
        print(f"{name:<8} " + " ".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
