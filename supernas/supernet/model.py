"""The weight-sharing supernet over depth, width, tokens, recursion and quantization."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from supernas.errors import SearchSpaceError
from supernas.search_space.config import SubnetConfig, canonical
from supernas.search_space.space import SearchSpace
from supernas.search_space.spec import InputSpec
from supernas.supernet import functional as fn
from supernas.supernet.ops import ElasticHead, ElasticStem, LayerAdapters, SharedBlock


class Supernet(nn.Module):
    """A transformer holding the full-size weights of every subnet of ``space``.

    ``supernet(x, config)`` runs the subnet ``config`` on ``x``. Layer ``i`` runs
    shared block ``i % unique_blocks`` with its own LayerNorms and LoRA adapters.
    """

    def __init__(self, space: SearchSpace, spec: InputSpec, generator: torch.Generator | None = None) -> None:
        super().__init__()
        space.check_input(spec)
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.space, self.spec = space, spec
        embed_max = max(space.embed_dim)
        inner_max = max(space.heads) * space.head_dim
        hidden_max = max(round(r * e) for r in space.mlp_ratio for e in space.embed_dim)
        rank_max = max(space.lora_rank)
        num_tokens = spec.num_patches(space.patch_size) + 1
        self.stem = ElasticStem(spec.patch_dim(space.patch_size), num_tokens, embed_max, generator)
        self.blocks = nn.ModuleList(
            SharedBlock(embed_max, inner_max, hidden_max, generator) for _ in range(space.max_depth)
        )
        self.layers = nn.ModuleList(
            LayerAdapters(embed_max, inner_max, hidden_max, rank_max, generator) for _ in range(space.max_depth)
        )
        self.head = ElasticHead(embed_max, spec.num_classes, generator)

    def forward(self, x: Tensor, config: SubnetConfig) -> Tensor:
        """Logits of subnet ``config``: (B, C, H, W) or (B, L, C) -> (B, num_classes)."""
        config = canonical(self.space, config)
        self._check_input(x)
        stem, cls_token, pos_embed = self.stem.sliced(config.embed_dim)
        tokens = fn.embed(fn.patchify(x, self.spec.kind, self.space.patch_size), stem, cls_token, pos_embed)
        reductions = dict(zip(self.space.reduction_layers, config.keep_ratio))
        for layer in range(config.depth):
            keep = reductions.get(layer + 1, 1.0) if layer + 1 < config.depth else 1.0
            reduce = fn.shortens(tokens.shape[1], keep)
            params = self.layer_params(config, layer)
            tokens, cls_attn = fn.transformer_layer(tokens, params, self.space.head_dim, reduce)
            if reduce:
                assert cls_attn is not None
                tokens = fn.reduce_tokens(tokens, cls_attn, keep)  # (B, T', E)
        norm, head = self.head.sliced(config.embed_dim)
        return fn.classify(tokens[:, 0], norm, head, self.space.ln_eps)

    def layer_params(self, config: SubnetConfig, layer: int) -> fn.LayerParams:
        """The sliced weights layer ``layer`` of ``config`` runs with."""
        block_index = config.block_of(layer)
        block: SharedBlock = self.blocks[block_index]  # type: ignore[assignment]
        own: LayerAdapters = self.layers[layer]  # type: ignore[assignment]
        e = config.embed_dim
        inner = config.heads[block_index] * self.space.head_dim
        hidden = config.hidden_dim(block_index)
        rank = config.lora_rank[layer]

        def adapted(shared: nn.Module, lora: nn.Module, in_dim: int, out_dim: int) -> fn.LinearParams:
            base = shared.sliced(in_dim, out_dim)  # type: ignore[operator]
            if rank == 0:
                return base
            a, b = lora.sliced(in_dim, out_dim, rank)  # type: ignore[operator]
            return fn.LinearParams(base.weight, base.bias, a, b)

        return fn.LayerParams(
            norm1=own.norm1.sliced(e),
            norm2=own.norm2.sliced(e),
            qkv=adapted(block.qkv, own.qkv, e, 3 * inner),
            proj=adapted(block.proj, own.proj, inner, e),
            fc1=adapted(block.fc1, own.fc1, e, hidden),
            fc2=adapted(block.fc2, own.fc2, hidden, e),
            heads=config.heads[block_index],
            weight_bits=config.weight_bits[layer],
            act_bits=config.act_bits[layer],
            ln_eps=self.space.ln_eps,
        )

    def _check_input(self, x: Tensor) -> None:
        if tuple(x.shape[1:]) != self.spec.shape:
            valid = ", ".join(map(str, self.spec.shape))
            shape = tuple(x.shape)
            raise SearchSpaceError(f"input of shape {shape} does not fit this supernet; valid: (batch, {valid})")
