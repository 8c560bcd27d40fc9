"""Analytic cost models of a subnet: parameters, MACs and model size.

They follow the network the supernet runs (see ``supernas.supernet``) op by op:
a patch-embedding linear, a class token and positional embeddings, then per
executed layer two LayerNorms, attention (qkv, SDPA, projection) and an MLP,
each linear optionally with a per-layer LoRA pair; EViT-style token
reduction after the configured layers; a LayerNorm and a linear head on the
class token. MACs count the multiply-accumulates of matrix products, per example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from supernas.search_space.config import SubnetConfig
from supernas.search_space.space import FLOAT_BITS, SearchSpace
from supernas.search_space.spec import InputSpec

FLOAT_BYTES = 4


@dataclass(frozen=True)
class Costs:
    """Analytic costs of one subnet."""

    params: int  # parameters, shared blocks counted once
    macs: int  # multiply-accumulates for one example
    model_bytes: int  # storage at the searched bit widths (quantized weights + fp32 scales)


def kept_tokens(num_patch_tokens: int, keep_ratio: float) -> int:
    """Patch tokens kept at a reduction of ``num_patch_tokens`` tokens."""
    return max(1, min(num_patch_tokens, math.floor(keep_ratio * num_patch_tokens + 0.5)))


def token_counts(space: SearchSpace, config: SubnetConfig, spec: InputSpec) -> list[int]:
    """Sequence length (class token included) entering each executed layer."""
    tokens = spec.num_patches(space.patch_size) + 1
    reductions = dict(zip(space.reduction_layers, config.keep_ratio))
    counts = []
    for layer in range(config.depth):
        if layer in reductions:
            tokens = reduced_length(tokens, reductions[layer])
        counts.append(tokens)
    return counts


def reduced_length(tokens: int, keep_ratio: float) -> int:
    """Sequence length after a reduction: class token, kept tokens, one fused token."""
    patch = tokens - 1
    keep = kept_tokens(patch, keep_ratio)
    return tokens if keep == patch else 1 + keep + 1


def _block_linears(config: SubnetConfig, space: SearchSpace, block: int) -> list[tuple[int, int]]:
    """(in, out) of the qkv, proj, fc1 and fc2 linears of a shared block."""
    e = config.embed_dim
    a = config.heads[block] * space.head_dim
    h = config.hidden_dim(block)
    return [(e, 3 * a), (a, e), (e, h), (h, e)]


def param_count(space: SearchSpace, config: SubnetConfig, spec: InputSpec) -> int:
    e = config.embed_dim
    n = spec.num_patches(space.patch_size)
    total = spec.patch_dim(space.patch_size) * e + e  # stem
    total += e + (n + 1) * e  # class token, positional embeddings
    for block in range(config.unique_blocks):
        total += sum(i * o + o for i, o in _block_linears(config, space, block))
    for layer in range(config.depth):
        total += 4 * e  # two LayerNorms
        rank = config.lora_rank[layer]
        total += sum(rank * (i + o) for i, o in _block_linears(config, space, config.block_of(layer)))
    total += 2 * e + e * spec.num_classes + spec.num_classes  # head
    return total


def macs(space: SearchSpace, config: SubnetConfig, spec: InputSpec) -> int:
    e = config.embed_dim
    n = spec.num_patches(space.patch_size)
    total = n * spec.patch_dim(space.patch_size) * e
    counts = token_counts(space, config, spec)
    reductions = dict(zip(space.reduction_layers, config.keep_ratio))
    for layer, t in enumerate(counts):
        block = config.block_of(layer)
        linears = _block_linears(config, space, block)
        a = config.heads[block] * space.head_dim
        total += sum(t * i * o for i, o in linears)
        total += 2 * t * t * a  # q @ k^T and attn @ v
        total += sum(t * config.lora_rank[layer] * (i + o) for i, o in linears)
        following = layer + 1
        if following < config.depth and counts[following] != t:
            dropped = t - 1 - kept_tokens(t - 1, reductions[following])
            total += t * a + dropped * e  # class-token attention scores, fused token
    total += e * spec.num_classes
    return total


def model_bytes(space: SearchSpace, config: SubnetConfig, spec: InputSpec) -> int:
    """Bytes to store the subnet.

    Block weight matrices are stored once at the widest weight bit width among
    the layers that run the block, with one fp32 scale per output channel when
    quantized; everything else (biases, norms, LoRA, embeddings, head) is fp32.
    """
    floats = param_count(space, config, spec)
    quantized_bytes = 0
    for block in range(config.unique_blocks):
        bits = max(config.weight_bits[layer] for layer in range(config.depth) if config.block_of(layer) == block)
        if bits == FLOAT_BITS:
            continue
        for i, o in _block_linears(config, space, block):
            floats -= i * o
            quantized_bytes += math.ceil(i * o * bits / 8) + FLOAT_BYTES * o
    return floats * FLOAT_BYTES + quantized_bytes


def costs(space: SearchSpace, config: SubnetConfig, spec: InputSpec) -> Costs:
    """All analytic costs of ``config``."""
    return Costs(
        params=param_count(space, config, spec),
        macs=macs(space, config, spec),
        model_bytes=model_bytes(space, config, spec),
    )
