"""Persistent store: supernets, searches, evaluations, Pareto fronts, predictor fits, exports and trainings."""

from supernas.store.models import EvaluationStatus, SearchStatus, TrainingStatus
from supernas.store.store import (
    DEFAULT_URL,
    EvaluationRecord,
    ExportRecord,
    FrontRecord,
    PredictorFitRecord,
    SearchRecord,
    Store,
    SupernetRecord,
    TrainingKey,
    TrainingRecord,
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
    "TrainingKey",
    "TrainingRecord",
    "TrainingStatus",
]
