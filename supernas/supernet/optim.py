"""The optimizer every training in supernas uses: AdamW, fused into one kernel where PyTorch has one.

The fused kernel updates every parameter tensor in one call. On a small supernet the per-tensor loop of
the default CPU implementation costs several times the update itself (benchmarks/optimizer.py,
docs/benchmarks.md). It computes the same update up to float rounding.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

FUSED_DEVICES = ("cpu", "cuda")  # device types whose fused AdamW kernel PyTorch >= 2.4 provides


def adamw(
    params: Iterable[nn.Parameter], device: torch.device, *, lr: float, weight_decay: float, eps: float = 1e-8
) -> torch.optim.AdamW:
    """AdamW over ``params`` (all on ``device``), fused where ``device``'s type has the kernel."""
    fused = True if device.type in FUSED_DEVICES else None
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, eps=eps, fused=fused)
