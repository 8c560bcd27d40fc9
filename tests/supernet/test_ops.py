"""``supernet/ops.py``: elastic ops slice the leading rows, columns, heads and ranks, and never clamp."""

from __future__ import annotations

import pytest
import torch

from supernas.errors import SearchSpaceError
from supernas.supernet.ops import (
    ElasticHead,
    ElasticLayerNorm,
    ElasticLinear,
    ElasticLoRA,
    ElasticQKV,
    ElasticStem,
    LayerAdapters,
    SharedBlock,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_linear_takes_the_leading_rows_and_columns_as_views() -> None:
    op = ElasticLinear(6, 5, gen())
    with torch.no_grad():
        op.bias.copy_(torch.arange(5.0))  # type: ignore[union-attr]
    p = op.sliced(3, 2)
    assert torch.equal(p.weight, op.weight[:2, :3]) and p.weight.shape == (2, 3)
    assert p.bias is not None and p.bias.tolist() == [0.0, 1.0]
    assert p.weight.data_ptr() == op.weight.data_ptr()  # a view: training the slice trains the supernet
    p.weight.sum().backward()
    assert op.weight.grad is not None
    assert op.weight.grad[:2, :3].eq(1).all() and op.weight.grad[2:].eq(0).all() and op.weight.grad[:, 3:].eq(0).all()
    assert ElasticLinear(6, 5, gen(), bias=False).sliced(6, 5).bias is None


def test_the_same_generator_seed_gives_the_same_weights() -> None:
    assert torch.equal(ElasticLinear(6, 5, gen(3)).weight, ElasticLinear(6, 5, gen(3)).weight)
    assert not torch.equal(ElasticLinear(6, 5, gen(3)).weight, ElasticLinear(6, 5, gen(4)).weight)


@pytest.mark.parametrize(
    ("in_dim", "out_dim", "needle"),
    [
        (7, 5, "linear input width: 7 requested but the supernet holds 6"),
        (6, 6, "linear output width: 6 requested but the supernet holds 5"),
        (-1, 5, "linear input width: -1 requested"),
    ],
)
def test_linear_refuses_more_than_it_holds(in_dim: int, out_dim: int, needle: str) -> None:
    with pytest.raises(SearchSpaceError, match=needle):
        ElasticLinear(6, 5, gen()).sliced(in_dim, out_dim)


def test_qkv_keeps_the_leading_heads_of_each_of_q_k_and_v() -> None:
    op = ElasticQKV(4, 6, gen())  # rows: 6 of q, 6 of k, 6 of v
    with torch.no_grad():
        op.weight.copy_(torch.arange(18.0).unsqueeze(1).expand(18, 4))  # each row holds its index
        op.bias.copy_(torch.arange(18.0))  # type: ignore[union-attr]
    p = op.sliced(3, 6)  # inner 2 of 6
    assert p.weight.shape == (6, 3)
    assert p.weight[:, 0].tolist() == [0, 1, 6, 7, 12, 13]
    assert p.bias is not None and p.bias.tolist() == [0, 1, 6, 7, 12, 13]
    full = op.sliced(4, 18)
    assert torch.equal(full.weight, op.weight) and torch.equal(full.bias, op.bias)  # type: ignore[arg-type]
    with pytest.raises(SearchSpaceError, match="attention width: 7 requested but the supernet holds 6"):
        op.sliced(4, 21)
    with pytest.raises(SearchSpaceError, match="attention input width: 5 requested but the supernet holds 4"):
        op.sliced(5, 6)


def test_lora_starts_at_zero_and_slices_rank_and_widths() -> None:
    op = ElasticLoRA(6, 5, 4, gen())
    assert op.lora_b.eq(0).all() and op.lora_a.abs().sum() > 0
    a, b = op.sliced(3, 2, 2)
    assert torch.equal(a, op.lora_a[:2, :3]) and torch.equal(b, op.lora_b[:2, :2])
    a0, b0 = op.sliced(6, 5, 0)
    assert a0.shape == (0, 6) and b0.shape == (5, 0)
    with pytest.raises(SearchSpaceError, match="LoRA rank: 5 requested but the supernet holds 4"):
        op.sliced(6, 5, 5)
    with pytest.raises(SearchSpaceError, match="LoRA output width: 6 requested"):
        op.sliced(6, 6, 1)
    with pytest.raises(SearchSpaceError, match="LoRA input width: 7 requested"):
        op.sliced(7, 5, 1)


def test_lora_of_a_fused_qkv_slices_rows_per_head_group() -> None:
    op = ElasticLoRA(4, 18, 3, gen(), qkv_inner_max=6)
    with torch.no_grad():
        op.lora_b.copy_(torch.arange(18.0).unsqueeze(1).expand(18, 3))
    _, b = op.sliced(4, 6, 2)
    assert b.shape == (6, 2) and b[:, 0].tolist() == [0, 1, 6, 7, 12, 13]
    with pytest.raises(SearchSpaceError, match="LoRA attention width: 7 requested but the supernet holds 6"):
        op.sliced(4, 21, 1)


def test_layer_norm_slices_its_affine() -> None:
    op = ElasticLayerNorm(5)
    with torch.no_grad():
        op.weight.copy_(torch.arange(5.0))
    weight, bias = op.sliced(3)
    assert weight.tolist() == [0.0, 1.0, 2.0] and bias.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(SearchSpaceError, match="LayerNorm width: 6 requested but the supernet holds 5"):
        op.sliced(6)


def test_stem_and_head_slice_to_the_embedding_width() -> None:
    stem = ElasticStem(patch_dim=4, num_tokens=5, embed_max=8, generator=gen())
    linear, cls, pos = stem.sliced(6)
    assert linear.weight.shape == (6, 4) and cls.shape == (1, 1, 6) and pos.shape == (1, 5, 6)
    assert torch.equal(pos, stem.pos_embed[..., :6]) and torch.equal(cls, stem.cls_token[..., :6])
    with pytest.raises(SearchSpaceError, match="embed_dim: 9 requested but the supernet holds 8"):
        stem.sliced(9)
    head = ElasticHead(8, 10, gen())
    (norm_w, norm_b), classifier = head.sliced(6)
    assert norm_w.shape == norm_b.shape == (6,) and classifier.weight.shape == (10, 6)
    with pytest.raises(SearchSpaceError, match="LayerNorm width: 9 requested"):
        head.sliced(9)


def test_a_shared_block_and_its_adapters_have_matching_full_shapes() -> None:
    block = SharedBlock(embed_max=8, inner_max=6, hidden_max=16, generator=gen())
    adapters = LayerAdapters(embed_max=8, inner_max=6, hidden_max=16, rank_max=2, generator=gen())
    for name in ("qkv", "proj", "fc1", "fc2"):
        linear, lora = getattr(block, name), getattr(adapters, name)
        assert (lora.out_max, lora.in_max) == tuple(linear.weight.shape)
        assert lora.lora_b.eq(0).all()  # a fresh adapter leaves the shared weight unchanged
    assert adapters.qkv.qkv_inner_max == 6 and adapters.proj.qkv_inner_max == 0
