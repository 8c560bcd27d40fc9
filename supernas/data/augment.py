"""Training-time augmentation, drawn for a whole batch from one generator and applied to any part of it.

Modes (the ``augment`` training setting):

* ``shift`` — every example moves by up to ``max_shift`` pixels (or steps), borders replicate the edge;
  sequences also get Gaussian noise (for digits-like data: small, grayscale);
* ``crop-flip`` — a random crop of the image zero-padded by an eighth of its side, then a horizontal
  flip with probability 1/2 (for natural colour images);
* ``none``; ``auto`` picks ``crop-flip`` for colour (3-channel) images and ``shift`` otherwise.

Drawing happens in the training process (from its checkpointed generator) for the global batch, so
data-parallel workers draw the same numbers and each applies the rows of its own shard.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from supernas.errors import TrainingError
from supernas.search_space.spec import InputKind, InputSpec

AUGMENT_MODES = ("auto", "none", "shift", "crop-flip")
MAX_SHIFT = 1  # pixels (steps) ``shift`` moves an example by at most


@dataclass(frozen=True)
class AugmentDraw:
    """The random choices for one batch; rows line up with the batch's examples."""

    mode: str  # "none", "shift" or "crop-flip"
    offsets: Tensor | None = None  # (B, D) window starts in the padded example, D spatial dims
    flips: Tensor | None = None  # (B,) bool, crop-flip only
    noise: Tensor | None = None  # (B, L, C) added to shifted sequences
    pad: int = 0  # pixels (steps) of padding around each example

    def rows(self, start: int, stop: int) -> AugmentDraw:
        """The choices for rows ``start`` to ``stop`` of the batch."""

        def part(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[start:stop]

        return AugmentDraw(self.mode, part(self.offsets), part(self.flips), part(self.noise), self.pad)


def resolve_mode(mode: str, spec: InputSpec) -> str:
    """The concrete mode of an ``augment`` setting for inputs of ``spec``."""
    if mode not in AUGMENT_MODES:
        raise TrainingError(f"{mode!r} is not valid; valid: {', '.join(AUGMENT_MODES)}", field="augment")
    if mode == "auto":
        return "crop-flip" if spec.kind == "image" and spec.channels == 3 else "shift"
    if mode == "crop-flip" and spec.kind != "image":
        raise TrainingError("'crop-flip' needs image inputs; valid for sequences: auto, none, shift", field="augment")
    return mode


def crop_padding(spec: InputSpec) -> int:
    """Zero padding of crop-flip: an eighth of the shorter side (4 pixels at 32×32), at least 1."""
    return max(1, min(spec.shape[1:]) // 8)


def augment_pad(mode: str, spec: InputSpec) -> int:
    """The padding concrete ``mode`` draws with for inputs of ``spec`` (``AugmentDraw.pad``)."""
    if mode == "crop-flip":
        return crop_padding(spec)
    return MAX_SHIFT if mode == "shift" else 0


def draw(
    mode: str,
    n: int,
    shape: tuple[int, ...],
    kind: InputKind,
    generator: torch.Generator,
    max_shift: int = MAX_SHIFT,
    noise: float = 0.05,
    pad: int = 0,
) -> AugmentDraw:
    """The random choices of ``mode`` for ``n`` examples of ``shape``, from ``generator`` (on the CPU)."""
    if mode == "none":
        return AugmentDraw("none")
    dims = 2 if kind == "image" else 1
    if mode == "shift":
        offsets = torch.randint(0, 2 * max_shift + 1, (n, dims), generator=generator)
        sequence_noise = noise * torch.randn((n, *shape), generator=generator) if kind == "sequence" else None
        return AugmentDraw("shift", offsets, None, sequence_noise, max_shift)
    offsets = torch.randint(0, 2 * pad + 1, (n, dims), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    return AugmentDraw("crop-flip", offsets, flips, None, pad)


def apply(x: Tensor, kind: InputKind, choices: AugmentDraw) -> Tensor:
    """``x`` augmented with ``choices`` (one row of choices per example of ``x``)."""
    if choices.mode == "none" or len(x) == 0:
        return x
    assert choices.offsets is not None
    offsets = choices.offsets.to(x.device)
    if kind == "image":
        padded = F.pad(x, [choices.pad] * 4, mode="replicate" if choices.mode == "shift" else "constant")
        out = _windows(padded, offsets, x.shape[2:])  # (B, C, H, W)
        if choices.flips is not None:
            out = torch.where(choices.flips.to(x.device)[:, None, None, None], out.flip(-1), out)
        return out
    padded = F.pad(x.transpose(1, 2), [choices.pad] * 2, mode="replicate")  # (B, C, L + 2 pad)
    shifted = _windows(padded, offsets, x.shape[1:2]).transpose(1, 2)  # (B, L, C)
    return shifted if choices.noise is None else shifted + choices.noise.to(x.device)


def _windows(padded: Tensor, offsets: Tensor, size: torch.Size) -> Tensor:
    """Each example's window of ``size`` starting at its row of ``offsets`` in the trailing dims of ``padded``."""
    batch = torch.arange(len(padded), device=padded.device)
    if len(size) == 2:
        rows = offsets[:, :1] + torch.arange(size[0], device=padded.device)  # (B, H)
        cols = offsets[:, 1:] + torch.arange(size[1], device=padded.device)  # (B, W)
        window = padded.permute(0, 2, 3, 1)[batch[:, None, None], rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
        return window.permute(0, 3, 1, 2).contiguous()
    steps = offsets[:, :1] + torch.arange(size[0], device=padded.device)  # (B, L)
    return padded.transpose(1, 2)[batch[:, None], steps].transpose(1, 2).contiguous()  # (B, C, L)


def augment(
    x: Tensor, kind: InputKind, generator: torch.Generator, max_shift: int = MAX_SHIFT, noise: float = 0.05
) -> Tensor:
    """A copy of ``x`` with every example shifted by up to ``max_shift`` pixels (or steps).

    Borders are filled by replicating the edge. Sequences also get Gaussian noise of
    standard deviation ``noise``. All randomness comes from ``generator`` (on the CPU).
    """
    choices = draw("shift", len(x), tuple(x.shape[1:]), kind, generator, max_shift=max_shift, noise=noise)
    return apply(x, kind, choices)
