"""Subnet configs: one choice per gene, a canonical form and a stable id.

Which genes are *active* (matter for the network):

* per-layer genes of layer ``i`` only when ``i < depth``;
* ``heads`` and ``mlp_ratio`` of layer ``i`` only when ``i < unique_blocks``,
  since layer ``i`` runs shared block ``i % unique_blocks`` and takes its width;
* ``lora_rank`` only when some block is shared (``unique_blocks < depth``);
* ``keep_ratio[j]`` only when ``reduction_layers[j] < depth``;
* ``loops`` only through ``unique_blocks = ceil(depth / loops)``: the canonical
  value is the smallest choice giving the same number of unique blocks.

The canonical form sets every inactive gene to its first (smallest) choice, so
two configs that build the same network have the same canonical form and
the same :attr:`SubnetConfig.arch_id`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from supernas.errors import SearchSpaceError, choices_text
from supernas.search_space.space import SearchSpace

PER_LAYER = ("heads", "mlp_ratio", "lora_rank", "weight_bits", "act_bits")


@dataclass(frozen=True)
class SubnetConfig:
    """One architecture of a space; per-layer tuples have ``space.max_depth`` entries."""

    depth: int  # executed layers
    embed_dim: int  # token width
    loops: int  # passes over the shared blocks
    heads: tuple[int, ...]  # heads of layer i (taken from its block)
    mlp_ratio: tuple[float, ...]  # MLP ratio of layer i (taken from its block)
    lora_rank: tuple[int, ...]  # LoRA rank of layer i on its shared block
    weight_bits: tuple[int, ...]  # weight bit width of layer i
    act_bits: tuple[int, ...]  # activation bit width of layer i
    keep_ratio: tuple[float, ...]  # kept share of tokens at reduction point j

    @property
    def unique_blocks(self) -> int:
        return math.ceil(self.depth / self.loops)

    def block_of(self, layer: int) -> int:
        """Index of the shared block that layer ``layer`` runs."""
        return layer % self.unique_blocks

    def hidden_dim(self, block: int) -> int:
        """MLP hidden width of shared block ``block``."""
        return round(self.mlp_ratio[block] * self.embed_dim)

    @property
    def arch_id(self) -> str:
        """Stable 16-hex-digit hash of this config; canonicalise first to compare archs."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubnetConfig:
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(valid))
        missing = sorted(set(valid) - set(data))
        if unknown or missing:
            name = unknown[0] if unknown else missing[0]
            what = "unknown" if unknown else "missing"
            raise SearchSpaceError(f"subnet config: {what} field {name!r}; valid fields: {choices_text(valid)}")
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        kwargs["mlp_ratio"] = tuple(float(v) for v in kwargs["mlp_ratio"])
        kwargs["keep_ratio"] = tuple(float(v) for v in kwargs["keep_ratio"])
        return cls(**kwargs)


def validate(space: SearchSpace, config: SubnetConfig) -> None:
    """Raise :class:`SearchSpaceError` naming the first gene outside ``space``."""
    for name in ("depth", "embed_dim", "loops"):
        _check_choice(space, name, getattr(config, name))
    for name in PER_LAYER:
        values = getattr(config, name)
        if len(values) != space.max_depth:
            raise SearchSpaceError(
                f"subnet config field {name!r}: {len(values)} entries; valid: one per layer ({space.max_depth})"
            )
        for layer, value in enumerate(values):
            _check_choice(space, name, value, f"{name}[{layer}]")
    if len(config.keep_ratio) != space.num_reductions:
        raise SearchSpaceError(
            f"subnet config field 'keep_ratio': {len(config.keep_ratio)} entries; "
            f"valid: one per reduction point ({space.num_reductions})"
        )
    for j, value in enumerate(config.keep_ratio):
        _check_choice(space, "keep_ratio", value, f"keep_ratio[{j}]")


def _check_choice(space: SearchSpace, name: str, value: object, label: str | None = None) -> None:
    valid = getattr(space, name)
    if value not in valid:
        raise SearchSpaceError(
            f"subnet config field {label or name!r}: {value!r} is not in the space; valid: {choices_text(valid)}"
        )


