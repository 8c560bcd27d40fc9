"""Elastic ops: each owns its full-size weight and slices it for the active config.

Slices always take the leading rows/columns, so a smaller subnet shares the
first channels, heads and ranks of every larger one. No op clamps a request
silently: asking for more than the op holds raises.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from supernas.errors import SearchSpaceError
from supernas.supernet.functional import LinearParams


def _check(name: str, wanted: int, available: int) -> None:
    if not 0 <= wanted <= available:
        raise SearchSpaceError(f"{name}: {wanted} requested but the supernet holds {available}")


class ElasticLinear(nn.Module):
    """A linear layer of full size ``(out_max, in_max)``, sliced to ``(out, in)``."""

    def __init__(self, in_max: int, out_max: int, generator: torch.Generator, bias: bool = True) -> None:
        super().__init__()
        self.in_max, self.out_max = in_max, out_max
        self.weight = nn.Parameter(torch.empty(out_max, in_max))
        std = in_max**-0.5  # fan-in scaling of the full-size layer
        nn.init.trunc_normal_(self.weight, std=std, a=-2 * std, b=2 * std, generator=generator)
        self.bias = nn.Parameter(torch.zeros(out_max)) if bias else None

    def sliced(self, in_dim: int, out_dim: int) -> LinearParams:
        _check("linear input width", in_dim, self.in_max)
        _check("linear output width", out_dim, self.out_max)
        bias = None if self.bias is None else self.bias[:out_dim]
        return LinearParams(self.weight[:out_dim, :in_dim], bias)


class ElasticQKV(ElasticLinear):
    """The fused q/k/v projection: rows are q heads, then k heads, then v heads.

    Slicing to ``inner`` = heads × head_dim keeps the leading heads of each of q, k, v.
    """

    def __init__(self, embed_max: int, inner_max: int, generator: torch.Generator) -> None:
        super().__init__(embed_max, 3 * inner_max, generator)
        self.inner_max = inner_max

    def sliced(self, in_dim: int, out_dim: int) -> LinearParams:
        inner = out_dim // 3
        _check("attention width", inner, self.inner_max)
        _check("attention input width", in_dim, self.in_max)
        weight = self.weight.view(3, self.inner_max, self.in_max)[:, :inner, :in_dim].reshape(3 * inner, in_dim)
        assert self.bias is not None
        bias = self.bias.view(3, self.inner_max)[:, :inner].reshape(3 * inner)
        return LinearParams(weight, bias)


class ElasticLoRA(nn.Module):
    """A per-layer low-rank update ``B @ A`` of a shared linear, sliced to (rank, in, out).

    ``B`` starts at zero so a fresh adapter leaves the shared weight unchanged.
    ``qkv_inner_max`` marks the adapter of a fused q/k/v layer, whose rows of ``B``
    are sliced per head group like :class:`ElasticQKV`.
    """

    def __init__(
        self, in_max: int, out_max: int, rank_max: int, generator: torch.Generator, qkv_inner_max: int = 0
    ) -> None:
        super().__init__()
        self.in_max, self.out_max, self.rank_max = in_max, out_max, rank_max
        self.qkv_inner_max = qkv_inner_max
        self.lora_a = nn.Parameter(torch.empty(rank_max, in_max))
        nn.init.normal_(self.lora_a, std=rank_max**-0.5 if rank_max else 1.0, generator=generator)
        self.lora_b = nn.Parameter(torch.zeros(out_max, rank_max))

    def sliced(self, in_dim: int, out_dim: int, rank: int) -> tuple[Tensor, Tensor]:
        _check("LoRA rank", rank, self.rank_max)
        _check("LoRA input width", in_dim, self.in_max)
        a = self.lora_a[:rank, :in_dim]
        if self.qkv_inner_max:
            inner = out_dim // 3
            _check("LoRA attention width", inner, self.qkv_inner_max)
            b = self.lora_b.view(3, self.qkv_inner_max, self.rank_max)[:, :inner, :rank].reshape(3 * inner, rank)
        else:
            _check("LoRA output width", out_dim, self.out_max)
            b = self.lora_b[:out_dim, :rank]
        return a, b


class ElasticLayerNorm(nn.Module):
    """LayerNorm over the leading ``dim`` channels of a ``dim_max`` affine."""

    def __init__(self, dim_max: int) -> None:
        super().__init__()
        self.dim_max = dim_max
        self.weight = nn.Parameter(torch.ones(dim_max))
        self.bias = nn.Parameter(torch.zeros(dim_max))

    def sliced(self, dim: int) -> tuple[Tensor, Tensor]:
        _check("LayerNorm width", dim, self.dim_max)
        return self.weight[:dim], self.bias[:dim]


class ElasticStem(nn.Module):
    """Patch embedding, class token and positional embeddings of width ``embed_max``."""

    def __init__(self, patch_dim: int, num_tokens: int, embed_max: int, generator: torch.Generator) -> None:
        super().__init__()
        self.proj = ElasticLinear(patch_dim, embed_max, generator)
        self.cls_token = nn.Parameter(torch.empty(1, 1, embed_max))
        self.pos_embed = nn.Parameter(torch.empty(1, num_tokens, embed_max))
        nn.init.trunc_normal_(self.cls_token, std=0.02, a=-0.04, b=0.04, generator=generator)
        nn.init.trunc_normal_(self.pos_embed, std=0.02, a=-0.04, b=0.04, generator=generator)

    def sliced(self, embed_dim: int) -> tuple[LinearParams, Tensor, Tensor]:
        """(patch linear, class token (1, 1, E), positions (1, N+1, E))."""
        _check("embed_dim", embed_dim, self.pos_embed.shape[-1])
        stem = self.proj.sliced(self.proj.in_max, embed_dim)
        return stem, self.cls_token[..., :embed_dim], self.pos_embed[..., :embed_dim]


class SharedBlock(nn.Module):
    """The weights one or more layers share: attention and MLP, without norms."""

    def __init__(self, embed_max: int, inner_max: int, hidden_max: int, generator: torch.Generator) -> None:
        super().__init__()
        self.qkv = ElasticQKV(embed_max, inner_max, generator)
        self.proj = ElasticLinear(inner_max, embed_max, generator)
        self.fc1 = ElasticLinear(embed_max, hidden_max, generator)
        self.fc2 = ElasticLinear(hidden_max, embed_max, generator)


class LayerAdapters(nn.Module):
    """What each executed layer owns: its two LayerNorms and LoRA adapters of the four linears."""

    def __init__(
        self, embed_max: int, inner_max: int, hidden_max: int, rank_max: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.norm1 = ElasticLayerNorm(embed_max)
        self.norm2 = ElasticLayerNorm(embed_max)
        self.qkv = ElasticLoRA(embed_max, 3 * inner_max, rank_max, generator, qkv_inner_max=inner_max)
        self.proj = ElasticLoRA(inner_max, embed_max, rank_max, generator)
        self.fc1 = ElasticLoRA(embed_max, hidden_max, rank_max, generator)
        self.fc2 = ElasticLoRA(hidden_max, embed_max, rank_max, generator)


class ElasticHead(nn.Module):
    """Final LayerNorm and classifier on the class token."""

    def __init__(self, embed_max: int, num_classes: int, generator: torch.Generator) -> None:
        super().__init__()
        self.norm = ElasticLayerNorm(embed_max)
        self.linear = ElasticLinear(embed_max, num_classes, generator)

    def sliced(self, embed_dim: int) -> tuple[tuple[Tensor, Tensor], LinearParams]:
        return self.norm.sliced(embed_dim), self.linear.sliced(embed_dim, self.linear.out_max)
