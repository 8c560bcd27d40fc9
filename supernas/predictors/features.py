"""Float feature rows of subnets, for the objective predictors.

A row holds, for the *canonical* form of a subnet (so two genomes of the same
network get the same row):

* every gene index divided by its upper bound, in [0, 1] (0 for one-choice genes),
  in the order of the genome schema (one column per gene, named as by ``gene_names``);
* ``depth`` and ``unique_blocks`` as shares of ``max_depth``;
* one active indicator per layer (1 where ``layer < depth``);
* mean and min weight and activation bits of the active layers, as shares of 32;
* mean LoRA rank of the active layers, as a share of the largest rank;
* mean sequence length over the active layers, as a share of the input length;
* natural logs of the analytic params, MACs and model bytes.

Rows are computed once per distinct genome and cached.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from supernas.errors import SearchError
from supernas.search_space import (
    FLOAT_BITS,
    GENOME,
    GenomeSchema,
    InputSpec,
    SearchSpace,
    SubnetConfig,
    costs,
    decode,
    encode,
    gene_names,
    token_counts,
    upper_bounds,
)

COST_NAMES = ("params", "macs", "model_bytes")  # fields of Costs, in column order of FeatureEncoder.costs
SUMMARY_NAMES = (
    "depth_share",
    "unique_blocks_share",
    "weight_bits_mean",
    "weight_bits_min",
    "act_bits_mean",
    "act_bits_min",
    "lora_rank_mean",
    "tokens_mean",
)
DEFAULT_CACHE_SIZE = 50_000

Genomes = np.ndarray | Sequence[SubnetConfig] | Sequence[Sequence[int]]


class FeatureEncoder:
    """Turns subnet genomes (or configs) of ``space`` into float feature rows.

    ``cache_size`` bounds the per-genome cache: it is emptied before a call
    that would overfill it. Genomes follow ``schema`` (the genome schema).
    """

    def __init__(
        self,
        space: SearchSpace,
        spec: InputSpec,
        cache_size: int = DEFAULT_CACHE_SIZE,
        schema: GenomeSchema = GENOME,
    ) -> None:
        space.check_input(spec)
        self.space = space
        self.spec = spec
        self.schema = schema
        self._upper = upper_bounds(space, schema)
        self._scale = 1.0 / np.maximum(self._upper, 1)
        # per schema entry: the gene and its map from choice value to index (the genome's encoding)
        self._value_index = [(gene, {v: i for i, v in enumerate(gene.choices(space))}) for gene in schema.genes]
        self._input_tokens = spec.num_patches(space.patch_size) + 1
        self._cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}  # genome bytes -> (features, costs)
        self._cache_size = cache_size
        active = [f"active[{i}]" for i in range(space.max_depth)]
        logs = [f"log_{n}" for n in COST_NAMES]
        self.feature_names = tuple(gene_names(space, schema) + active + list(SUMMARY_NAMES) + logs)  # one per column

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_genes(self) -> int:
        return len(self._upper)

    def genomes(self, data: Genomes) -> np.ndarray:
        """``data`` as a 2-D int64 genome array, checked against the gene bounds.

        Accepts configs, one genome (1-D) or a population (2-D); float arrays
        must hold whole numbers (as pymoo may hand them over).
        """
        if not isinstance(data, np.ndarray):
            items = list(data)
            configs = [c for c in items if isinstance(c, SubnetConfig)]
            if len(configs) == len(items):
                encoded = [encode(self.space, c, self.schema) for c in configs]
                return np.array(encoded, dtype=np.int64).reshape(-1, self.n_genes)
            data = np.asarray(items)
        arr = np.atleast_2d(data)
        if arr.ndim != 2 or arr.shape[1] != self.n_genes:
            raise SearchError(f"genome array of shape {data.shape}; expected (n, {self.n_genes}) for this space")
        integral = np.issubdtype(arr.dtype, np.integer) or (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))
        if not integral:
            raise SearchError("genome array holds non-integer values; genes are choice indices")
        genomes = arr.astype(np.int64)
        bad = np.argwhere((genomes < 0) | (genomes > self._upper))
        if len(bad):
            row, col = bad[0]
            raise SearchError(
                f"genome row {row}, gene {gene_names(self.space, self.schema)[col]!r}: index {genomes[row, col]} "
                f"is out of range; valid: 0..{self._upper[col]}"
            )
        return genomes

    def transform(self, data: Genomes) -> np.ndarray:
        """Feature matrix (n, n_features) of ``data`` (see :meth:`genomes`)."""
        return self._rows(self.genomes(data))[0]

    def costs(self, data: Genomes) -> np.ndarray:
        """Exact analytic costs (n, 3) as int64, columns in :data:`COST_NAMES` order."""
        return self._rows(self.genomes(data))[1]

    def _rows(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features (n, n_features) and exact costs (n, 3) of genome rows, through the cache."""
        keys = [row.tobytes() for row in genomes]
        missing = {k: g for k, g in zip(keys, genomes) if k not in self._cache}
        if len(self._cache) + len(missing) > self._cache_size:
            self._cache.clear()
            missing = dict(zip(keys, genomes))
        for key, genome in missing.items():
            self._cache[key] = self._row(decode(self.space, genome, self.schema))
        features = np.array([self._cache[k][0] for k in keys], dtype=np.float64).reshape(-1, self.n_features)
        exact = np.array([self._cache[k][1] for k in keys], dtype=np.int64).reshape(-1, len(COST_NAMES))
        return features, exact

    def _row(self, config: SubnetConfig) -> tuple[np.ndarray, np.ndarray]:
        depth = config.depth
        exact = costs(self.space, config, self.spec)
        cost_values = [exact.params, exact.macs, exact.model_bytes]
        summary = [
            depth / self.space.max_depth,
            config.unique_blocks / self.space.max_depth,
            *_mean_min(config.weight_bits[:depth], FLOAT_BITS),
            *_mean_min(config.act_bits[:depth], FLOAT_BITS),
            _mean(config.lora_rank[:depth]) / max(max(self.space.lora_rank), 1),
            _mean(token_counts(self.space, config, self.spec)) / self._input_tokens,
        ]
        active = [float(i < depth) for i in range(self.space.max_depth)]
        genes = [index[value] for gene, index in self._value_index for value in gene.values_of(config)]
        scaled = (np.array(genes) * self._scale).tolist()
        logs = [math.log(v) for v in cost_values]
        return np.array(scaled + active + summary + logs, dtype=np.float64), np.array(cost_values, dtype=np.int64)


def _mean(values: Sequence[int]) -> float:
    return sum(values) / len(values)


def _mean_min(values: Sequence[int], scale: float) -> tuple[float, float]:
    return _mean(values) / scale, min(values) / scale
