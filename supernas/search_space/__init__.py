"""Search space, subnet configs, genome encoding and analytic costs."""

from supernas.search_space.config import (
    GENOME,
    Gene,
    GeneKind,
    GenomeSchema,
    SubnetConfig,
    canonical,
    count_architectures,
    largest,
    sample,
    smallest,
    validate,
)
from supernas.search_space.costs import Costs, costs, kept_tokens, token_counts
from supernas.search_space.genome import decode, encode, gene_names, upper_bounds
from supernas.search_space.presets import PRESETS, default_space, preset_space
from supernas.search_space.space import FLOAT_BITS, SearchSpace
from supernas.search_space.spec import InputSpec

__all__ = [
    "FLOAT_BITS",
    "GENOME",
    "PRESETS",
    "Costs",
    "Gene",
    "GeneKind",
    "GenomeSchema",
    "InputSpec",
    "SearchSpace",
    "SubnetConfig",
    "canonical",
    "costs",
    "count_architectures",
    "decode",
    "default_space",
    "encode",
    "gene_names",
    "kept_tokens",
    "largest",
    "preset_space",
    "sample",
    "smallest",
    "token_counts",
    "upper_bounds",
    "validate",
]
