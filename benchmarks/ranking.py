"""Ranking fidelity of inherited weights, fine-tuning gain, and Ray training throughput (issue 14).

Three modes, all running subnet trainings through ``supernas.api.finetune_subnets`` (so on the Ray
workers of the feature, recorded in a store — the benchmark is also its load test):

* ``fidelity``: on the 120-epoch digits supernet and on ``shapes`` (a procedurally generated 16×16
  shape task of 6,000 images, written by this script as an npz task), choose subnets stratified by
  parameter count and measure (a) inherited validation accuracy, (b) validation accuracy after
  fine-tuning from the inherited weights with distillation from the largest subnet, (c) after
  training from scratch (no teacher) to convergence; plus (c') a second scratch training with
  another seed of the first ``--ceiling-subnets`` subnets. Reports Kendall τ(a, c), τ(b, c), τ(a, b)
  and the ceiling τ(c, c') with bootstrap intervals, the best fine-tuned vs the best scratch-trained
  subnet (accuracy and training time), and what limits τ(a, c): τ within float / quantized subnets,
  τ of parameter count alone, and the most displaced subnets. ``--supernet-setting KEY=VALUE``
  (repeatable, any ``TrainConfig`` field) trains the supernets with another recipe, under another
  file name, to try a recipe change.
* ``gain``: on the demo-size (30-epoch) and the 120-epoch digits supernets, search (linas, accuracy
  vs latency), fine-tune the measured front, and report the median trained − inherited accuracy
  over the front and the hypervolume of the trained front vs the inherited one.
* ``parallel``: subnets fine-tuned per hour with 1 and with 2 Ray workers on this machine.

Prints one table per mode and writes every raw result to ``OUT/ranking-MODE.json``. Supernets are trained
(or resumed) under ``OUT`` unless given. ``--quick`` shrinks everything (tiny supernets, a few subnets,
one or two epochs) to check that the script runs; its numbers mean nothing.

Run: ``.venv/bin/python benchmarks/ranking.py [--quick] [--mode fidelity|gain|parallel|all] [--out DIR]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import kendalltau

from supernas.api import (
    EvaluationSettings,
    FinetuneSettings,
    SearchRequest,
    Selection,
    Store,
    finetune_subnets,
    prepare_training,
    start_search,
    train_supernet,
    trained_front,
)
from supernas.api.supernets import register_supernet
from supernas.data import load_task
from supernas.search_space import FLOAT_BITS, SearchSpace, SubnetConfig, costs, sample
from supernas.search_space.presets import TINY_FIELDS
from supernas.store import TrainingRecord, TrainingStatus
from supernas.supernet.checkpoint import LoadedSupernet, load_supernet
from supernas.supernet.measure import SubnetMeasurer
from supernas.workers.cluster import ClusterSettings, RayCluster

SHAPES = ("filled square", "hollow square", "disc", "ring", "plus", "cross", "bar", "column", "triangle", "corner")


@dataclass(frozen=True)
class Sizes:
    """How big a run is."""

    supernet_epochs: int  # of the supernets this script trains
    digits_subnets: int  # subnets in the digits fidelity study
    shapes_subnets: int  # subnets in the shapes fidelity study
    ceiling_subnets: int  # of those, trained from scratch a second time (another seed)
    finetune_epochs: int  # (b)
    scratch_epochs: int  # (c), to convergence
    shapes_examples: int  # images of the generated task
    budget: int  # subnets each gain-mode search measures
    parallel_subnets: int  # subnets per parallel-mode run
    tiny: bool  # tiny supernets (the tiny preset) instead of the built-in space


FULL = Sizes(120, 16, 10, 8, 20, 100, 6000, 50, 8, False)
QUICK = Sizes(1, 4, 3, 2, 1, 2, 5000, 8, 2, True)


# the second task ------------------------------------------------------------------------------------------


def make_shapes(n: int, seed: int, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy 16×16 images of ten shapes at random places, sizes and intensities, with clutter."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    x = np.zeros((n, 1, size, size), np.float32)
    y = rng.integers(0, len(SHAPES), n)
    for i, label in enumerate(y):
        r = rng.uniform(2.5, 5.5)
        cy, cx = rng.uniform(r, size - r, 2)
        dy, dx = rows - cy, cols - cx
        mask = _shape(int(label), dy, dx, r)
        x[i, 0] = rng.uniform(0.5, 1.0) * mask
        clutter = rng.integers(0, size, (int(rng.integers(0, 6)), 2))
        x[i, 0, clutter[:, 0], clutter[:, 1]] += rng.uniform(0.3, 0.8)
    x += rng.normal(0.0, 0.3, x.shape).astype(np.float32)
    return x, y.astype(np.int64)


def _shape(label: int, dy: np.ndarray, dx: np.ndarray, r: float) -> np.ndarray:
    d, box = np.hypot(dy, dx), np.maximum(abs(dy), abs(dx))
    thin = max(1.0, r / 3)
    masks = (
        box <= r,
        (box <= r) & (box >= r - thin),
        d <= r,
        (d <= r) & (d >= r - thin),
        ((abs(dy) <= thin / 2) | (abs(dx) <= thin / 2)) & (box <= r),
        ((abs(dy - dx) <= thin / 2) | (abs(dy + dx) <= thin / 2)) & (box <= r),
        (abs(dy) <= thin / 2) & (abs(dx) <= r),
        (abs(dx) <= thin / 2) & (abs(dy) <= r),
        (dy <= r) & (dy >= -r) & (abs(dx) <= (dy + r) / 2),
        (box <= r) & ((abs(dy - r) <= thin) | (abs(dx + r) <= thin)),
    )
    return masks[label].astype(np.float32)


def shapes_task(out: Path, n: int, seed: int) -> str:
    """Write the shapes task (once) and return its task name."""
    path = out / f"shapes-{n}.npz"
    if not path.exists():
        x, y = make_shapes(n, seed)
        np.savez(path, x=x, y=y, class_names=np.array(SHAPES))
    return f"npz:{path}"


# supernets --------------------------------------------------------------------------------------------


def supernet(out: Path, task: str, name: str, epochs: int, overrides: dict[str, Any], tiny: bool) -> Path:
    """Train (or resume, or reuse) the supernet ``name`` of ``task``; returns its checkpoint."""
    recipe = {"epochs": epochs, **overrides}
    tag = hashlib.sha256(json.dumps(overrides, sort_keys=True).encode()).hexdigest()[:6] if overrides else "default"
    path = out / f"{name}-{recipe['epochs']}ep-{tag}{'-tiny' if tiny else ''}.pt"
    if path.exists() and load_supernet(path).complete:
        return path
    space = None
    if tiny:
        spec = load_task(task).spec
        space = SearchSpace(**TINY_FIELDS, patch_size=2 if spec.shape[-1] == 8 else 4)
    start = time.perf_counter()
    plan = prepare_training(path, task=task, space=space, settings=recipe, resume=path.exists())
    train_supernet(plan, device="auto")
    print(f"trained {path.name} in {time.perf_counter() - start:.0f} s")
    return path


def parse_settings(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs (values parsed as JSON when they are, else kept as text)."""
    out: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


