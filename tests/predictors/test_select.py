from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.metrics import mean_absolute_percentage_error
from sklearn.model_selection import KFold

from supernas.errors import SearchError
from supernas.predictors import (
    COST_NAMES,
    DEFAULT_KINDS,
    PREDICTORS,
    ObjectivePredictors,
    Prediction,
    RidgePredictor,
    fit_best,
    kendall_tau,
    make_predictor,
    mape,
)
from supernas.search_space import InputSpec, SearchSpace, costs

if TYPE_CHECKING:
    from conftest import Synthetic

N = 60  # rows for selection tests: small keeps them fast


@pytest.fixture(scope="module")
def result(data: Synthetic):
    return fit_best(data.features[:N], data.smooth[:N], seed=3)


def test_fit_best_scores_match_a_manual_cross_validation(result, data: Synthetic) -> None:
    X, y = data.features[:N], data.smooth[:N]
    assert set(result.scores_by_kind) == set(DEFAULT_KINDS) and result.n_folds == 5 and result.n_train == N
    for kind, score in result.scores_by_kind.items():
        predicted = np.empty(N)
        for train, test in KFold(5, shuffle=True, random_state=3).split(X):
            predicted[test] = make_predictor(kind, 3).fit(X[train], y[train]).predict(X[test])
        assert score.kendall_tau == pytest.approx(kendalltau(y, predicted).statistic, abs=1e-12)
        assert score.mape == pytest.approx(mean_absolute_percentage_error(y, predicted), rel=1e-12)
        assert score.seconds > 0.0


def test_fit_best_picks_the_highest_tau_and_refits_on_all_rows(result, data: Synthetic) -> None:
    best = max(result.scores_by_kind.values(), key=lambda s: s.kendall_tau)
    assert result.kendall_tau == best.kendall_tau > 0.6
    assert result.scores_by_kind[result.kind] == best and result.mape == best.mape
    refit = make_predictor(result.kind, 3).fit(data.features[:N], data.smooth[:N])
    np.testing.assert_array_equal(result.predictor.predict(data.features), refit.predict(data.features))


def test_fit_best_is_deterministic(result, data: Synthetic) -> None:
    again = fit_best(data.features[:N], data.smooth[:N], seed=3)
    assert again.kind == result.kind
    assert {k: (s.kendall_tau, s.mape) for k, s in again.scores_by_kind.items()} == {
        k: (s.kendall_tau, s.mape) for k, s in result.scores_by_kind.items()
    }
    np.testing.assert_array_equal(again.predictor.predict(data.features), result.predictor.predict(data.features))


def test_result_is_plain_data_without_the_predictor(result) -> None:
    plain = json.loads(json.dumps(result.to_dict()))
    assert plain["kind"] == result.kind and plain["n_train"] == N
    assert set(plain["scores_by_kind"]) == set(DEFAULT_KINDS) and "predictor" not in plain


class _Shifted(RidgePredictor):
    """Ridge plus a constant: the same ranking (τ), a worse MAPE."""

    name = "shifted"

    def _predict(self, X: np.ndarray) -> Prediction:
        mean, _ = super()._predict(X)
        return mean + 0.1, None


def test_a_tau_tie_goes_to_the_lower_mape(data: Synthetic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PREDICTORS, "shifted", _Shifted)
    fit = fit_best(data.features[:N], data.smooth[:N], kinds=("shifted", "ridge"))
    shifted, ridge = fit.scores_by_kind["shifted"], fit.scores_by_kind["ridge"]
    assert shifted.kendall_tau == ridge.kendall_tau and shifted.mape > ridge.mape
    assert fit.kind == "ridge"


def test_four_rows_use_four_folds(data: Synthetic) -> None:
    fit = fit_best(data.features[:4], data.log_macs[:4], kinds=("ridge", "gbt"))
    assert fit.n_folds == 4 and fit.n_train == 4
    assert -1.0 <= fit.kendall_tau <= 1.0 and np.isfinite(fit.mape)


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        (3, {}, "3 training rows; at least 4"),
        (10, {"cv": 1}, "cv 1 is not valid"),
        (10, {"kinds": ()}, "at least one predictor kind"),
        (10, {"kinds": ("ridge", "forest")}, "unknown predictor kind 'forest'; valid: ridge, gp, gbt, mlp"),
    ],
)
def test_fit_best_rejects_bad_input(data: Synthetic, rows: int, kwargs: dict, message: str) -> None:
    with pytest.raises(SearchError, match=message):
        fit_best(data.features[:rows], data.smooth[:rows], **kwargs)


def test_metrics_stay_finite_on_zero_and_constant_targets() -> None:
    y = np.array([0.0, 1.0, 2.0, 3.0])
    assert mape(y, y + 0.5) == pytest.approx((0.5 / 1.5e-3 + 0.5 + 0.25 + 0.5 / 3) / 4)
    assert kendall_tau(np.ones(4), y) == 0.0 and kendall_tau(y, y) == 1.0


def test_objective_predictors_learn_targets_and_compute_costs_exactly(
    data: Synthetic, space: SearchSpace, spec: InputSpec
) -> None:
    predictors = ObjectivePredictors(space, spec, kinds=("ridge", "gp"), cv=3)
    wrong_macs = np.zeros(N)  # targets of exact objectives are not used
    results = predictors.fit(data.genomes[:N], {"accuracy": data.smooth[:N], "macs": wrong_macs})
    assert list(results) == ["accuracy"] and results["accuracy"].n_folds == 3
    assert predictors.objectives == ["accuracy", *COST_NAMES]
    out = predictors.predict(data.configs[N:])
    assert list(out) == predictors.objectives
    mean, std = out["accuracy"]
    assert kendall_tau(data.smooth[N:], mean) > 0.7
    assert std is None or std.shape == mean.shape
    for name in COST_NAMES:
        assert out[name][0].tolist() == [getattr(costs(space, c, spec), name) for c in data.configs[N:]]


def test_objective_predictors_can_learn_costs_too(data: Synthetic, space: SearchSpace, spec: InputSpec) -> None:
    predictors = ObjectivePredictors(space, spec, kinds=("ridge",), exact=())
    predictors.fit(data.genomes[:N], {"log_macs": data.log_macs[:N]})
    assert predictors.objectives == ["log_macs"]
    assert kendall_tau(data.log_macs[N:], predictors.predict(data.genomes[N:])["log_macs"][0]) > 0.9
