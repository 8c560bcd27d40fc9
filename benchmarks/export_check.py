"""Export random subnets of a trained supernet to pt2 and ONNX and run them where supernas is absent.

For each of ``--subnets`` random subnets: writes ``--format pt2`` and ``--format onnx`` exports (traced
at batch 2), then a fresh Python process that never imports supernas loads ``model.pt2``
(``torch.export.load``) and ``model.onnx`` (onnxruntime) and runs them on a batch of 5 test images; the
outputs are compared with the supernet's for that config. Also reports export wall time per format.

Fake-quantized activations round to an integer grid, a step function: a difference of one unit in the
last place before a rounding can move the output by a whole quantization step. To tell such flips from
export errors, ONNX is also run on the whole test split, and the report gives, per subnet: the rows
that differ by more than 1e-4, whether any predicted class differs, and how far the supernet's own
output moves (rows over 1e-4) when its input is scaled by 1 + 1e-6.

Run: ``.venv/bin/python benchmarks/export_check.py --checkpoint runs/digits.pt [--subnets 10] [--json]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import torch

from supernas.data import load_task
from supernas.export import InputInfo, build, write_export
from supernas.search_space import sample
from supernas.supernet.checkpoint import load_supernet

RUNNER = textwrap.dedent(
    """
    import json, sys
    import numpy as np, onnxruntime, torch
    x = torch.from_numpy(np.load(sys.argv[1]))
    x_all = np.load(sys.argv[2])
    diffs = {}
    for directory in sys.argv[3:]:
        expected = np.load(directory + "/expected.npy")
        expected_all = np.load(directory + "/expected_all.npy")
        pt2 = torch.export.load(directory + "/pt2/model.pt2").module()(x).detach().numpy()
        session = onnxruntime.InferenceSession(directory + "/onnx/model.onnx", providers=["CPUExecutionProvider"])
        onnx = session.run(None, {"x": x.numpy()})[0]
        onnx_all = session.run(None, {"x": x_all})[0]
        diffs[directory] = {
            "pt2": float(np.abs(pt2 - expected).max()),
            "onnx": float(np.abs(onnx - expected).max()),
            "onnx_test_rows_over_1e-4": int((np.abs(onnx_all - expected_all).max(axis=1) > 1e-4).sum()),
            "onnx_test_class_changes": int((onnx_all.argmax(axis=1) != expected_all.argmax(axis=1)).sum()),
        }
    assert "supernas" not in sys.modules
    print(json.dumps(diffs))
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--subnets", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    loaded = load_supernet(args.checkpoint)
    space, task = loaded.supernet.space, load_task(loaded.task)
    info = InputInfo(task.spec, task.class_names, task.mean, task.std)
    rng = np.random.default_rng(args.seed)
    x = task.test.x[:5]  # (5, 1, 8, 8): a batch size the graphs were not traced with
    x_all = task.test.x  # (N, 1, 8, 8): the whole test split
    seconds: dict[str, list[float]] = {"pt2": [], "onnx": []}
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "x.npy", x.numpy())
        np.save(Path(tmp) / "x_all.npy", x_all.numpy())
        directories = []
        quantized: list[bool] = []  # whether each subnet fake-quantizes activations
        perturbed: list[int] = []  # rows of the test split whose supernet output moves > 1e-4 at input × (1 + 1e-6)
        for i in range(args.subnets):
            config = sample(space, rng)
            directory = Path(tmp) / f"subnet{i}"
            directory.mkdir()
            static = build(loaded.supernet, config, False)
            quantized.append(any(b < 32 for b in config.act_bits[: config.depth]))
            for fmt in ("pt2", "onnx"):
                start = time.perf_counter()
                write_export(static, space, config, info, directory / fmt, fmt, {}, "")
                seconds[fmt].append(time.perf_counter() - start)
            with torch.no_grad():
                np.save(directory / "expected.npy", loaded.supernet(x, config).numpy())
                expected_all = loaded.supernet(x_all, config)  # (N, K)
                np.save(directory / "expected_all.npy", expected_all.numpy())
                moved = (loaded.supernet(x_all * (1 + 1e-6), config) - expected_all).abs().amax(dim=1)  # (N,)
                perturbed.append(int((moved > 1e-4).sum()))
            directories.append(str(directory))
        (Path(tmp) / "runner.py").write_text(RUNNER)
        out = subprocess.run(
            [sys.executable, *(str(Path(tmp) / f) for f in ("runner.py", "x.npy", "x_all.npy")), *directories],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp,
        )
        diffs = list(json.loads(out.stdout.strip().splitlines()[-1]).values())
    for row, is_quantized, moved_rows in zip(diffs, quantized, perturbed):
        row.update({"quantized_activations": is_quantized, "torch_test_rows_moved_by_1e-6_input": moved_rows})
    result = {
        "subnets": args.subnets,
        "test_rows": len(x_all),
        "max_abs_diff_pt2": max(d["pt2"] for d in diffs),
        "max_abs_diff_onnx": max(d["onnx"] for d in diffs),
        "max_abs_diff_onnx_float_activations": max(
            (d["onnx"] for d in diffs if not d["quantized_activations"]), default=0.0
        ),
        "per_subnet": diffs,
        "export_seconds_median": {k: float(np.median(v)) for k, v in seconds.items()},
    }
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
