"""``Supernet``: logits of any subnet, equal to its extracted static module; invalid configs and inputs named;
weights shared across layers as the config says; seeded construction and RNG-free forwards."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch

from supernas.errors import SearchSpaceError
from supernas.search_space import InputSpec, SearchSpace, SubnetConfig, canonical, largest, sample, smallest
from supernas.supernet import Supernet, extract
from supernas.testing import tiny_space as make_tiny_space
from tests.supernet.test_static import trained_looking

SPEC = InputSpec("image", (1, 8, 8), 10)


def _images(batch: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 1, 8, 8, generator=torch.Generator().manual_seed(seed))  # (B, C, H, W)


def _every_axis(space: SearchSpace) -> SubnetConfig:
    """A tiny-space config that shares blocks, uses LoRA, quantizes weights and activations and drops tokens."""
    return replace(
        largest(space),
        loops=2,
        heads=(2, 1, 1),
        mlp_ratio=(2.0, 1.0, 1.0),
        lora_rank=(2, 2, 2),
        weight_bits=(4, 8, 32),
        act_bits=(8, 32, 8),
        keep_ratio=(0.5,),
    )


@pytest.fixture(scope="module")
def tiny_net() -> Supernet:
    return trained_looking(make_tiny_space(), SPEC)


def _configs(space: SearchSpace) -> list[SubnetConfig]:
    rng = np.random.default_rng(3)
    return [largest(space), smallest(space), _every_axis(space), *(sample(space, rng) for _ in range(5))]


@pytest.mark.parametrize("batch", [1, 5])
def test_logits_have_one_row_per_example_and_one_column_per_class(tiny_net: Supernet, batch: int) -> None:
    x = _images(batch)
    with torch.no_grad():
        for config in _configs(tiny_net.space):
            logits = tiny_net(x, config)
            assert logits.shape == (batch, 10) and logits.dtype == torch.float32 and torch.isfinite(logits).all()


def test_sequence_inputs_give_logits_per_class() -> None:
    spec = InputSpec("sequence", (12, 3), 4)  # (L, C): 6 tokens of 2 steps
    space = make_tiny_space()
    net = trained_looking(space, spec)
    x = torch.randn(3, 12, 3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for config in (largest(space), _every_axis(space)):
            assert net(x, config).shape == (3, 4)
            assert torch.allclose(net(x, config), extract(net, config)(x), atol=1e-5)


def test_the_forward_equals_the_extracted_static_subnet(tiny_net: Supernet) -> None:
    space = tiny_net.space
    x = _images(4, seed=2)
    outputs = []
    with torch.no_grad():
        for config in (largest(space), smallest(space), _every_axis(space), replace(largest(space), depth=2)):
            out = tiny_net(x, config)
            assert (out - extract(tiny_net, config)(x)).abs().max().item() <= 1e-5
            outputs.append(out)
    for i, a in enumerate(outputs):  # four different networks: the comparison is not vacuous
        assert all((a - b).abs().max() > 1e-4 for b in outputs[i + 1 :])


def test_genes_the_subnet_does_not_use_leave_its_output_unchanged(tiny_net: Supernet) -> None:
    space = tiny_net.space
    one_layer = replace(largest(space), depth=1)  # layers 1 and 2, sharing and the reduction point are unused
    unused = {"loops": 2, "heads": (2, 1, 1), "weight_bits": (32, 4, 8), "act_bits": (32, 8, 8), "lora_rank": (2, 2, 2)}
    unused_changed = replace(one_layer, keep_ratio=(0.5,), **unused)  # type: ignore[arg-type]
    used_changed = replace(one_layer, heads=(1, 2, 2))
    x = _images(3, seed=4)
    with torch.no_grad():
        assert torch.equal(tiny_net(x, one_layer), tiny_net(x, unused_changed))
        assert (tiny_net(x, one_layer) - tiny_net(x, used_changed)).abs().max() > 1e-4


def test_each_example_gets_the_logits_it_gets_alone(tiny_net: Supernet) -> None:
    x = _images(4, seed=5)
    config = _every_axis(tiny_net.space)  # per-token activation scales, per-example token dropping
    with torch.no_grad():
        together = tiny_net(x, config)
        for i in range(4):
            assert torch.allclose(together[i : i + 1], tiny_net(x[i : i + 1], config), atol=1e-5)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"depth": 4}, "subnet config field 'depth': 4 is not in the space; valid: 1, 2, 3"),
        ({"embed_dim": 40}, "subnet config field 'embed_dim': 40 is not in the space; valid: 16, 24"),
        ({"loops": 3}, "subnet config field 'loops': 3 is not in the space; valid: 1, 2"),
        ({"heads": (2, 2)}, "subnet config field 'heads': 2 entries; valid: one per layer (3)"),
        ({"weight_bits": (32, 7, 32)}, "subnet config field 'weight_bits[1]': 7 is not in the space; valid: 4, 8, 32"),
        ({"keep_ratio": (0.25,)}, "subnet config field 'keep_ratio[0]': 0.25 is not in the space; valid: 0.5, 1.0"),
        ({"keep_ratio": ()}, "subnet config field 'keep_ratio': 0 entries; valid: one per reduction point (1)"),
    ],
)
def test_invalid_configs_raise_naming_the_field(tiny_net: Supernet, change: dict[str, Any], field: str) -> None:
    with pytest.raises(SearchSpaceError, match=re.escape(field)):
        tiny_net(_images(1), replace(largest(tiny_net.space), **change))


def test_bad_inputs_raise(space: SearchSpace, digits_spec: InputSpec) -> None:
    net = Supernet(space, digits_spec)
    with pytest.raises(SearchSpaceError, match=r"valid: \(batch, 1, 8, 8\)"):
        net(torch.zeros(2, 1, 6, 6), largest(space))
    with pytest.raises(SearchSpaceError, match="'embed_dim': 40 is not in the space"):
        net(torch.zeros(2, 1, 8, 8), replace(largest(space), embed_dim=40))
    with pytest.raises(SearchSpaceError, match="attention width: 200 requested but the supernet holds 64"):
        net.blocks[0].qkv.sliced(64, 600)


def test_a_space_that_cannot_run_on_the_input_is_refused_when_built() -> None:
    with pytest.raises(
        SearchSpaceError, match=r"patch_size 3 does not divide the input \(1, 8, 8\); valid: 1, 2, 4, 8"
    ):
        Supernet(make_tiny_space(patch_size=3), SPEC)


def test_layers_running_one_block_share_its_weights_but_not_their_norms_and_adapters(tiny_net: Supernet) -> None:
    config = canonical(tiny_net.space, _every_axis(tiny_net.space))  # depth 3, 2 unique blocks: layer 2 runs block 0
    first, second, third = (tiny_net.layer_params(config, i) for i in range(3))
    for name in ("qkv", "proj", "fc1", "fc2"):
        assert torch.equal(getattr(third, name).weight, getattr(first, name).weight)
    assert torch.equal(second.qkv.weight, tiny_net.blocks[1].qkv.sliced(24, 24).weight)
    assert not torch.equal(second.qkv.weight, tiny_net.blocks[0].qkv.sliced(24, 24).weight)
    assert third.norm1[0].data_ptr() == tiny_net.layers[2].norm1.weight.data_ptr() != first.norm1[0].data_ptr()
    assert first.qkv.lora_a is not None and third.qkv.lora_a is not None
    assert third.qkv.lora_a.data_ptr() != first.qkv.lora_a.data_ptr()  # each layer's own adapter
    # widths follow the layer's block: 24 channels; block 0 has 2 heads of 8 and MLP ratio 2, block 1 one head, ratio 1
    assert first.heads == third.heads == 2 and second.heads == 1
    assert (first.qkv.weight.shape, first.proj.weight.shape) == ((48, 24), (24, 16))
    assert (first.fc1.weight.shape, first.fc2.weight.shape) == ((48, 24), (24, 48))
    assert (second.qkv.weight.shape, second.fc1.weight.shape) == ((24, 24), (24, 24))
    assert [p.weight_bits for p in (first, second, third)] == [4, 8, 32]
    assert [p.act_bits for p in (first, second, third)] == [8, 32, 8]


def test_without_shared_blocks_no_layer_runs_an_adapter(tiny_net: Supernet) -> None:
    config = canonical(tiny_net.space, replace(largest(tiny_net.space), lora_rank=(2, 2, 2)))  # loops 1: rank unused
    assert all(tiny_net.layer_params(config, i).fc1.lora_a is None for i in range(3))


def test_quantization_changes_the_output_but_not_the_shape(space: SearchSpace, digits_spec: InputSpec) -> None:
    net = trained_looking(space, digits_spec)
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(5))
    fp = largest(space)
    q4 = replace(fp, weight_bits=(4,) * 6, act_bits=(8,) * 6)
    with torch.no_grad():
        assert (net(x, fp) - net(x, q4)).abs().max() > 1e-4
        assert net(x, q4).shape == net(x, fp).shape == (3, 10)


def test_straight_through_gradients_reach_quantized_weights(space: SearchSpace, digits_spec: InputSpec) -> None:
    net = Supernet(space, digits_spec, torch.Generator().manual_seed(0))
    config = replace(largest(space), weight_bits=(4,) * 6, act_bits=(8,) * 6)
    net(torch.randn(2, 1, 8, 8), config).sum().backward()
    grad = net.blocks[0].qkv.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_same_generator_same_weights(space: SearchSpace, digits_spec: InputSpec) -> None:
    a = Supernet(space, digits_spec, torch.Generator().manual_seed(4)).state_dict()
    b = Supernet(space, digits_spec, torch.Generator().manual_seed(4)).state_dict()
    c = Supernet(space, digits_spec, torch.Generator().manual_seed(5)).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_building_and_running_never_touch_the_global_rng() -> None:
    space = make_tiny_space()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    default = Supernet(space, SPEC)  # no generator: seed 0
    seeded = Supernet(space, SPEC, torch.Generator().manual_seed(0))
    assert all(torch.equal(v, seeded.state_dict()[k]) for k, v in default.state_dict().items())
    with torch.no_grad():
        first = default(_images(2), _every_axis(space))
        second = default(_images(2), _every_axis(space))
    assert torch.equal(first, second)
    assert torch.equal(torch.get_rng_state(), state)
