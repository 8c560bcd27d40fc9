"""The transformer math shared by the supernet and extracted static subnets.

Both resolve their weights into the plain tensors below and call the same
functions, so a static subnet computes exactly what the supernet computes for
its config.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from supernas.search_space.costs import kept_tokens
from supernas.search_space.space import FLOAT_BITS


@dataclass(frozen=True)
class LinearParams:
    """Weights of one (optionally LoRA-adapted) linear layer."""

    weight: Tensor  # (out, in)
    bias: Tensor | None  # (out,)
    lora_a: Tensor | None = None  # (rank, in), or None without LoRA
    lora_b: Tensor | None = None  # (out, rank)


@dataclass(frozen=True)
class Int8Params:
    """A real int8 linear (see ``supernas.export.int8``) plus the float LoRA path."""

    module: Callable[[Tensor], Tensor]  # (..., in) -> (..., out), quantizes its input itself
    lora_a: Tensor | None = None  # (rank, in)
    lora_b: Tensor | None = None  # (out, rank)


@dataclass(frozen=True)
class LayerParams:
    """Everything one executed transformer layer needs."""

    norm1: tuple[Tensor, Tensor]  # LayerNorm weight, bias: (E,), (E,)
    norm2: tuple[Tensor, Tensor]
    qkv: LinearParams | Int8Params  # (3A, E), rows ordered q heads, k heads, v heads
    proj: LinearParams | Int8Params  # (E, A)
    fc1: LinearParams | Int8Params  # (H, E)
    fc2: LinearParams | Int8Params  # (E, H)
    heads: int  # attention heads; A = heads * head_dim
    weight_bits: int  # bit width of the four weight matrices (32: float)
    act_bits: int  # bit width of the inputs of the four linears (32: float)
    ln_eps: float  # epsilon of both LayerNorms (the space's ``ln_eps``)


def fake_quant_weight(weight: Tensor, bits: int) -> Tensor:
    """Symmetric per-output-channel fake quantization with a straight-through estimator."""
    if bits >= FLOAT_BITS:
        return weight
    qmax = 2 ** (bits - 1) - 1
    scale = weight.detach().abs().amax(dim=1, keepdim=True).clamp_min(1e-8) / qmax  # (out, 1)
    quantized = torch.clamp(torch.round(weight / scale), -qmax, qmax) * scale
    return weight + (quantized - weight).detach()


def fake_quant_act(x: Tensor, bits: int) -> Tensor:
    """Symmetric per-token dynamic fake quantization with a straight-through estimator."""
    if bits >= FLOAT_BITS:
        return x
    qmax = 2 ** (bits - 1) - 1
    scale = x.detach().abs().amax(dim=-1, keepdim=True).clamp_min(1e-8) / qmax  # (..., 1)
    quantized = torch.clamp(torch.round(x / scale), -qmax, qmax) * scale
    return x + (quantized - x).detach()


def linear(x: Tensor, p: LinearParams | Int8Params, weight_bits: int, act_bits: int) -> Tensor:
    """``x @ W^T + b`` with fake-quantized (or real int8) input and weight, plus the float LoRA path."""
    if isinstance(p, Int8Params):
        out = p.module(x)
    else:
        x = fake_quant_act(x, act_bits)
        out = F.linear(x, fake_quant_weight(p.weight, weight_bits), p.bias)
    if p.lora_a is not None and p.lora_b is not None:
        out = out + F.linear(F.linear(x, p.lora_a), p.lora_b)
    return out


def patchify(x: Tensor, kind: str, patch: int) -> Tensor:
    """Cut inputs into tokens: (B, C, H, W) or (B, L, C) -> (B, N, patch_dim)."""
    if kind == "image":
        b, c, h, w = x.shape
        x = x.reshape(b, c, h // patch, patch, w // patch, patch)
        return x.permute(0, 2, 4, 1, 3, 5).reshape(b, (h // patch) * (w // patch), c * patch * patch)
    b, length, c = x.shape
    return x.reshape(b, length // patch, patch * c)


def embed(patches: Tensor, stem: LinearParams, cls_token: Tensor, pos_embed: Tensor) -> Tensor:
    """Patch embedding, class token and positions: (B, N, P) -> (B, N+1, E)."""
    tokens = F.linear(patches, stem.weight, stem.bias)  # (B, N, E)
    cls = cls_token.expand(tokens.shape[0], -1, -1)  # (B, 1, E)
    return torch.cat([cls, tokens], dim=1) + pos_embed


def attention(x: Tensor, p: LayerParams, head_dim: int, want_cls_attn: bool) -> tuple[Tensor, Tensor | None]:
    """Multi-head self-attention; optionally also the class token's attention over tokens."""
    b, t, _ = x.shape
    qkv = linear(x, p.qkv, p.weight_bits, p.act_bits)  # (B, T, 3A)
    q, k, v = qkv.view(b, t, 3, p.heads, head_dim).permute(2, 0, 3, 1, 4)  # each (B, h, T, D)
    out = F.scaled_dot_product_attention(q, k, v)  # (B, h, T, D)
    out = out.transpose(1, 2).reshape(b, t, p.heads * head_dim)  # (B, T, A)
    cls_attn = None
    if want_cls_attn:
        scores = torch.matmul(q[:, :, :1], k.transpose(-2, -1)) / math.sqrt(head_dim)  # (B, h, 1, T)
        cls_attn = scores.softmax(dim=-1).mean(dim=1).squeeze(1)  # (B, T)
    return linear(out, p.proj, p.weight_bits, p.act_bits), cls_attn


