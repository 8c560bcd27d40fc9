"""Integer genome encoding of subnet configs, for pymoo and the predictors.

Gene order: depth, embed_dim, loops, then ``max_depth`` genes each for heads,
mlp_ratio, lora_rank, weight_bits and act_bits, then one keep_ratio gene per
reduction point. Each gene is the index of the choice in the space's sorted
choice tuple, so the bounds are ``0 .. len(choices) - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from supernas.errors import SearchSpaceError
from supernas.search_space.config import PER_LAYER, SubnetConfig, canonical
from supernas.search_space.space import SearchSpace

SCALAR_GENES = ("depth", "embed_dim", "loops")


def gene_names(space: SearchSpace) -> list[str]:
    """One readable name per gene, e.g. ``heads[3]``."""
    names = list(SCALAR_GENES)
    for name in PER_LAYER:
        names += [f"{name}[{i}]" for i in range(space.max_depth)]
    names += [f"keep_ratio[{j}]" for j in range(space.num_reductions)]
    return names


def _gene_choices(space: SearchSpace) -> list[tuple[object, ...]]:
    choices = [getattr(space, name) for name in SCALAR_GENES]
    for name in PER_LAYER:
        choices += [getattr(space, name)] * space.max_depth
    choices += [space.keep_ratio] * space.num_reductions
    return choices


def upper_bounds(space: SearchSpace) -> np.ndarray:
    """Largest valid index of each gene (lower bounds are all 0)."""
    return np.array([len(c) - 1 for c in _gene_choices(space)], dtype=np.int64)


def encode(space: SearchSpace, config: SubnetConfig) -> np.ndarray:
    """The genome of ``config`` (canonicalised first)."""
    config = canonical(space, config)
    values: list[object] = [config.depth, config.embed_dim, config.loops]
    for name in PER_LAYER:
        values += list(getattr(config, name))
    values += list(config.keep_ratio)
    return np.array([c.index(v) for c, v in zip(_gene_choices(space), values)], dtype=np.int64)


def decode(space: SearchSpace, genome: Sequence[int] | np.ndarray) -> SubnetConfig:
    """The canonical config of ``genome``; indices out of bounds raise."""
    genes = np.asarray(genome).astype(np.int64).tolist()
    choices = _gene_choices(space)
    if len(genes) != len(choices):
        raise SearchSpaceError(f"genome has {len(genes)} genes; valid: {len(choices)} for this space")
    for name, c, g in zip(gene_names(space), choices, genes):
        if not 0 <= g < len(c):
            raise SearchSpaceError(f"genome gene {name!r}: index {g} is out of range; valid: 0..{len(c) - 1}")
    values = [c[g] for c, g in zip(choices, genes)]
    d = space.max_depth
    per_layer = {name: tuple(values[3 + k * d : 3 + (k + 1) * d]) for k, name in enumerate(PER_LAYER)}
    config = SubnetConfig(
        depth=values[0],  # type: ignore[arg-type]
        embed_dim=values[1],  # type: ignore[arg-type]
        loops=values[2],  # type: ignore[arg-type]
        keep_ratio=tuple(values[3 + len(PER_LAYER) * d :]),  # type: ignore[arg-type]
        **per_layer,  # type: ignore[arg-type]
    )
    return canonical(space, config)
