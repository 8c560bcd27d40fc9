"""Rotate a pretrained source's residual stream so its leading channels carry the most.

Smaller subnets keep the *leading* embedding channels. A trained ViT spreads what it
computes over all its channels, so a permutation of them leaves little in the first half
(on the digits source, the largest subnet cut to half the width scores 18 % right after a
permuting import, 60 % after a rotating one). As SliceGPT does for language models,
:func:`rotate_stream` turns the residual stream by an orthogonal matrix ``Q`` whose leading
columns are its principal directions on calibration batches, and rewrites the weights so the
network computes the same logits:

1. every write to the stream (patch embedding, class token, positions, attention and MLP
   outputs) is centred — every reader is a LayerNorm, which subtracts the mean anyway;
2. each LayerNorm's weight and bias are folded into the linear that reads it (``qkv``,
   ``fc1``, the classifier), and the LayerNorm becomes plain (weight 1, bias 0);
3. the stream ``x`` becomes ``x @ Q``: writes are multiplied by ``Q^T``, readers by ``Q``.

A plain LayerNorm commutes with ``Q`` when ``Q`` maps the all-ones vector to itself (its mean
subtraction is the projection orthogonal to it), so :func:`principal_rotation` builds ``Q``
from the principal directions orthogonal to the all-ones vector and a reflection that fixes
it. The rotated source's logits equal the source's up to float rounding (the rewrite is
done in float64). The final LayerNorm's weight and bias are folded into the classifier; a task
with other classes gets a new classifier on a plain final LayerNorm. Everything is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from supernas.errors import CheckpointError, SearchSpaceError
from supernas.search_space.space import FLOAT_BITS
from supernas.supernet import functional as fn
from supernas.supernet.recursion import BlockWeights

if TYPE_CHECKING:  # pretrained.py imports this module
    from supernas.supernet.pretrained import LayerWeights, PretrainedViT

Linear = tuple[Tensor, Tensor]  # (weight (out, in), bias (out,))


def rotate_stream(source: PretrainedViT, batches: Iterable[Tensor]) -> PretrainedViT:
    """``source`` with its stream turned to its principal directions on ``batches``; the same logits."""
    return rotate_source(source, principal_rotation(stream_covariance(source, batches)))


@torch.no_grad()
def stream_covariance(source: PretrainedViT, batches: Iterable[Tensor]) -> Tensor:
    """Second moment (E, E), float64, of what every LayerNorm of ``source`` normalises, averaged over them.

    Each LayerNorm input is normalised without its weight and bias, so every place counts alike;
    the final one sees the class token only (all the classifier reads).
    """
    info = source.info
    shape = (info.channels, *info.image_size)
    moment = torch.zeros(info.embed_dim, info.embed_dim, dtype=torch.float64)
    places = 0
    for x in batches:
        if tuple(x.shape[1:]) != shape:
            valid = ", ".join(map(str, shape))
            raise SearchSpaceError(f"calibration batch of shape {tuple(x.shape)} does not fit; valid: (batch, {valid})")
        seen: list[Tensor] = []
        _forward(source, x.to(torch.float32), seen)
        for normalised in seen:
            flat = normalised.reshape(-1, info.embed_dim).double()  # (tokens, E)
            moment += flat.T @ flat / flat.shape[0]
            places += 1
    if not places:
        raise SearchSpaceError("no calibration batches; valid: at least one batch of inputs")
    return moment / places


@torch.no_grad()
def source_logits(source: PretrainedViT, x: Tensor) -> Tensor:
    """The source's logits (B, K) on images ``x``, computed from its weights alone (a reference for imports)."""
    if source.head is None:
        raise CheckpointError(f"{source.info.name!r} has no classifier head; valid: a source with one", field="head")
    cls_out = _forward(source, x.to(torch.float32), [])
    return fn.classify(cls_out, source.norm, fn.LinearParams(*source.head), source.info.ln_eps)


def _forward(source: PretrainedViT, x: Tensor, seen: list[Tensor]) -> Tensor:
    """The source's forward pass on images ``x`` up to the class token's final stream (B, E).

    Appends to ``seen`` every LayerNorm input, normalised without weight and bias.
    """
    info = source.info
    patches = fn.patchify(x, "image", info.patch_size)
    stream = fn.embed(patches, fn.LinearParams(*source.patch), source.cls_token.view(1, 1, -1), source.pos_embed)
    for layer in source.layers:
        p = _layer_params(source, layer)
        seen.append(_plain_norm(stream, info.ln_eps))
        attended, _ = fn.attention(_norm(stream, p.norm1, info.ln_eps), p, info.head_dim, want_cls_attn=False)
        stream = stream + attended  # (B, T, E)
        seen.append(_plain_norm(stream, info.ln_eps))
        hidden = F.gelu(fn.linear(_norm(stream, p.norm2, info.ln_eps), p.fc1, FLOAT_BITS, FLOAT_BITS))
        stream = stream + fn.linear(hidden, p.fc2, FLOAT_BITS, FLOAT_BITS)
    seen.append(_plain_norm(stream[:, 0], info.ln_eps))  # (B, E) the class token
    return stream[:, 0]


