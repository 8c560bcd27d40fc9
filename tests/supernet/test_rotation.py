"""Rotating a source's residual stream: the same logits, the leading channels carry the most."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from torch import Tensor, nn

from supernas.errors import CheckpointError, SearchSpaceError
from supernas.search_space import largest
from supernas.supernet.pretrained import PretrainedViT, import_pretrained, load_timm, require
from supernas.supernet.rotation import (
    principal_rotation,
    rotate_source,
    rotate_stream,
    source_logits,
    stream_covariance,
)

EXACT = 1e-5


@pytest.fixture(scope="module")
def model() -> nn.Module:
    """A tiny timm ViT with order-one random weights and LayerNorm scales far from 1."""
    timm: ModuleType = require("timm")
    net = timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, num_classes=5, img_size=8, patch_size=2, in_chans=1,
        embed_dim=32, depth=3, num_heads=2,
    )  # fmt: skip
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in net.named_parameters():
            noise = torch.randn(param.shape, generator=gen)
            if "norm" in name and name.endswith("weight"):
                param.copy_(1 + 0.5 * noise)
            elif param.ndim >= 2 and "pos" not in name and "token" not in name:
                param.copy_(noise / param[0].numel() ** 0.5)
            else:
                param.copy_(0.3 * noise)
    return net.eval()


def images(n: int, seed: int) -> Tensor:
    return torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def leading_share(source: PretrainedViT, calibration: list[Tensor], k: int) -> float:
    """Share of the normalised stream's variance in the first ``k`` channels."""
    variance = torch.diagonal(stream_covariance(source, calibration))
    return float(variance[:k].sum() / variance.sum())


def test_the_rotated_source_computes_the_same_logits_with_plain_layer_norms(model: nn.Module) -> None:
    source = load_timm(model)
    rotated = rotate_stream(source, [images(32, seed=1), images(32, seed=2)])
    for layer in rotated.layers:
        for weight, bias in (layer.norm1, layer.norm2):
            assert torch.equal(weight, torch.ones(32)) and torch.equal(bias, torch.zeros(32))
    x = images(16, seed=3)
    net = import_pretrained(rotated).supernet.eval()
    with torch.no_grad():
        reference = model(x)
        assert reference.std() > 0.1
        assert float((net(x, largest(net.space)) - reference).abs().max()) <= EXACT
    for weights in (source, rotated):  # the reference forward pass over a source's weights alone
        assert float((source_logits(weights, x) - reference).abs().max()) <= EXACT


def test_the_rotation_is_orthogonal_and_keeps_the_all_ones_direction() -> None:
    gen = torch.Generator().manual_seed(4)
    basis = torch.randn(16, 16, generator=gen, dtype=torch.float64)
    moment = basis @ basis.T
    q = principal_rotation(moment)
    assert torch.allclose(q.T @ q, torch.eye(16, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(q @ torch.ones(16, dtype=torch.float64), torch.ones(16, dtype=torch.float64), atol=1e-12)
    centre = torch.eye(16, dtype=torch.float64) - 1 / 16
    values, vectors = torch.linalg.eigh(centre @ moment @ centre)
    principal = vectors[:, values.argsort(descending=True)]  # (16, 16) descending variance
    for k in (1, 4, 8, 15):
        # the leading k columns, less their mean (what a LayerNorm over the slice removes), span the top k directions
        columns = q[:, :k] - q[:, :k].mean(dim=1, keepdim=True)
        top = principal[:, :k]
        assert torch.allclose(top @ (top.T @ columns), columns, atol=1e-10)


def test_the_leading_half_of_the_stream_holds_more_after_rotation(model: nn.Module) -> None:
    source = load_timm(model)
    calibration = [images(32, seed=5)]
    rotated = rotate_stream(source, calibration)
    before, after = leading_share(source, calibration, 16), leading_share(rotated, calibration, 16)
    assert after > before + 0.2, (before, after)


def test_rotation_is_deterministic(model: nn.Module) -> None:
    source = load_timm(model)
    first = rotate_stream(source, [images(16, seed=6)])
    again = rotate_stream(source, [images(16, seed=6)])
    assert torch.equal(first.patch[0], again.patch[0]) and torch.equal(first.pos_embed, again.pos_embed)
    assert all(torch.equal(a.linears.fc1[0], b.linears.fc1[0]) for a, b in zip(first.layers, again.layers))


def test_a_source_without_a_head_keeps_none() -> None:
    timm: ModuleType = require("timm")
    body = timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, num_classes=0, img_size=8, patch_size=2, in_chans=1,
        embed_dim=32, depth=2, num_heads=2,
    )  # fmt: skip
    source = load_timm(body.eval())
    q = principal_rotation(stream_covariance(source, [images(8, seed=7)]))
    rotated = rotate_source(source, q)
    assert rotated.head is None and torch.equal(rotated.norm[0], torch.ones(32))
    with pytest.raises(CheckpointError, match="has no classifier head; valid: a source with one"):
        source_logits(rotated, images(2, seed=8))


def test_bad_calibration_is_refused_in_one_line(model: nn.Module) -> None:
    source = load_timm(model)
    with pytest.raises(SearchSpaceError, match=r"valid: \(batch, 1, 8, 8\)"):
        stream_covariance(source, [torch.zeros(4, 3, 8, 8)])
    with pytest.raises(SearchSpaceError, match="no calibration batches"):
        stream_covariance(source, [])
