"""Generate an image folder for ``folder:PATH`` tasks: rendered, augmented 32×32 RGB PNGs.

Two kinds of classes:

* ``digits`` — the 1,797 scikit-learn 8×8 digits (10 classes), upscaled, rotated, scaled and
  placed at random, in a random colour on a random background, with noise;
* ``shapes`` — circle, square, triangle, cross, ring and bar (6 classes) drawn at a random size,
  position and angle, in random colours, with noise.

Layouts: ``classes`` (``OUT/CLASS/i.png``) or ``splits`` (``OUT/train|val|test/CLASS/i.png``,
80/10/10 by image). Image ``i`` depends only on ``(seed, i)``: the same command writes the same bytes.

Run: ``.venv/bin/python benchmarks/make_image_folder.py OUT [--count 5000] [--kind digits]
[--layout classes] [--seed 0] [--size 32]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SHAPES = ("circle", "square", "triangle", "cross", "ring", "bar")
SPLIT_SHARES = (("train", 0.8), ("val", 0.1), ("test", 0.1))


def _colours(rng: np.random.Generator) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A foreground and a background colour that differ clearly in brightness."""
    while True:
        fg, bg = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        if abs(int(fg.sum()) - int(bg.sum())) > 150:
            return tuple(int(v) for v in fg), tuple(int(v) for v in bg)


def render_digit(glyph: np.ndarray, rng: np.random.Generator, size: int) -> Image.Image:
    """One 8×8 digit (values 0..16) drawn at a random scale, angle and place."""
    fg, bg = _colours(rng)
    side = int(rng.integers(size // 2, size - 2))
    mask = Image.fromarray((glyph * (255 / 16)).astype(np.uint8)).resize((side, side), Image.Resampling.BILINEAR)
    mask = mask.rotate(float(rng.uniform(-20, 20)), resample=Image.Resampling.BILINEAR, expand=True)
    canvas = Image.new("RGB", (size, size), bg)
    x, y = (int(rng.integers(0, max(1, size - m + 1))) for m in mask.size)
    canvas.paste(Image.new("RGB", mask.size, fg), (x, y), mask)
    return canvas


def render_shape(shape: str, rng: np.random.Generator, size: int) -> Image.Image:
    """One shape drawn at a random size, place and angle (supersampled, then reduced)."""
    fg, bg = _colours(rng)
    big = size * 4
    image = Image.new("RGB", (big, big), bg)
    draw = ImageDraw.Draw(image)
    r = rng.uniform(0.2, 0.4) * big
    cx, cy = (rng.uniform(r, big - r) for _ in range(2))
    width = max(4, int(r / 3))
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
    elif shape == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=fg, width=width)
    else:
        angle = rng.uniform(0, 2 * np.pi)
        if shape == "square":
            corners = [angle + k * np.pi / 2 for k in range(4)]
        elif shape == "triangle":
            corners = [angle + k * 2 * np.pi / 3 for k in range(3)]
        else:  # cross and bar: line segments through the centre
            arms = [angle] if shape == "bar" else [angle, angle + np.pi / 2]
            for a in arms:
                dx, dy = r * np.cos(a), r * np.sin(a)
                draw.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=fg, width=width)
            corners = []
        if corners:
            draw.polygon([(cx + r * np.cos(a), cy + r * np.sin(a)) for a in corners], fill=fg)
    return image.resize((size, size), Image.Resampling.BILINEAR)


def augmented(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A slight blur at random, then Gaussian pixel noise."""
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.8))))
    pixels = np.asarray(image, dtype=np.float32) + rng.normal(0, 8, (image.size[1], image.size[0], 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def make_image_folder(
    out: Path, count: int, kind: str = "digits", layout: str = "classes", seed: int = 0, size: int = 32
) -> Path:
    """Write ``count`` images to ``out`` (which must not exist) and return it."""
    from sklearn.datasets import load_digits

    digits = load_digits() if kind == "digits" else None
    classes = [str(d) for d in range(10)] if kind == "digits" else list(SHAPES)
    out.mkdir(parents=True)
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        if digits is not None:
            pick = int(rng.integers(len(digits.target)))
            label, image = int(digits.target[pick]), render_digit(digits.images[pick], rng, size)
        else:
            label = i % len(classes)
            image = render_shape(classes[label], rng, size)
        folder = out / _split(rng, layout) / classes[label]
        folder.mkdir(parents=True, exist_ok=True)
        augmented(image, rng).save(folder / f"{i:06d}.png")
    return out


def _split(rng: np.random.Generator, layout: str) -> str:
    if layout == "classes":
        return ""
    draw, total = rng.random(), 0.0
    for name, share in SPLIT_SHARES:
        total += share
        if draw < total:
            return name
    return SPLIT_SHARES[-1][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--kind", choices=("digits", "shapes"), default="digits")
    parser.add_argument("--layout", choices=("classes", "splits"), default="classes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="200 images: check that it runs")
    args = parser.parse_args()
    count = 200 if args.quick else args.count
    start = time.perf_counter()
    make_image_folder(args.out, count, args.kind, args.layout, args.seed, args.size)
    print(f"wrote {count} {args.kind} images ({args.layout}) to {args.out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
