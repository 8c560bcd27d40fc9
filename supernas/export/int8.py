"""Real int8 for the layers searched at 8 bits.

A layer searched with 8-bit weights was trained with symmetric per-output-channel
fake quantization (scale = max |w| / 127). :class:`Int8Linear` stores exactly those
integers and scales. Where the layer was also searched with 8-bit activations it runs
PyTorch's dynamic int8 linear kernel (fbgemm on x86, qnnpack on ARM). That kernel
quantizes its input with one scale for the whole tensor, while training quantized each
token alone; so each token is first mapped onto [0, 1] by its own minimum and range and
the output mapped back, which gives every token its own 7-bit grid (fbgemm's reduced
range) and makes an image's result independent of the rest of its batch. Where the
layer kept float activations, training never quantized its inputs, so it multiplies
them with the dequantized weight instead (the file is still int8; the compute is
float). Layers searched at 4 bits keep their fake-quantized float weights (no 4-bit
kernel is faster on CPU); 32-bit layers stay float.
"""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from supernas.supernet.static import INT8_BITS, LINEARS, StaticBlock, StaticLayer, StaticSubnet

QMAX = 127  # symmetric int8 range -127..127, as in training's fake quantization


class Int8Linear(nn.Module):
    """``y = x @ W^T + b`` with int8 per-output-channel weights and dynamically quantized inputs.

    The state is plain tensors (int8 weight, float scale, float bias), so it saves to
    safetensors; the kernel's packed weight is rebuilt from them whenever they load.
    """

    weight_int8: Tensor
    scale: Tensor
    bias: Tensor | None

    def __init__(self, weight_int8: Tensor, scale: Tensor, bias: Tensor | None) -> None:
        super().__init__()
        self.register_buffer("weight_int8", weight_int8.to(torch.int8))  # (out, in)
        self.register_buffer("scale", scale.to(torch.float32))  # (out,)
        self.register_buffer("bias", None if bias is None else bias.detach().to(torch.float32).clone())  # (out,)
        self.repack()
        self.register_load_state_dict_post_hook(lambda module, _: module.repack())

    @classmethod
    def from_float(cls, weight: Tensor, bias: Tensor | None) -> Int8Linear:
        """Quantize a float weight exactly as 8-bit fake quantization does."""
        weight = weight.detach().float()
        scale = weight.abs().amax(dim=1).clamp_min(1e-8) / QMAX  # (out,)
        integers = torch.clamp(torch.round(weight / scale[:, None]), -QMAX, QMAX)
        return cls(integers.to(torch.int8), scale, bias)

    def repack(self) -> None:
        """Rebuild the kernel's packed weight, and the terms that undo the input's shift, from the stored tensors."""
        self._packed = self._pack()
        self._row_sums = self.dequantized().sum(dim=1)  # (out,): W @ 1, what a shift of the input adds
        self._bias = torch.zeros_like(self.scale) if self.bias is None else self.bias  # (out,)

    def _pack(self) -> object:
        zero = torch.zeros(self.scale.shape[0], dtype=torch.long)
        with warnings.catch_warnings():
            # PyTorch 2.13 marks quantized tensors deprecated (pytorch#184982) in favour of torchao, whose int8
            # CPU path was no faster on AVX2 here; the fbgemm kernel below still works. Revisit on upgrade.
            warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
            qweight = torch._make_per_channel_quantized_tensor(self.weight_int8, self.scale.double(), zero, 0)
        return torch.ops.quantized.linear_prepack(qweight, None)  # the bias is added after rescaling

    def dequantized(self) -> Tensor:
        """The float weight these integers stand for: (out, in)."""
        return self.weight_int8.float() * self.scale[:, None]

    def forward(self, x: Tensor) -> Tensor:
        """(..., in) -> (..., out), int8 weights × the input quantized per token (asymmetric, 7 bits)."""
        x = x.float()
        low, high = torch.aminmax(x, dim=-1, keepdim=True)  # (..., 1) each
        span = (high - low).clamp_min(1e-8)  # (..., 1)
        # every token maps onto exactly [0, 1] (x - low is exact at both ends), so the kernel's per-tensor
        # scale and zero point are the same for any batch and the token keeps its own 7-bit resolution
        unit = torch.ops.quantized.linear_dynamic((x - low) / span, self._packed, True)  # (..., out)
        return torch.addcmul(torch.addcmul(self._bias, unit, span), low, self._row_sums)  # W x = span W u + low W 1

    def float_input_forward(self, x: Tensor) -> Tensor:
        """(..., in) -> (..., out) with a float input: for layers searched with 32-bit activations."""
        return F.linear(x, self.dequantized(), self.bias)


def to_int8(static: StaticSubnet) -> StaticSubnet:
    """A copy of ``static`` whose 8-bit layers run real int8 linears.

    A shared block gets int8 copies of its four linears when any layer running it was
    searched at 8 bits; its float linears are dropped when no other layer needs them.
    """
    static = copy.deepcopy(static).eval()
    for index, block in enumerate(static.blocks):
        assert isinstance(block, StaticBlock)
        bits = {layer.weight_bits for layer in _layers_of(static, index)}
        if INT8_BITS not in bits:
            continue
        for name in LINEARS:
            shared = getattr(block, name)
            block.int8[name] = Int8Linear.from_float(shared.weight, shared.bias)
        if bits == {INT8_BITS}:
            block.drop_float()
    return static


def int8_layers(static: StaticSubnet) -> list[int]:
    """Indices of the executed layers that run real int8 linears."""
    found = []
    for i, layer in enumerate(static.layers):
        assert isinstance(layer, StaticLayer)
        block = static.blocks[layer.block]
        assert isinstance(block, StaticBlock)
        if layer.weight_bits == INT8_BITS and len(block.int8):
            found.append(i)
    return found


def _layers_of(static: StaticSubnet, block: int) -> list[StaticLayer]:
    return [layer for layer in static.layers if isinstance(layer, StaticLayer) and layer.block == block]
