"""Importance ordering: the leading slices smaller subnets use keep the most important units.

Every elastic op hands a smaller subnet the *leading* heads, hidden units and channels of its
full-size weight (:mod:`supernas.supernet.ops`). As in OFA (channel sorting) and Minitron
(activation-based importance), :func:`reorder_by_importance` scores the units of the largest
subnet on a few calibration batches and permutes the weights so the most important come first:

* a head of shared block ``b``: the mean L2 norm, over examples and tokens, of what it adds to
  the residual stream (its attention output through its columns of ``proj``);
* an MLP hidden unit of block ``b``: its mean |GELU(fc1 x)| times the L2 norm of its ``fc2``
  column (again: what it adds to the residual stream);
* an embedding channel (global): the mean |LayerNorm output| in that channel, summed over every
  LayerNorm of the subnet.

A permutation is a symmetry of the network when every tensor touching a dimension moves the
same way — LayerNorm is equivariant over channels, heads and hidden units are independent — so
:func:`permute_units` leaves unchanged every subnet that uses all units: the largest one at
``loops = 1`` and, since each layer's LoRA adapters follow the block they are fitted to
(:func:`~supernas.supernet.recursion.adapter_blocks`), the full-width recursion target.
Everything is deterministic: no random numbers, stable sorting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from supernas.errors import SearchSpaceError
from supernas.search_space.config import largest
from supernas.supernet import functional as fn
from supernas.supernet.model import Supernet
from supernas.supernet.ops import ElasticLayerNorm, ElasticLinear, ElasticLoRA, LayerAdapters, SharedBlock
from supernas.supernet.recursion import adapter_blocks


@dataclass(frozen=True)
class Importance:
    """Scores of a supernet's units (higher: more important), or a permutation of them.

    As a permutation (:meth:`order`), entry ``k`` names the old unit that moves to place ``k``.
    """

    embed: Tensor  # (E_max,) embedding channels
    heads: tuple[Tensor, ...]  # per shared block: (heads_max,)
    hidden: tuple[Tensor, ...]  # per shared block: (hidden_max,) MLP hidden units

    def order(self) -> Importance:
        """The permutation that sorts every group of units by descending score (ties keep their order)."""

        def desc(scores: Tensor) -> Tensor:
            return torch.argsort(scores, descending=True, stable=True)

        return Importance(desc(self.embed), tuple(map(desc, self.heads)), tuple(map(desc, self.hidden)))


def reorder_by_importance(supernet: Supernet, batches: Iterable[Tensor]) -> Importance:
    """Score ``supernet``'s units on ``batches`` (inputs only), put the most important first; returns the scores."""
    scores = score_units(supernet, batches)
    permute_units(supernet, scores.order())
    return scores


@torch.no_grad()
def score_units(supernet: Supernet, batches: Iterable[Tensor]) -> Importance:
    """Importance of every head, hidden unit and embedding channel, from the largest subnet on ``batches``."""
    space, spec = supernet.space, supernet.spec
    config = largest(space)
    device = next(supernet.parameters()).device
    sums = _Sums.zeros(supernet)
    for x in batches:
        if tuple(x.shape[1:]) != spec.shape:
            valid = ", ".join(map(str, spec.shape))
            raise SearchSpaceError(f"calibration batch of shape {tuple(x.shape)} does not fit; valid: (batch, {valid})")
        stem, cls_token, pos_embed = supernet.stem.sliced(config.embed_dim)
        patches = fn.patchify(x.to(device, torch.float32), spec.kind, space.patch_size)
        tokens = fn.embed(patches, stem, cls_token, pos_embed)  # (B, T, E)
        for layer in range(config.depth):
            params = supernet.layer_params(config, layer)
            tokens = _scored_layer(tokens, params, space.head_dim, sums, config.block_of(layer))
        norm, _ = supernet.head.sliced(config.embed_dim)
        sums.embed += _norm_out(tokens, norm, space.ln_eps).abs().sum(dim=(0, 1))
        sums.tokens += tokens.shape[0] * tokens.shape[1]
    if not sums.tokens:
        raise SearchSpaceError("no calibration batches; valid: at least one batch of inputs")
    per_token = 1.0 / sums.tokens
    return Importance(
        sums.embed * per_token,
        tuple(h * per_token for h in sums.heads),
        tuple(h * per_token for h in sums.hidden),
    )