# choosing and measuring subnets -----------------------------------------------------------------------


def stratified(loaded: LoadedSupernet, n: int, seed: int) -> list[SubnetConfig]:
    """``n`` distinct subnets, one from each of ``n`` equal-count parameter strata of 4,000 random ones."""
    space, spec = loaded.supernet.space, loaded.supernet.spec
    rng = np.random.default_rng(seed)
    pool = {c.arch_id: c for c in (sample(space, rng) for _ in range(4000))}
    ordered = sorted(pool.values(), key=lambda c: (costs(space, c, spec).params, c.arch_id))
    strata = np.array_split(np.arange(len(ordered)), n)
    return [ordered[int(rng.choice(stratum))] for stratum in strata]


def register_study(store: Store, loaded: LoadedSupernet, search: str, configs: list[SubnetConfig]) -> None:
    """A search record holding ``configs`` as COMPLETE evaluations (accuracy, params, latency), once."""
    if search in {s.name for s in store.list_searches()}:
        return
    record = register_supernet(store, loaded, loaded.path.stem)
    objectives = [{"name": "accuracy", "direction": "max"}, {"name": "latency_ms", "direction": "min"}]
    store.create_search(search, "random", objectives, [], len(configs), len(configs), 0, record.name)
    task = load_task(loaded.task)
    measurer = SubnetMeasurer(loaded.supernet, (task.val.x, task.val.y))
    store.add_pending(search, 0, [(c.arch_id, c.to_dict(), None) for c in configs])
    for c in configs:
        store.complete(search, c.arch_id, measurer.measure(c, ["accuracy", "params", "latency_ms"]))


