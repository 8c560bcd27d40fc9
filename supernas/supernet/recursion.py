"""Recursion from a pretrained stack: shared blocks and per-layer LoRA from the source layers.

In the supernet, layer ``i`` of a subnet with ``unique = ceil(depth / loops)`` blocks runs
shared block ``i % unique`` with its own LoRA adapters ``layers[i]``. The same blocks serve the
``loops = 1`` subnets, where layer ``i`` runs block ``i`` and canonical configs drop every LoRA
(nothing is shared). A source stack of ``D`` layers is imported as block ``i`` = source layer
``i``; for recursion, the layers of group ``b`` = {b, b + u, b + 2u, …} run block ``b``.

The adapters are fitted for one recursive config, :func:`recursion_target`: the deepest subnet
at the largest ``loops`` choice, i.e. the most sharing the space allows at full depth (the
config where the adapters carry the most). Layer ``i`` gets the truncated SVD of ``W_i - W_b``
for each of its four linears, singular values in descending order and split evenly between
the factors (``B = U √S``, ``A = √S Vᵀ``), so the leading rank-``r`` slice ``B[:, :r] @ A[:r]``
is the best rank-``r`` approximation of the difference (Eckart–Young). LoRA adds no bias, so
bias differences stay. Other ``loops`` choices make layer ``i`` run another block, for which
its adapters were not fitted: there they are only a starting point for training.

``shared_init`` chooses what block ``b`` holds:

* ``"first"`` (default): source layer ``b``, the first of its group. Every ``loops = 1`` subnet
  still computes the source model exactly; layer ``b`` of the target needs no adapter.
* ``"average"``: the mean of the group's layers (weights and biases), and every layer of the
  group, ``b`` included, fits ``W_i - mean``. The mean minimises the summed squared difference
  the adapters must absorb, but block ``b`` is also layer ``b`` of every ``loops = 1`` subnet,
  which runs it without LoRA: the largest subnet no longer computes the source model. In this
  weight-sharing design the two cannot coexist, so ``"average"`` needs ``allow_inexact``.
  (Measured on random 4- and 12-layer timm ViTs with two or three layers per group: ``average``
  halves the squared weight residual before any adapter, but moves the largest subnet's logits
  by about 60 % of their norm, where ``first`` keeps them within 1e-6.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, get_args

import torch
from torch import Tensor

from supernas.errors import CheckpointError, choices_text
from supernas.search_space.config import SubnetConfig, canonical, largest
from supernas.search_space.space import SearchSpace
from supernas.supernet.model import Supernet
from supernas.supernet.ops import ElasticLinear, ElasticLoRA, LayerAdapters, SharedBlock

SharedInit = Literal["first", "average"]
LINEARS = ("qkv", "proj", "fc1", "fc2")  # the linears of a shared block, each with a LoRA adapter


@dataclass(frozen=True)
class BlockWeights:
    """The four linears of one source layer in the supernet's layout: ``(weight, bias)`` each."""

    qkv: tuple[Tensor, Tensor]  # (3A, E) rows q heads, k heads, v heads; (3A,)
    proj: tuple[Tensor, Tensor]  # (E, A), (E,)
    fc1: tuple[Tensor, Tensor]  # (H, E), (H,)
    fc2: tuple[Tensor, Tensor]  # (E, H), (E,)


@dataclass(frozen=True)
class RecursionInit:
    """What :func:`init_recursion` did."""

    target: SubnetConfig  # the recursive config the adapters are fitted for
    shared_init: SharedInit  # what the shared blocks hold
    relative_error: tuple[float, ...]  # per layer: ‖W_i − (W_block + B A)‖ / ‖W_i‖ over its four linears


def recursion_target(space: SearchSpace) -> SubnetConfig:
    """The recursive config the adapters serve: full depth and width, the largest ``loops``, full LoRA rank."""
    full = largest(space)
    return canonical(space, replace(full, loops=space.loops[-1], lora_rank=(space.lora_rank[-1],) * space.max_depth))


