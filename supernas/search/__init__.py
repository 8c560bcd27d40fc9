"""Multi-objective search: objectives, strategies (ask/tell), the driver and store-backed searches."""

from supernas.search.engine import EvalResult, Evaluator, Progress, Recorder, SearchResult, measured_front, run_search
from supernas.search.objectives import METRICS, Constraint, Metric, parse_constraint, parse_objectives
from supernas.search.pareto import hypervolume, nondominated, reference_point
from supernas.search.strategies import STRATEGIES, Candidate, Strategy, Trial, make_strategy

__all__ = [
    "METRICS",
    "STRATEGIES",
    "Candidate",
    "Constraint",
    "EvalResult",
    "Evaluator",
    "Metric",
    "Progress",
    "Recorder",
    "SearchResult",
    "Strategy",
    "Trial",
    "hypervolume",
    "make_strategy",
    "measured_front",
    "nondominated",
    "parse_constraint",
    "parse_objectives",
    "reference_point",
    "run_search",
]