def train_all(search: str, n: int, settings: FinetuneSettings, storage: str) -> tuple[dict[str, TrainingRecord], float]:
    """Train the ``n`` subnets of ``search`` (all of them) with ``settings``; rows by arch_id, and wall seconds."""
    start = time.perf_counter()
    report = finetune_subnets(search, Selection(top=n), settings, storage=storage)
    failed = [t.key.label for t in report.trainings if t.status != TrainingStatus.COMPLETE]
    if failed:
        raise SystemExit(f"trainings failed: {failed}")
    return {t.arch_id: t for t in report.trainings}, time.perf_counter() - start


# statistics -------------------------------------------------------------------------------------------


def tau(a: list[float], b: list[float], seed: int = 0, reps: int = 2000) -> dict[str, float]:
    """Kendall τ of ``a`` and ``b`` with a 95 % bootstrap interval over the subnets."""
    x, y = np.asarray(a), np.asarray(b)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(reps):
        idx = rng.integers(0, len(x), len(x))
        value = kendalltau(x[idx], y[idx]).statistic
        if np.isfinite(value):
            samples.append(value)
    point = kendalltau(x, y).statistic
    low, high = np.percentile(samples, [2.5, 97.5]) if samples else (np.nan, np.nan)
    return {"tau": float(point), "low": float(low), "high": float(high), "n": len(x)}


def _fmt(t: dict[str, float]) -> str:
    return f"{t['tau']:+.2f} [{t['low']:+.2f}, {t['high']:+.2f}]" if np.isfinite(t["tau"]) else "n/a"


