"""Static subnets: plain modules holding copies of a supernet's sliced weights."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import cast

import torch
from torch import Tensor, nn

from supernas.search_space.config import SubnetConfig, canonical
from supernas.search_space.costs import token_counts
from supernas.search_space.spec import InputSpec
from supernas.supernet import functional as fn
from supernas.supernet.model import Supernet


def _linear_from(params: fn.LinearParams) -> nn.Linear:
    out_dim, in_dim = params.weight.shape
    like = {"device": params.weight.device, "dtype": params.weight.dtype}  # built where the supernet lives
    layer = nn.Linear(in_dim, out_dim, bias=params.bias is not None, **like)
    with torch.no_grad():
        layer.weight.copy_(params.weight)
        if params.bias is not None:
            layer.bias.copy_(params.bias)
    return layer


def _norm_from(params: tuple[Tensor, Tensor], eps: float) -> nn.LayerNorm:
    norm = nn.LayerNorm(params[0].shape[0], eps=eps, device=params[0].device, dtype=params[0].dtype)
    with torch.no_grad():
        norm.weight.copy_(params[0])
        norm.bias.copy_(params[1])
    return norm


def _params(layer: nn.Linear) -> fn.LinearParams:
    return fn.LinearParams(layer.weight, layer.bias)


class StaticBlock(nn.Module):
    """Attention and MLP weights shared by the layers that run this block.

    ``int8`` holds real int8 copies of the four linears (``supernas.export.int8``)
    when a layer searched at 8 bits runs the block; layers at other bit widths use
    the float linears, which are dropped when no such layer remains.
    """

    def __init__(self, qkv: nn.Linear, proj: nn.Linear, fc1: nn.Linear, fc2: nn.Linear) -> None:
        super().__init__()
        self.qkv: nn.Linear | None = qkv
        self.proj: nn.Linear | None = proj
        self.fc1: nn.Linear | None = fc1
        self.fc2: nn.Linear | None = fc2
        self.int8 = nn.ModuleDict()  # name -> Int8Linear, empty unless exported with --int8

    def drop_float(self) -> None:
        """Forget the float linears (every layer running this block uses ``int8``)."""
        for name in LINEARS:
            setattr(self, name, None)

    def linear_params(self, name: str, weight_bits: int, act_bits: int) -> fn.LinearParams | fn.Int8Params:
        """The weights a layer with ``weight_bits`` and ``act_bits`` uses for linear ``name``."""
        if weight_bits == INT8_BITS and name in self.int8:
            int8 = self.int8[name]
            float_input = cast("Callable[[Tensor], Tensor]", int8.float_input_forward)
            return fn.Int8Params(int8 if act_bits == INT8_BITS else float_input)
        shared = getattr(self, name)
        assert shared is not None, f"block has no float {name}"
        return _params(shared)


LINEARS = ("qkv", "proj", "fc1", "fc2")  # the linears of a block
INT8_BITS = 8  # weight bit width that runs as real int8 in an --int8 export


class LoRA(nn.Module):
    """A low-rank update ``up(down(x))`` added to a shared linear."""

    def __init__(self, a: Tensor, b: Tensor) -> None:
        super().__init__()
        self.down = nn.Linear(a.shape[1], a.shape[0], bias=False, device=a.device, dtype=a.dtype)
        self.up = nn.Linear(b.shape[1], b.shape[0], bias=False, device=b.device, dtype=b.dtype)
        with torch.no_grad():
            self.down.weight.copy_(a)
            self.up.weight.copy_(b)


class StaticLayer(nn.Module):
    """One executed layer: its norms, optional LoRA adapters and the index of its block."""

    def __init__(self, params: fn.LayerParams, block: int, keep_after: float) -> None:
        super().__init__()
        self.block = block  # index into StaticSubnet.blocks
        self.heads = params.heads
        self.weight_bits = params.weight_bits
        self.act_bits = params.act_bits
        self.keep_after = keep_after  # token keep ratio applied after this layer (1.0: none)
        self.norm1 = _norm_from(params.norm1, params.ln_eps)
        self.norm2 = _norm_from(params.norm2, params.ln_eps)
        self.lora = nn.ModuleDict(
            {
                name: LoRA(p.lora_a, p.lora_b)
                for name, p in (("qkv", params.qkv), ("proj", params.proj), ("fc1", params.fc1), ("fc2", params.fc2))
                if p.lora_a is not None and p.lora_b is not None
            }
        )

    def params(self, block: StaticBlock) -> fn.LayerParams:
        def adapted(name: str) -> fn.LinearParams | fn.Int8Params:
            base = block.linear_params(name, self.weight_bits, self.act_bits)
            if name not in self.lora:
                return base
            lora: LoRA = self.lora[name]  # type: ignore[assignment]
            return replace(base, lora_a=lora.down.weight, lora_b=lora.up.weight)

        return fn.LayerParams(
            norm1=(self.norm1.weight, self.norm1.bias),
            norm2=(self.norm2.weight, self.norm2.bias),
            qkv=adapted("qkv"),
            proj=adapted("proj"),
            fc1=adapted("fc1"),
            fc2=adapted("fc2"),
            heads=self.heads,
            weight_bits=self.weight_bits,
            act_bits=self.act_bits,
            ln_eps=self.norm1.eps,
        )


class StaticSubnet(nn.Module):
    """A standalone subnet: plain ``nn.Linear`` / ``nn.LayerNorm`` layers, no supernet needed."""

    def __init__(
        self,
        spec: InputSpec,
        patch_size: int,
        head_dim: int,
        stem: nn.Linear,
        cls_token: Tensor,
        pos_embed: Tensor,
        blocks: list[StaticBlock],
        layers: list[StaticLayer],
        head_norm: nn.LayerNorm,
        head: nn.Linear,
    ) -> None:
        super().__init__()
        self.kind, self.patch_size, self.head_dim = spec.kind, patch_size, head_dim
        self.stem = stem
        self.cls_token = nn.Parameter(cls_token.detach().clone())  # (1, 1, E)
        self.pos_embed = nn.Parameter(pos_embed.detach().clone())  # (1, N+1, E)
        self.blocks = nn.ModuleList(blocks)
        self.layers = nn.ModuleList(layers)
        self.head_norm, self.head = head_norm, head

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) or (B, L, C) -> (B, num_classes)."""
        patches = fn.patchify(x, self.kind, self.patch_size)  # (B, N, P)
        tokens = fn.embed(patches, _params(self.stem), self.cls_token, self.pos_embed)
        for layer in self.layers:
            assert isinstance(layer, StaticLayer)
            reduce = fn.shortens(tokens.shape[1], layer.keep_after)
            block: StaticBlock = self.blocks[layer.block]  # type: ignore[assignment]
            tokens, cls_attn = fn.transformer_layer(tokens, layer.params(block), self.head_dim, reduce)
            if reduce:
                assert cls_attn is not None
                tokens = fn.reduce_tokens(tokens, cls_attn, layer.keep_after)  # (B, T', E)
        head_norm = (self.head_norm.weight, self.head_norm.bias)
        return fn.classify(tokens[:, 0], head_norm, _params(self.head), self.head_norm.eps)


