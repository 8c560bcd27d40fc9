"""The ``Predictor`` contract: what the base class checks and converts, and what every registered kind keeps."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np
import pytest

from supernas.errors import SearchError
from supernas.predictors import PREDICTORS, Prediction, Predictor, make_predictor

if TYPE_CHECKING:
    from conftest import Synthetic

N_TRAIN = 150


@pytest.fixture(scope="module")
def fitted(data: Synthetic) -> dict[str, object]:
    """A ridge model fitted with seed 0 on the first N_TRAIN rows of log-MACs."""
    return {"ridge": make_predictor("ridge", 0).fit(data.features[:N_TRAIN], data.log_macs[:N_TRAIN])}


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_bad_seeds_are_rejected(seed: object) -> None:
    with pytest.raises(SearchError, match=r"seed .* is not valid"):
        make_predictor("ridge", seed)  # type: ignore[arg-type]


def test_misuse_is_reported(fitted: dict, data: Synthetic) -> None:
    with pytest.raises(SearchError, match="'ridge' is used before fit"):
        make_predictor("ridge").predict(data.features)
    with pytest.raises(SearchError, match="X has 3 columns; it was fitted on 52"):
        fitted["ridge"].predict(data.features[:, :3])
    with pytest.raises(SearchError, match="one target per row"):
        make_predictor("ridge").fit(data.features, data.log_macs[:-1])
    with pytest.raises(SearchError, match="NaN"):
        make_predictor("ridge").fit(data.features[:5], np.array([1.0, 2.0, np.nan, 3.0, 4.0]))
    with pytest.raises(SearchError, match="at least 2"):
        make_predictor("ridge").fit(data.features[:1], data.log_macs[:1])


class _Offset(Predictor):
    """The first column plus the mean residual of the fit; the second column as a "std" (may be negative), or none.

    Returns float32 column vectors, so the base class's conversion shows.
    """

    name = "offset"

    def __init__(self, seed: int = 0, with_std: bool = True) -> None:
        super().__init__(seed)
        self.with_std = with_std
        self.seen: list[tuple[np.dtype, np.dtype]] = []  # dtypes _fit received

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.seen.append((X.dtype, y.dtype))
        self.offset = float(np.mean(y - X[:, 0]))

    def _predict(self, X: np.ndarray) -> Prediction:
        mean = (X[:, :1] + self.offset).astype(np.float32)  # (m, 1)
        return mean, X[:, 1:2].astype(np.float32) if self.with_std else None


def test_fit_hands_float64_to_the_subclass_and_returns_the_predictor() -> None:
    model = _Offset()
    X = np.array([[1, 2], [3, 4], [5, 6]])  # integers
    assert model.fit(X, np.array([2, 4, 6])) is model
    assert model.seen == [(np.dtype(np.float64), np.dtype(np.float64))]
    assert model.offset == 1.0


def test_predictions_are_float64_vectors_and_the_std_is_clipped_at_zero() -> None:
    model = _Offset().fit(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([1.0, 2.0]))
    mean, std = model.predict_with_std(np.array([[2.0, -3.0], [4.0, 0.5]]))
    assert mean.dtype == np.float64 and mean.tolist() == [3.0, 5.0]
    assert std is not None and std.dtype == np.float64 and std.tolist() == [0.0, 0.5]
    np.testing.assert_array_equal(model.predict(np.array([[2.0, -3.0]])), [3.0])
    plain = _Offset(with_std=False).fit(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([1.0, 2.0]))
    assert plain.predict_with_std(np.array([[2.0, 1.0]]))[1] is None


def test_a_new_fit_replaces_the_old_one_and_its_width() -> None:
    model = _Offset().fit(np.zeros((3, 2)), np.ones(3))
    model.fit(np.zeros((3, 4)), np.full(3, 5.0))
    assert model.predict(np.zeros((1, 4))).tolist() == [5.0]
    with pytest.raises(SearchError, match="X has 2 columns; it was fitted on 4"):
        model.predict(np.zeros((1, 2)))


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.zeros(4), np.zeros(4), r"X must be 2-D \(rows, features\); got shape \(4,\)"),
        (np.zeros((4, 2, 1)), np.zeros(4), "X must be 2-D"),
        (np.array([[0.0, np.inf], [1.0, 1.0]]), np.zeros(2), "X holds NaN or infinite values"),
        (np.zeros((4, 2)), np.zeros((4, 1)), r"y must be 1-D with one target per row of X \(4\)"),
        (np.zeros((4, 2)), np.zeros(3), "one target per row"),
        (np.zeros((2, 2)), np.array([1.0, -np.inf]), "y holds NaN or infinite values"),
        (np.zeros((1, 2)), np.zeros(1), "1 training rows; at least 2 are needed"),
    ],
)
def test_invalid_fit_input_is_refused_and_the_earlier_fit_is_kept(X: np.ndarray, y: np.ndarray, message: str) -> None:
    model = _Offset().fit(np.zeros((2, 2)), np.full(2, 7.0))
    with pytest.raises(SearchError, match=message):
        model.fit(X, y)
    assert model.seen == [(np.float64, np.float64)]  # the subclass never saw the bad input
    assert model.predict(np.zeros((1, 2))).tolist() == [7.0]


def test_a_fit_that_raises_midway_leaves_the_earlier_fit() -> None:
    class _FailsOnWideRows(_Offset):
        def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
            super()._fit(X, y)  # changes the state, then refuses
            if X.shape[1] > 2:
                raise SearchError("too wide")

    model = _FailsOnWideRows().fit(np.zeros((2, 2)), np.full(2, 7.0))
    with pytest.raises(SearchError, match="too wide"):
        model.fit(np.zeros((3, 5)), np.full(3, 1.0))
    assert model.offset == 7.0 and len(model.seen) == 1
    assert model.predict(np.zeros((1, 2))).tolist() == [7.0]


def test_predict_refuses_non_finite_rows() -> None:
    model = _Offset().fit(np.zeros((2, 2)), np.ones(2))
    with pytest.raises(SearchError, match="X holds NaN or infinite values"):
        model.predict(np.array([[np.nan, 0.0]]))


def test_seeds_of_numpy_integer_types_are_taken_as_int() -> None:
    model = _Offset(seed=np.int64(3))  # type: ignore[arg-type]
    assert model.seed == 3 and type(model.seed) is int and repr(model) == "_Offset(seed=3)"
    with pytest.raises(SearchError, match="predictor seed '3' is not valid; valid: an integer ≥ 0"):
        _Offset(seed="3")  # type: ignore[arg-type]


def _numpy_global_state() -> np.ndarray:
    """The key of numpy's global Mersenne Twister (changes with every draw from it)."""
    state = np.random.get_state(legacy=True)
    assert isinstance(state, tuple)
    return state[1].copy()


