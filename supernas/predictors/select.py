"""Model selection by cross-validated ranking quality, and per-objective predictors."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import kendalltau
from sklearn.model_selection import KFold

from supernas.errors import SearchError
from supernas.predictors.analytic import AnalyticPredictor
from supernas.predictors.base import Prediction, Predictor, check_xy
from supernas.predictors.features import COST_NAMES, FeatureEncoder, Genomes
from supernas.predictors.models import DEFAULT_KINDS, make_predictor
from supernas.search_space import InputSpec, SearchSpace

MIN_ROWS = 4  # fewest rows fit_best accepts
MAPE_FLOOR = 1e-3  # |y| is floored at this share of mean |y| in MAPE


@dataclass(frozen=True)
class CVScore:
    """Cross-validated quality of one predictor kind."""

    kendall_tau: float  # Kendall τ-b of out-of-fold predictions vs targets; 0 where undefined
    mape: float  # mean absolute percentage error of out-of-fold predictions
    seconds: float  # wall time of the cross-validation fits


@dataclass(frozen=True)
class FitResult:
    """The chosen predictor of one objective and the evidence for the choice."""

    kind: str  # registry kind of the chosen predictor
    predictor: Predictor  # the chosen predictor, refitted on all rows
    kendall_tau: float  # its cross-validated Kendall τ
    mape: float  # its cross-validated MAPE
    n_train: int  # rows it was fitted on
    n_folds: int  # cross-validation folds used
    scores_by_kind: dict[str, CVScore]  # cross-validated scores of every kind tried

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready data of this result (the predictor itself left out)."""
        return {
            "kind": self.kind,
            "kendall_tau": self.kendall_tau,
            "mape": self.mape,
            "n_train": self.n_train,
            "n_folds": self.n_folds,
            "scores_by_kind": {
                k: {"kendall_tau": s.kendall_tau, "mape": s.mape, "seconds": s.seconds}
                for k, s in self.scores_by_kind.items()
            },
        }


def kendall_tau(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Kendall τ-b; 0.0 where undefined (constant targets or predictions)."""
    tau = kendalltau(y_true, y_pred).statistic
    return 0.0 if np.isnan(tau) else float(tau)


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error (a fraction), with |y| floored to stay finite near zero.

    The floor is ``MAPE_FLOOR`` × mean |y| (or machine epsilon if larger).
    """
    scale = np.abs(y_true)
    floor = max(MAPE_FLOOR * float(scale.mean()), float(np.finfo(np.float64).eps))
    return float(np.mean(np.abs(y_pred - y_true) / np.maximum(scale, floor)))


def fit_best(
    X: np.ndarray, y: np.ndarray, kinds: Sequence[str] = DEFAULT_KINDS, seed: int = 0, cv: int = 5
) -> FitResult:
    """Cross-validate each of ``kinds`` on (``X``, ``y``), refit the best on all rows.

    Folds are ``KFold(min(cv, n), shuffle=True, random_state=seed)``, the same
    for every kind; τ and MAPE are computed once over the pooled out-of-fold
    predictions. The best kind has the highest τ; ties go to the lower MAPE,
    then to the earlier kind in ``kinds``.
    """
    X, y = check_xy(X, y, min_rows=MIN_ROWS)
    if not kinds:
        raise SearchError("fit_best needs at least one predictor kind")
    for kind in kinds:
        make_predictor(kind, seed)
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise SearchError(f"cv {cv!r} is not valid; valid: an integer ≥ 2")
    folds = list(KFold(min(cv, len(y)), shuffle=True, random_state=seed).split(X))
    scores = {kind: _cross_validate(X, y, kind, seed, folds) for kind in kinds}
    best = min(kinds, key=lambda k: (-scores[k].kendall_tau, scores[k].mape))
    return FitResult(
        kind=best,
        predictor=make_predictor(best, seed).fit(X, y),
        kendall_tau=scores[best].kendall_tau,
        mape=scores[best].mape,
        n_train=len(y),
        n_folds=len(folds),
        scores_by_kind=scores,
    )


def _cross_validate(
    X: np.ndarray, y: np.ndarray, kind: str, seed: int, folds: list[tuple[np.ndarray, np.ndarray]]
) -> CVScore:
    start = time.perf_counter()
    predicted = np.empty_like(y)
    for train, test in folds:
        predicted[test] = make_predictor(kind, seed).fit(X[train], y[train]).predict(X[test])
    return CVScore(kendall_tau(y, predicted), mape(y, predicted), time.perf_counter() - start)


class ObjectivePredictors:
    """One predictor per objective, over genomes (or configs) of ``space``.

    Objectives named in ``exact`` (a subset of ``COST_NAMES``) are computed
    exactly by :class:`AnalyticPredictor`, need no targets and are always
    predicted; targets given for them are not used. Every other objective gets
    the predictor :func:`fit_best` picks.
    """

    def __init__(
        self,
        space: SearchSpace,
        spec: InputSpec,
        kinds: Sequence[str] = DEFAULT_KINDS,
        seed: int = 0,
        cv: int = 5,
        exact: Collection[str] = COST_NAMES,
    ) -> None:
        self.encoder = FeatureEncoder(space, spec)
        self.kinds = tuple(kinds)
        self.seed = seed
        self.cv = cv
        self._exact = {name: AnalyticPredictor(self.encoder, name) for name in exact}
        self._learned: dict[str, Predictor] = {}
        self.results: dict[str, FitResult] = {}  # fit result of each learned objective, from the last fit

    @property
    def objectives(self) -> list[str]:
        """Names :meth:`predict` returns: learned objectives, then exact ones."""
        return list(self._learned) + list(self._exact)

    def fit(self, genomes: Genomes, targets: Mapping[str, np.ndarray]) -> dict[str, FitResult]:
        """Fit every learned objective of ``targets`` (one value per genome); returns their results."""
        features = self.encoder.transform(genomes)
        learned = {name: y for name, y in targets.items() if name not in self._exact}
        results = {
            name: fit_best(features, y, kinds=self.kinds, seed=self.seed, cv=self.cv) for name, y in learned.items()
        }
        self.results = results
        self._learned = {name: r.predictor for name, r in results.items()}
        return results

    def predict(self, genomes: Genomes) -> dict[str, Prediction]:
        """``(mean, std)`` of every objective per genome; std is ``None`` where the model has none."""
        rows = self.encoder.genomes(genomes)
        features = self.encoder.transform(rows)
        out = {name: p.predict_with_std(features) for name, p in self._learned.items()}
        out.update({name: p.predict_with_std(rows) for name, p in self._exact.items()})
        return out
