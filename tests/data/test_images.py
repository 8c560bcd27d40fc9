"""Encoded images: header probing, one format per task, decoding and resizing."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from supernas.data.images import ImageFormat, check_channels, check_image_size, choose_format, decode, probe
from supernas.errors import DataError


def _encoded(mode: str, size: tuple[int, int], fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color=128 if mode == "L" else (200, 100, 50)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_probe_and_choose_format() -> None:
    assert probe(_encoded("L", (5, 4)), "a") == ((4, 5), False)  # ((height, width), in colour)
    assert probe(_encoded("RGB", (5, 4), "JPEG"), "b") == ((4, 5), True)
    assert choose_format([((4, 5), False), ((4, 5), True)], "w") == ImageFormat((4, 5), 3, resize=False)
    assert choose_format([((4, 5), False)], "w", channels=3).channels == 3
    assert choose_format([((4, 5), False), ((6, 6), False)], "w", image_size=8) == ImageFormat((8, 8), 1, resize=True)
    with pytest.raises(DataError, match=r"^w holds images of 2 sizes \(5×4, 6×6\); pass `image_size`"):
        choose_format([((4, 5), False), ((6, 6), False)], "w")


def test_decode_converts_and_resizes(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(_encoded("RGB", (6, 4)))
    rgb = decode(tmp_path / "a.png", ImageFormat((4, 6), 3, resize=False), "a")
    assert rgb.shape == (3, 4, 6) and rgb.dtype == np.float32 and rgb[:, 0, 0].tolist() == [200, 100, 50]
    gray = decode(tmp_path / "a.png", ImageFormat((2, 2), 1, resize=True), "a")
    assert gray.shape == (1, 2, 2) and 100 < gray[0, 0, 0] < 150
    with pytest.raises(DataError, match=r"^a is 6×4, the others 2×2; pass `image_size`"):
        decode(tmp_path / "a.png", ImageFormat((2, 2), 1, resize=False), "a")


def test_unreadable_images_and_bad_options() -> None:
    with pytest.raises(DataError, match=r"^x is not a readable PNG or JPEG image"):
        probe(b"GIF89a not allowed", "x")
    with pytest.raises(DataError, match=r"^x is corrupt or truncated"):
        decode(_encoded("RGB", (32, 32))[:70], ImageFormat((32, 32), 3, resize=False), "x")
    with pytest.raises(DataError, match=r"image_size 0 is out of range; valid: an integer in 1\.\.4096"):
        check_image_size(0)
    with pytest.raises(DataError, match=r"channels 2 is not valid; valid: 1 \(grayscale\) or 3 \(RGB\)"):
        check_channels(2)
