"""supernas.supernet.optim: the fused AdamW computes the per-tensor implementation's update."""

from __future__ import annotations

import torch
from torch import nn

from supernas.supernet.optim import adamw


def _params(seed: int) -> list[nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    return [nn.Parameter(torch.randn(shape, generator=gen)) for shape in ((7, 5), (5,), (3, 4, 2))]


def test_fused_on_cpu_and_plain_elsewhere() -> None:
    assert adamw(_params(0), torch.device("cpu"), lr=1e-3, weight_decay=0.0).defaults["fused"] is True
    meta = [nn.Parameter(torch.empty(3, device="meta"))]
    assert adamw(meta, torch.device("meta"), lr=1e-3, weight_decay=0.0).defaults["fused"] is None


def test_fused_update_matches_the_per_tensor_implementation() -> None:
    fused_params, loop_params = _params(1), _params(1)
    fused = adamw(fused_params, torch.device("cpu"), lr=1e-2, weight_decay=0.05, eps=1e-3)
    loop = torch.optim.AdamW(loop_params, lr=1e-2, weight_decay=0.05, eps=1e-3, foreach=False)
    gen = torch.Generator().manual_seed(2)
    for _ in range(5):
        for a, b in zip(fused_params, loop_params):
            grad = torch.randn(a.shape, generator=gen)
            a.grad, b.grad = grad.clone(), grad.clone()
        fused.step()
        loop.step()
    assert not torch.equal(fused_params[0], _params(1)[0])  # the weights moved
    for a, b in zip(fused_params, loop_params):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