def _layer_params(source: PretrainedViT, layer: LayerWeights) -> fn.LayerParams:
    weights = layer.linears
    return fn.LayerParams(
        norm1=layer.norm1,
        norm2=layer.norm2,
        qkv=fn.LinearParams(*weights.qkv),
        proj=fn.LinearParams(*weights.proj),
        fc1=fn.LinearParams(*weights.fc1),
        fc2=fn.LinearParams(*weights.fc2),
        heads=source.info.heads,
        weight_bits=FLOAT_BITS,
        act_bits=FLOAT_BITS,
        ln_eps=source.info.ln_eps,
    )


def _norm(x: Tensor, norm: tuple[Tensor, Tensor], eps: float) -> Tensor:
    return F.layer_norm(x, (x.shape[-1],), *norm, eps=eps)


def _plain_norm(x: Tensor, eps: float) -> Tensor:
    return F.layer_norm(x, (x.shape[-1],), eps=eps)


def principal_rotation(moment: Tensor) -> Tensor:
    """An orthogonal ``Q`` (E, E), float64, with ``Q @ 1 = 1`` for the stream's second moment ``moment``.

    Column ``j < E-1`` is the ``j``-th principal direction orthogonal to the all-ones vector plus
    one vector common to all of them, which a LayerNorm over any leading slice removes with the
    slice's mean; the last column makes the rows sum to one.
    """
    e = moment.shape[0]
    ones = torch.full((e,), 1 / math.sqrt(e), dtype=torch.float64)  # the unit all-ones direction
    centre = torch.eye(e, dtype=torch.float64) - torch.outer(ones, ones)
    values, vectors = torch.linalg.eigh(centre @ moment.double() @ centre)  # ascending
    leading = vectors[:, torch.argsort(values, descending=True, stable=True)[: e - 1]]  # (E, E-1)
    leading, _ = torch.linalg.qr(centre @ leading)  # exactly orthogonal to the all-ones vector
    basis = torch.cat([leading, ones[:, None]], dim=1)  # orthogonal; its last column is the all-ones direction
    swap = ones - torch.eye(e, dtype=torch.float64)[-1]  # reflects the all-ones direction onto the last axis
    reflection = torch.eye(e, dtype=torch.float64) - 2 * torch.outer(swap, swap) / (swap @ swap)
    return basis @ reflection


@torch.no_grad()
def rotate_source(source: PretrainedViT, q: Tensor) -> PretrainedViT:
    """``source`` rewritten for the stream ``x @ q`` (``q`` orthogonal with ``q @ 1 = 1``); the same logits."""
    e = source.info.embed_dim
    q = q.double()
    centre = torch.eye(e, dtype=torch.float64) - 1 / e
    to_stream = centre @ q  # (E, E): a write's output, centred, then rotated
    plain = (torch.ones(e), torch.zeros(e))

    def write(linear: Linear) -> Linear:  # (E, in) -> the rotated stream
        weight, bias = (t.double() for t in linear)
        return _float(to_stream.T @ weight), _float(to_stream.T @ bias)

    def read(linear: Linear, norm: tuple[Tensor, Tensor]) -> Linear:  # (out, E) after LayerNorm ``norm``
        weight, bias = (t.double() for t in linear)
        scale, shift = (t.double() for t in norm)
        return _float(weight * scale @ q), _float(bias + weight @ shift)

    layers = tuple(
        replace(
            layer,
            norm1=plain,
            norm2=plain,
            linears=BlockWeights(
                qkv=read(layer.linears.qkv, layer.norm1),
                proj=write(layer.linears.proj),
                fc1=read(layer.linears.fc1, layer.norm2),
                fc2=write(layer.linears.fc2),
            ),
        )
        for layer in source.layers
    )
    return replace(
        source,
        patch=write(source.patch),
        cls_token=_float(source.cls_token.double() @ to_stream),
        pos_embed=_float(source.pos_embed.double() @ to_stream),
        layers=layers,
        norm=plain,
        head=None if source.head is None else read(source.head, source.norm),
    )


def _float(t: Tensor) -> Tensor:
    return t.to(torch.float32).contiguous()
