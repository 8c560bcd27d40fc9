"""Recursion from a pretrained stack: LoRA factors are truncated SVDs; "first" keeps loops=1 exact, "average" not."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from supernas.errors import CheckpointError
from supernas.search_space import SearchSpace, largest
from supernas.supernet import Supernet
from supernas.supernet.pretrained import PretrainedViT, import_pretrained, load_timm, pretrained_space, require
from supernas.supernet.recursion import LINEARS, adapter_blocks, recursion_target

EXACT = 1e-5


@pytest.fixture(scope="module")
def timm() -> ModuleType:
    return require("timm")


def deep_source(timm: ModuleType, **settings: Any) -> tuple[nn.Module, PretrainedViT]:
    """A random 4-layer ViT (embed 32, 2 heads) and its import record."""
    base = {"img_size": 8, "patch_size": 4, "embed_dim": 32, "depth": 4, "num_heads": 2, "num_classes": 3}
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, **(base | settings))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen)
            scale = param[0].numel() ** -0.5 if param.ndim >= 2 and "pos" not in name else 0.3
            param.copy_(1 + scale * noise if "norm" in name and name.endswith("weight") else scale * noise)
    model.eval()
    return model, load_timm(model)


def space_with_ranks(source: PretrainedViT, ranks: tuple[int, ...]) -> SearchSpace:
    return SearchSpace(**(pretrained_space(source.info).to_dict() | {"lora_rank": ranks}))


def gap(supernet: Supernet, model: nn.Module, config: Any, x: Tensor) -> float:
    with torch.no_grad():
        return float((supernet(x, config) - model(x)).abs().max())


def test_the_target_is_full_depth_at_the_most_loops(timm: ModuleType) -> None:
    _, source = deep_source(timm)
    space = pretrained_space(source.info)  # depth up to 4, loops (1, 2, 3)
    target = recursion_target(space)
    assert (target.depth, target.unique_blocks, target.embed_dim) == (4, 2, 32)  # loops 3 = 2 in canonical form
    assert adapter_blocks(space) == (0, 1, 0, 1)


def test_each_rank_slice_is_the_best_approximation_of_the_layer_difference(timm: ModuleType) -> None:
    _, source = deep_source(timm)
    ranks = (0, 2, 8, 16)
    imported = import_pretrained(source, space=space_with_ranks(source, ranks))
    layer = imported.supernet.layers[3]  # runs block 1 in the target
    for name in LINEARS:
        lora = getattr(layer, name)
        delta = getattr(source.layers[3].linears, name)[0] - getattr(source.layers[1].linears, name)[0]
        singular = torch.linalg.svdvals(delta.double())
        for r in ranks:
            left = float((delta - lora.lora_b[:, :r] @ lora.lora_a[:r]).detach().norm())
            best = float(singular[r:].norm())  # Eckart–Young: the smallest error any rank-r update leaves
            assert left == pytest.approx(best, rel=1e-4, abs=1e-5)
    assert imported.recursion.relative_error[0] == 0.0 and imported.recursion.relative_error[1] == 0.0
    assert 0.0 < imported.recursion.relative_error[3] < 1.5


def test_first_of_group_keeps_loops_1_exact_and_full_rank_makes_the_target_exact(timm: ModuleType) -> None:
    model, source = deep_source(timm, qkv_bias=False, proj_bias=False)  # LoRA carries no bias: leave none
    imported = import_pretrained(source, space=space_with_ranks(source, (0, 32)))  # 32 = full rank of every delta
    net, x = imported.supernet, torch.randn(5, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    target = recursion_target(net.space)
    assert imported.recursion.shared_init == "first" and max(imported.recursion.relative_error) < 1e-5
    assert gap(net, model, largest(net.space), x) <= EXACT
    assert gap(net, model, target, x) <= 1e-4
    no_lora = target.__class__(**(target.to_dict() | {"lora_rank": (0,) * 4}))
    assert gap(net, model, no_lora, x) > 0.1  # the adapters are what makes the shared stack the source


def test_average_is_refused_unless_accepted_and_then_changes_the_full_model(timm: ModuleType) -> None:
    model, source = deep_source(timm, qkv_bias=False, proj_bias=False)
    space = space_with_ranks(source, (0, 32))
    with pytest.raises(CheckpointError) as err:
        import_pretrained(source, space=space, shared_init="average")
    assert str(err.value).startswith("shared_init 'average' changes the loops=1 subnets") and "\n" not in str(err.value)
    with pytest.raises(CheckpointError, match="shared_init 'mean' is not valid; valid: first, average"):
        import_pretrained(source, space=space, shared_init="mean")  # type: ignore[arg-type]
    averaged = import_pretrained(source, space=space, shared_init="average", allow_inexact=True)
    net, x = averaged.supernet, torch.randn(5, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    expected = (source.layers[0].linears.fc1[0] + source.layers[2].linears.fc1[0]) / 2
    assert torch.allclose(net.blocks[0].fc1.weight, expected)
    assert gap(net, model, largest(net.space), x) > 0.1  # block 0 is no longer source layer 0
    assert gap(net, model, recursion_target(net.space), x) <= 1e-4  # every layer's adapter restores it