def transformer_layer(x: Tensor, p: LayerParams, head_dim: int, want_cls_attn: bool) -> tuple[Tensor, Tensor | None]:
    """One pre-norm layer: x + attn(LN(x)), then x + MLP(LN(x))."""
    e = x.shape[-1]
    attn_out, cls_attn = attention(F.layer_norm(x, (e,), *p.norm1, eps=p.ln_eps), p, head_dim, want_cls_attn)
    x = x + attn_out
    hidden = F.gelu(linear(F.layer_norm(x, (e,), *p.norm2, eps=p.ln_eps), p.fc1, p.weight_bits, p.act_bits))
    return x + linear(hidden, p.fc2, p.weight_bits, p.act_bits), cls_attn


def shortens(num_tokens: int, keep_ratio: float) -> bool:
    """Whether a reduction with ``keep_ratio`` drops any of the patch tokens."""
    return kept_tokens(num_tokens - 1, keep_ratio) < num_tokens - 1


def reduce_tokens(x: Tensor, cls_attn: Tensor, keep_ratio: float) -> Tensor:
    """EViT token reorganisation: keep the most attended tokens, fuse the rest into one.

    (B, T, E) -> (B, 1 + keep + 1, E); the fused token is the attention-weighted
    mean of the dropped tokens.
    """
    patch_tokens = x[:, 1:]  # (B, n, E)
    keep = kept_tokens(patch_tokens.shape[1], keep_ratio)
    order = cls_attn[:, 1:].topk(patch_tokens.shape[1], dim=1).indices  # (B, n), most attended first
    kept_idx, dropped_idx = order[:, :keep], order[:, keep:]
    e = x.shape[-1]
    kept = patch_tokens.gather(1, kept_idx.unsqueeze(-1).expand(-1, -1, e))  # (B, keep, E)
    dropped = patch_tokens.gather(1, dropped_idx.unsqueeze(-1).expand(-1, -1, e))  # (B, n-keep, E)
    weights = cls_attn[:, 1:].gather(1, dropped_idx)  # (B, n-keep)
    weights = weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-12)
    fused = torch.bmm(weights.unsqueeze(1), dropped)  # (B, 1, E)
    return torch.cat([x[:, :1], kept, fused], dim=1)


def classify(cls_out: Tensor, norm: tuple[Tensor, Tensor], head: LinearParams, ln_eps: float) -> Tensor:
    """LayerNorm (epsilon ``ln_eps``) and linear head on the class token: (B, E) -> (B, K)."""
    e = cls_out.shape[-1]
    return F.linear(F.layer_norm(cls_out, (e,), *norm, eps=ln_eps), head.weight, head.bias)
