"""Pareto fronts and hypervolume of minimisation problems (pymoo underneath)."""

from __future__ import annotations

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting


def nondominated(F: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``F`` (N, M) no other row dominates, in ascending order."""
    if len(F) == 0:
        return np.zeros(0, dtype=int)
    return np.sort(NonDominatedSorting().do(np.asarray(F, dtype=float), only_non_dominated_front=True))


def hypervolume(F: np.ndarray, reference: np.ndarray) -> float:
    """Volume dominated by ``F`` and bounded by ``reference``; points beyond it add nothing."""
    F = np.asarray(F, dtype=float)
    inside = F[(reference > F).all(axis=1)] if len(F) else F
    return float(HV(ref_point=np.asarray(reference, dtype=float))(inside)) if len(inside) else 0.0


def reference_point(F: np.ndarray, directions: list[str], margin: float = 0.1) -> np.ndarray:
    """A fixed reference point from a first sample: worst value plus a margin per objective.

    Maximised objectives (stored negated) that are non-negative, such as accuracy, get
    the natural bound 0.
    """
    worst = np.asarray(F, dtype=float).max(axis=0)
    ref = worst + margin * np.abs(worst) + 1e-12
    for j, direction in enumerate(directions):
        if direction == "max" and worst[j] <= 0:
            ref[j] = 0.0
    return ref
