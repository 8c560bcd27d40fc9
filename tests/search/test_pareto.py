"""``search/pareto.py``: non-dominated rows and hypervolume."""

from __future__ import annotations

import numpy as np
import pytest

from supernas.search import hypervolume, nondominated, reference_point


def test_hypervolume_of_a_hand_computed_front() -> None:
    F = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0]])
    assert list(nondominated(F)) == [0, 1, 2]
    assert hypervolume(F, np.array([4.0, 4.0])) == pytest.approx(6.0)  # 3 + 2 + 1 unit squares
    assert hypervolume(np.array([[5.0, 5.0]]), np.array([4.0, 4.0])) == 0.0


def test_the_reference_point_is_the_worst_value_plus_a_margin() -> None:
    F = np.array([[-0.9, 2.0], [-0.5, 4.0]])  # accuracy (negated), latency
    ref = reference_point(F, ["max", "min"])
    assert ref[0] == 0.0  # non-negative maximised objectives get their natural bound
    assert ref[1] == pytest.approx(4.4)
    assert reference_point(np.array([[1.0, -2.0]]), ["max", "min"]).tolist() == pytest.approx([1.1, -1.8])
    assert nondominated(np.zeros((0, 2))).tolist() == [] and hypervolume(np.zeros((0, 2)), ref) == 0.0
