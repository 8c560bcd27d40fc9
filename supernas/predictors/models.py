"""Learned predictors on scikit-learn models, and their registry.

Every model standardises its input columns; sizes are kept small so that a
5-fold selection over all kinds on a few hundred rows takes about a second.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from sklearn.linear_model import RidgeCV
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from supernas.errors import SearchError, choices_text
from supernas.predictors.base import Prediction, Predictor

RIDGE_ALPHAS = np.logspace(-4, 3, 15)  # RidgeCV's candidate regularisation strengths
MLP_MEMBERS = 5  # networks in the MLP ensemble


class RidgePredictor(Predictor):
    """Linear ridge regression on standardised features, alpha by efficient leave-one-out CV."""

    name = "ridge"

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self._model = make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS)).fit(X, y)

    def _predict(self, X: np.ndarray) -> Prediction:
        return self._model.predict(X), None


class GaussianProcessPredictor(Predictor):
    """Gaussian process: constant × isotropic Matern-5/2 plus white noise, normalised target."""

    name = "gp"

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
            length_scale=np.sqrt(X.shape[1]), length_scale_bounds=(1e-1, 1e3), nu=2.5
        ) + WhiteKernel(1e-2, (1e-6, 1.0))
        self._scaler = StandardScaler().fit(X)
        self._model = GaussianProcessRegressor(kernel, normalize_y=True, random_state=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self._model.fit(self._scaler.transform(X), y)

    def _predict(self, X: np.ndarray) -> Prediction:
        return self._model.predict(self._scaler.transform(X), return_std=True)


class BoostedTreesPredictor(Predictor):
    """Small gradient-boosted trees (single-threaded), rows subsampled per tree."""

    name = "gbt"

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self._model = GradientBoostingRegressor(
            n_estimators=60, learning_rate=0.15, max_depth=3, min_samples_leaf=3, subsample=0.8, random_state=self.seed
        ).fit(X, y)

    def _predict(self, X: np.ndarray) -> Prediction:
        return self._model.predict(X), None


class MLPEnsemblePredictor(Predictor):
    """Ensemble of small MLPs with seeds spawned from ``seed``; std is the spread of members."""

    name = "mlp"

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        seeds = np.random.SeedSequence(self.seed).generate_state(MLP_MEMBERS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self._members = [_mlp(int(s)).fit(X, y) for s in seeds]

    def _predict(self, X: np.ndarray) -> Prediction:
        outputs = np.stack([m.predict(X) for m in self._members])
        return outputs.mean(axis=0), outputs.std(axis=0)


def _mlp(seed: int) -> TransformedTargetRegressor:
    network = MLPRegressor(hidden_layer_sizes=(32,), alpha=0.1, solver="lbfgs", max_iter=100, random_state=seed)
    regressor: Pipeline = make_pipeline(StandardScaler(), network)
    return TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())


PREDICTORS: dict[str, type[Predictor]] = {
    cls.name: cls for cls in (RidgePredictor, GaussianProcessPredictor, BoostedTreesPredictor, MLPEnsemblePredictor)
}
DEFAULT_KINDS = tuple(PREDICTORS)  # every registered kind, in registry order


def make_predictor(kind: str, seed: int = 0) -> Predictor:
    """An unfitted predictor of registry ``kind``."""
    if kind not in PREDICTORS:
        raise SearchError(f"unknown predictor kind {kind!r}; valid: {choices_text(PREDICTORS)}")
    return PREDICTORS[kind](seed)
