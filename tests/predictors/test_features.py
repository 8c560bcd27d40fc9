from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pytest

from supernas.errors import SearchError
from supernas.predictors import FeatureEncoder
from supernas.search_space import (
    InputSpec,
    SearchSpace,
    costs,
    encode,
    gene_names,
    largest,
    smallest,
    upper_bounds,
)

if TYPE_CHECKING:
    from conftest import Synthetic


def test_rows_have_named_columns_and_genes_scaled_to_unit_range(encoder: FeatureEncoder, data: Synthetic) -> None:
    n_genes = len(gene_names(encoder.space))
    assert data.features.shape == (len(data.configs), encoder.n_features)
    assert len(encoder.feature_names) == encoder.n_features == n_genes + 6 + 8 + 3
    genes = data.features[:, :n_genes]
    assert genes.min() == 0.0 and genes.max() == 1.0
    np.testing.assert_array_equal(genes, data.genomes / upper_bounds(encoder.space))
    shares = data.features[:, n_genes : encoder.n_features - 3]
    assert np.all((shares >= 0.0) & (shares <= 1.0))


def test_derived_columns_follow_the_config(encoder: FeatureEncoder, space: SearchSpace, spec: InputSpec) -> None:
    names = encoder.feature_names
    big, small = encoder.transform([largest(space), smallest(space)])
    col = {n: names.index(n) for n in names}
    assert big[col["depth_share"]] == 1.0 and small[col["depth_share"]] == 2 / 6
    assert small[col["unique_blocks_share"]] == 1 / 6  # depth 2 over 3 loops: one block
    assert big[col["weight_bits_min"]] == 1.0 and small[col["weight_bits_mean"]] == 4 / 32
    assert small[col["act_bits_min"]] == 8 / 32 and big[col["tokens_mean"]] == 1.0
    assert list(small[col["active[0]"] : col["active[5]"] + 1]) == [1, 1, 0, 0, 0, 0]
    for row, config in ((big, largest(space)), (small, smallest(space))):
        exact = costs(space, config, spec)
        assert row[col["log_macs"]] == pytest.approx(math.log(exact.macs), rel=1e-12)
        assert row[col["log_model_bytes"]] == pytest.approx(math.log(exact.model_bytes), rel=1e-12)


def test_genomes_of_one_network_share_a_row(encoder: FeatureEncoder, space: SearchSpace) -> None:
    config = smallest(space)  # depth 2: genes of layers 2..5 are inactive
    genome = encode(space, config)
    noisy = genome.copy()
    noisy[gene_names(space).index("weight_bits[4]")] = 2
    assert genome[gene_names(space).index("loops")] == 1  # canonical: 2 loops, the fewest giving one block
    noisy[gene_names(space).index("loops")] = 2  # 3 loops over depth 2: the same single block
    rows = encoder.transform(np.stack([genome, noisy]))
    np.testing.assert_array_equal(rows[0], rows[1])
    np.testing.assert_array_equal(rows[0], encoder.transform([replace(config, loops=3)])[0])


def test_float_and_one_dimensional_genomes_are_accepted(encoder: FeatureEncoder, data: Synthetic) -> None:
    np.testing.assert_array_equal(encoder.transform(data.genomes[:5].astype(float)), data.features[:5])
    np.testing.assert_array_equal(encoder.transform(data.genomes[0]), data.features[:1])
    assert encoder.transform(np.empty((0, encoder.n_genes), dtype=np.int64)).shape == (0, encoder.n_features)


def test_bad_genomes_are_rejected_by_name(encoder: FeatureEncoder, data: Synthetic) -> None:
    bad = data.genomes[:3].copy()
    bad[2, gene_names(encoder.space).index("heads[1]")] = 3
    with pytest.raises(SearchError, match=r"row 2, gene 'heads\[1\]': index 3 is out of range; valid: 0..2"):
        encoder.transform(bad)
    with pytest.raises(SearchError, match="non-integer"):
        encoder.transform(data.genomes[:2] + 0.5)
    with pytest.raises(SearchError, match=r"expected \(n, 35\)"):
        encoder.transform(data.genomes[:, :-1])


def test_encoding_a_fresh_population_is_fast(space: SearchSpace, spec: InputSpec) -> None:
    rng = np.random.default_rng(0)
    genomes = rng.integers(0, upper_bounds(space) + 1, size=(2000, len(upper_bounds(space))))
    encoder = FeatureEncoder(space, spec)
    start = time.perf_counter()
    encoder.transform(genomes)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    encoder.transform(genomes)
    warm = time.perf_counter() - start
    assert cold < 1.0  # ≥ 2k rows/s even on a loaded machine; about 11k rows/s unloaded
    assert warm < cold / 5


def test_the_cache_stays_bounded(space: SearchSpace, spec: InputSpec, data: Synthetic) -> None:
    encoder = FeatureEncoder(space, spec, cache_size=40)
    for start in range(0, 200, 25):
        rows = slice(start, start + 25)
        np.testing.assert_array_equal(encoder.transform(data.genomes[rows]), data.features[rows])
        assert len(encoder._cache) <= 40
