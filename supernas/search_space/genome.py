"""Integer genome encoding of subnet configs, for pymoo and the predictors.

The gene order is the genome schema :data:`~supernas.search_space.config.GENOME`:
its entries in order, each spanning one gene (global), ``max_depth`` genes (per
layer) or one gene per reduction point. Each gene is the index of the choice in
the space's sorted choice tuple, so the bounds are ``0 .. len(choices) - 1``.
Every function takes the schema as ``schema``, :data:`GENOME` unless given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from supernas.errors import SearchSpaceError
from supernas.search_space.config import GENOME, GenomeSchema, SubnetConfig, canonical
from supernas.search_space.space import SearchSpace


def gene_names(space: SearchSpace, schema: GenomeSchema = GENOME) -> list[str]:
    """One readable name per gene, e.g. ``heads[3]``."""
    return [label for gene in schema.genes for label in gene.labels(space)]


def upper_bounds(space: SearchSpace, schema: GenomeSchema = GENOME) -> np.ndarray:
    """Largest valid index of each gene (lower bounds are all 0)."""
    bounds = [len(gene.choices(space)) - 1 for gene in schema.genes for _ in range(gene.count(space))]
    return np.array(bounds, dtype=np.int64)


def encode(space: SearchSpace, config: SubnetConfig, schema: GenomeSchema = GENOME) -> np.ndarray:
    """The genome of ``config`` (canonicalised first)."""
    config = canonical(space, config, schema)
    indices: list[int] = []
    for gene in schema.genes:
        choices = gene.choices(space)
        indices += [choices.index(value) for value in gene.values_of(config)]
    return np.array(indices, dtype=np.int64)


def decode(space: SearchSpace, genome: Sequence[int] | np.ndarray, schema: GenomeSchema = GENOME) -> SubnetConfig:
    """The canonical config of ``genome`` (a ``schema.config_type``); indices out of bounds raise."""
    genes = np.asarray(genome).astype(np.int64).tolist()
    expected = sum(gene.count(space) for gene in schema.genes)
    if len(genes) != expected:
        raise SearchSpaceError(f"genome has {len(genes)} genes; valid: {expected} for this space")
    values: dict[str, Any] = {}
    start = 0
    for gene in schema.genes:
        choices = gene.choices(space)
        indices = genes[start : start + gene.count(space)]
        bad = [k for k, index in enumerate(indices) if not 0 <= index < len(choices)]
        if bad:
            label = gene.labels(space)[bad[0]]
            raise SearchSpaceError(
                f"genome gene {label!r}: index {indices[bad[0]]} is out of range; valid: 0..{len(choices) - 1}"
            )
        values[gene.config_field] = gene.field_value([choices[i] for i in indices])
        start += len(indices)
    return canonical(space, schema.config_type(**values), schema)
