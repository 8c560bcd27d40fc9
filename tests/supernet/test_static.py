"""Property tests: extracted subnets equal the supernet, and the cost models are exact."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from supernas.search_space import InputSpec, SearchSpace, SubnetConfig, costs, largest, sample, token_counts
from supernas.supernet import Supernet, extract, functional as fn


def trained_looking(space: SearchSpace, spec: InputSpec, seed: int = 0) -> Supernet:
    """A supernet whose LoRA adapters are non-zero, so every axis changes the output."""
    net = Supernet(space, spec, torch.Generator().manual_seed(seed))
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, param in net.named_parameters():
            if "lora_b" in name:
                param.normal_(0.0, 0.05, generator=gen)
    return net.eval()


def _every_axis_active(config: SubnetConfig, space: SearchSpace) -> bool:
    d = config.depth
    return (
        config.unique_blocks < d
        and any(config.lora_rank[:d])
        and any(b < 32 for b in config.weight_bits[:d])
        and any(b < 32 for b in config.act_bits[:d])
        and any(r < 1 for r, p in zip(config.keep_ratio, space.reduction_layers) if p < d)
    )


def _configs(space: SearchSpace, n: int, seed: int) -> list[SubnetConfig]:
    """``n`` random configs, every one of them using all five axes."""
    rng = np.random.default_rng(seed)
    found: list[SubnetConfig] = []
    while len(found) < n:
        config = sample(space, rng)
        if _every_axis_active(config, space):
            found.append(config)
    return found


def _flop_macs(module: torch.nn.Module, x: torch.Tensor) -> float:
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() / 2


def test_extracted_subnets_match_supernet_params_and_macs(space: SearchSpace, digits_spec: InputSpec) -> None:
    net = trained_looking(space, digits_spec)
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        for config in _configs(space, 100, seed=11):
            static = extract(net, config)
            assert (net(x, config) - static(x)).abs().max().item() <= 1e-5
            expected = costs(space, config, digits_spec)
            assert sum(p.numel() for p in static.parameters()) == expected.params
            assert abs(_flop_macs(static, x[:1]) - expected.macs) <= 0.01 * expected.macs


def test_extracted_subnets_live_on_the_supernets_device_and_dtype(space: SearchSpace, digits_spec: InputSpec) -> None:
    # A CUDA supernet must give CUDA subnets (evaluation actors feed them CUDA inputs). The meta device stands in
    # for a GPU here: any tensor built on the CPU by default would show up as a CPU tensor.
    config = _configs(space, 1, seed=5)[0]
    on_meta = extract(trained_looking(space, digits_spec).to("meta"), config)
    assert {t.device.type for t in [*on_meta.parameters(), *on_meta.buffers()]} == {"meta"}
    wide = trained_looking(space, digits_spec).double()
    static = extract(wide, config)
    assert {p.dtype for p in static.parameters()} == {torch.float64}
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    with torch.no_grad():
        assert (wide(x, config) - static(x)).abs().max().item() <= 1e-12


def test_sequence_inputs(digits_spec: InputSpec) -> None:
    spec = InputSpec("sequence", (12, 3), 4)
    space = SearchSpace(depth=(2, 3), reduction_layers=(1,), loops=(1, 2), patch_size=2)
    net = trained_looking(space, spec)
    x = torch.randn(5, 12, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for config in _configs(space, 10, seed=2):
            static = extract(net, config)
            assert net(x, config).shape == (5, 4)
            assert (net(x, config) - static(x)).abs().max().item() <= 1e-5
            expected = costs(space, config, spec).macs
            assert abs(_flop_macs(static, x[:1]) - expected) <= 0.01 * expected


def test_token_reduction_really_shortens_the_sequence(
    space: SearchSpace, digits_spec: InputSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = trained_looking(space, digits_spec)
    full = largest(space)
    pruned = replace(full, keep_ratio=(0.5, 0.5))
    lengths: list[int] = []
    layer_fn = fn.transformer_layer

    def recording(x: torch.Tensor, *args: object) -> tuple[torch.Tensor, torch.Tensor | None]:
        lengths.append(x.shape[1])
        return layer_fn(x, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(fn, "transformer_layer", recording)
    with torch.no_grad():
        extract(net, pruned)(torch.zeros(2, 1, 8, 8))
    assert lengths == token_counts(space, pruned, digits_spec) == [17, 17, 10, 10, 7, 7]
    monkeypatch.undo()
    x = torch.zeros(1, 1, 8, 8)
    assert _flop_macs(extract(net, pruned), x) < 0.75 * _flop_macs(extract(net, full), x)


def test_shared_blocks_stay_shared(space: SearchSpace, digits_spec: InputSpec) -> None:
    net = trained_looking(space, digits_spec)
    config = replace(largest(space), loops=3)
    static = extract(net, config)
    assert len(static.blocks) == 2 and len(static.layers) == 6
    assert [layer.block for layer in static.layers] == [0, 1, 0, 1, 0, 1]
    flat = extract(net, largest(space))
    block_params = sum(p.numel() for p in static.blocks.parameters())
    assert block_params * 3 == sum(p.numel() for p in flat.blocks.parameters())


def test_layernorm_epsilon_comes_from_the_space_and_survives_extraction(digits_spec: InputSpec) -> None:
    wide_eps = SearchSpace(ln_eps=0.5)  # large enough to change every LayerNorm's output
    net = trained_looking(wide_eps, digits_spec)
    default = trained_looking(SearchSpace(), digits_spec)
    default.load_state_dict(net.state_dict())
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(6))
    config = largest(wide_eps)
    static = extract(net, config)
    norms = [m for m in static.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert len(norms) == 2 * config.depth + 1 and all(m.eps == 0.5 for m in norms)
    with torch.no_grad():
        out = net(x, config)
        assert torch.allclose(static(x), out, atol=1e-6)
        assert (default(x, config) - out).abs().max() > 1e-3
