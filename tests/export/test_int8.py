"""Real int8 linears: the stored integers and scales, the error bound against the float linear, and ``to_int8``."""

from __future__ import annotations

import warnings
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from supernas.export.int8 import QMAX, Int8Linear, int8_layers, to_int8
from supernas.search_space import InputSpec, largest
from supernas.supernet import StaticSubnet, Supernet, extract
from supernas.supernet.static import LINEARS, StaticBlock

SPEC = InputSpec("image", (1, 8, 8), 10)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _linear(out_dim: int, in_dim: int, seed: int, bias: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    gen = _gen(seed)
    weight = torch.randn(out_dim, in_dim, generator=gen)
    return weight, (torch.randn(out_dim, generator=gen) if bias else None)


@pytest.fixture(scope="module")
def supernet() -> Supernet:
    from supernas.testing import tiny_space

    return Supernet(tiny_space(), SPEC, _gen(0)).eval()


def _static(supernet: Supernet, **genes: object) -> StaticSubnet:
    return extract(supernet, replace(largest(supernet.space), **genes)).eval()  # type: ignore[arg-type]


def _block(static: StaticSubnet, index: int) -> StaticBlock:
    block = static.blocks[index]
    assert isinstance(block, StaticBlock)
    return block


def test_from_float_stores_symmetric_per_channel_integers() -> None:
    weight, bias = _linear(6, 10, seed=1)
    weight[2] *= 50  # one loud channel must not coarsen the others
    linear = Int8Linear.from_float(weight, bias)
    assert linear.weight_int8.dtype == torch.int8 and linear.weight_int8.shape == (6, 10)
    assert linear.scale.dtype == torch.float32 and linear.scale.shape == (6,)
    assert (linear.weight_int8.abs().amax(dim=1) == QMAX).all()  # each row's largest |w| maps onto ±127
    torch.testing.assert_close(linear.scale, weight.abs().amax(dim=1) / QMAX)
    error = (linear.dequantized() - weight).abs()  # (6, 10)
    assert (error <= linear.scale[:, None] / 2 + 1e-6).all()  # rounding: within half a step of its own channel
    assert bias is not None and linear.bias is not None and torch.equal(linear.bias, bias)


def test_from_float_keeps_its_own_bias_and_handles_a_zero_channel() -> None:
    weight, bias = _linear(3, 4, seed=2)
    weight[1] = 0.0
    assert bias is not None
    linear, original = Int8Linear.from_float(weight, bias), bias.clone()
    bias.add_(1.0)  # the module holds a copy, not the caller's tensor
    assert linear.bias is not None and torch.equal(linear.bias, original)
    assert (linear.weight_int8[1] == 0).all() and linear.scale[1] > 0  # no division by zero
    out = linear(torch.randn(5, 4, generator=_gen(3)))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[:, 1], linear.bias[1].expand(5), rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_matches_the_float_linear_within_the_quantization_error(seed: int) -> None:
    weight, bias = _linear(12, 16, seed=seed)
    linear = Int8Linear.from_float(weight, bias)
    x = 3 * torch.randn(4, 7, 16, generator=_gen(seed + 10)) + 1  # (B, T, in)
    with torch.no_grad():
        out = linear(x)
    exact = F.linear(x, weight, bias)  # (B, T, out)
    span = x.amax(dim=-1) - x.amin(dim=-1)  # (B, T): each token's own range
    weight_error = x.abs() @ (weight - linear.dequantized()).abs().T  # (B, T, out)
    input_error = (span / (2 * 127))[..., None] * linear.dequantized().abs().sum(dim=1)  # half a 7-bit step
    assert out.shape == (4, 7, 12) and out.dtype == torch.float32
    assert ((out - exact).abs() <= weight_error + input_error + 1e-4).all()
    assert (out - exact).abs().mean() < 0.02 * exact.abs().mean()  # the bound is not vacuous here


def test_forward_of_a_constant_token_is_exact_and_of_a_double_input_is_float() -> None:
    weight, _ = _linear(5, 8, seed=4)
    linear = Int8Linear.from_float(weight, None)
    tokens = torch.tensor([[0.0] * 8, [2.5] * 8, [-1.0] * 8])  # no span: nothing to round
    expected = tokens @ linear.dequantized().T
    torch.testing.assert_close(linear(tokens), expected, rtol=0, atol=1e-5)
    assert linear(tokens.double()).dtype == torch.float32


def test_float_input_forward_is_the_dequantized_float_linear() -> None:
    weight, bias = _linear(4, 6, seed=5)
    x = torch.randn(2, 3, 6, generator=_gen(6))
    with_bias, without = Int8Linear.from_float(weight, bias), Int8Linear.from_float(weight, None)
    assert torch.equal(with_bias.float_input_forward(x), F.linear(x, with_bias.dequantized(), with_bias.bias))
    assert torch.equal(without.float_input_forward(x), x @ without.dequantized().T)
    assert with_bias.float_input_forward(x).shape == (2, 3, 4)


def test_loading_a_state_dict_repacks_the_kernel_weight() -> None:
    source = Int8Linear.from_float(*_linear(4, 6, seed=7))
    target = Int8Linear.from_float(*_linear(4, 6, seed=8))
    state = source.state_dict()
    assert set(state) == {"weight_int8", "scale", "bias"} and state["weight_int8"].dtype == torch.int8
    x = torch.randn(3, 6, generator=_gen(9))
    assert not torch.equal(target(x), source(x))
    target.load_state_dict(state)
    assert torch.equal(target(x), source(x))  # the packed weight follows the loaded integers


def test_building_and_running_emits_no_deprecation_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning (e.g. torch's about quantized tensors) fails the test
        linear = Int8Linear.from_float(*_linear(3, 5, seed=10))
        linear(torch.randn(2, 5, generator=_gen(11)))


def test_to_int8_converts_only_8_bit_layers_and_leaves_the_input_alone(supernet: Supernet) -> None:
    static = _static(supernet, depth=3, loops=1, weight_bits=(8, 4, 32), act_bits=(8, 8, 32))
    converted = to_int8(static)
    assert int8_layers(converted) == [0] and int8_layers(static) == []
    first, rest = _block(converted, 0), [_block(converted, b) for b in (1, 2)]
    assert set(first.int8) == set(LINEARS) and all(isinstance(m, Int8Linear) for m in first.int8.values())
    assert all(getattr(first, name) is None for name in LINEARS)  # its only layer is 8-bit: float copies dropped
    assert all(len(b.int8) == 0 and b.fc1 is not None for b in rest)  # 4- and 32-bit blocks stay float
    original = _block(static, 0)
    assert len(original.int8) == 0 and original.fc1 is not None  # a copy was converted
    assert not converted.training
    x = torch.randn(16, *SPEC.shape, generator=_gen(12))
    with torch.no_grad():
        a, b = static(x), converted(x)
    assert b.shape == a.shape and (a - b).abs().max() < 0.1 * a.abs().max()


def test_to_int8_keeps_float_linears_a_float_layer_of_the_same_block_needs(supernet: Supernet) -> None:
    static = _static(supernet, depth=3, loops=2, weight_bits=(8, 32, 32), act_bits=(8, 32, 32))  # block 0: layers 0, 2
    converted = to_int8(static)
    block = _block(converted, 0)
    assert int8_layers(converted) == [0]
    assert set(block.int8) == set(LINEARS) and all(getattr(block, name) is not None for name in LINEARS)
    assert all(torch.equal(getattr(block, n).weight, getattr(_block(static, 0), n).weight) for n in LINEARS)
    x = torch.randn(8, *SPEC.shape, generator=_gen(13))
    with torch.no_grad():
        assert torch.isfinite(converted(x)).all()


def test_to_int8_without_8_bit_layers_is_an_equal_copy(supernet: Supernet) -> None:
    static = _static(supernet, depth=2, weight_bits=(32, 4, 4), act_bits=(32, 8, 8))
    converted = to_int8(static)
    assert converted is not static and int8_layers(converted) == []
    assert all(len(_block(converted, b).int8) == 0 for b in range(len(converted.blocks)))
    x = torch.randn(4, *SPEC.shape, generator=_gen(14))
    with torch.no_grad():
        assert torch.equal(converted(x), static(x))
