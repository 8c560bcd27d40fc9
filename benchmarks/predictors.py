"""Predictor quality on a trained digits supernet, on held-out measured subnets.

Measures ``--subnets`` random subnets: which validation and test images each gets right,
and latency three times: twice back to back, and once more in a second pass over all
subnets minutes later (on a shared machine, timing drifts between those two moments as
much as it scatters between repeats). ``--held-out`` subnets drawn at random are the
held-out set; for each training size in ``--train-sizes`` the objective
predictors (model per objective chosen by cross-validated Kendall τ, as the ``linas``
search does) are fitted on that many of the others and scored on the held-out set:
Kendall τ of validation accuracy, MAPE of latency.

It also measures how reproducible the accuracy ranking is at all: Kendall τ between
the held-out subnets' validation accuracies and their accuracies on the test split (an
independent sample of the same size), and between two bootstrap resamples of the
validation images. No predictor can be expected to rank validation accuracy much
better than a second measurement of it on fresh images would.

Run: ``.venv/bin/python benchmarks/predictors.py --checkpoint runs/digits.pt [--subnets 300] [--json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

import numpy as np
import torch

from supernas.data import load_task
from supernas.predictors import ObjectivePredictors, kendall_tau, mape
from supernas.search_space import encode, sample
from supernas.supernet import extract
from supernas.supernet.checkpoint import load_supernet
from supernas.supernet.measure import LatencySettings, latency_ms

BOOTSTRAP_DRAWS = 20  # pairs of validation resamples for the reproducibility figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--subnets", type=int, default=300)
    parser.add_argument("--held-out", type=int, default=100)
    parser.add_argument("--train-sizes", default="100,200")
    parser.add_argument("--kinds", default="ridge,gp,gbt", help="predictor kinds to choose from (linas's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = load_supernet(args.checkpoint)
    space, spec = loaded.supernet.space, loaded.supernet.spec
    task = load_task(loaded.task)
    rng = np.random.default_rng(args.seed)
    configs = list({c.arch_id: c for c in (sample(space, rng) for _ in range(args.subnets))}.values())
    statics = [extract(loaded.supernet, c).eval() for c in configs]
    measured = [_measure(static, task) for static in statics]
    later = [_latency(static, task) for static in statics]  # the second pass
    val_hits = np.array([m["val_hits"] for m in measured])  # (subnets, val images) bool
    test_acc = np.array([m["test_hits"].mean() for m in measured])
    accuracy = val_hits.mean(axis=1)
    latency = np.array([m["latency"][0] for m in measured])
    back_to_back = np.array([m["latency"][1] for m in measured])
    genomes = np.array([encode(space, c) for c in configs])
    order = rng.permutation(len(configs))
    held, pool = order[: args.held_out], order[args.held_out :]
    fits = []
    for size in (int(s) for s in args.train_sizes.split(",")):
        predictors = ObjectivePredictors(space, spec, kinds=args.kinds.split(","), seed=args.seed, cv=3)
        train = pool[:size]
        chosen = predictors.fit(genomes[train], {"accuracy": accuracy[train], "latency_ms": latency[train]})
        predicted = predictors.predict(genomes[held])
        acc_pred, lat_pred = np.asarray(predicted["accuracy"][0]), np.asarray(predicted["latency_ms"][0])
        fits.append(
            {
                "train_size": size,
                "accuracy_kendall_tau": kendall_tau(accuracy[held], acc_pred),
                "accuracy_kendall_tau_vs_test_split": kendall_tau(test_acc[held], acc_pred),
                "accuracy_model": chosen["accuracy"].kind,
                "latency_mape": mape(latency[held], lat_pred),
                "latency_model": chosen["latency_ms"].kind,
            }
        )
    result = {
        "subnets": len(configs),
        "held_out": args.held_out,
        "val_images": int(val_hits.shape[1]),
        "fits": fits,
        "accuracy_reproducibility_tau": {
            "val_vs_test_split": kendall_tau(accuracy[held], test_acc[held]),
            "val_bootstrap_median": _bootstrap_tau(val_hits[held], np.random.default_rng(args.seed)),
        },
        "latency_repeat_noise": {
            "back_to_back": _relative_difference(latency, back_to_back),
            "second_pass": _relative_difference(latency, np.array(later)),
        },
        "accuracy_range": [float(accuracy.min()), float(accuracy.max())],
        "latency_ms_range": [float(latency.min()), float(latency.max())],
    }
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k:>30}: {v}" for k, v in result.items()))


@torch.no_grad()
def _measure(static: torch.nn.Module, task: Any) -> dict[str, Any]:
    """Per-image hits on the validation and test splits, and two latency measurements (ms) back to back."""
    return {
        "val_hits": (static(task.val.x).argmax(dim=-1) == task.val.y).numpy(),
        "test_hits": (static(task.test.x).argmax(dim=-1) == task.test.y).numpy(),
        "latency": (_latency(static, task), _latency(static, task)),
    }


def _latency(static: torch.nn.Module, task: Any) -> float:
    """Median latency (ms) at the search's default settings: batch 1, 1 thread."""
    return latency_ms(static, task.val.x[:1], LatencySettings())[0]


def _relative_difference(first: np.ndarray, second: np.ndarray) -> float:
    """Median |first - second| / first over subnets."""
    return float(np.median(np.abs(first - second) / first))


def _bootstrap_tau(hits: np.ndarray, rng: np.random.Generator) -> float:
    """Median Kendall τ between subnet accuracies on two independent resamples of the images."""
    n = hits.shape[1]
    taus = [
        kendall_tau(hits[:, rng.integers(0, n, n)].mean(axis=1), hits[:, rng.integers(0, n, n)].mean(axis=1))
        for _ in range(BOOTSTRAP_DRAWS)
    ]
    return float(statistics.median(taus))


if __name__ == "__main__":
    main()
