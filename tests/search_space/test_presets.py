"""Named spaces: the deit-tiny preset at CIFAR and ImageNet sizes, patch sizes from the token budget."""

from __future__ import annotations

import pytest
import torch

from supernas.errors import SearchSpaceError
from supernas.search_space import InputSpec, costs, default_space, largest, preset_space, smallest
from supernas.search_space.presets import PRESETS, fitting_patch
from supernas.supernet import Supernet

DEIT_TINY_PARAMS = 5_717_416  # timm deit_tiny_patch16_224 (1000 classes)


def test_deit_tiny_at_224_is_deit_tiny() -> None:
    spec = InputSpec("image", (3, 224, 224), 1000)
    space = preset_space("deit-tiny", spec)
    top = largest(space)
    assert space.patch_size == 16 and spec.num_patches(16) == 196 and space.ln_eps == 1e-6
    assert (top.depth, top.embed_dim, top.heads[0] * space.head_dim, top.hidden_dim(0)) == (12, 192, 192, 768)
    assert costs(space, top, spec).params == DEIT_TINY_PARAMS


def test_deit_tiny_at_32_uses_4_pixel_patches_and_runs() -> None:
    spec = InputSpec("image", (3, 32, 32), 10)
    space = preset_space("deit-tiny", spec)
    assert space.patch_size == 4 and spec.num_patches(4) == 64
    net = Supernet(space, spec, torch.Generator().manual_seed(0))
    logits = net(torch.randn(2, 3, 32, 32), smallest(space))
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()


@pytest.mark.parametrize(("shape", "patch"), [((1, 28, 28), 2), ((3, 64, 64), 8), ((3, 96, 96), 8), ((1, 8, 8), 1)])
def test_patch_size_is_the_smallest_within_the_token_budget(shape: tuple[int, int, int], patch: int) -> None:
    assert fitting_patch(InputSpec("image", shape, 10), PRESETS["deit-tiny"].max_tokens) == patch


def test_unknown_presets_and_the_default_space() -> None:
    with pytest.raises(
        SearchSpaceError, match="space_preset 'vit-huge' is not a preset; valid: tiny, digits, deit-tiny"
    ):
        preset_space("vit-huge", InputSpec("image", (3, 32, 32), 10))
    spec = InputSpec("image", (1, 8, 8), 10)
    assert default_space(spec) == preset_space("digits", spec)
