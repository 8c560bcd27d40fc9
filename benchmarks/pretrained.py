"""Start from a pretrained transformer (issue 16): exactness, importance ordering, time to quality, RRT init.

Four measurements, one table each (plus both training curves), all in one process with a fixed
torch thread count (``--threads``) and explicit seeds:

1. **Exactness.** Four timm ``VisionTransformer`` configurations and two Hugging Face
   ``ViTForImageClassification`` models, built here with random weights of order one (no hub
   access), are read with ``load_timm`` / ``load_hf`` and imported with ``import_pretrained``;
   the largest float subnet (and its extracted static module) must give the source's logits
   within 1e-5, as imported, after ``reorder_by_importance``, and rotated on calibration images
   (``import_pretrained(calibration=...)``) then reordered, as the library's start is.
2. **Importance ordering.** A plain timm ViT with the digits space's maxima (6 layers, 64
   channels, 4 heads of 16, MLP ratio 4, 2-pixel patches, the space's LayerNorm epsilon; Linear
   weights fan-in initialised like the supernet's) is trained on digits (150 epochs, batch 64,
   AdamW 3e-3, warmup + cosine, label smoothing 0.1, ±1 px shifts). Right after import, with no
   training, the validation accuracy of seeded random subnets of the default digits space (every
   axis; and width cuts alone, where ordering acts): imported as is vs. ordered as the library's
   pretrained start does (``prepare_training(init=...)``: the stream rotated to its principal
   directions, then units permuted by importance); and that start vs. permuting alone.
3. **Time to quality.** ``prepare_training`` + ``train_supernet`` from scratch (the ``supernas train
   --task digits`` defaults, 120 epochs) and from the trained ViT (``init=`` the loaded model: import,
   ordering, recursion fit, the source distils into every subnet; the library's pretrained-start
   defaults, ``PRETRAINED_START``: fewer epochs, a higher peak lr, a larger AdamW epsilon, the
   largest subnet trained on every few steps only). Every few epochs the validation accuracy of the
   largest, the smallest and the same 20 random subnets (median) is read from the epoch's checkpoint;
   the clock excludes that evaluation but includes ``prepare_training``. Reported: when each
   pretrained run first reaches each from-scratch final value, as a share of the from-scratch wall
   time, without and with the source model's own training time (over several seeds:
   ``benchmarks/pretrained_seeds.py``).
4. **RRT initialisation.** Right after import (ordered), subnets that loop over shared blocks with
   LoRA (the recursion target, variants of it, and seeded random subnets with loops > 1 and every
   LoRA rank > 0): accuracy with the SVD-fitted adapters vs. the same weights with every LoRA ``B``
   set to zero.

``--quick`` shrinks epochs and subnet counts to check that the script runs (its numbers mean
nothing) and prints an estimate of the full-size wall time from its own per-epoch timings.

Run: ``.venv/bin/python benchmarks/pretrained.py [--quick] [--threads 2] [--json-out FILE]
[--pretrained-epochs 40 ...] [--pretrained-setting KEY=VALUE ...] [--pretrained-recipe E:KEY=VALUE,... ...]``
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from supernas.api import prepare_training, train_supernet
from supernas.api.supernets import calibration_batches
from supernas.atomic import write_json
from supernas.data import Split, TaskData, load_task
from supernas.data.augment import apply, draw
from supernas.search_space import SearchSpace, SubnetConfig, canonical, default_space, largest, sample, smallest
from supernas.supernet import Supernet, extract
from supernas.supernet.checkpoint import load_supernet
from supernas.supernet.importance import reorder_by_importance
from supernas.supernet.measure import accuracy, pick_device
from supernas.supernet.pretrained import (
    PretrainedViT,
    check_space,
    import_pretrained,
    load_hf,
    load_timm,
    logit_gap,
    require,
)
from supernas.supernet.recursion import recursion_target
from supernas.supernet.train import PRETRAINED_START, EpochRecord

EXACT = 1e-5  # the issue's bound on the largest |logit difference|
FLOAT = 32  # bit width meaning "not quantized"
TIMM_NAME = "vit_tiny_patch16_224"  # the timm entry point; every setting below overrides its size
TIMM_CASES: dict[str, dict[str, Any]] = {  # exactness configurations: what each one exercises
    "digits-size (the item-2 source)": {
        "img_size": 8, "patch_size": 2, "in_chans": 1, "num_classes": 10, "embed_dim": 64, "depth": 6,
        "num_heads": 4, "mlp_ratio": 4.0,
    },
    "no qkv bias, MLP ratio 2, 3 heads": {
        "img_size": 16, "patch_size": 4, "in_chans": 3, "num_classes": 5, "embed_dim": 48, "depth": 3,
        "num_heads": 3, "mlp_ratio": 2.0, "qkv_bias": False,
    },
    "LayerScale, no class position, 8x16 image": {
        "img_size": (8, 16), "patch_size": 4, "in_chans": 3, "num_classes": 7, "embed_dim": 64, "depth": 2,
        "num_heads": 4, "init_values": 0.5, "no_embed_class": True,
    },
    "DeiT-Tiny shape (12 x 192, 3 heads of 64)": {"img_size": 32, "patch_size": 16, "num_classes": 10},
}  # fmt: skip
HF_CASES: dict[str, dict[str, Any]] = {  # ViTConfig settings of the Hugging Face exactness models
    "ViTForImageClassification": {
        "image_size": 16, "patch_size": 4, "num_channels": 3, "hidden_size": 48, "num_hidden_layers": 4,
        "num_attention_heads": 3, "intermediate_size": 96, "num_labels": 7,
    },
    "ViTForImageClassification, no qkv bias, 1e-6": {
        "image_size": 8, "patch_size": 2, "num_channels": 1, "hidden_size": 32, "num_hidden_layers": 3,
        "num_attention_heads": 2, "intermediate_size": 80, "num_labels": 10, "qkv_bias": False,
        "layer_norm_eps": 1e-6,
    },
}  # fmt: skip
SOURCE_SETTINGS: dict[str, Any] = TIMM_CASES["digits-size (the item-2 source)"]  # the model trained in item 2


@dataclass(frozen=True)
class Sizes:
    """How much of everything one run does."""

    source_epochs: int  # epochs of the plain timm ViT (the "pretrained" model)
    scratch_epochs: int  # epochs of the from-scratch supernet (`supernas train` default: 120)
    pretrained_epochs: tuple[int, ...]  # one elastic training from the pretrained model per entry (its schedule)
    random_subnets: int  # fixed random subnets (median) in items 2 and 3
    rrt_subnets: int  # random subnets with loops > 1 and LoRA in item 4
    scratch_eval_every: int  # epochs between curve points of the from-scratch run
    pretrained_eval_every: int  # epochs between curve points of the pretrained runs


FULL = Sizes(
    source_epochs=150,
    scratch_epochs=120,
    pretrained_epochs=(int(PRETRAINED_START["epochs"]),),  # the library's default for a pretrained start
    random_subnets=20,
    rrt_subnets=10,
    scratch_eval_every=2,  # only its final values are targets
    pretrained_eval_every=1,  # the time of first reaching a target is read off this curve
)
QUICK = Sizes(2, 2, (2,), random_subnets=4, rrt_subnets=3, scratch_eval_every=1, pretrained_eval_every=1)


@dataclass(frozen=True)
class SourceRecipe:
    """How the plain timm ViT is trained (the recipe of the field notes)."""

    epochs: int  # passes over the training split
    batch_size: int = 64  # examples per step
    lr: float = 3e-3  # peak AdamW learning rate
    weight_decay: float = 0.05  # AdamW decoupled weight decay
    warmup: float = 0.05  # share of steps warming up linearly; then a cosine to zero
    label_smoothing: float = 0.1  # of the cross-entropy
    grad_clip: float = 1.0  # max global gradient norm
    seed: int = 0  # seeds the initial weights, shuffling and shifts


@dataclass(frozen=True)
class CurvePoint:
    """The subnets of one training run after some epochs."""

    epoch: int  # epochs done (0: before training)
    seconds: float  # wall seconds since the run began (prepare_training included, evaluation excluded)
    largest: float  # validation accuracy of the largest subnet
    smallest: float  # validation accuracy of the smallest subnet
    median_random: float  # median validation accuracy of the fixed random subnets
    random: tuple[float, ...]  # each fixed random subnet's validation accuracy
    loss: float | None  # mean training loss of the largest subnet over the epoch (None before training)


# ----------------------------------------------------------------------------- helpers


@torch.no_grad()
def val_accuracies(net: Supernet, configs: Sequence[SubnetConfig], split: Split) -> list[float]:
    """Accuracy of each subnet of ``net`` on ``split``."""
    net.eval()
    return [accuracy(partial(net, config=config), split.x, split.y) for config in configs]


def random_configs(space: SearchSpace, n: int, seed: int) -> list[SubnetConfig]:
    """``n`` seeded random subnets (every gene uniform)."""
    rng = np.random.default_rng(seed)
    return [sample(space, rng) for _ in range(n)]


def as_float(space: SearchSpace, config: SubnetConfig) -> SubnetConfig:
    """``config`` with float weights and activations in every layer."""
    bits = (FLOAT,) * space.max_depth
    return canonical(space, replace(config, weight_bits=bits, act_bits=bits))


def recursive_configs(space: SearchSpace, n: int, seed: int) -> list[SubnetConfig]:
    """``n`` seeded random subnets forced to loop (loops > 1) with LoRA on every layer (rank > 0)."""
    rng = np.random.default_rng(seed)
    loops = [v for v in space.loops if v > 1]
    ranks = [v for v in space.lora_rank if v > 0]
    configs = []
    for _ in range(n):
        base = sample(space, rng)
        chosen = replace(
            base,
            loops=int(rng.choice(loops)),
            lora_rank=tuple(int(r) for r in rng.choice(ranks, size=space.max_depth)),
        )
        configs.append(canonical(space, chosen))
    return configs


def without_lora(net: Supernet) -> Supernet:
    """A copy of ``net`` whose per-layer LoRA adapters add nothing (every ``lora_b`` zero)."""
    zeroed = copy.deepcopy(net)
    with torch.no_grad():
        for adapters in zeroed.layers:
            for name in ("qkv", "proj", "fc1", "fc2"):
                getattr(adapters, name).lora_b.zero_()
    return zeroed


def randomise(model: nn.Module, seed: int) -> nn.Module:
    """Weights of order one, so a wrongly imported tensor shows in the logits (timm initialises near zero)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            is_matrix = param.ndim >= 2 and "pos" not in name and "token" not in name
            if is_matrix:
                param.copy_(noise / math.sqrt(param[0].numel()))  # fan-in scaled weights and conv kernels
            elif param.ndim == 1 and "norm" in name and name.endswith("weight"):
                param.copy_(1.0 + 0.3 * noise)  # LayerNorm scales around one
            else:
                param.copy_(0.3 * noise)  # biases, tokens, positions, LayerScale
    return model.eval()


