"""Augmentation modes: crop-flip windows, the auto rule, and drawing for a batch that is applied in shards."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from supernas.data.augment import apply, crop_padding, draw, resolve_mode
from supernas.errors import TrainingError
from supernas.search_space import InputSpec


def test_auto_picks_crop_flip_for_colour_images_and_shift_otherwise() -> None:
    assert resolve_mode("auto", InputSpec("image", (3, 32, 32), 10)) == "crop-flip"
    assert resolve_mode("auto", InputSpec("image", (1, 8, 8), 10)) == "shift"
    assert resolve_mode("auto", InputSpec("sequence", (16, 3), 2)) == "shift"
    assert crop_padding(InputSpec("image", (3, 32, 32), 10)) == 4
    with pytest.raises(TrainingError, match="augment 'crop-flip' needs image inputs"):
        resolve_mode("crop-flip", InputSpec("sequence", (16, 3), 2))
    with pytest.raises(TrainingError, match="augment 'rotate' is not valid; valid: auto, none, shift, crop-flip"):
        resolve_mode("rotate", InputSpec("image", (3, 8, 8), 2))


def test_crop_flip_returns_a_possibly_flipped_window_of_the_zero_padded_image() -> None:
    x = torch.randn(16, 3, 8, 8)
    choices = draw("crop-flip", 16, (3, 8, 8), "image", torch.Generator().manual_seed(0), pad=2)
    out = apply(x, "image", choices)
    padded = F.pad(x, [2] * 4)
    assert choices.flips is not None and 0 < int(choices.flips.sum()) < 16
    for i in range(16):
        windows = [padded[i, :, dy : dy + 8, dx : dx + 8] for dy in range(5) for dx in range(5)]
        expected = [w.flip(-1) if choices.flips[i] else w for w in windows]
        assert any(torch.equal(out[i], w) for w in expected)


@pytest.mark.parametrize(("mode", "kind", "shape"), [("shift", "sequence", (10, 2)), ("crop-flip", "image", (1, 6, 6))])
def test_choices_drawn_for_a_batch_apply_to_any_shard_of_it(mode: str, kind: str, shape: tuple[int, ...]) -> None:
    x = torch.randn(9, *shape)
    choices = draw(mode, 9, shape, kind, torch.Generator().manual_seed(1), pad=1)  # type: ignore[arg-type]
    whole = apply(x, kind, choices)  # type: ignore[arg-type]
    shards = [apply(x[a:b], kind, choices.rows(a, b)) for a, b in ((0, 4), (4, 4), (4, 9))]  # type: ignore[arg-type]
    assert torch.equal(torch.cat(shards), whole)
    assert torch.equal(apply(x, "image", draw("none", 9, shape, "image", torch.Generator())), x)
