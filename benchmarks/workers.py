"""Evaluation throughput of the Ray pool against in-process evaluation, and latency fidelity.

Reports, for one batch of subnets of the default digits space:

* evaluations per second in process, and on the pool with 1 and 2 workers;
* the per-evaluation overhead of Ray (pool with 1 worker vs in process);
* latency measured by the pool (2 workers, device lease) vs measured alone in
  process, per subnet: the median relative difference, against the repeat noise
  of measuring the same subnet alone twice.

Run: ``.venv/bin/python benchmarks/workers.py [--subnets 40] [--checkpoint CKPT]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from supernas.search_space import InputSpec, SearchSpace, sample
from supernas.supernet import Supernet
from supernas.supernet.measure import LatencySettings, SubnetMeasurer
from supernas.workers.cluster import ClusterSettings, RayCluster
from supernas.workers.pool import EvaluationPool, PoolSettings, make_payload

METRICS = ["accuracy", "latency_ms", "params", "macs", "model_bytes"]


def in_process(measurer: SubnetMeasurer, configs: list, metrics: list[str]) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    results = [measurer.measure(c, metrics) for c in configs]
    return time.perf_counter() - start, results


def on_pool(payload: dict, workers: int, configs: list, latency: LatencySettings) -> tuple[float, list[dict]]:
    pool = EvaluationPool(payload, PoolSettings(workers=workers, gpus_per_worker=0, latency=latency))
    try:
        list(pool.evaluate([configs[0].to_dict()] * workers, ["accuracy"]))  # warm the actors
        start = time.perf_counter()
        results = list(pool.evaluate([c.to_dict() for c in configs], METRICS))
        elapsed = time.perf_counter() - start
    finally:
        pool.close()
    ordered = [r.metrics for r in sorted(results, key=lambda r: r.index)]
    assert all(m is not None for m in ordered)
    return elapsed, ordered  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subnets", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    space, spec = SearchSpace(), InputSpec("image", (1, 8, 8), 10)
    net = Supernet(space, spec, torch.Generator().manual_seed(args.seed))
    gen = torch.Generator().manual_seed(1)
    val = (torch.randn(360, 1, 8, 8, generator=gen), torch.randint(0, 10, (360,), generator=gen))
    rng = np.random.default_rng(args.seed)
    configs = [sample(space, rng) for _ in range(args.subnets)]
    latency = LatencySettings()
    measurer = SubnetMeasurer(net, val, latency=latency)
    in_process(measurer, configs[:2], METRICS)  # warm-up
    t_local, local = in_process(measurer, configs, METRICS)
    _, local_again = in_process(measurer, configs, ["latency_ms"])
    payload = make_payload(net, val)
    with RayCluster(ClusterSettings(num_cpus=2)):
        t_one, pooled_one = on_pool(payload, 1, configs, latency)
        t_two, pooled = on_pool(payload, 2, configs, latency)
    n = len(configs)
    noise = [abs(a["latency_ms"] - b["latency_ms"]) / a["latency_ms"] for a, b in zip(local, local_again)]

    def rel(xs: list[dict], ys: list[dict]) -> float:
        return statistics.median(abs(x["latency_ms"] - y["latency_ms"]) / y["latency_ms"] for x, y in zip(xs, ys))

    print(f"{n} subnets, latency batch {latency.batch_size}, {latency.repeats} timed repeats, 1 thread")
    print("| setting | seconds | evaluations/s |")
    print("|---|---|---|")
    for name, t in (("in process", t_local), ("Ray pool, 1 worker", t_one), ("Ray pool, 2 workers", t_two)):
        print(f"| {name} | {t:.2f} | {n / t:.1f} |")
    print(f"Ray overhead per evaluation (1 worker vs in process): {(t_one - t_local) / n * 1e3:.1f} ms")
    print(f"speed-up of 2 workers over 1: {t_one / t_two:.2f}×")
    print(
        f"latency, median relative difference per subnet: pool (2 workers) vs alone {rel(pooled, local):.3f}; "
        f"pool (1 worker) vs alone {rel(pooled_one, local):.3f}; repeat noise alone vs alone "
        f"{statistics.median(noise):.3f}"
    )


if __name__ == "__main__":
    main()
