from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from supernas.errors import SearchSpaceError
from supernas.predictors import FeatureEncoder
from supernas.search_space import (
    GENOME,
    Gene,
    GeneKind,
    GenomeSchema,
    InputSpec,
    SearchSpace,
    SubnetConfig,
    canonical,
    decode,
    encode,
    gene_names,
    largest,
    sample,
    upper_bounds,
)


def test_genome_round_trip_over_random_configs(space: SearchSpace) -> None:
    rng = np.random.default_rng(0)
    bounds = upper_bounds(space)
    assert len(bounds) == len(gene_names(space))
    for _ in range(300):
        config = sample(space, rng)
        genome = encode(space, config)
        assert ((genome >= 0) & (genome <= bounds)).all()
        assert decode(space, genome) == config
        assert encode(space, decode(space, genome)).tolist() == genome.tolist()


def test_any_genome_decodes_to_a_canonical_config(space: SearchSpace) -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        genome = rng.integers(0, upper_bounds(space) + 1)
        config = decode(space, genome)
        assert canonical(space, config) == config


def test_out_of_range_genomes_are_rejected_by_gene(space: SearchSpace) -> None:
    with pytest.raises(SearchSpaceError, match=r"index 9 is out of range; valid: 0\.\.4"):
        decode(space, [9] + [0] * (len(upper_bounds(space)) - 1))
    with pytest.raises(SearchSpaceError, match=r"gene 'keep_ratio\[1\]': index -1 is out of range; valid: 0\.\.2"):
        decode(space, [0] * (len(upper_bounds(space)) - 1) + [-1])
    with pytest.raises(SearchSpaceError, match="genome has 3 genes; valid: 35 for this space"):
        decode(space, [0, 0, 0])


def test_gene_order_is_stable(space: SearchSpace) -> None:
    per_layer = ("heads", "mlp_ratio", "lora_rank", "weight_bits", "act_bits")
    expected = ["depth", "embed_dim", "loops"] + [f"{n}[{i}]" for n in per_layer for i in range(6)]
    assert gene_names(space) == [*expected, "keep_ratio[0]", "keep_ratio[1]"]
    assert upper_bounds(space).tolist() == [4, 2, 2] + [2] * 24 + [1] * 6 + [2, 2]
    config = SubnetConfig(
        depth=6,
        embed_dim=48,
        loops=2,  # 3 shared blocks: heads and mlp_ratio of layers 3..5 are inactive
        heads=(4, 3, 2, 4, 4, 4),
        mlp_ratio=(3.0, 4.0, 2.0, 4.0, 4.0, 4.0),
        lora_rank=(8, 4, 0, 8, 4, 0),
        weight_bits=(32, 8, 4, 32, 8, 4),
        act_bits=(32, 8, 32, 8, 32, 8),
        keep_ratio=(0.75, 0.5),
    )
    genome = [4, 1, 1, 2, 1, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]
    assert encode(space, config).tolist() == genome
    assert largest(space).arch_id == "8d90eb2804426489"  # ids of the genome before the schema existed


@dataclass(frozen=True)
class DropoutSpace(SearchSpace):
    dropout_pct: tuple[int, ...] = (0, 10, 20, 30)  # throw-away per-layer choices


@dataclass(frozen=True)
class DropoutConfig(SubnetConfig):
    dropout_pct: tuple[int, ...] = ()  # throw-away per-layer values


def test_a_new_gene_is_one_schema_entry(digits_spec: InputSpec) -> None:
    dropout = Gene("dropout", "dropout_pct", "dropout_pct", GeneKind.PER_LAYER)
    schema = GenomeSchema((*GENOME.genes, dropout), DropoutConfig)  # the one new entry
    space = DropoutSpace()
    base = sample(space, np.random.default_rng(4))
    config = DropoutConfig(**vars(base), dropout_pct=(30, 0, 10, 20, 10, 0))

    names = gene_names(space, schema)
    assert names == gene_names(space) + [f"dropout[{i}]" for i in range(6)]
    assert upper_bounds(space, schema).tolist() == upper_bounds(space).tolist() + [3] * 6
    genome = encode(space, config, schema)
    assert genome.tolist() == [*encode(space, base).tolist(), 3, 0, 1, 2, 1, 0]
    decoded = decode(space, genome, schema)
    assert isinstance(decoded, DropoutConfig) and decoded == config
    other = genome.copy()
    other[names.index("dropout[0]")] = 0
    assert decode(space, other, schema).arch_id != decoded.arch_id
    with pytest.raises(SearchSpaceError, match=r"'dropout_pct\[2\]': 15 is not in the space; valid: 0, 10, 20, 30"):
        encode(space, replace(config, dropout_pct=(0, 0, 15, 0, 0, 0)), schema)

    encoder = FeatureEncoder(space, digits_spec, schema=schema)
    plain = FeatureEncoder(space, digits_spec)
    assert encoder.n_features == plain.n_features + 6
    assert encoder.feature_names[: len(names)] == tuple(names)
    row = encoder.transform([config])[0]
    assert row[names.index("dropout[0]")] == 1.0 and row[names.index("dropout[2]")] == 1 / 3
    np.testing.assert_array_equal(np.delete(row, range(len(names) - 6, len(names))), plain.transform([base])[0])
