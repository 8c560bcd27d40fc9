"""Synthetic objective data on real genomes of the default space, built once per session."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from supernas.predictors import FeatureEncoder
from supernas.search_space import InputSpec, SearchSpace, SubnetConfig, costs, gene_names, sample, upper_bounds

N_TRAIN = 150  # rows the models are fitted on
N_ROWS = 250  # rows in all; the rest are held out


@dataclass(frozen=True)
class Synthetic:
    """Sampled subnets, their features and two synthetic objectives."""

    configs: list[SubnetConfig]  # canonical configs sampled uniformly
    genomes: np.ndarray  # their genomes (N_ROWS, genes)
    features: np.ndarray  # FeatureEncoder rows (N_ROWS, features)
    log_macs: np.ndarray  # log of analytic MACs plus small noise
    smooth: np.ndarray  # a smooth nonlinear "accuracy" of the genes plus small noise


@pytest.fixture(scope="session")
def space() -> SearchSpace:
    return SearchSpace()


@pytest.fixture(scope="session")
def spec() -> InputSpec:
    return InputSpec("image", (1, 8, 8), 10)


@pytest.fixture(scope="session")
def encoder(space: SearchSpace, spec: InputSpec) -> FeatureEncoder:
    return FeatureEncoder(space, spec)


@pytest.fixture(scope="session")
def data(space: SearchSpace, spec: InputSpec, encoder: FeatureEncoder) -> Synthetic:
    rng = np.random.default_rng(1234)
    configs = [sample(space, rng) for _ in range(N_ROWS)]
    genomes = encoder.genomes(configs)
    macs = np.array([costs(space, c, spec).macs for c in configs], dtype=np.float64)
    return Synthetic(
        configs=configs,
        genomes=genomes,
        features=encoder.transform(genomes),
        log_macs=np.log(macs) + rng.normal(0.0, 0.02, N_ROWS),
        smooth=smooth_accuracy(space, genomes) + rng.normal(0.0, 0.002, N_ROWS),
    )


def smooth_accuracy(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """A saturating function of depth, width, weight bits and the first keep ratio, with an interaction."""
    g = genomes / np.maximum(upper_bounds(space), 1)
    names = gene_names(space)
    col = {n: g[:, names.index(n)] for n in ("depth", "embed_dim", "keep_ratio[0]")}
    bits = g[:, [i for i, n in enumerate(names) if n.startswith("weight_bits")]].mean(axis=1)
    z = 1.2 * col["depth"] + col["embed_dim"] + 0.8 * col["depth"] * col["embed_dim"]
    z += 0.5 * np.sin(3.0 * col["keep_ratio[0]"]) + 0.6 * bits
    return 1.0 / (1.0 + np.exp(-z))
