"""Normalisation statistics: per-channel mean and standard deviation of a seeded training sample."""

from __future__ import annotations

import numpy as np

from supernas.data.streaming import Examples, Normalisation
from supernas.errors import DataError
from supernas.search_space.spec import InputKind

STATS_SAMPLE = 2048  # training examples read for the statistics (all of them when there are fewer)
STATS_SEED = 0  # the sample is fixed: every load of a task standardises with the same numbers
STD_FLOOR = 1e-6  # added to every standard deviation, so constant channels divide by a non-zero number


def statistics_sample(rows: np.ndarray, size: int = STATS_SAMPLE, seed: int = STATS_SEED) -> np.ndarray:
    """The training rows the statistics are computed on: all, or a seeded sample of ``size`` (sorted)."""
    if len(rows) <= size:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=size, replace=False))


def channel_statistics(name: str, examples: Examples, rows: np.ndarray, kind: InputKind) -> Normalisation:
    """Mean and standard deviation per channel over ``rows`` (a sample of them when large), in float64.

    Each example is shifted by the first example's channel means before summing, so the variance of
    large values with a small spread keeps its digits. Non-finite statistics are a one-line DataError.
    """
    with np.errstate(all="ignore"):  # non-finite data are reported below
        mean, std = _moments(examples, statistics_sample(rows), kind)
    if not (np.isfinite(mean).all() and np.isfinite(std).all()):
        raise DataError(
            f"{name}: the normalisation statistics of the training split are not finite "
            f"(mean {_short(mean)}, std {_short(std)}); valid: finite input values"
        )
    return Normalisation(kind, tuple(float(m) for m in mean), tuple(float(s) + STD_FLOOR for s in std))


def _moments(examples: Examples, rows: np.ndarray, kind: InputKind) -> tuple[np.ndarray, np.ndarray]:
    shift: np.ndarray | None = None
    count = 0
    total: np.ndarray = np.zeros(0)
    total_sq: np.ndarray = np.zeros(0)
    for row in rows:
        raw = examples.read(int(row)).astype(np.float64)
        values = raw.reshape(raw.shape[0], -1) if kind == "image" else raw.T  # (C, values per channel)
        if shift is None:
            shift = values.mean(axis=1)
            total, total_sq = np.zeros_like(shift), np.zeros_like(shift)
        centred = values - shift[:, None]
        total += centred.sum(axis=1)
        total_sq += (centred * centred).sum(axis=1)
        count += values.shape[1]
    assert shift is not None, "every split holds at least one example"
    mean_centred = total / count
    return shift + mean_centred, np.sqrt(np.maximum(total_sq / count - mean_centred**2, 0.0))


def _short(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values[:4]) + (", …]" if len(values) > 4 else "]")
