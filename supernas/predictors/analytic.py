"""Exact "predictors" of the analytic costs: params, MACs and model bytes."""

from __future__ import annotations

import numpy as np

from supernas.errors import SearchError, choices_text
from supernas.predictors.base import Prediction, Predictor
from supernas.predictors.features import COST_NAMES, FeatureEncoder


class AnalyticPredictor(Predictor):
    """One analytic cost of :func:`supernas.search_space.costs`, computed exactly.

    Unlike learned predictors its rows are *genomes* of ``encoder.space`` (not
    feature rows); it is ready without a fit (``fit`` only checks its input and
    ignores ``y``); ``std`` is all zeros, since the values are exact.
    """

    name = "analytic"

    def __init__(self, encoder: FeatureEncoder, objective: str) -> None:
        if objective not in COST_NAMES:
            raise SearchError(f"no analytic cost {objective!r}; valid: {choices_text(COST_NAMES)}")
        super().__init__(seed=0)
        self.encoder = encoder
        self.objective = objective
        self._column = COST_NAMES.index(objective)
        self._width = encoder.n_genes

    def __repr__(self) -> str:
        return f"AnalyticPredictor({self.objective!r})"

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.encoder.genomes(X)

    def _predict(self, X: np.ndarray) -> Prediction:
        values = self.encoder.costs(X)[:, self._column].astype(np.float64)
        return values, np.zeros_like(values)
