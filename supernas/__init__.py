"""supernas: neural architecture search over a five-axis weight-sharing transformer supernet.

The entry points a notebook needs load on first use; every use case is in :mod:`supernas.api`::

    import supernas

    plan = supernas.prepare_training("runs/digits.pt", task="digits", settings={"epochs": 30})
    supernas.train_supernet(plan)
    request = supernas.SearchRequest.parse("accuracy,latency_ms", [], "linas", 50, 10, seed=0)
    report = supernas.start_search("runs/digits.pt", request, supernas.EvaluationSettings(executor="local"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supernas.errors import SupernasError

if TYPE_CHECKING:
    from supernas.api import (
        EvaluationSettings as EvaluationSettings,
        ExportRequest as ExportRequest,
        SearchRequest as SearchRequest,
        export_subnet as export_subnet,
        prepare_training as prepare_training,
        resume_search as resume_search,
        start_search as start_search,
        train_supernet as train_supernet,
    )

__version__ = "0.1.0"

_ENTRY_POINTS = (  # re-exported from supernas.api on first use
    "EvaluationSettings",
    "ExportRequest",
    "SearchRequest",
    "export_subnet",
    "prepare_training",
    "resume_search",
    "start_search",
    "train_supernet",
)
__all__ = ["SupernasError", "__version__", *_ENTRY_POINTS]


def __getattr__(name: str) -> object:
    """Load an entry point from :mod:`supernas.api` on first use."""
    if name not in _ENTRY_POINTS:
        raise AttributeError(f"module 'supernas' has no attribute {name!r}")
    import supernas.api

    return getattr(supernas.api, name)