def limits(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What limits τ(a, c): τ within float / quantized subnets, τ of size alone, the most displaced subnets."""
    a, c = [r["a"] for r in rows], [r["c"] for r in rows]
    quantized = [r for r in rows if r["quantized"]]
    floating = [r for r in rows if not r["quantized"]]
    rank_a = np.argsort(np.argsort(-np.asarray(a)))
    rank_c = np.argsort(np.argsort(-np.asarray(c)))
    displaced = sorted(range(len(rows)), key=lambda i: -abs(int(rank_a[i]) - int(rank_c[i])))[:5]
    return {
        "tau_params_vs_scratch": tau([r["params"] for r in rows], c),
        "tau_inherited_vs_params": tau(a, [r["params"] for r in rows]),
        "tau_a_c_float": tau([r["a"] for r in floating], [r["c"] for r in floating]) if len(floating) > 2 else None,
        "tau_a_c_quantized": tau([r["a"] for r in quantized], [r["c"] for r in quantized])
        if len(quantized) > 2
        else None,
        "most_displaced": [
            {
                "arch_id": rows[i]["arch_id"],
                "rank_inherited": int(rank_a[i]) + 1,
                "rank_scratch": int(rank_c[i]) + 1,
                "a": rows[i]["a"],
                "c": rows[i]["c"],
                "summary": rows[i]["summary"],
            }
            for i in displaced
        ],
    }


def summary(config: SubnetConfig) -> str:
    d = config.depth
    return (
        f"d{d} e{config.embed_dim} loops{config.loops} w{list(config.weight_bits[:d])} a{list(config.act_bits[:d])} "
        f"keep{list(config.keep_ratio)}"
    )


# the three modes --------------------------------------------------------------------------------------


def fidelity(
    task_label: str, checkpoint: Path, n: int, sizes: Sizes, args: argparse.Namespace, storage: str
) -> dict[str, Any]:
    """The ranking study on one supernet."""
    loaded = load_supernet(checkpoint)
    configs = stratified(loaded, n, args.seed)
    search = f"fidelity-{task_label}-{loaded.sha256[:8]}"
    ceiling = f"{search}-ceiling"
    with Store.open(storage, create=True) as store:
        register_study(store, loaded, search, configs)
        register_study(store, loaded, ceiling, configs[:: max(1, n // sizes.ceiling_subnets)][: sizes.ceiling_subnets])
    execution = EvaluationSettings(executor=args.executor, workers=args.workers)
    common = {"execution": execution, "directory": args.out / "trainings", "resume": True}
    ft = FinetuneSettings(
        epochs=sizes.finetune_epochs, init="inherited", teacher="largest", lr=args.finetune_lr, seed=0, **common
    )
    scratch = FinetuneSettings(
        epochs=sizes.scratch_epochs, init="scratch", teacher="none", lr=args.scratch_lr, seed=0, **common
    )
    b, t_b = train_all(search, n, ft, storage)
    c, t_c = train_all(search, n, scratch, storage)
    k = min(sizes.ceiling_subnets, n)
    c2, t_c2 = train_all(ceiling, k, FinetuneSettings(**{**_fields(scratch), "seed": 1}), storage)
    with Store.open(storage) as store:
        measured = {e.arch_id: e.metrics or {} for e in store.evaluations(search)}
    space, spec = loaded.supernet.space, loaded.supernet.spec
    rows = [
        {
            "arch_id": cfg.arch_id,
            "params": costs(space, cfg, spec).params,
            "summary": summary(cfg),
            "quantized": any(bits < FLOAT_BITS for bits in cfg.weight_bits[: cfg.depth]),
            "a": measured[cfg.arch_id]["accuracy"],
            "b": b[cfg.arch_id].val_accuracy,
            "c": c[cfg.arch_id].val_accuracy,
            "c2": c2[cfg.arch_id].val_accuracy if cfg.arch_id in c2 else None,
            "test_b": b[cfg.arch_id].test_accuracy,
            "test_c": c[cfg.arch_id].test_accuracy,
            "seconds_b": b[cfg.arch_id].seconds,
            "seconds_c": c[cfg.arch_id].seconds,
        }
        for cfg in configs
    ]
    paired = [r for r in rows if r["c2"] is not None]
    best_b = max(rows, key=lambda r: r["b"])
    best_c = max(rows, key=lambda r: r["c"])
    return {
        "task": task_label,
        "checkpoint": str(checkpoint),
        "supernet_recipe": loaded.train_config,
        "finetune": asdict(ft.recipe()),
        "scratch": asdict(scratch.recipe()),
        "rows": rows,
        "tau_a_c": tau([r["a"] for r in rows], [r["c"] for r in rows]),
        "tau_b_c": tau([r["b"] for r in rows], [r["c"] for r in rows]),
        "tau_a_b": tau([r["a"] for r in rows], [r["b"] for r in rows]),
        "ceiling_c_c2": tau([r["c"] for r in paired], [r["c2"] for r in paired]),
        "best_finetuned": {"arch_id": best_b["arch_id"], "val": best_b["b"], "seconds": best_b["seconds_b"]},
        "best_scratch": {"arch_id": best_c["arch_id"], "val": best_c["c"], "seconds": best_c["seconds_c"]},
        "gap_points": 100 * (best_c["c"] - best_b["b"]),
        "time_ratio": best_b["seconds_b"] / best_c["seconds_c"] if best_c["seconds_c"] else None,
        "time_to_within_half_point": time_to_reach(list(b.values()), best_c["c"] - 0.005, best_c["seconds_c"]),
        "wall_seconds": {"finetune": t_b, "scratch": t_c, "ceiling": t_c2},
        "limits": limits(rows),
    }


def time_to_reach(trainings: list[TrainingRecord], target: float, scratch_seconds: float) -> dict[str, Any] | None:
    """The first fine-tuning (by its own per-epoch timings) whose validation accuracy reaches ``target``: its
    arch, epoch, seconds to that epoch and their ratio to the best scratch training's seconds."""
    best: dict[str, Any] | None = None
    for t in trainings:
        elapsed = 0.0
        for point in t.curve:
            elapsed += float(point["seconds"])
            if point["val_accuracy"] >= target:
                if best is None or elapsed < best["seconds"]:
                    best = {"arch_id": t.arch_id, "epoch": point["epoch"], "seconds": elapsed}
                break
    if best is not None:
        best["ratio"] = best["seconds"] / scratch_seconds
    return best


def recipe(
    task_label: str, base: Path, alternative: Path, n: int, args: argparse.Namespace, storage: str
) -> dict[str, Any]:
    """τ against the scratch trainings (c) of a finished fidelity study, of the inherited accuracies (a) of its
    supernet and (a') of a supernet of the same task and space trained with another recipe."""
    loaded, other = load_supernet(base), load_supernet(alternative)
    configs = stratified(loaded, n, args.seed)
    search = f"fidelity-{task_label}-{loaded.sha256[:8]}"
    with Store.open(storage) as store:
        a = {e.arch_id: (e.metrics or {})["accuracy"] for e in store.evaluations(search)}
        c = {t.arch_id: t.val_accuracy for t in store.trainings(search) if t.init == "scratch" and t.seed == 0}
    task = load_task(other.task)
    measurer = SubnetMeasurer(other.supernet, (task.val.x, task.val.y))
    a2 = {cfg.arch_id: measurer.measure(cfg, ["accuracy"])["accuracy"] for cfg in configs}
    ids = [cfg.arch_id for cfg in configs if c.get(cfg.arch_id) is not None]
    return {
        "task": task_label,
        "recipe": other.train_config,
        "tau_a_c": tau([a[i] for i in ids], [c[i] for i in ids]),
        "tau_a2_c": tau([a2[i] for i in ids], [c[i] for i in ids]),
        "median_a": float(np.median([a[i] for i in ids])),
        "median_a2": float(np.median([a2[i] for i in ids])),
    }


def _fields(settings: FinetuneSettings) -> dict[str, Any]:
    return {f: getattr(settings, f) for f in settings.__dataclass_fields__}


def gain(label: str, checkpoint: Path, sizes: Sizes, args: argparse.Namespace, storage: str) -> dict[str, Any]:
    """Search ``checkpoint``, fine-tune its measured front, compare the fronts."""
    loaded = load_supernet(checkpoint)
    name = f"gain-{label}-{loaded.sha256[:8]}"
    execution = EvaluationSettings(executor=args.executor, workers=args.workers)
    with Store.open(storage, create=True) as store:
        exists = name in {s.name for s in store.list_searches()}
    if not exists:
        request = SearchRequest.parse("accuracy,latency_ms", [], "linas", sizes.budget, min(10, sizes.budget), 0)
        start_search(str(checkpoint), request, execution, name=name, storage=storage)
    settings = FinetuneSettings(
        epochs=sizes.finetune_epochs,
        lr=args.finetune_lr,
        execution=execution,
        directory=args.out / "trainings",
        resume=True,
    )
    start = time.perf_counter()
    finetune_subnets(name, Selection(front=True), settings, storage=storage)
    seconds = time.perf_counter() - start
    with Store.open(storage) as store:
        report = trained_front(store, name)
    return {
        "supernet": label,
        "checkpoint": str(checkpoint),
        "front_size": len(report.members),
        "median_gain_points": None if report.median_gain is None else 100 * report.median_gain,
        "hypervolume_inherited": report.hypervolume_inherited,
        "hypervolume_trained": report.hypervolume_trained,
        "finetune_wall_seconds": seconds,
        "members": [m.to_dict() for m in report.members],
    }


def parallel(checkpoint: Path, sizes: Sizes, args: argparse.Namespace, storage: str) -> dict[str, Any]:
    """Subnets fine-tuned per hour with 1 and with 2 Ray workers (fresh seeds, so nothing is skipped)."""
    loaded = load_supernet(checkpoint)
    n = sizes.parallel_subnets
    search = f"parallel-{loaded.sha256[:8]}"
    with Store.open(storage, create=True) as store:
        register_study(store, loaded, search, stratified(loaded, n, args.seed + 1))
    out: dict[str, Any] = {"subnets": n, "epochs": sizes.finetune_epochs}
    stamp = int(time.time())
    for workers in (1, 2):
        settings = FinetuneSettings(
            epochs=sizes.finetune_epochs,
            seed=stamp % 100_000 + workers,
            execution=EvaluationSettings(executor="ray", workers=workers),
            directory=args.out / "trainings",
        )
        rows, wall = train_all(search, n, settings, storage)
        span = _span(list(rows.values()))
        out[f"workers_{workers}"] = {"wall_seconds": wall, "training_span_seconds": span, "per_hour": 3600 * n / wall}
    out["speedup"] = out["workers_2"]["per_hour"] / out["workers_1"]["per_hour"]
    return out


def _span(rows: list[TrainingRecord]) -> float:
    """Seconds from the first training's start to the last one's end (without cluster start-up)."""
    from datetime import datetime

    starts = [datetime.fromisoformat(r.starts[0]["at"]) for r in rows]
    ends = [r.finished_at for r in rows if r.finished_at is not None]
    return (max(ends) - min(starts)).total_seconds()


# main -------------------------------------------------------------------------------------------------


SIZE_FLAGS = (
    "supernet-epochs",
    "digits-subnets",
    "shapes-subnets",
    "ceiling-subnets",
    "finetune-epochs",
    "scratch-epochs",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that the script runs")
    parser.add_argument("--mode", choices=("fidelity", "recipe", "gain", "parallel", "all"), default="all")
    parser.add_argument("--out", type=Path, default=Path("ranking-out"), help="supernets, store, trainings, JSON")
    parser.add_argument("--digits-checkpoint", type=Path, help="the 120-epoch digits supernet (default: train it)")
    parser.add_argument("--demo-checkpoint", type=Path, help="the 30-epoch digits supernet (default: train it)")
    parser.add_argument("--supernet-setting", action="append", default=[], help="KEY=VALUE of TrainConfig")
    parser.add_argument("--tasks", default="digits,shapes", help="fidelity mode: digits, shapes or both")
    parser.add_argument("--executor", choices=("ray", "local"), default="ray")
    parser.add_argument("--workers", type=int, default=2, help="Ray trials at once")
    parser.add_argument("--finetune-lr", type=float, default=1e-3)
    parser.add_argument("--scratch-lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    for name in SIZE_FLAGS:
        parser.add_argument(f"--{name}", type=int, help="override the size of a full run")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    given = {k: v for k, v in vars(args).items() if k.replace("_", "-") in SIZE_FLAGS and v is not None}
    sizes = Sizes(**{**asdict(sizes), **given})
    args.out.mkdir(parents=True, exist_ok=True)
    overrides = parse_settings(args.supernet_setting)
    storage = f"sqlite:///{(args.out / 'ranking.db').resolve()}"
    torch.set_num_threads(1)  # the driver shares the machine with the trials
    results: dict[str, Any] = {"sizes": asdict(sizes), "supernet_overrides": overrides}
    start = time.perf_counter()
    digits = args.digits_checkpoint or supernet(
        args.out, "digits", "digits", sizes.supernet_epochs, overrides, sizes.tiny
    )
    with RayCluster(ClusterSettings(num_cpus=args.workers if args.executor == "ray" else None)):
        if args.mode in ("fidelity", "all"):
            results["fidelity"] = []
            if "digits" in args.tasks.split(","):
                results["fidelity"].append(fidelity("digits", digits, sizes.digits_subnets, sizes, args, storage))
            if "shapes" in args.tasks.split(","):
                shapes = shapes_task(args.out, sizes.shapes_examples, args.seed)
                shapes_net = supernet(args.out, shapes, "shapes", sizes.supernet_epochs, overrides, sizes.tiny)
                results["fidelity"].append(fidelity("shapes", shapes_net, sizes.shapes_subnets, sizes, args, storage))
            print_fidelity(results["fidelity"])
        if args.mode == "recipe":  # after fidelity: the same subnets' inherited accuracy under another recipe
            if not overrides:
                raise SystemExit("--mode recipe needs --supernet-setting KEY=VALUE (the recipe change)")
            results["recipe"] = []
            for label in args.tasks.split(","):
                task = "digits" if label == "digits" else shapes_task(args.out, sizes.shapes_examples, args.seed)
                epochs = sizes.supernet_epochs
                base = digits if label == "digits" else supernet(args.out, task, label, epochs, {}, sizes.tiny)
                other = supernet(args.out, task, label, sizes.supernet_epochs, overrides, sizes.tiny)
                n = sizes.digits_subnets if label == "digits" else sizes.shapes_subnets
                results["recipe"].append(recipe(label, base, other, n, args, storage))
            for r in results["recipe"]:
                print(
                    f"{r['task']}: τ(a, c) {_fmt(r['tau_a_c'])} (median a {r['median_a']:.3f}) → with "
                    f"{overrides}: τ(a', c) {_fmt(r['tau_a2_c'])} (median a' {r['median_a2']:.3f})"
                )
        if args.mode in ("gain", "all"):
            demo = args.demo_checkpoint or supernet(
                args.out, "digits", "digits", 1 if args.quick else 30, overrides, sizes.tiny
            )
            results["gain"] = [
                gain("30-epoch", demo, sizes, args, storage),
                gain("120-epoch", digits, sizes, args, storage),
            ]
            print_gain(results["gain"])
        if args.mode in ("parallel", "all"):
            results["parallel"] = parallel(digits, sizes, args, storage)
            print_parallel(results["parallel"])
    results["seconds"] = time.perf_counter() - start
    raw = args.out / f"ranking-{args.mode}.json"
    raw.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"raw results: {raw} ({results['seconds']:.0f} s)")


def print_fidelity(studies: list[dict[str, Any]]) -> None:
    print("| task | subnets | τ(a, c) | τ(b, c) | τ(a, b) | ceiling τ(c, c') | best b − best c | time b / c |")
    print("|---|---|---|---|---|---|---|---|")
    for s in studies:
        ratio = "n/a" if s["time_ratio"] is None else f"{s['time_ratio']:.2f}"
        reach = s["time_to_within_half_point"]
        if reach is not None:
            ratio += f" (first within 0.5 pts: epoch {reach['epoch']}, {reach['ratio']:.2f})"
        print(
            f"| {s['task']} | {len(s['rows'])} | {_fmt(s['tau_a_c'])} | {_fmt(s['tau_b_c'])} | {_fmt(s['tau_a_b'])} "
            f"| {_fmt(s['ceiling_c_c2'])} (n={s['ceiling_c_c2']['n']}) | {-s['gap_points']:+.2f} pts | {ratio} |"
        )
    for s in studies:
        lim = s["limits"]
        parts = [
            f"τ(params, c) {_fmt(lim['tau_params_vs_scratch'])}",
            f"τ(a, params) {_fmt(lim['tau_inherited_vs_params'])}",
        ]
        for key, label in (("tau_a_c_float", "float"), ("tau_a_c_quantized", "quantized")):
            if lim[key] is not None:
                parts.append(f"τ(a, c) {label} {_fmt(lim[key])}")
        print(f"{s['task']} limits: " + "; ".join(parts))
        for d in lim["most_displaced"][:3]:
            print(f"  displaced {d['arch_id']} rank {d['rank_inherited']} → {d['rank_scratch']}: {d['summary']}")


def print_gain(runs: list[dict[str, Any]]) -> None:
    print("| supernet | front | median trained − inherited | HV inherited | HV trained | fine-tune wall s |")
    print("|---|---|---|---|---|---|")
    for r in runs:
        gain_pts = "n/a" if r["median_gain_points"] is None else f"{r['median_gain_points']:+.2f} pts"
        print(
            f"| {r['supernet']} | {r['front_size']} | {gain_pts} | {r['hypervolume_inherited']:.4g} | "
            f"{r['hypervolume_trained']:.4g} | {r['finetune_wall_seconds']:.0f} |"
        )


def print_parallel(p: dict[str, Any]) -> None:
    print("| Ray workers | subnets | wall s | training span s | subnets / hour |")
    print("|---|---|---|---|---|")
    for w in (1, 2):
        r = p[f"workers_{w}"]
        span, rate = r["training_span_seconds"], r["per_hour"]
        print(f"| {w} | {p['subnets']} | {r['wall_seconds']:.1f} | {span:.1f} | {rate:.0f} |")
    print(f"speed-up of 2 workers over 1: {p['speedup']:.2f}× (GPU: not measured, no GPU lent)")


if __name__ == "__main__":
    main()
