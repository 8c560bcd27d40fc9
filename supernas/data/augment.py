"""Training-time augmentation: small random shifts (and noise for sequences)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from supernas.search_space.spec import InputKind


def augment(x: Tensor, kind: InputKind, generator: torch.Generator, max_shift: int = 1, noise: float = 0.05) -> Tensor:
    """A copy of ``x`` with every example shifted by up to ``max_shift`` pixels (or steps).

    Borders are filled by replicating the edge. Sequences also get Gaussian noise of
    standard deviation ``noise``. All randomness comes from ``generator`` (on the CPU).
    """
    if kind == "image":
        return _shift(x, (2, 3), max_shift, generator)  # (B, C, H, W)
    shifted = _shift(x.transpose(1, 2), (2,), max_shift, generator).transpose(1, 2)  # (B, L, C)
    return shifted + noise * torch.randn(shifted.shape, generator=generator).to(x.device)


def _shift(x: Tensor, dims: tuple[int, ...], max_shift: int, generator: torch.Generator) -> Tensor:
    """Shift each example of ``x`` along ``dims`` by its own offset in [-max_shift, max_shift]."""
    width = 2 * max_shift + 1
    offsets = torch.randint(0, width, (len(x), len(dims)), generator=generator).to(x.device)  # (B, D)
    padded = F.pad(x, [max_shift] * 2 * len(dims), mode="replicate")
    out = torch.empty_like(x)
    for combo in torch.unique(offsets, dim=0):
        rows = (offsets == combo).all(dim=1)
        window = padded[rows]
        for dim, start in zip(dims, combo.tolist()):
            window = window.narrow(dim, start, x.shape[dim])
        out[rows] = window
    return out