@pytest.mark.parametrize("kind", sorted(PREDICTORS))
def test_every_registered_kind_keeps_the_contract(kind: str) -> None:
    rng = np.random.default_rng(7)
    X = rng.random((24, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.05 * rng.standard_normal(24)
    X.flags.writeable = False  # a model that changed its input would raise
    y.flags.writeable = False
    X_before, y_before = X.copy(), y.copy()
    np.random.seed(11)
    random.seed(11)
    numpy_state, python_state = _numpy_global_state(), random.getstate()
    first = make_predictor(kind, seed=5)
    assert first.name == kind and first.fit(X, y) is first
    mean, std = first.predict_with_std(X[:6])
    again_mean, again_std = make_predictor(kind, seed=5).fit(X, y).predict_with_std(X[:6])
    assert (_numpy_global_state() == numpy_state).all() and random.getstate() == python_state  # globals untouched
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    assert mean.dtype == np.float64 and mean.shape == (6,) and np.isfinite(mean).all()
    np.testing.assert_array_equal(mean, again_mean)  # same seed, same data: identical predictions
    if std is not None:
        assert again_std is not None
        assert std.dtype == np.float64 and std.shape == (6,) and np.isfinite(std).all() and (std >= 0).all()
        np.testing.assert_array_equal(std, again_std)
    np.testing.assert_array_equal(first.predict(X[:6]), mean)
