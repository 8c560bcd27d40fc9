"""Predictor quality on a trained digits supernet, on held-out measured subnets.

Measures ``--subnets`` random subnets (validation accuracy; latency twice, to know the
repeat noise of a measurement), fits the objective predictors (model chosen by
cross-validated Kendall τ) on a training share and reports, on the held-out rest:
Kendall τ of accuracy, MAPE of latency, and the median relative difference between
two measurements of the same subnet's latency (the repeat noise).

Run: ``.venv/bin/python benchmarks/predictors.py --checkpoint runs/digits.pt [--subnets 150]``
"""

from __future__ import annotations

import argparse
import json
import statistics

import numpy as np

from supernas.data import load_task
from supernas.predictors import ObjectivePredictors, kendall_tau, mape
from supernas.search_space import encode, sample
from supernas.supernet.checkpoint import load_supernet
from supernas.workers.measure import SubnetMeasurer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--subnets", type=int, default=150)
    parser.add_argument("--train-share", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    loaded = load_supernet(args.checkpoint)
    space, spec = loaded.supernet.space, loaded.supernet.spec
    task = load_task(loaded.task)
    measurer = SubnetMeasurer(loaded.supernet, (task.val.x, task.val.y))
    rng = np.random.default_rng(args.seed)
    configs = list({c.arch_id: c for c in (sample(space, rng) for _ in range(args.subnets))}.values())
    first = [measurer.measure(c, ["accuracy", "latency_ms"]) for c in configs]
    second = [measurer.measure(c, ["latency_ms"])["latency_ms"] for c in configs]
    accuracy = np.array([m["accuracy"] for m in first])
    latency = np.array([m["latency_ms"] for m in first])
    noise = statistics.median(abs(a - b) / a for a, b in zip(latency, second))
    genomes = np.array([encode(space, c) for c in configs])
    n_train = int(args.train_share * len(configs))
    predictors = ObjectivePredictors(space, spec, kinds=("ridge", "gp", "gbt"), seed=args.seed, cv=3)
    fits = predictors.fit(genomes[:n_train], {"accuracy": accuracy[:n_train], "latency_ms": latency[:n_train]})
    predicted = predictors.predict(genomes[n_train:])
    result = {
        "subnets": len(configs),
        "held_out": len(configs) - n_train,
        "accuracy_kendall_tau": kendall_tau(accuracy[n_train:], np.asarray(predicted["accuracy"][0])),
        "accuracy_model": fits["accuracy"].kind,
        "latency_mape": mape(latency[n_train:], np.asarray(predicted["latency_ms"][0])),
        "latency_model": fits["latency_ms"].kind,
        "latency_repeat_noise": noise,
        "accuracy_range": [float(accuracy.min()), float(accuracy.max())],
        "latency_ms_range": [float(latency.min()), float(latency.max())],
    }
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k:>22}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