def canonical(space: SearchSpace, config: SubnetConfig) -> SubnetConfig:
    """Validate ``config`` and set its inactive genes to their first choice."""
    validate(space, config)
    depth = config.depth
    unique = config.unique_blocks
    loops = min(v for v in space.loops if math.ceil(depth / v) == unique)
    shared = unique < depth

    def per_layer(name: str, active: int) -> tuple[Any, ...]:
        first = getattr(space, name)[0]
        return tuple(v if i < active else first for i, v in enumerate(getattr(config, name)))

    keep = tuple(
        r if point < depth else space.keep_ratio[0] for r, point in zip(config.keep_ratio, space.reduction_layers)
    )
    return replace(
        config,
        loops=loops,
        heads=per_layer("heads", unique),
        mlp_ratio=per_layer("mlp_ratio", unique),
        lora_rank=per_layer("lora_rank", depth if shared else 0),
        weight_bits=per_layer("weight_bits", depth),
        act_bits=per_layer("act_bits", depth),
        keep_ratio=keep,
    )


def sample(space: SearchSpace, rng: np.random.Generator) -> SubnetConfig:
    """A canonical config with every gene drawn uniformly from its choices."""

    def pick(choices: tuple[Any, ...], n: int | None = None) -> Any:
        idx = rng.integers(len(choices), size=n)
        return choices[idx] if n is None else tuple(choices[i] for i in idx)

    d = space.max_depth
    config = SubnetConfig(
        depth=pick(space.depth),
        embed_dim=pick(space.embed_dim),
        loops=pick(space.loops),
        heads=pick(space.heads, d),
        mlp_ratio=pick(space.mlp_ratio, d),
        lora_rank=pick(space.lora_rank, d),
        weight_bits=pick(space.weight_bits, d),
        act_bits=pick(space.act_bits, d),
        keep_ratio=pick(space.keep_ratio, space.num_reductions),
    )
    return canonical(space, config)


def largest(space: SearchSpace) -> SubnetConfig:
    """The most expensive config: deepest, widest, no sharing, no pruning, float."""
    d = space.max_depth
    return canonical(
        space,
        SubnetConfig(
            depth=d,
            embed_dim=space.embed_dim[-1],
            loops=space.loops[0],
            heads=(space.heads[-1],) * d,
            mlp_ratio=(space.mlp_ratio[-1],) * d,
            lora_rank=(space.lora_rank[-1],) * d,
            weight_bits=(space.weight_bits[-1],) * d,
            act_bits=(space.act_bits[-1],) * d,
            keep_ratio=(space.keep_ratio[-1],) * space.num_reductions,
        ),
    )


def smallest(space: SearchSpace) -> SubnetConfig:
    """The cheapest config: shallowest, narrowest, most shared, fewest bits."""
    d = space.max_depth
    return canonical(
        space,
        SubnetConfig(
            depth=space.depth[0],
            embed_dim=space.embed_dim[0],
            loops=space.loops[-1],
            heads=(space.heads[0],) * d,
            mlp_ratio=(space.mlp_ratio[0],) * d,
            lora_rank=(space.lora_rank[0],) * d,
            weight_bits=(space.weight_bits[0],) * d,
            act_bits=(space.act_bits[0],) * d,
            keep_ratio=(space.keep_ratio[0],) * space.num_reductions,
        ),
    )


def count_architectures(space: SearchSpace) -> int:
    """Number of distinct canonical configs (distinct networks) in ``space``."""
    total = 0
    for depth in space.depth:
        for unique in sorted({math.ceil(depth / loops) for loops in space.loops}):
            n = (len(space.heads) * len(space.mlp_ratio)) ** unique
            n *= len(space.lora_rank) ** depth if unique < depth else 1
            n *= (len(space.weight_bits) * len(space.act_bits)) ** depth
            n *= len(space.keep_ratio) ** sum(1 for point in space.reduction_layers if point < depth)
            total += n
    return total * len(space.embed_dim)
