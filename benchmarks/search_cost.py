"""Cost of the search itself: seconds per iteration outside evaluation, and peak memory.

Runs a stored ``linas`` search (SQLite file, the same code path as ``supernas search``) on the
synthetic problem, whose evaluations cost microseconds, so an iteration's wall time is the search's
own work: predictor fits with cross-validation, NSGA-II on the predictors, candidate selection and
the store's commits. Reports the time of each iteration against the number of measured points, and
the peak resident memory of this process (no Ray here).

Run: ``.venv/bin/python benchmarks/search_cost.py [--budget 210] [--batch 10] [--json]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from supernas.api.searches import SearchRequest, create_search, run_stored_search
from supernas.store import Store
from supernas.testing import SYNTHETIC_SPACE, SYNTHETIC_SPEC, SyntheticEvaluator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=210)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    stamps: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory() as tmp, Store.open(f"sqlite:///{Path(tmp) / 'cost.db'}", create=True) as store:
        request = SearchRequest.parse("accuracy,latency_ms", [], "linas", args.budget, args.batch, args.seed, {})
        create_search(store, "cost", request, None)
        start = time.perf_counter()
        stamps.append((0, start))
        run_stored_search(
            store,
            "cost",
            SYNTHETIC_SPACE,
            SYNTHETIC_SPEC,
            SyntheticEvaluator(),
            lambda p: stamps.append((p.n_evaluated, time.perf_counter())),
        )
    iterations = [(n, t - t0) for (_, t0), (n, t) in itertools.pairwise(stamps)]  # (points after, seconds)
    late = [s for n, s in iterations if n >= args.budget - 2 * args.batch]
    result: dict[str, Any] = {
        "iterations": len(iterations),
        "seconds_per_iteration_at_200_points": statistics.median(late),
        "seconds_per_iteration_median": statistics.median(s for _, s in iterations),
        "total_seconds": round(stamps[-1][1] - stamps[0][1], 1),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "per_iteration": iterations,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        if key != "per_iteration":
            print(f"{key:>36}: {value}")


if __name__ == "__main__":
    main()
