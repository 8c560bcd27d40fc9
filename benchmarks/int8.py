"""Real int8 exports vs their float (fake-quantized) exports on the trained digits supernet.

For ``--subnets`` random subnets whose layers are all searched at 8-bit weights (the rest of the config
random), writes the plain export and the ``--int8`` export and reports: file size of
``model.safetensors``, median latency (1 thread, batch 1 and 32, interleaved repeats in one process),
and test accuracy of the int8 module vs the fake-quantized one.

Test accuracy is reported for the whole split in one forward and for one image per forward: the int8
linears quantize each token on its own, so the two must agree (an earlier per-tensor version did not).

Run: ``.venv/bin/python benchmarks/int8.py --checkpoint runs/digits.pt [--subnets 10] [--json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from supernas.data import load_task
from supernas.export import InputInfo, build, write_export
from supernas.search_space import canonical, sample
from supernas.supernet.checkpoint import load_supernet
from supernas.supernet.measure import LatencySettings, accuracy, latency_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--subnets", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = load_supernet(args.checkpoint)
    space = loaded.supernet.space
    task = load_task(loaded.task)
    info = InputInfo(task.spec, task.class_names, task.mean, task.std)
    rng = np.random.default_rng(args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.subnets):
            config = sample(space, rng)
            config = canonical(space, replace(config, weight_bits=(8,) * len(config.weight_bits)))
            fake, int8 = build(loaded.supernet, config, False), build(loaded.supernet, config, True)
            sizes = {}
            for name, module in (("fp32", fake), ("int8", int8)):
                out = Path(tmp) / f"{name}{i}"
                write_export(module, space, config, info, out, "safetensors", {}, "")
                sizes[name] = (out / "model.safetensors").stat().st_size
            row: dict[str, float] = {
                "size_ratio": sizes["int8"] / sizes["fp32"],
                "fp32_bytes": sizes["fp32"],
                "int8_bytes": sizes["int8"],
                "fake_quant_test_accuracy": accuracy(fake, task.test.x, task.test.y),
                "int8_test_accuracy": accuracy(int8, task.test.x, task.test.y),
                "int8_test_accuracy_b1": accuracy(int8, task.test.x, task.test.y, batch_size=1),
            }
            for batch in (1, 32):
                settings = LatencySettings(batch_size=batch, repeats=15)
                ratios = []
                for _ in range(args.repeats):  # interleaved, so drift hits both alike
                    f = latency_ms(fake, task.val.x[:1], settings)[0]
                    q = latency_ms(int8, task.val.x[:1], settings)[0]
                    ratios.append(q / f)
                row[f"latency_ratio_b{batch}"] = statistics.median(ratios)
                row[f"fp32_ms_b{batch}"] = f
            rows.append(row)
    summary = {
        key: {
            "median": statistics.median(r[key] for r in rows),
            "min": min(r[key] for r in rows),
            "max": max(r[key] for r in rows),
        }
        for key in ("size_ratio", "latency_ratio_b1", "latency_ratio_b32", "fp32_ms_b1", "fp32_ms_b32")
    }
    for key, int8_key in (
        ("accuracy_delta_points", "int8_test_accuracy"),
        ("accuracy_delta_points_b1", "int8_test_accuracy_b1"),
    ):
        deltas = [100 * (r[int8_key] - r["fake_quant_test_accuracy"]) for r in rows]
        summary[key] = {"median": statistics.median(deltas), "min": min(deltas), "max": max(deltas)}
    result = {"subnets": len(rows), "summary": summary, "rows": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in summary.items():
        print(f"{key:>24}: median {value['median']:.3f} (min {value['min']:.3f}, max {value['max']:.3f})")


if __name__ == "__main__":
    main()