@dataclass
class _Sums:
    """Running sums of the scores over calibration tokens."""

    embed: Tensor  # (E,)
    heads: list[Tensor]  # per block (heads_max,)
    hidden: list[Tensor]  # per block (hidden_max,)
    tokens: int  # tokens seen per layer (examples × sequence length)

    @staticmethod
    def zeros(supernet: Supernet) -> _Sums:
        device = next(supernet.parameters()).device
        blocks: list[SharedBlock] = list(supernet.blocks)  # type: ignore[arg-type]
        heads = [torch.zeros(max(supernet.space.heads), device=device) for _ in blocks]
        hidden = [torch.zeros(block.fc1.out_max, device=device) for block in blocks]
        return _Sums(torch.zeros(supernet.stem.proj.out_max, device=device), heads, hidden, 0)


def _norm_out(x: Tensor, norm: tuple[Tensor, Tensor], eps: float) -> Tensor:
    return F.layer_norm(x, (x.shape[-1],), *norm, eps=eps)


def _scored_layer(x: Tensor, p: fn.LayerParams, head_dim: int, sums: _Sums, block: int) -> Tensor:
    """``functional.transformer_layer`` that also adds the scores of the block it runs to ``sums``."""
    b, t, e = x.shape
    normed = _norm_out(x, p.norm1, p.ln_eps)
    sums.embed += normed.abs().sum(dim=(0, 1))
    qkv = fn.linear(normed, p.qkv, p.weight_bits, p.act_bits)  # (B, T, 3A)
    q, k, v = qkv.view(b, t, 3, p.heads, head_dim).permute(2, 0, 3, 1, 4)  # each (B, h, T, D)
    out = F.scaled_dot_product_attention(q, k, v)  # (B, h, T, D)
    proj = _weight(p.proj).view(e, p.heads, head_dim)  # (E, h, D)
    per_head = torch.einsum("bhtd,ehd->bhte", out, proj)  # what each head adds to the residual
    sums.heads[block] += per_head.norm(dim=-1).sum(dim=(0, 2))
    x = x + fn.linear(out.transpose(1, 2).reshape(b, t, -1), p.proj, p.weight_bits, p.act_bits)
    normed = _norm_out(x, p.norm2, p.ln_eps)
    sums.embed += normed.abs().sum(dim=(0, 1))
    hidden = F.gelu(fn.linear(normed, p.fc1, p.weight_bits, p.act_bits))  # (B, T, H)
    sums.hidden[block] += hidden.abs().sum(dim=(0, 1)) * _weight(p.fc2).norm(dim=0)
    return x + fn.linear(hidden, p.fc2, p.weight_bits, p.act_bits)


def _weight(p: fn.LinearParams | fn.Int8Params) -> Tensor:
    """The float weight a linear applies, LoRA included: (out, in)."""
    assert isinstance(p, fn.LinearParams), "scores are computed on float supernets"
    if p.lora_a is None or p.lora_b is None:
        return p.weight
    return p.weight + p.lora_b @ p.lora_a


@torch.no_grad()
def permute_units(supernet: Supernet, order: Importance) -> None:
    """Move unit ``order.x[k]`` to place ``k`` in every tensor that touches it (in place)."""
    _check_order(supernet, order)
    e = order.embed
    head_dim = supernet.space.head_dim
    rows = [_head_rows(heads, head_dim) for heads in order.heads]  # per block: (A,) rows of the inner width
    stem = supernet.stem
    _take(stem.proj.weight, 0, e)
    _take_bias(stem.proj, e)
    _take(stem.cls_token, 2, e)
    _take(stem.pos_embed, 2, e)
    for index, block in enumerate(supernet.blocks):
        assert isinstance(block, SharedBlock)
        _permute_block(block, e, rows[index], order.hidden[index])
    owners = adapter_blocks(supernet.space)
    for layer, adapters in enumerate(supernet.layers):
        assert isinstance(adapters, LayerAdapters)
        _permute_adapters(adapters, e, rows[owners[layer]], order.hidden[owners[layer]])
    _permute_norm(supernet.head.norm, e)
    _take(supernet.head.linear.weight, 1, e)