def adapter_blocks(space: SearchSpace) -> tuple[int, ...]:
    """For each layer, the shared block its adapters are fitted to (in :func:`recursion_target`)."""
    target = recursion_target(space)
    return tuple(target.block_of(i) for i in range(space.max_depth))


@torch.no_grad()
def init_recursion(
    supernet: Supernet,
    sources: Sequence[BlockWeights],
    shared_init: SharedInit = "first",
    allow_inexact: bool = False,
) -> RecursionInit:
    """Fit every layer's LoRA adapters to its source layer, and average the shared blocks if asked (module doc).

    ``sources[i]`` is source layer ``i``, which block ``i`` of ``supernet`` holds already.
    """
    space = supernet.space
    if len(sources) != space.max_depth:
        raise CheckpointError(
            f"{len(sources)} source layers do not fit a supernet of depth {space.max_depth}; valid: {space.max_depth}"
        )
    owners = adapter_blocks(space)
    groups = [[i for i, b in enumerate(owners) if b == block] for block in range(max(owners) + 1)]
    _check_setting(shared_init, allow_inexact, shares=any(len(members) > 1 for members in groups))
    errors = [0.0] * len(sources)
    for block, members in enumerate(groups):
        base = sources[block]
        if shared_init == "average":
            base = _mean(sources, members)
            _set_block(supernet.blocks[block], base)  # type: ignore[arg-type]
        for layer in members:
            if shared_init == "first" and layer == block:
                continue  # runs its own weights
            errors[layer] = _fit_layer(supernet.layers[layer], sources[layer], base)  # type: ignore[arg-type]
    return RecursionInit(recursion_target(space), shared_init, tuple(errors))


def _check_setting(shared_init: str, allow_inexact: bool, shares: bool) -> None:
    valid = get_args(SharedInit)
    if shared_init not in valid:
        raise CheckpointError(f"{shared_init!r} is not valid; valid: {choices_text(valid)}", field="shared_init")
    if shared_init == "average" and shares and not allow_inexact:
        raise CheckpointError(
            "'average' changes the loops=1 subnets (block b is also their layer b, run without LoRA), so the "
            "largest subnet would no longer compute the source model; valid: 'first', or pass `allow_inexact`",
            field="shared_init",
        )


def _mean(sources: Sequence[BlockWeights], members: list[int]) -> BlockWeights:
    def mean(name: str, part: int) -> Tensor:
        return torch.stack([getattr(sources[i], name)[part] for i in members]).mean(dim=0)

    return BlockWeights(*((mean(name, 0), mean(name, 1)) for name in LINEARS))


def _set_block(block: SharedBlock, weights: BlockWeights) -> None:
    for name in LINEARS:
        linear: ElasticLinear = getattr(block, name)
        weight, bias = getattr(weights, name)
        linear.weight.copy_(weight)
        assert linear.bias is not None
        linear.bias.copy_(bias)


def _fit_layer(adapters: LayerAdapters, source: BlockWeights, base: BlockWeights) -> float:
    """Fit the four adapters of one layer; returns the relative error left at full rank."""
    left, total = 0.0, 0.0
    for name in LINEARS:
        target = getattr(source, name)[0].double()
        delta = target - getattr(base, name)[0].double()
        fitted = _fit_lora(getattr(adapters, name), delta)
        left += float((delta - fitted).square().sum())
        total += float(target.square().sum())
    return math.sqrt(left / total) if total else 0.0


def _fit_lora(lora: ElasticLoRA, delta: Tensor) -> Tensor:
    """Set ``lora`` to the truncated SVD of ``delta`` (out, in); returns the product it now holds."""
    u, s, vh = torch.linalg.svd(delta, full_matrices=False)
    rank = int((s[: lora.rank_max] > 0).sum())  # singular values come sorted, largest first
    root = s[:rank].sqrt()
    b = u[:, :rank] * root  # (out, rank)
    a = root[:, None] * vh[:rank]  # (rank, in)
    lora.lora_b.zero_()
    lora.lora_b[:, :rank] = b.to(lora.lora_b.dtype)
    lora.lora_a[:rank] = a.to(lora.lora_a.dtype)  # ranks past ``rank`` keep their init; their B is zero
    return b @ a
