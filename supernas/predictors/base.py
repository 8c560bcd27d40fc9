"""The predictor protocol shared by every objective model."""

from __future__ import annotations

import abc
import copy
from typing import ClassVar, TypeVar

import numpy as np

from supernas.errors import SearchError

P = TypeVar("P", bound="Predictor")
Prediction = tuple[np.ndarray, np.ndarray | None]


class Predictor(abc.ABC):
    """A regression model from input rows to one objective.

    Contract, kept by every subclass:

    * ``Predictor(seed=...)`` builds an unfitted model and does no work. ``seed``
      (an int ≥ 0) fixes every random choice: two predictors of one class and
      seed, fitted on equal data, predict identical values. The global numpy and
      Python RNGs are neither read nor changed.
    * ``fit(X, y)`` takes ``X`` of shape (n, d) with finite numbers and ``y`` of
      shape (n,) with finite numbers, n ≥ 2; it replaces any earlier fit, leaves
      ``X`` and ``y`` unchanged and returns the predictor itself. A fit that
      raises leaves the predictor as it was before the call.
    * ``predict(X)`` takes ``X`` of shape (m, d), the d of the fit, and returns
      the m predicted means as float64.
    * ``predict_with_std(X)`` returns ``(mean, std)``: ``std`` is a float64 array
      of m finite values ≥ 0 in the units of ``y`` (a model's own uncertainty),
      or ``None`` where the model has none.
    * Predicting before a fit or with another width d raises :class:`SearchError`,
      as does invalid input to ``fit``.
    * ``name`` is the class's registry kind.

    Subclasses implement :meth:`_fit` and :meth:`_predict` on checked input.
    """

    name: ClassVar[str]

    def __init__(self, seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise SearchError(f"predictor seed {seed!r} is not valid; valid: an integer ≥ 0")
        self.seed = int(seed)
        self._width: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"

    def fit(self: P, X: np.ndarray, y: np.ndarray) -> P:
        """Fit on rows ``X`` and targets ``y``; returns ``self``."""
        X, y = check_xy(X, y)
        before = copy.deepcopy(self.__dict__)
        try:
            self._fit(X, y)
        except BaseException:
            self.__dict__ = before  # a refused or failed fit changes nothing
            raise
        self._width = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted means of the rows of ``X``."""
        return self.predict_with_std(X)[0]

    def predict_with_std(self, X: np.ndarray) -> Prediction:
        """Predicted means and standard deviations (``None`` when the model has none)."""
        X = self._check_x(X)
        mean, std = self._predict(X)
        mean = np.asarray(mean, dtype=np.float64).reshape(len(X))
        if std is None:
            return mean, None
        return mean, np.maximum(np.asarray(std, dtype=np.float64).reshape(len(X)), 0.0)

    @abc.abstractmethod
    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit on checked float64 ``X`` (n, d) and ``y`` (n,)."""

    @abc.abstractmethod
    def _predict(self, X: np.ndarray) -> Prediction:
        """Means and stds (or ``None``) of checked float64 ``X`` (m, d)."""

    def _check_x(self, X: np.ndarray) -> np.ndarray:
        if self._width is None:
            raise SearchError(f"predictor {self.name!r} is used before fit")
        X = as_matrix(X, "X")
        if X.shape[1] != self._width:
            raise SearchError(f"predictor {self.name!r}: X has {X.shape[1]} columns; it was fitted on {self._width}")
        return X


def as_matrix(X: np.ndarray, label: str) -> np.ndarray:
    """``X`` as a finite 2-D float64 array, or :class:`SearchError`."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise SearchError(f"{label} must be 2-D (rows, features); got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise SearchError(f"{label} holds NaN or infinite values")
    return X


def check_xy(X: np.ndarray, y: np.ndarray, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Checked float64 ``X`` (n, d) and ``y`` (n,) with n ≥ ``min_rows``."""
    X = as_matrix(X, "X")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) != len(X):
        raise SearchError(f"y must be 1-D with one target per row of X ({len(X)}); got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise SearchError("y holds NaN or infinite values")
    if len(y) < min_rows:
        raise SearchError(f"{len(y)} training rows; at least {min_rows} are needed")
    return X, y
