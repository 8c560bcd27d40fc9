"""``supernet/functional.py``: fake quantization, LoRA linears, patches, attention and EViT token reduction."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from supernas.supernet.functional import (
    LayerParams,
    LinearParams,
    attention,
    classify,
    embed,
    fake_quant_act,
    fake_quant_weight,
    linear,
    patchify,
    reduce_tokens,
    shortens,
    transformer_layer,
)


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_weights_snap_to_per_channel_levels(bits: int) -> None:
    weight = randn(5, 12)
    weight[2] *= 100  # one channel much larger: its scale must not leak into the others
    q = fake_quant_weight(weight, bits)
    qmax = 2 ** (bits - 1) - 1
    scale = weight.abs().amax(dim=1, keepdim=True) / qmax  # (out, 1)
    levels = q / scale
    assert torch.allclose(levels, levels.round(), atol=1e-4)  # integer multiples of the channel's scale
    assert levels.abs().max() <= qmax + 1e-4
    assert torch.allclose(q.abs().amax(dim=1), weight.abs().amax(dim=1))  # each channel's extreme is exact
    assert all(len(torch.unique(levels[i].round())) <= 2 * qmax + 1 for i in range(5))
    assert (q - weight).abs().max(dim=1).values.le(scale.squeeze(1) / 2 + 1e-6).all()  # round to nearest


def test_float_bits_pass_through_unchanged() -> None:
    x = randn(3, 4)
    assert fake_quant_weight(x, 32) is x and fake_quant_act(x, 32) is x


@pytest.mark.parametrize("quantize", [fake_quant_weight, fake_quant_act])
def test_the_gradient_goes_straight_through(quantize) -> None:  # type: ignore[no-untyped-def]
    x = randn(4, 6).requires_grad_()
    (quantize(x, 4) * torch.arange(6.0)).sum().backward()
    assert x.grad is not None and torch.equal(x.grad, torch.arange(6.0).expand(4, 6))


def test_activations_get_one_scale_per_token() -> None:
    x = randn(2, 3, 8)
    big = x.clone()
    big[0, 1] *= 1000  # one loud token
    q, q_big = fake_quant_act(x, 8), fake_quant_act(big, 8)
    others = torch.ones(2, 3, dtype=torch.bool)
    others[0, 1] = False
    assert torch.equal(q[others], q_big[others])  # every other token is quantized exactly as before
    scale = big.abs().amax(dim=-1, keepdim=True) / 127
    levels = q_big / scale
    assert torch.allclose(levels, levels.round(), atol=1e-3)


def test_linear_adds_the_lora_path_to_the_float_product() -> None:
    x, w, b = randn(2, 3, 4, seed=1), randn(5, 4, seed=2), randn(5, seed=3)
    a, bb = randn(2, 4, seed=4), randn(5, 2, seed=5)
    out = linear(x, LinearParams(w, b, a, bb), 32, 32)
    assert torch.allclose(out, x @ w.T + b + (x @ a.T) @ bb.T, atol=1e-5)
    plain = linear(x, LinearParams(w, b), 32, 32)
    assert torch.allclose(plain, x @ w.T + b, atol=1e-5)
    quantized = linear(x, LinearParams(w, b), 4, 4)
    expected = fake_quant_act(x, 4) @ fake_quant_weight(w, 4).T + b
    assert torch.allclose(quantized, expected, atol=1e-5) and not torch.allclose(quantized, plain, atol=1e-3)


def test_patchify_cuts_images_row_major_and_channels_first_within_a_patch() -> None:
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert patchify(x, "image", 2).tolist() == [[[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]]
    two = torch.stack([torch.zeros(2, 2), torch.ones(2, 2)]).unsqueeze(0)  # (1, 2, 2, 2)
    assert patchify(two, "image", 2).tolist() == [[[0, 0, 0, 0, 1, 1, 1, 1]]]
    seq = torch.arange(12.0).reshape(1, 6, 2)  # (B, L, C)
    assert patchify(seq, "sequence", 3).tolist() == [[[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]]


def test_embed_prepends_the_class_token_and_adds_positions() -> None:
    patches = randn(2, 3, 4)
    stem = LinearParams(randn(5, 4, seed=1), torch.zeros(5))
    cls, pos = randn(1, 1, 5, seed=2), randn(1, 4, 5, seed=3)
    tokens = embed(patches, stem, cls, pos)
    assert tokens.shape == (2, 4, 5)
    assert torch.allclose(tokens[:, 0], (cls + pos[:, :1]).squeeze(1).expand(2, 5))
    assert torch.allclose(tokens[:, 1:], patches @ stem.weight.T + pos[:, 1:], atol=1e-6)


def layer(e: int, heads: int, head_dim: int, hidden: int, seed: int = 0) -> LayerParams:
    inner = heads * head_dim
    return LayerParams(
        norm1=(torch.ones(e), torch.zeros(e)),
        norm2=(torch.ones(e), torch.zeros(e)),
        qkv=LinearParams(randn(3 * inner, e, seed=seed), randn(3 * inner, seed=seed + 1)),
        proj=LinearParams(randn(e, inner, seed=seed + 2), None),
        fc1=LinearParams(randn(hidden, e, seed=seed + 3), None),
        fc2=LinearParams(randn(e, hidden, seed=seed + 4), None),
        heads=heads,
        weight_bits=32,
        act_bits=32,
        ln_eps=1e-5,
    )


def test_attention_matches_a_per_head_reference() -> None:
    e, heads, d = 6, 2, 4
    p = layer(e, heads, d, 8)
    x = randn(2, 5, e, seed=9)
    out, cls_attn = attention(x, p, d, want_cls_attn=True)
    assert out.shape == (2, 5, e) and cls_attn is not None and cls_attn.shape == (2, 5)
    assert isinstance(p.qkv, LinearParams) and p.qkv.bias is not None
    qkv = x @ p.qkv.weight.T + p.qkv.bias
    q, k, v = qkv.split(heads * d, dim=-1)  # rows: q heads, then k heads, then v heads
    outs, maps = [], []
    for h in range(heads):
        cols = slice(h * d, (h + 1) * d)
        weights = (q[..., cols] @ k[..., cols].transpose(1, 2) / math.sqrt(d)).softmax(-1)  # (B, T, T)
        outs.append(weights @ v[..., cols])
        maps.append(weights[:, 0])
    expected = torch.cat(outs, dim=-1) @ p.proj.weight.T  # type: ignore[union-attr]
    assert torch.allclose(out, expected, atol=1e-4)
    assert torch.allclose(cls_attn, torch.stack(maps).mean(0), atol=1e-5)
    assert torch.allclose(cls_attn.sum(-1), torch.ones(2))
    assert attention(x, p, d, want_cls_attn=False)[1] is None


def test_a_transformer_layer_keeps_the_shape_and_its_residuals() -> None:
    p = layer(6, 2, 4, 12)
    x = randn(3, 5, 6, seed=7)
    out, cls_attn = transformer_layer(x, p, 4, want_cls_attn=True)
    assert out.shape == x.shape and cls_attn is not None and cls_attn.shape == (3, 5)
    silent = replace(p, proj=LinearParams(torch.zeros(6, 8), None), fc2=LinearParams(torch.zeros(6, 12), None))
    assert torch.equal(transformer_layer(x, silent, 4, want_cls_attn=False)[0], x)  # zero branches: identity


def test_reduce_tokens_keeps_the_most_attended_and_fuses_the_rest_by_attention() -> None:
    e = 3
    x = torch.stack([torch.full((e,), float(i)) for i in range(5)]).unsqueeze(0)  # token i holds i; 0 is the class
    cls_attn = torch.tensor([[0.0, 0.1, 0.4, 0.2, 0.3]])
    out = reduce_tokens(x, cls_attn, keep_ratio=0.5)  # keeps 2 of 4 patch tokens
    assert out.shape == (1, 4, e)
    assert out[0, :, 0].tolist()[:3] == [0.0, 2.0, 4.0]  # class, then most attended first
    fused = (0.1 * 1.0 + 0.2 * 3.0) / 0.3  # tokens 1 and 3, weighted by their attention
    assert out[0, 3].tolist() == pytest.approx([fused] * e)


def test_reduce_tokens_works_per_example() -> None:
    x = randn(2, 7, 4)
    cls_attn = torch.tensor([[0.0, 6, 5, 4, 3, 2, 1], [0.0, 1, 2, 3, 4, 5, 6]])
    out = reduce_tokens(x, cls_attn, keep_ratio=0.5)  # keeps 3 of 6
    assert out.shape == (2, 5, 4)
    assert torch.equal(out[0, 1:4], x[0, 1:4]) and torch.equal(out[1, 1:4], x[1, [6, 5, 4]])


def test_shortens_only_when_a_token_is_dropped() -> None:
    assert shortens(17, 0.5) and not shortens(17, 1.0)
    assert not shortens(2, 0.5)  # one patch token is always kept


def test_classify_normalises_the_class_token_before_the_head() -> None:
    cls_out = randn(2, 4) * 10 + 3
    head = LinearParams(torch.eye(4), torch.zeros(4))
    logits = classify(cls_out, (torch.ones(4), torch.zeros(4)), head, 1e-5)
    assert torch.allclose(logits.mean(-1), torch.zeros(2), atol=1e-5)
    assert torch.allclose(logits.var(-1, unbiased=False), torch.ones(2), atol=1e-3)