def timm_model(timm: ModuleType, settings: dict[str, Any], seed: int, ln_eps: float | None = None) -> nn.Module:
    """A timm ViT built locally (no weights downloaded), its initial weights drawn from ``seed``."""
    extra = {} if ln_eps is None else {"norm_layer": partial(nn.LayerNorm, eps=ln_eps)}
    with torch.random.fork_rng(devices=[]):  # timm initialises from the global generator: seed it, then restore it
        torch.manual_seed(seed)
        model: nn.Module = timm.create_model(TIMM_NAME, pretrained=False, **settings, **extra)
    return model


def saved_source(path: Path, space: SearchSpace) -> nn.Module:
    """The digits ViT a run saved with ``--save-source``, loaded for evaluation."""
    model = timm_model(require("timm"), SOURCE_SETTINGS, 0, ln_eps=space.ln_eps)  # the weights are replaced
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def fan_in_init(model: nn.Module, seed: int) -> nn.Module:
    """Redraw every Linear weight with fan-in scaling (std in^-1/2, truncated at 2 std; zero biases), as the
    supernet initialises its own. timm's std 0.02 trained far slower on digits (under 70 % validation
    accuracy after 30 epochs, against 90 % with this)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                std = module.in_features**-0.5
                nn.init.trunc_normal_(module.weight, std=std, a=-2 * std, b=2 * std, generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
    return model


def images(shape: tuple[int, ...], n: int, seed: int) -> Tensor:
    return torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


# ----------------------------------------------------------------------------- 1. exactness


def exactness_row(name: str, framework: str, model: nn.Module, source: PretrainedViT, seed: int) -> dict[str, Any]:
    """Largest |logit difference| of the imported supernet to ``model``, as imported and after ordering."""
    info = source.info
    imported = import_pretrained(source)
    net = imported.supernet
    x = images((info.channels, *info.image_size), 32, seed)
    with torch.no_grad():
        reference = model(x)
        reference = getattr(reference, "logits", reference)
        static = extract(net, largest(net.space)).eval()
        static_gap = float((static(x) - reference).abs().max())
    before = logit_gap(net, model, x)
    calibration = [images((info.channels, *info.image_size), 64, seed + 1)]
    reorder_by_importance(net, calibration)
    after = logit_gap(net, model, x)
    rotated = import_pretrained(source, calibration=calibration).supernet  # as the library's start: rotated,
    reorder_by_importance(rotated, calibration)  # then ordered
    gap_rotated = logit_gap(rotated, model, x)
    with torch.no_grad():
        static_after = float((extract(net, largest(net.space)).eval()(x) - reference).abs().max())
        static_rotated = float((extract(rotated, largest(rotated.space)).eval()(x) - reference).abs().max())
    return {
        "name": name,
        "framework": framework,
        "shape": f"{info.depth}x{info.embed_dim}, {info.heads}x{info.head_dim} heads, MLP {info.mlp_hidden}",
        "logit_std": float(reference.std()),
        "gap_imported": before,
        "gap_reordered": after,
        "gap_rotated": gap_rotated,
        "gap_static": max(static_gap, static_after, static_rotated),
        "exact": max(before, after, gap_rotated, static_gap, static_after, static_rotated) <= EXACT,
    }


def exactness(seed: int) -> list[dict[str, Any]]:
    timm = require("timm")
    rows = []
    for k, (name, settings) in enumerate(TIMM_CASES.items()):
        model = randomise(timm_model(timm, settings, seed + k), seed + 10 + k)
        rows.append(exactness_row(name, "timm", model, load_timm(model), seed + 20 + k))
    transformers = require("transformers")
    transformers.utils.logging.disable_progress_bar()  # save_pretrained / from_pretrained draw bars on stderr
    for k, (name, settings) in enumerate(HF_CASES.items()):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + k)
            model = transformers.ViTForImageClassification(transformers.ViTConfig(**settings))
        randomise(model, seed + 30 + k)
        with tempfile.TemporaryDirectory() as directory:
            model.save_pretrained(directory)
            source = load_hf(directory)
        rows.append(exactness_row(name, "hf", model, source, seed + 40 + k))
    return rows


def print_exactness(rows: list[dict[str, Any]]) -> None:
    print("\n1. Exactness: largest float subnet vs the source model's logits (32 random images, bound 1e-5)")
    print("   columns: source | layers x width, heads x head width, MLP hidden | std of the source's logits |")
    print("   max |diff| as imported | after importance reordering | rotated, then reordered (the library's start) |")
    print("   extracted static module (worst of the three) | ok")
    print(
        f"   {'source':<46} {'fw':<5} {'shape':<34} {'logit std':>9} {'imported':>9} {'reordered':>9} {'rotated':>9} "
        f"{'static':>9}  ok"
    )
    for r in rows:
        print(
            f"   {r['name']:<46} {r['framework']:<5} {r['shape']:<34} {r['logit_std']:>9.3f} {r['gap_imported']:>9.1e} "
            f"{r['gap_reordered']:>9.1e} {r['gap_rotated']:>9.1e} {r['gap_static']:>9.1e}  "
            + ("yes" if r["exact"] else "NO")
        )


# ----------------------------------------------------------------------------- 2. the source model


def train_source(model: nn.Module, task: TaskData, recipe: SourceRecipe, device: torch.device) -> dict[str, Any]:
    """Train the plain timm ViT in place; per-epoch validation accuracy (timed without it) and test accuracy."""
    spec, train = task.spec, task.train
    model.to(device)
    generator = torch.Generator().manual_seed(recipe.seed + 1)  # shuffling and shifts
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps = recipe.epochs * math.ceil(len(train) / recipe.batch_size)
    warmup = max(1, round(recipe.warmup * steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, steps - warmup))))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    x_all, y_all = train.x, train.y
    curve, seconds = [], 0.0
    for epoch in range(1, recipe.epochs + 1):
        start = time.perf_counter()
        model.train()
        losses = []
        for rows in torch.randperm(len(train), generator=generator).split(recipe.batch_size):
            shift = draw("shift", len(rows), spec.shape, spec.kind, generator)
            x = apply(x_all[rows], spec.kind, shift).to(device)
            loss = F.cross_entropy(model(x), y_all[rows].to(device), label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        seconds += time.perf_counter() - start
        curve.append(
            {
                "epoch": epoch,
                "seconds": seconds,
                "loss": statistics.fmean(losses),
                "val": _eval(model, task.val, device),
            }
        )
    model.eval().cpu()
    return {
        "recipe": asdict(recipe),
        "train_seconds": seconds,
        "val": curve[-1]["val"],
        "test": _eval(model, task.test, torch.device("cpu")),
        "curve": curve,
    }


@torch.no_grad()
def _eval(model: nn.Module, split: Split, device: torch.device) -> float:
    model.eval()
    return accuracy(lambda x: model(x.to(device)), split.x, split.y)


def print_source(result: dict[str, Any]) -> None:
    r = result["recipe"]
    print(
        f"\nSource model: timm {TIMM_NAME} resized to 6 layers x 64, 4 heads of 16, MLP 256, 2-pixel patches; "
        f"Linear weights fan-in initialised; {r['epochs']} epochs, batch {r['batch_size']}, AdamW {r['lr']:g} "
        f"(warmup {r['warmup']:g}, cosine), label smoothing {r['label_smoothing']:g}, +-1 px shifts"
    )
    how = f"trained in {result['train_seconds']:.1f} s"
    if "loaded_from" in result:
        how = f"loaded from {result['loaded_from']}"
    print(f"   {how}: validation {result['val']:.4f}, test {result['test']:.4f}")


# ----------------------------------------------------------------------------- 2. and 4. right after import


def library_start(source: PretrainedViT, space: SearchSpace, settings: dict[str, Any], directory: Path) -> Supernet:
    """The supernet the library's pretrained start begins from: imported, ordered by importance, recursion fitted."""
    plan = prepare_training(directory / "start.pt", task="digits", space=space, settings=settings, init=source)
    assert plan.start is not None and plan.start.teacher
    net = Supernet(space, plan.task.spec)
    net.load_state_dict(plan.start.weights)
    return net.eval()


