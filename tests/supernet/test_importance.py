"""Importance ordering: full-width subnets are unchanged, the leading slices hold the top-scored units."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from supernas.errors import SearchSpaceError
from supernas.search_space import InputSpec, SearchSpace, largest
from supernas.supernet import Supernet
from supernas.supernet.importance import Importance, permute_units, reorder_by_importance, score_units
from supernas.supernet.recursion import recursion_target

EXACT = 1e-5


def trained_looking(space: SearchSpace, spec: InputSpec, seed: int = 0) -> Supernet:
    """A supernet with non-zero LoRA adapters and non-trivial norms, so every permuted tensor matters."""
    net = Supernet(space, spec, torch.Generator().manual_seed(seed))
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, param in net.named_parameters():
            if "lora_b" in name or name.endswith("bias"):
                param.normal_(0.0, 0.1, generator=gen)
            elif "norm" in name and name.endswith("weight"):
                param.copy_(1 + 0.3 * torch.randn(param.shape, generator=gen))
    return net.eval()


def batches(spec: InputSpec, seed: int, n: int = 2) -> list[Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(16, *spec.shape, generator=gen) for _ in range(n)]


def assert_descending(scores: Tensor) -> None:
    assert torch.all(scores[:-1] >= scores[1:] - 1e-5 * scores.abs().max())


def test_reordering_keeps_full_width_subnets_and_sorts_the_scores(
    tiny_space: SearchSpace, digits_spec: InputSpec
) -> None:
    net = trained_looking(tiny_space, digits_spec)
    configs = [largest(tiny_space), recursion_target(tiny_space)]  # loops 1, and the shared stack with LoRA
    assert configs[1].unique_blocks < configs[1].depth and min(configs[1].lora_rank) > 0
    x = batches(digits_spec, seed=2, n=1)[0]
    with torch.no_grad():
        before = [net(x, c) for c in configs]
    calibration = batches(digits_spec, seed=3)
    scores = reorder_by_importance(net, calibration)
    with torch.no_grad():
        for config, logits in zip(configs, before):
            assert float((net(x, config) - logits).abs().max()) <= EXACT
    after = score_units(net, calibration)
    for old, new in [(scores.embed, after.embed), *zip(scores.heads, after.heads), *zip(scores.hidden, after.hidden)]:
        assert_descending(new)
        assert torch.allclose(new, old.sort(descending=True).values, rtol=1e-4, atol=1e-6)
    assert not torch.equal(scores.embed, after.embed)  # the random init was not already sorted


def test_the_leading_slices_hold_the_top_scored_units(tiny_space: SearchSpace, digits_spec: InputSpec) -> None:
    net = trained_looking(tiny_space, digits_spec, seed=4)
    head_dim = tiny_space.head_dim
    block = net.blocks[1]
    old_q = block.qkv.weight.detach().clone()[: block.qkv.inner_max]  # q rows, head-major
    old_fc1, old_stem = block.fc1.weight.detach().clone(), net.stem.proj.weight.detach().clone()
    scores = reorder_by_importance(net, batches(digits_spec, seed=5))
    top_head = int(scores.heads[1].argmax())
    top_unit, top_channel = int(scores.hidden[1].argmax()), int(scores.embed.argmax())
    channels = scores.embed.argsort(descending=True, stable=True)
    expected_q = old_q[top_head * head_dim : (top_head + 1) * head_dim][:, channels]
    assert torch.equal(block.qkv.weight[:head_dim], expected_q)  # the one-head subnet runs the best head
    assert torch.equal(block.fc1.weight[0], old_fc1[top_unit][channels])
    assert torch.equal(net.stem.proj.weight[0], old_stem[top_channel])


def test_scores_and_reordering_are_deterministic(tiny_space: SearchSpace, digits_spec: InputSpec) -> None:
    calibration = batches(digits_spec, seed=6)
    a, b = trained_looking(tiny_space, digits_spec), trained_looking(tiny_space, digits_spec)
    first, second = reorder_by_importance(a, calibration), reorder_by_importance(b, calibration)
    assert torch.equal(first.embed, second.embed)
    state_a, state_b = a.state_dict(), b.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_bad_calibration_and_orders_are_refused(tiny_space: SearchSpace, digits_spec: InputSpec) -> None:
    net = trained_looking(tiny_space, digits_spec)
    with pytest.raises(SearchSpaceError, match=r"calibration batch of shape \(2, 1, 6, 6\) does not fit"):
        score_units(net, [torch.zeros(2, 1, 6, 6)])
    with pytest.raises(SearchSpaceError, match="no calibration batches"):
        score_units(net, [])
    order = score_units(net, batches(digits_spec, seed=7)).order()
    broken = Importance(torch.zeros_like(order.embed), order.heads, order.hidden)
    with pytest.raises(SearchSpaceError, match=r"order embed is not a permutation of 0\.\.23"):
        permute_units(net, broken)
    with pytest.raises(SearchSpaceError, match="one entry per shared block"):
        permute_units(net, Importance(order.embed, order.heads[:1], order.hidden))
