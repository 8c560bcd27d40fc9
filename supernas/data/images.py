"""Encoded images (PNG, JPEG) read with Pillow: probing headers, choosing one format, decoding.

Every image of a task is decoded to the same format: ``channels`` (1 grayscale, 3 RGB) and
``size`` (height, width). The size is the images' own when they all share it, or ``image_size``
× ``image_size`` when that option is given (images are then resized, bilinear, aspect not kept);
the channels are 3 when any image is in colour, unless the ``channels`` option forces them.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from supernas.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")  # files an image folder reads (case-insensitive)
FORMATS = ["PNG", "JPEG"]  # what Pillow may decode a file as
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})  # Pillow modes without colour
VALID_CHANNELS = (1, 3)
MAX_IMAGE_SIZE = 4096  # image_size above this is refused: a typo, not a task

ImageSource = str | Path | bytes  # a file, or an encoded image's bytes


@dataclass(frozen=True)
class ImageFormat:
    """What every decoded image of a task becomes."""

    size: tuple[int, int]  # (height, width)
    channels: int  # 1 (grayscale) or 3 (RGB)
    resize: bool  # True when images are resized to ``size`` (``image_size`` was given)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, *self.size)  # (C, H, W)


def check_image_size(image_size: int | None) -> int | None:
    if image_size is None:
        return None
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not 1 <= image_size <= MAX_IMAGE_SIZE:
        raise DataError(f"{image_size!r} is out of range; valid: an integer in 1..{MAX_IMAGE_SIZE}", field="image_size")
    return image_size


def check_channels(channels: int | None) -> int | None:
    if channels is not None and (isinstance(channels, bool) or channels not in VALID_CHANNELS):
        raise DataError(f"{channels!r} is not valid; valid: 1 (grayscale) or 3 (RGB)", field="channels")
    return channels


def _open(source: ImageSource):  # type: ignore[no-untyped-def]
    from PIL import Image

    return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source, formats=FORMATS)


def _reading_errors() -> tuple[type[BaseException], ...]:
    from PIL import Image

    return (OSError, SyntaxError, ValueError, EOFError, zlib.error, struct.error, Image.DecompressionBombError)


def probe(source: ImageSource, label: str) -> tuple[tuple[int, int], bool]:
    """``((height, width), in colour)`` from an image's header, without decoding its pixels."""
    try:
        with _open(source) as image:
            width, height = image.size
            return (height, width), image.mode not in GRAY_MODES
    except _reading_errors() as exc:
        raise DataError(f"{label} is not a readable PNG or JPEG image ({_reason(exc)}); valid: PNG or JPEG") from None


def choose_format(
    headers: Iterable[tuple[tuple[int, int], bool]],
    where: str,
    image_size: int | None = None,
    channels: int | None = None,
) -> ImageFormat:
    """The one format for images with these headers; mixed sizes need ``image_size``."""
    sizes: dict[tuple[int, int], int] = {}
    colour = False
    for size, in_colour in headers:
        sizes[size] = sizes.get(size, 0) + 1
        colour = colour or in_colour
    resolved_channels = channels if channels is not None else (3 if colour else 1)
    if image_size is not None:
        return ImageFormat((image_size, image_size), resolved_channels, resize=True)
    if len(sizes) > 1:
        common = sorted(sizes, key=lambda s: -sizes[s])[:3]
        shown = ", ".join(f"{w}×{h}" for h, w in common)
        raise DataError(
            f"{where} holds images of {len(sizes)} sizes ({shown}{', …' if len(sizes) > 3 else ''}); "
            "pass `image_size` to resize them all; valid: one size, or `image_size`"
        )
    (size,) = sizes
    return ImageFormat(size, resolved_channels, resize=False)


def decode(source: ImageSource, image_format: ImageFormat, label: str) -> np.ndarray:
    """The image in ``image_format``: (C, H, W) float32 pixel values 0..255."""
    from PIL import Image

    try:
        with _open(source) as image:
            converted = image.convert("RGB" if image_format.channels == 3 else "L")
            height, width = image_format.size
            if converted.size != (width, height):
                if not image_format.resize:
                    raise DataError(
                        f"{label} is {converted.size[0]}×{converted.size[1]}, the others {width}×{height}; "
                        "pass `image_size` to resize them all; valid: one size, or `image_size`"
                    )
                converted = converted.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(converted, dtype=np.uint8)  # (H, W) or (H, W, C)
    except _reading_errors() as exc:
        raise DataError(f"{label} is corrupt or truncated ({_reason(exc)}); valid: a complete PNG or JPEG") from None
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)  # (C, H, W)


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text or type(exc).__name__