def permuted_only(source: PretrainedViT, task: TaskData, space: SearchSpace, seed: int) -> Supernet:
    """The library's start without the rotation of the stream: imported, then permuted by importance."""
    net = import_pretrained(source, task.spec, space, generator=torch.Generator().manual_seed(seed)).supernet
    reorder_by_importance(net, calibration_batches(task, seed))  # the batches the library's start uses
    return net.eval()


def compare(
    groups: dict[str, list[SubnetConfig]], first: Supernet, second: Supernet, split: Split
) -> list[dict[str, Any]]:
    """For each group: every subnet's accuracy under ``first`` and ``second``, and the medians."""
    rows = []
    for name, configs in groups.items():
        a, b = val_accuracies(first, configs, split), val_accuracies(second, configs, split)
        rows.append(
            {
                "group": name,
                "n": len(configs),
                "first": a,
                "second": b,
                "median_first": median(a),
                "median_second": median(b),
                "first_better": sum(x > y for x, y in zip(a, b)),
                "second_better": sum(y > x for x, y in zip(a, b)),
                "arch_ids": [c.arch_id for c in configs],
            }
        )
    return rows


def print_comparison(title: str, legend: Sequence[str], first: str, second: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    for line in legend:
        print(f"   {line}")
    print(f"   {'subnets':<70} {'n':>3} {first:>10} {second:>10} {'diff':>7} {'wins':>7}")
    for r in rows:
        diff = r["median_first"] - r["median_second"]
        print(
            f"   {r['group']:<70} {r['n']:>3} {r['median_first']:>10.4f} {r['median_second']:>10.4f} {diff:>+7.4f} "
            f"{r['first_better']:>3}:{r['second_better']:<3}"
        )


def importance_groups(space: SearchSpace, randoms: list[SubnetConfig], seed: int) -> dict[str, list[SubnetConfig]]:
    """Subnets whose accuracy importance ordering may change: every axis random, and width cuts alone."""
    full = largest(space)
    d = space.max_depth
    cuts = [replace(full, embed_dim=e) for e in space.embed_dim[:-1]]
    cuts += [replace(full, heads=(h,) * d) for h in space.heads[:-1]]
    cuts += [replace(full, mlp_ratio=(m,) * d) for m in space.mlp_ratio[:-1]]
    rng = np.random.default_rng(seed)
    widths = [
        replace(
            full,
            embed_dim=int(rng.choice(space.embed_dim)),
            heads=tuple(int(h) for h in rng.choice(space.heads, size=d)),
            mlp_ratio=tuple(float(m) for m in rng.choice(space.mlp_ratio, size=d)),
        )
        for _ in randoms
    ]
    return {
        f"{len(randoms)} random subnets, every axis (seeded)": randoms,
        f"the same {len(randoms)}, float weights and activations": [as_float(space, c) for c in randoms],
        f"{len(widths)} random widths (embed, heads, MLP per layer), rest largest": [
            canonical(space, c) for c in widths
        ],
        f"{len(cuts)} single width cuts (embed, heads or MLP smaller), rest largest": [
            canonical(space, c) for c in cuts
        ],
        "the smallest subnet": [smallest(space)],
        "the largest subnet (identical by construction)": [largest(space)],
    }


def rrt_groups(space: SearchSpace, n: int, seed: int) -> dict[str, list[SubnetConfig]]:
    target = recursion_target(space)
    d = space.max_depth
    narrower = replace(
        target,
        embed_dim=space.embed_dim[-2],
        heads=(space.heads[-2],) * d,
        mlp_ratio=(space.mlp_ratio[-2],) * d,
    )
    label = f"recursion target: {target.depth} layers, loops {target.loops}, rank {target.lora_rank[0]}, float"
    return {
        label: [target],
        f"target at LoRA rank {space.lora_rank[1]}": [
            canonical(space, replace(target, lora_rank=(space.lora_rank[1],) * d))
        ],
        f"target at loops {space.loops[-2]} (adapters fitted for loops {space.loops[-1]})": [
            canonical(space, replace(target, loops=space.loops[-2]))
        ],
        f"target at the next narrower width (embed {space.embed_dim[-2]}, {space.heads[-2]} heads)": [
            canonical(space, narrower)
        ],
        f"{n} random subnets, loops > 1, every LoRA rank > 0 (seeded)": recursive_configs(space, n, seed),
    }


# ----------------------------------------------------------------------------- 3. time to quality


def run_curve(
    name: str,
    space: SearchSpace,
    settings: dict[str, Any],
    init: PretrainedViT | None,
    configs: list[SubnetConfig],
    eval_every: int,
    directory: Path,
    device: str,
) -> dict[str, Any]:
    """One supernet training run through the public API, evaluated from its checkpoint every ``eval_every`` epochs."""
    out = directory / f"{name}.pt"
    tracked = [largest(space), smallest(space), *configs]
    points: list[CurvePoint] = []
    spent = {"eval": 0.0}  # seconds spent evaluating, kept off the clock
    start = time.perf_counter()

    def point(epoch: int, net: Supernet, val: Split, loss: float | None) -> None:
        now = time.perf_counter()
        accs = val_accuracies(net, tracked, val)
        random = tuple(accs[2:])
        points.append(CurvePoint(epoch, now - start - spent["eval"], accs[0], accs[1], median(random), random, loss))
        spent["eval"] += time.perf_counter() - now

    plan = prepare_training(out, task="digits", space=space, settings=settings, init=init)
    epochs = plan.config.epochs
    if plan.start is not None:
        initial = Supernet(space, plan.task.spec)
        initial.load_state_dict(plan.start.weights)
    else:  # what the Trainer builds: Supernet(space, spec, Generator().manual_seed(seed))
        initial = Supernet(space, plan.task.spec, torch.Generator().manual_seed(plan.config.seed))
    point(0, initial, plan.task.val, None)

    def on_epoch(record: EpochRecord) -> None:
        if record.epoch % eval_every == 0 or record.epoch == epochs:
            now = time.perf_counter()
            loaded = load_supernet(out).supernet
            spent["eval"] += time.perf_counter() - now  # reading the checkpoint back is evaluation too
            point(record.epoch, loaded, plan.task.val, record.loss)

    result = train_supernet(plan, device=device, on_epoch=on_epoch)
    total = time.perf_counter() - start - spent["eval"]
    return {
        "name": name,
        "settings": asdict(plan.config),
        "wall_seconds": total,  # prepare_training + training + the final evaluation of train()
        "train_seconds": points[-1].seconds,  # up to the checkpoint of the last epoch
        "eval_seconds": spent["eval"],
        "points": [asdict(p) for p in points],
        "final_metrics": {k: v for k, v in result.metrics.items() if k != "subnets"},
    }


def first_reach(points: list[dict[str, Any]], key: str, target: float) -> dict[str, Any] | None:
    for p in points:
        if p[key] >= target:
            return {"epoch": p["epoch"], "seconds": p["seconds"]}
    return None


def time_to_quality(scratch: dict[str, Any], pretrained: dict[str, Any], source_seconds: float) -> dict[str, Any]:
    """When the pretrained run first reaches each from-scratch final value, and the first checkpoint that holds all
    three at once (one a user could stop at), as shares of the from-scratch wall time."""
    final = scratch["points"][-1]
    wall = scratch["train_seconds"]
    rows = []
    keys = ("largest", "smallest", "median_random")
    for key in keys:
        reach = first_reach(pretrained["points"], key, final[key])
        rows.append(
            {"metric": key, "target": final[key], "pretrained_final": pretrained["points"][-1][key], "reach": reach}
        )
    at_once = next((p for p in pretrained["points"] if all(p[k] >= final[k] for k in keys)), None)
    every = None if at_once is None else {"epoch": at_once["epoch"], "seconds": at_once["seconds"]}
    rows.append({"metric": "all three", "target": None, "pretrained_final": None, "reach": every})  # one checkpoint
    for row in rows:
        reach = row["reach"]
        row["share"] = None if reach is None else reach["seconds"] / wall
        row["share_with_source"] = None if reach is None else (reach["seconds"] + source_seconds) / wall
    return {"scratch_seconds": wall, "source_seconds": source_seconds, "rows": rows}


def print_curve(run: dict[str, Any]) -> None:
    s = run["settings"]
    print(
        f"\n   curve '{run['name']}': {s['epochs']} epochs, batch {s['batch_size']}, lr {s['lr']:g}, "
        f"KD weight {s['kd_weight']:g}, {s['random_subnets']} random subnet(s) per step"
    )
    print("   columns: epochs done | seconds since start (prepare_training included, evaluation excluded) |")
    print("   validation accuracy of the largest, the smallest, the median of the fixed random subnets | train loss")
    print(f"   {'epoch':>5} {'seconds':>8} {'largest':>8} {'smallest':>8} {'median':>8} {'loss':>7}")
    for p in run["points"]:
        loss = "" if p["loss"] is None else f"{p['loss']:.4f}"
        print(
            f"   {p['epoch']:>5} {p['seconds']:>8.1f} {p['largest']:>8.4f} {p['smallest']:>8.4f} "
            f"{p['median_random']:>8.4f} {loss:>7}"
        )


def print_time_to_quality(scratch: dict[str, Any], runs: list[dict[str, Any]], summaries: list[dict[str, Any]]) -> None:
    print("\n3. Time to quality: elastic training from the pretrained ViT (KD from it) vs from scratch")
    print_curve(scratch)
    for run in runs:
        print_curve(run)
    per_scratch = scratch["train_seconds"] / max(1, scratch["settings"]["epochs"])
    print(
        f"\n   from scratch: {scratch['train_seconds']:.1f} s to its last epoch ({per_scratch:.2f} s/epoch, "
        f"prepare_training included); the source model's own training: {summaries[0]['source_seconds']:.1f} s"
    )
    print("   columns: subnet metric | from-scratch final value (the target) | the pretrained run's final value |")
    print("   epoch and seconds at which the pretrained run first reaches the target | that time / the from-scratch")
    print("   wall time | the same with the source model's training time added | goal <= 1/3 (without / with source)")
    for run, summary in zip(runs, summaries):
        per_epoch = run["train_seconds"] / max(1, run["settings"]["epochs"])
        print(
            f"\n   pretrained run of {run['settings']['epochs']} epochs: {run['train_seconds']:.1f} s in all "
            f"({per_epoch:.2f} s/epoch, prepare_training and the teacher included; "
            f"{run['train_seconds'] / scratch['train_seconds']:.3f} of the from-scratch time)"
        )
        print(
            f"   {'metric':<14} {'target':>7} {'pre. final':>10} {'reached at':>17} {'share':>6} {'+source':>7}  goal"
        )
        for r in summary["rows"]:
            target = "" if r["target"] is None else f"{r['target']:.4f}"
            final = "" if r["pretrained_final"] is None else f"{r['pretrained_final']:.4f}"
            reach = r["reach"]
            at = "never" if reach is None else f"ep {reach['epoch']}, {reach['seconds']:.1f} s"
            share = "" if r["share"] is None else f"{r['share']:.3f}"
            with_source = "" if r["share_with_source"] is None else f"{r['share_with_source']:.3f}"
            goal = "no / no" if reach is None else f"{_holds(r['share'])} / {_holds(r['share_with_source'])}"
            print(f"   {r['metric']:<14} {target:>7} {final:>10} {at:>17} {share:>6} {with_source:>7}  {goal}")


def _holds(share: float) -> str:
    return "yes" if share <= 1 / 3 else "no"


# ----------------------------------------------------------------------------- main


def estimate_full(measured: dict[str, Any], sizes: Sizes) -> float:
    """Full-size wall seconds extrapolated from this run's per-epoch and per-subnet-evaluation timings."""
    scratch, runs = measured["scratch"], measured["pretrained"]
    source = measured["source"]["train_seconds"] / sizes.source_epochs * FULL.source_epochs
    train = scratch["train_seconds"] / sizes.scratch_epochs * FULL.scratch_epochs
    per_pretrained_epoch = sum(r["train_seconds"] for r in runs) / sum(r["settings"]["epochs"] for r in runs)
    train += per_pretrained_epoch * sum(FULL.pretrained_epochs)
    evaluated = sum(len(r["points"]) for r in (scratch, *runs)) * (sizes.random_subnets + 2)
    per_subnet = sum(r["eval_seconds"] for r in (scratch, *runs)) / evaluated
    points = FULL.scratch_epochs // FULL.scratch_eval_every + 1
    points += sum(e // FULL.pretrained_eval_every + 1 for e in FULL.pretrained_epochs)
    evaluation = per_subnet * points * (FULL.random_subnets + 2)
    analysis = measured["analysis_seconds"] * FULL.random_subnets / sizes.random_subnets
    return float(measured["exactness_seconds"] + source + train + evaluation + analysis)


def parse_setting(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def parse_recipe(text: str) -> tuple[int, dict[str, Any]]:
    epochs, _, overrides = text.partition(":")
    if not epochs.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not EPOCHS:KEY=VALUE,...")
    return int(epochs), dict(parse_setting(item) for item in overrides.split(",") if item)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny epochs and subnet counts: check that it runs")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads for everything (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seeds models, training and subnet draws")
    parser.add_argument("--device", default="cpu", help="where supernets and the source train (cpu, cuda, auto)")
    parser.add_argument(
        "--pretrained-epochs",
        type=int,
        nargs="+",
        default=None,
        help="epochs of each pretrained run (default: the library's pretrained-start default; quick: 2)",
    )
    parser.add_argument(
        "--pretrained-setting",
        type=parse_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="TrainConfig override for the pretrained runs only (repeatable), e.g. lr=1e-3",
    )
    parser.add_argument(
        "--pretrained-recipe",
        type=parse_recipe,
        action="append",
        default=[],
        metavar="EPOCHS:KEY=VALUE,...",
        help="one more pretrained run with its own overrides (repeatable), e.g. 40:lr=8e-3,random_subnets=2",
    )
    parser.add_argument("--json-out", type=Path, default=None, help="write every raw result to this JSON file")
    parser.add_argument("--save-source", type=Path, default=None, help="save the trained source's state dict here")
    parser.add_argument(
        "--source-weights", type=Path, default=None, help="load the source from this state dict instead of training it"
    )
    parser.add_argument(
        "--scratch-json", type=Path, default=None, help="reuse the from-scratch curve of an earlier --json-out"
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.pretrained_epochs is not None:
        sizes = replace(sizes, pretrained_epochs=tuple(args.pretrained_epochs))
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    began = time.perf_counter()
    print(
        f"supernas pretrained-start benchmark: {'QUICK (numbers mean nothing)' if args.quick else 'full size'}, "
        f"torch {torch.__version__}, {args.threads} threads, device {device.type}, seed {args.seed}"
    )
    print(f"sizes: {asdict(sizes)}")

    rows, exact_s = timed(lambda: exactness(args.seed))
    print_exactness(rows)

    task = load_task("digits")
    space = default_space(task.spec)
    if args.source_weights is not None:  # a source trained before (its training time is not known here)
        model = saved_source(args.source_weights, space)
        recipe = asdict(SourceRecipe(epochs=sizes.source_epochs, seed=args.seed))
        source_run: dict[str, Any] = {"recipe": recipe, "train_seconds": 0.0, "loaded_from": str(args.source_weights)}
        source_run |= {"val": _eval(model, task.val, device), "test": _eval(model, task.test, device)}
        model.cpu()
    else:
        model = fan_in_init(timm_model(require("timm"), SOURCE_SETTINGS, args.seed, ln_eps=space.ln_eps), args.seed)
        source_run = train_source(model, task, SourceRecipe(epochs=sizes.source_epochs, seed=args.seed), device)
    if args.save_source is not None:
        torch.save(model.state_dict(), args.save_source)
    print_source(source_run)
    source = load_timm(model)
    check_space(space, source.info)  # the default digits space spans exactly this model

    scratch_settings: dict[str, Any] = {"epochs": sizes.scratch_epochs, "seed": args.seed}
    pretrained_settings: dict[str, Any] = {"seed": args.seed, **dict(args.pretrained_setting)}
    randoms = random_configs(space, sizes.random_subnets, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        analysis_start = time.perf_counter()
        plain = import_pretrained(source, task.spec, space, generator=torch.Generator().manual_seed(args.seed))
        ordered = library_start(source, space, pretrained_settings, directory)  # epochs do not change it
        groups = importance_groups(space, randoms, args.seed + 2)
        importance = compare(groups, ordered, plain.supernet, task.val)
        rotation = compare(groups, ordered, permuted_only(source, task, space, args.seed), task.val)
        rrt = compare(rrt_groups(space, sizes.rrt_subnets, args.seed + 1), ordered, without_lora(ordered), task.val)
        analysis_s = time.perf_counter() - analysis_start
        print_comparison(
            "2. Importance ordering pays: validation accuracy right after import, no training",
            [
                "columns: subnets | how many | median accuracy ordered by importance (the library's start) |",
                "median accuracy imported as is | difference | wins (ordered better : as-is better)",
            ],
            "ordered",
            "as is",
            importance,
        )
        print_comparison(
            "2b. What the rotation of the stream adds: the same subnets, ordered with vs without it",
            [
                "columns: subnets | how many | median accuracy of the library's start (rotated, then permuted) |",
                "median accuracy permuted by importance only | difference | wins (rotated : permuted only)",
            ],
            "rotated",
            "permuted",
            rotation,
        )
        print_comparison(
            "4. RRT initialisation: subnets that loop over shared blocks, right after import (ordered)",
            [
                "columns: subnets | how many | median accuracy with the SVD-fitted LoRA adapters |",
                "median accuracy with every LoRA B zeroed (no adapter) | difference | wins (SVD : zero)",
                "per-layer relative error ||W_i - (W_block + BA)|| / ||W_i|| at full rank (recursion target): "
                + ", ".join(f"{e:.3f}" for e in plain.recursion.relative_error),
            ],
            "SVD LoRA",
            "zero LoRA",
            rrt,
        )
        curve = partial(run_curve, space=space, configs=randoms, directory=directory, device=args.device)
        if args.scratch_json is not None:  # the same from-scratch run, measured before on this machine
            scratch = json.loads(args.scratch_json.read_text())["scratch"]
        else:
            scratch = curve("from-scratch", settings=scratch_settings, init=None, eval_every=sizes.scratch_eval_every)
        recipes = [(epochs, {}) for epochs in sizes.pretrained_epochs] + args.pretrained_recipe
        runs = [
            curve(
                "-".join(["pretrained", str(epochs), *(f"{k}={v}" for k, v in overrides.items())]),
                settings={**pretrained_settings, **overrides, "epochs": epochs},
                init=source,
                eval_every=sizes.pretrained_eval_every,
            )
            for epochs, overrides in recipes
        ]
    summaries = [time_to_quality(scratch, run, source_run["train_seconds"]) for run in runs]
    print_time_to_quality(scratch, runs, summaries)
    measured = {
        "exactness_seconds": exact_s,
        "source": source_run,
        "analysis_seconds": analysis_s,
        "scratch": scratch,
        "pretrained": runs,
    }
    total = time.perf_counter() - began
    print(f"\nthis run took {total:.0f} s")
    estimate = estimate_full(measured, sizes) if args.quick else None
    if estimate is not None:
        print(f"estimated full-size wall time at this machine's current speed: {estimate / 60:.0f} min")
    if args.json_out is not None:
        write_json(
            args.json_out,
            {
                "quick": args.quick,
                "threads": args.threads,
                "seed": args.seed,
                "device": device.type,
                "torch": torch.__version__,
                "sizes": asdict(sizes),
                "exactness": rows,
                "importance": importance,
                "importance_rotation": rotation,
                "rrt": {"relative_error": list(plain.recursion.relative_error), "groups": rrt},
                "time_to_quality": summaries,
                "wall_seconds": total,
                "estimated_full_seconds": estimate,
                **measured,
            },
        )


if __name__ == "__main__":
    main()
