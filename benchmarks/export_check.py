"""Export random subnets of a trained supernet to pt2 and ONNX and run them where supernas is absent.

For each of ``--subnets`` random subnets: writes ``--format pt2`` and ``--format onnx`` exports (traced
at batch 2), then a fresh Python process that never imports supernas loads ``model.pt2``
(``torch.export.load``) and ``model.onnx`` (onnxruntime) and runs them on a batch of 5 test images; the
outputs are compared with the supernet's for that config. Also reports export wall time per format.

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
    diffs = {}
    for directory in sys.argv[2:]:
        expected = np.load(directory + "/expected.npy")
        pt2 = torch.export.load(directory + "/pt2/model.pt2").module()(x).detach().numpy()
        session = onnxruntime.InferenceSession(directory + "/onnx/model.onnx", providers=["CPUExecutionProvider"])
        onnx = session.run(None, {"x": x.numpy()})[0]
        diffs[directory] = [float(np.abs(pt2 - expected).max()), float(np.abs(onnx - expected).max())]
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
    seconds: dict[str, list[float]] = {"pt2": [], "onnx": []}
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "x.npy", x.numpy())
        directories = []
        quantized: list[bool] = []  # whether each subnet fake-quantizes activations
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
            directories.append(str(directory))
        (Path(tmp) / "runner.py").write_text(RUNNER)
        out = subprocess.run(
            [sys.executable, str(Path(tmp) / "runner.py"), str(Path(tmp) / "x.npy"), *directories],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp,
        )
        diffs = list(json.loads(out.stdout.strip().splitlines()[-1]).values())
    result = {
        "subnets": args.subnets,
        "max_abs_diff_pt2": max(d[0] for d in diffs),
        "max_abs_diff_onnx": max(d[1] for d in diffs),
        "per_subnet_pt2_onnx": diffs,
        "quantized_activations": quantized,
        "export_seconds_median": {k: float(np.median(v)) for k, v in seconds.items()},
    }
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