@torch.no_grad()
def extract(supernet: Supernet, config: SubnetConfig) -> StaticSubnet:
    """Copy the weights of subnet ``config`` out of ``supernet`` into a :class:`StaticSubnet`.

    Layers that share a block in the supernet share one :class:`StaticBlock`.
    """
    space, spec = supernet.space, supernet.spec
    config = canonical(space, config)
    layer_params = [supernet.layer_params(config, i) for i in range(config.depth)]
    blocks: list[StaticBlock] = []
    for b in range(config.unique_blocks):
        p = layer_params[b]  # layer b is the first to run block b
        blocks.append(StaticBlock(*(_linear_from(_base(q)) for q in (p.qkv, p.proj, p.fc1, p.fc2))))
    counts = token_counts(space, config, spec)
    layers = [
        StaticLayer(p, config.block_of(i), _keep_after(space.reduction_layers, config, counts, i))
        for i, p in enumerate(layer_params)
    ]
    stem, cls_token, pos_embed = supernet.stem.sliced(config.embed_dim)
    norm, head = supernet.head.sliced(config.embed_dim)
    static = StaticSubnet(
        spec,
        space.patch_size,
        space.head_dim,
        _linear_from(stem),
        cls_token,
        pos_embed,
        blocks,
        layers,
        _norm_from(norm, space.ln_eps),
        _linear_from(head),
    )
    return static.train(supernet.training)


def _base(p: fn.LinearParams | fn.Int8Params) -> fn.LinearParams:
    assert isinstance(p, fn.LinearParams), "the supernet has no int8 layers"
    return fn.LinearParams(p.weight, p.bias)


def _keep_after(points: tuple[int, ...], config: SubnetConfig, counts: list[int], layer: int) -> float:
    following = layer + 1
    if following >= config.depth or counts[following] == counts[layer]:
        return 1.0
    return dict(zip(points, config.keep_ratio))[following]
