"""Enumerating a space: every canonical config (every distinct network) exactly once."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

from supernas.search_space.config import SubnetConfig, canonical
from supernas.search_space.space import SearchSpace


def enumerate_configs(space: SearchSpace) -> Iterator[SubnetConfig]:
    """Every canonical config of ``space`` exactly once."""
    d_max = space.max_depth
    for depth, embed in itertools.product(space.depth, space.embed_dim):
        loops_by_blocks: dict[int, int] = {}
        for loops in space.loops:
            loops_by_blocks.setdefault(math.ceil(depth / loops), loops)
        for unique, loops in loops_by_blocks.items():
            widths = itertools.product(itertools.product(space.heads, space.mlp_ratio), repeat=unique)
            loras = (
                itertools.product(space.lora_rank, repeat=depth) if unique < depth else [(space.lora_rank[0],) * depth]
            )
            points = sum(1 for p in space.reduction_layers if p < depth)
            for width, lora, bits, keep in itertools.product(
                list(widths),
                list(loras),
                list(itertools.product(itertools.product(space.weight_bits, space.act_bits), repeat=depth)),
                list(itertools.product(space.keep_ratio, repeat=points)),
            ):
                pad = d_max - unique
                heads = tuple(h for h, _ in width) + (space.heads[0],) * pad
                mlp = tuple(m for _, m in width) + (space.mlp_ratio[0],) * pad
                yield canonical(
                    space,
                    SubnetConfig(
                        depth=depth,
                        embed_dim=embed,
                        loops=loops,
                        heads=heads,
                        mlp_ratio=mlp,
                        lora_rank=tuple(lora) + (space.lora_rank[0],) * (d_max - depth),
                        weight_bits=tuple(w for w, _ in bits) + (space.weight_bits[0],) * (d_max - depth),
                        act_bits=tuple(a for _, a in bits) + (space.act_bits[0],) * (d_max - depth),
                        keep_ratio=tuple(keep) + (space.keep_ratio[0],) * (space.num_reductions - points),
                    ),
                )
