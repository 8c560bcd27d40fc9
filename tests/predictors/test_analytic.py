"""``AnalyticPredictor``: exact analytic costs of genome rows, ready without a fit, zero std."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from supernas.errors import SearchError
from supernas.predictors import COST_NAMES, AnalyticPredictor, FeatureEncoder
from supernas.search_space import InputSpec, SearchSpace, costs

if TYPE_CHECKING:
    from conftest import Synthetic


@pytest.mark.parametrize("objective", COST_NAMES)
def test_analytic_predictor_equals_costs_exactly(
    encoder: FeatureEncoder, data: Synthetic, space: SearchSpace, spec: InputSpec, objective: str
) -> None:
    predictor = AnalyticPredictor(encoder, objective)
    mean, std = predictor.predict_with_std(data.genomes)
    expected = [getattr(costs(space, c, spec), objective) for c in data.configs]
    assert mean.tolist() == expected
    assert std is not None and not std.any()
    assert predictor.fit(data.genomes[:10], np.zeros(10)).predict(data.genomes[:3]).tolist() == expected[:3]


def test_analytic_predictor_rejects_unknown_costs_and_feature_rows(encoder: FeatureEncoder, data: Synthetic) -> None:
    with pytest.raises(SearchError, match="no analytic cost 'latency'; valid: params, macs, model_bytes"):
        AnalyticPredictor(encoder, "latency")
    with pytest.raises(SearchError, match="52 columns; it was fitted on 35"):
        AnalyticPredictor(encoder, "macs").predict(data.features)


def test_predictions_are_float64_and_the_std_is_exactly_zero(encoder: FeatureEncoder, data: Synthetic) -> None:
    mean, std = AnalyticPredictor(encoder, "model_bytes").predict_with_std(data.genomes[:7])
    assert mean.dtype == np.float64 and mean.shape == (7,)
    assert std is not None and std.dtype == np.float64 and std.shape == (7,) and (std == 0).all()


def test_fit_ignores_the_targets(encoder: FeatureEncoder, data: Synthetic) -> None:
    fitted = AnalyticPredictor(encoder, "params").fit(data.genomes[:20], np.linspace(-1e6, 1e6, 20))
    np.testing.assert_array_equal(
        fitted.predict(data.genomes[20:30]), AnalyticPredictor(encoder, "params").predict(data.genomes[20:30])
    )


def test_fit_and_predict_reject_genomes_outside_the_space(encoder: FeatureEncoder, data: Synthetic) -> None:
    bad = data.genomes[:5].copy()
    bad[2, 0] = 99  # depth index 99
    with pytest.raises(SearchError, match="genome row 2, gene 'depth': index 99 is out of range"):
        AnalyticPredictor(encoder, "macs").fit(bad, np.zeros(5))
    with pytest.raises(SearchError, match="genome row 2, gene 'depth': index 99 is out of range"):
        AnalyticPredictor(encoder, "macs").predict(bad)


def test_a_rejected_fit_leaves_the_predictor_ready(encoder: FeatureEncoder, data: Synthetic) -> None:
    predictor = AnalyticPredictor(encoder, "macs")
    bad = data.genomes[:5].copy()
    bad[0, 0] = 99
    with pytest.raises(SearchError):
        predictor.fit(bad, np.zeros(5))
    expected = [costs(encoder.space, c, encoder.spec).macs for c in data.configs[:3]]
    assert predictor.predict(data.genomes[:3]).tolist() == expected


def test_its_name_and_repr() -> None:
    encoder = FeatureEncoder(SearchSpace(), InputSpec("image", (1, 8, 8), 10))
    predictor = AnalyticPredictor(encoder, "macs")
    assert predictor.name == "analytic" and repr(predictor) == "AnalyticPredictor('macs')"
