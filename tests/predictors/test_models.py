from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from supernas.errors import SearchError
from supernas.predictors import DEFAULT_KINDS, PREDICTORS, kendall_tau, make_predictor

if TYPE_CHECKING:
    from conftest import Synthetic

N_TRAIN = 150


@pytest.fixture(scope="module")
def fitted(data: Synthetic) -> dict[str, object]:
    """Every kind fitted with seed 0 on the first N_TRAIN rows of log-MACs."""
    return {k: make_predictor(k, 0).fit(data.features[:N_TRAIN], data.log_macs[:N_TRAIN]) for k in DEFAULT_KINDS}


def test_the_registry_holds_four_named_kinds() -> None:
    assert DEFAULT_KINDS == ("ridge", "gp", "gbt", "mlp")
    assert all(make_predictor(k).name == k for k in PREDICTORS)


@pytest.mark.parametrize("kind", DEFAULT_KINDS)
def test_each_kind_ranks_held_out_log_macs(kind: str, fitted: dict, data: Synthetic) -> None:
    predicted = fitted[kind].predict(data.features[N_TRAIN:])
    assert predicted.shape == (len(data.configs) - N_TRAIN,) and predicted.dtype == np.float64
    assert kendall_tau(data.log_macs[N_TRAIN:], predicted) > 0.9  # measured 0.95-0.98
    assert np.median(np.abs(predicted - data.log_macs[N_TRAIN:])) < 0.1  # log-MACs span about 12..16


@pytest.mark.parametrize("kind", DEFAULT_KINDS)
def test_each_kind_ranks_a_smooth_nonlinear_objective(kind: str, data: Synthetic) -> None:
    predictor = make_predictor(kind, 0).fit(data.features[:N_TRAIN], data.smooth[:N_TRAIN])
    assert kendall_tau(data.smooth[N_TRAIN:], predictor.predict(data.features[N_TRAIN:])) > 0.75  # measured 0.86-0.88


@pytest.mark.parametrize("kind", ["gp", "mlp"])
def test_gp_and_mlp_ensemble_give_finite_non_negative_std(kind: str, fitted: dict, data: Synthetic) -> None:
    mean, std = fitted[kind].predict_with_std(data.features[N_TRAIN:])
    assert std is not None and std.shape == mean.shape
    assert np.all(np.isfinite(std)) and std.min() >= 0.0 and std.max() > 0.0
    np.testing.assert_array_equal(mean, fitted[kind].predict(data.features[N_TRAIN:]))


@pytest.mark.parametrize("kind", ["ridge", "gbt"])
def test_point_models_give_no_std(kind: str, fitted: dict, data: Synthetic) -> None:
    assert fitted[kind].predict_with_std(data.features[:3])[1] is None


def test_gp_std_grows_away_from_the_training_rows(fitted: dict, data: Synthetic) -> None:
    _, near = fitted["gp"].predict_with_std(data.features[:N_TRAIN])
    _, far = fitted["gp"].predict_with_std(data.features[N_TRAIN:] + 3.0)
    assert far.mean() > 2 * near.mean()


@pytest.mark.parametrize("kind", DEFAULT_KINDS)
def test_the_same_seed_gives_identical_predictions(kind: str, fitted: dict, data: Synthetic) -> None:
    X, y = data.features[:N_TRAIN].copy(), data.log_macs[:N_TRAIN].copy()
    again = make_predictor(kind, 0).fit(X, y)
    np.testing.assert_array_equal(X, data.features[:N_TRAIN])  # inputs are left unchanged
    np.testing.assert_array_equal(y, data.log_macs[:N_TRAIN])
    for a, b in zip(fitted[kind].predict_with_std(data.features), again.predict_with_std(data.features)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["gbt", "mlp"])
def test_the_seed_drives_randomised_models(kind: str, fitted: dict, data: Synthetic) -> None:
    other = make_predictor(kind, 1).fit(data.features[:N_TRAIN], data.log_macs[:N_TRAIN])
    assert not np.array_equal(fitted[kind].predict(data.features), other.predict(data.features))


def test_unknown_kind_lists_the_valid_kinds() -> None:
    with pytest.raises(SearchError, match="unknown predictor kind 'xgb'; valid: ridge, gp, gbt, mlp"):
        make_predictor("xgb")