def _check_order(supernet: Supernet, order: Importance) -> None:
    blocks: list[SharedBlock] = list(supernet.blocks)  # type: ignore[arg-type]
    if len(order.heads) != len(blocks) or len(order.hidden) != len(blocks):
        raise SearchSpaceError(f"an order needs one entry per shared block; valid: {len(blocks)} blocks")
    sizes = [("embed", order.embed, supernet.stem.proj.out_max)]
    sizes += [(f"heads[{i}]", h, max(supernet.space.heads)) for i, h in enumerate(order.heads)]
    sizes += [(f"hidden[{i}]", h, b.fc1.out_max) for i, (h, b) in enumerate(zip(order.hidden, blocks))]
    for name, perm, size in sizes:
        if not torch.equal(torch.sort(perm.cpu()).values, torch.arange(size)):
            raise SearchSpaceError(f"order {name} is not a permutation of 0..{size - 1}")


def _head_rows(heads: Tensor, head_dim: int) -> Tensor:
    """Rows of an (A, ...) head-major tensor for a head permutation: (heads,) -> (heads * head_dim,)."""
    return (heads[:, None] * head_dim + torch.arange(head_dim, device=heads.device)).reshape(-1)


def _permute_block(block: SharedBlock, e: Tensor, inner: Tensor, hidden: Tensor) -> None:
    qkv = block.qkv
    weight = qkv.weight.view(3, qkv.inner_max, qkv.in_max)  # q, k, v head groups move alike
    qkv.weight.copy_(weight[:, inner][:, :, e].reshape_as(qkv.weight))
    assert qkv.bias is not None
    qkv.bias.copy_(qkv.bias.view(3, qkv.inner_max)[:, inner].reshape(-1))
    _take(block.proj.weight, 0, e)
    _take(block.proj.weight, 1, inner)
    _take_bias(block.proj, e)
    _take(block.fc1.weight, 0, hidden)
    _take(block.fc1.weight, 1, e)
    _take_bias(block.fc1, hidden)
    _take(block.fc2.weight, 0, e)
    _take(block.fc2.weight, 1, hidden)
    _take_bias(block.fc2, e)


def _permute_adapters(adapters: LayerAdapters, e: Tensor, inner: Tensor, hidden: Tensor) -> None:
    _permute_norm(adapters.norm1, e)
    _permute_norm(adapters.norm2, e)
    qkv: ElasticLoRA = adapters.qkv
    _take(qkv.lora_a, 1, e)
    b = qkv.lora_b.view(3, qkv.qkv_inner_max, qkv.rank_max)
    qkv.lora_b.copy_(b[:, inner].reshape_as(qkv.lora_b))
    _take(adapters.proj.lora_a, 1, inner)
    _take(adapters.proj.lora_b, 0, e)
    _take(adapters.fc1.lora_a, 1, e)
    _take(adapters.fc1.lora_b, 0, hidden)
    _take(adapters.fc2.lora_a, 1, hidden)
    _take(adapters.fc2.lora_b, 0, e)


def _permute_norm(norm: ElasticLayerNorm, e: Tensor) -> None:
    _take(norm.weight, 0, e)
    _take(norm.bias, 0, e)


def _take(param: Tensor, dim: int, index: Tensor) -> None:
    param.copy_(param.index_select(dim, index.to(param.device)))


def _take_bias(linear: ElasticLinear, index: Tensor) -> None:
    assert linear.bias is not None
    _take(linear.bias, 0, index)
