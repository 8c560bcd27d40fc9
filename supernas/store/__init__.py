"""Persistent store: supernets, searches, evaluations, Pareto fronts and predictor fits."""

from supernas.store.models import EvaluationStatus, SearchStatus
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
    "EvaluationRecord",
    "EvaluationStatus",
    "ExportRecord",
    "FrontRecord",
    "PredictorFitRecord",
    "SearchRecord",
    "SearchStatus",
    "Store",
    "SupernetRecord",
]
