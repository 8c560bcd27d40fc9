"""End to end on a generated image folder: train, search, export the knee, load the export and compare.

Runs the real ``supernas`` console script, one subprocess per step, on a folder of 32×32 RGB digits
(``make_image_folder.py``; 5,000 images unless ``--count``):

1. ``supernas train --task folder:DIR --space-preset deit-tiny --epochs E`` (the DeiT-Tiny-sized space,
   patches and image size from the task);
2. ``supernas search --budget 50`` (linas, accuracy vs latency) on that supernet;
3. ``supernas export NAME --knee --format pt2``;
4. in a fresh process: the export's ``model.safetensors`` (``supernas.export.load``) and ``model.pt2``
   (``torch.export.load``) run on the whole test split and are compared with the knee subnet taken from
   the supernet checkpoint (max |diff| of the logits, predicted classes, test accuracy against the one
   the search measured and ``metrics.json`` records).

Prints each step's wall time and one line per check; exits 1 when a check fails.

Run: ``.venv/bin/python benchmarks/folder_e2e.py [--count 5000] [--epochs 3] [--budget 50] [--work DIR]``
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

BIN = Path(sys.executable).with_name("supernas")
TOLERANCE = 1e-4  # of the logits: the same kernels run on the same weights

CHECK = textwrap.dedent(
    """
    import json, sys
    import torch
    from supernas.data import load_task
    from supernas.export import load
    from supernas.search_space import SubnetConfig
    from supernas.supernet.checkpoint import load_supernet
    from supernas.supernet.static import extract

    checkpoint, export = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    config_json = json.load(open(export + "/config.json"))
    metrics = json.load(open(export + "/metrics.json"))
    loaded = load_supernet(checkpoint)
    task = load_task(loaded.task)
    x, y = task.test.x, task.test.y
    config = SubnetConfig.from_dict(config_json["config"])
    with torch.no_grad():
        reference = extract(loaded.supernet, config).eval()(x)
        from_safetensors = load(export)(x)
        from_pt2 = torch.export.load(export + "/model.pt2").module()(x)
    out = {
        "test_images": len(y),
        "safetensors_max_diff": float((from_safetensors - reference).abs().max()),
        "pt2_max_diff": float((from_pt2 - reference).abs().max()),
        "class_changes": int((from_pt2.argmax(1) != reference.argmax(1)).sum()),
        "test_accuracy_export": float((from_pt2.argmax(1) == y).double().mean()),
        "exported_test_accuracy": metrics["exported"]["test_accuracy"],
        "searched_accuracy": metrics["searched"].get("accuracy"),
    }
    print(json.dumps(out))
    """
)


def run(step: str, argv: list[str], timings: dict[str, float]) -> str:
    """Run ``supernas ARGV``; its stdout (the step fails the script when the command does)."""
    start = time.perf_counter()
    done = subprocess.run([str(BIN), *argv], capture_output=True, text=True)
    timings[step] = time.perf_counter() - start
    print(f"{step}: exit {done.returncode} in {timings[step]:.0f} s", file=sys.stderr)
    if done.returncode != 0:
        sys.exit(f"{step} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="images in the generated folder")
    parser.add_argument("--epochs", type=int, default=3, help="supernet training epochs")
    parser.add_argument("--budget", type=int, default=50, help="subnets the search measures")
    parser.add_argument("--work", type=Path, help="where the folder, supernet, store and export go (kept)")
    parser.add_argument("--quick", action="store_true", help="400 images, 1 epoch, budget 8: check it runs")
    args = parser.parse_args()
    if args.quick:
        args.count, args.epochs, args.budget = 400, 1, 8
    with tempfile.TemporaryDirectory(prefix="supernas-e2e-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        folder = work / f"digits-{args.count}"
        if not folder.exists():
            sys.path.insert(0, str(Path(__file__).parent))
            from make_image_folder import make_image_folder

            make_image_folder(folder, args.count)
        checkpoint, database, export = work / "folder.pt", work / "e2e.db", work / "knee"
        storage = f"sqlite:///{database}"
        timings: dict[str, float] = {}
        if not (checkpoint.exists() and (work / "trained").exists()):
            resume = ["--resume"] if checkpoint.exists() else []
            task = ["--task", f"folder:{folder}", "--space-preset", "deit-tiny"]
            run("train", ["train", *task, "--epochs", str(args.epochs), "--out", str(checkpoint), *resume], timings)
            (work / "trained").touch()
        listed = run("searches", ["searches", "--storage", storage, "--json"], timings) if database.exists() else "[]"
        if not any(s["name"] == "e2e" for s in json.loads(listed)):
            search = ["--supernet", str(checkpoint), "--objectives", "accuracy,latency_ms", "--name", "e2e"]
            batch = ["--budget", str(args.budget), "--batch", str(min(10, args.budget))]
            run("search", ["search", *search, *batch, "--storage", storage], timings)
        else:
            run("search", ["resume", "e2e", "--storage", storage], timings)
        front = json.loads(run("pareto", ["pareto", "show", "e2e", "--storage", storage, "--json"], timings))
        if not export.exists():
            run(
                "export",
                ["export", "e2e", "--knee", "--format", "pt2", "--out", str(export), "--storage", storage],
                timings,
            )
        start = time.perf_counter()
        checked = subprocess.run(
            [sys.executable, "-c", CHECK, str(checkpoint), str(export)], capture_output=True, text=True, check=False
        )
        timings["check"] = time.perf_counter() - start
        if checked.returncode != 0:
            sys.exit(f"check failed: {checked.stderr.strip()[-2000:]}")
        result = json.loads(checked.stdout)
    measured = result["exported_test_accuracy"]
    evaluated = front["n_evaluated"]
    print(f"folder of {args.count} images, deit-tiny preset, {args.epochs} epochs, search budget {args.budget}")
    print("step wall seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    print(f"front: {len(front['front'])} subnets of {evaluated} measured; knee exported to {export.name}")
    print(f"max |diff| vs the supernet's subnet on {result['test_images']} test images:", end=" ")
    print(f"safetensors {result['safetensors_max_diff']:.2e}, pt2 {result['pt2_max_diff']:.2e}")
    print(f"predicted classes changed: {result['class_changes']}")
    print(f"test accuracy: loaded export {result['test_accuracy_export']:.4f}, metrics.json {measured:.4f}")
    print(f"validation accuracy the search measured for the knee: {result['searched_accuracy']:.4f}")
    ok = (
        result["safetensors_max_diff"] <= TOLERANCE
        and result["pt2_max_diff"] <= TOLERANCE
        and result["class_changes"] == 0
        and abs(measured - result["test_accuracy_export"]) < 1e-9
    )
    print("matches" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
