"""Objective predictors for predictor-guided (LINAS-style) search.

Typical use: encode measured subnets with :class:`FeatureEncoder`, pick and fit
a model per objective with :func:`fit_best` (or :class:`ObjectivePredictors`,
which does both and computes analytic costs exactly), then predict populations.
"""

from supernas.predictors.analytic import AnalyticPredictor
from supernas.predictors.base import Prediction, Predictor
from supernas.predictors.features import COST_NAMES, FeatureEncoder
from supernas.predictors.models import (
    DEFAULT_KINDS,
    PREDICTORS,
    BoostedTreesPredictor,
    GaussianProcessPredictor,
    MLPEnsemblePredictor,
    RidgePredictor,
    make_predictor,
)
from supernas.predictors.select import CVScore, FitResult, ObjectivePredictors, fit_best, kendall_tau, mape

__all__ = [
    "COST_NAMES",
    "DEFAULT_KINDS",
    "PREDICTORS",
    "AnalyticPredictor",
    "BoostedTreesPredictor",
    "CVScore",
    "FeatureEncoder",
    "FitResult",
    "GaussianProcessPredictor",
    "MLPEnsemblePredictor",
    "ObjectivePredictors",
    "Prediction",
    "Predictor",
    "RidgePredictor",
    "fit_best",
    "kendall_tau",
    "make_predictor",
    "mape",
]
