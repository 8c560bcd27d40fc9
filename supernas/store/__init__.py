"""Persistent store: supernets, searches, evaluations, Pareto fronts and predictor fits."""

from supernas.store.models import EVALUATION_STATUSES, SEARCH_STATUSES
from supernas.store.store import (
    DEFAULT_URL,
    EvaluationRecord,
    ExportRecord,
    FrontRecord,
    PredictorFitRecord,
    SearchRecord,
    Store,
    SupernetRecord,
)

__all__ = [
    "DEFAULT_URL",
    "EVALUATION_STATUSES",
    "SEARCH_STATUSES",
    "EvaluationRecord",
    "ExportRecord",
    "FrontRecord",
    "PredictorFitRecord",
    "SearchRecord",
    "Store",
    "SupernetRecord",
]
