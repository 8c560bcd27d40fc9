"""Helpers for the data tests: tiny generated image folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def write_images(
    root: Path,
    counts: dict[str, int],
    size: tuple[int, int] = (8, 8),
    mode: str = "RGB",
    seed: int = 0,
    suffix: str = ".png",
) -> Path:
    """``root/CLASS/i.png`` for every class: noise around a class-dependent brightness, ``size`` = (width, height)."""
    rng = np.random.default_rng(seed)
    channels = 3 if mode == "RGB" else 1
    for k, (name, count) in enumerate(sorted(counts.items())):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = np.clip(40 * k + rng.normal(60, 20, (size[1], size[0], channels)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode).save(root / name / f"{i}{suffix}")
    return root


@pytest.fixture
def images():  # type: ignore[no-untyped-def]
    """write_images, for tests."""
    return write_images
