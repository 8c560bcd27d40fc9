"""Normalisation statistics: float64, seeded sample, finite."""

from __future__ import annotations

import numpy as np
import pytest

from supernas.data.stats import STATS_SAMPLE, channel_statistics, statistics_sample
from supernas.data.streaming import ArrayExamples
from supernas.errors import DataError


def test_statistics_match_numpy_in_float64_for_images_and_sequences() -> None:
    rng = np.random.default_rng(0)
    images = (1e4 + rng.normal(0, 0.01, (50, 3, 4, 4))).astype(np.float32)  # a large offset, a tiny spread
    stats = channel_statistics("t", ArrayExamples(images), np.arange(50), "image")
    exact = images.astype(np.float64)
    assert np.allclose(stats.mean, exact.mean(axis=(0, 2, 3)), rtol=0, atol=1e-9)
    assert np.allclose(np.array(stats.std) - 1e-6, exact.std(axis=(0, 2, 3)), rtol=1e-6)
    seqs = rng.normal(5, 2, (40, 6, 2))
    stats = channel_statistics("t", ArrayExamples(seqs), np.arange(0, 40, 2), "sequence")
    assert np.allclose(stats.mean, seqs[::2].mean(axis=(0, 1)), atol=1e-6)  # only the given rows
    assert stats.kind == "sequence"


def test_large_splits_use_a_fixed_seeded_sample() -> None:
    rows = np.arange(10 * STATS_SAMPLE)
    sample = statistics_sample(rows)
    assert len(sample) == STATS_SAMPLE and np.array_equal(sample, statistics_sample(rows))
    assert np.all(np.diff(sample) > 0) and sample.max() > 5 * STATS_SAMPLE  # sorted, spread over the split
    assert np.array_equal(statistics_sample(rows[:10]), rows[:10])


def test_non_finite_statistics_are_a_one_line_error() -> None:
    data = np.ones((4, 1, 2, 2))
    data[2, 0, 1, 1] = np.inf
    with pytest.raises(DataError, match=r"^npz:x: the normalisation statistics of the training split are not finite"):
        channel_statistics("npz:x", ArrayExamples(data), np.arange(4), "image")
