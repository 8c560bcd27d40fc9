"""Reports on stored searches: measured fronts, the list of searches, where a search stands.

Read-only and light: these touch the store only (no torch), so read commands start fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from supernas.store import EvaluationRecord, EvaluationStatus, SearchStatus, Store


@dataclass(frozen=True)
class FrontMember:
    """One measured subnet of a search, as reports and exports see it."""

    arch_id: str  # the subnet's id
    metrics: dict[str, Any]  # measured values (``test_accuracy`` too, once reported)
    config: dict[str, Any]  # SubnetConfig.to_dict()
    iteration: int  # the iteration that asked for it
    predictions: dict[str, Any] | None  # what the predictors expected, when they chose it
    device: str | None  # where it was measured

    @classmethod
    def of(cls, e: EvaluationRecord) -> FrontMember:
        return cls(e.arch_id, dict(e.metrics or {}), e.config, e.iteration, e.predictions, e.device)

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch_id": self.arch_id,
            "metrics": self.metrics,
            "config": self.config,
            "iteration": self.iteration,
            "predictions": self.predictions,
            "device": self.device,
        }


def front_evaluations(store: Store, search: str) -> list[EvaluationRecord]:
    """The members of the latest stored front, as evaluation records (measured, never predicted)."""
    fronts = store.fronts(search)
    if not fronts:
        return []
    by_arch = {e.arch_id: e for e in store.evaluations(search, EvaluationStatus.COMPLETE)}
    return [by_arch[a] for a in fronts[-1].members if a in by_arch]


def front_members(store: Store, search: str) -> list[FrontMember]:
    """The measured front of ``search``, best first in the first objective (the order of ``rank``)."""
    first = store.get_search(search).objectives[0]
    members = [FrontMember.of(e) for e in front_evaluations(store, search)]
    return sorted(members, key=lambda m: m.metrics[first["name"]], reverse=first["direction"] == "max")


def completed_members(store: Store, search: str) -> dict[str, FrontMember]:
    """Every COMPLETE evaluation of ``search``, by arch_id."""
    return {e.arch_id: FrontMember.of(e) for e in store.evaluations(search, EvaluationStatus.COMPLETE)}


@dataclass(frozen=True)
class FrontReport:
    """A search's measured front with where the search stands (``pareto show``)."""

    search: str  # the search's name
    status: SearchStatus  # where it stands
    objectives: list[dict[str, str]]  # [{"name": ..., "direction": "max"|"min"}]
    hypervolume: float  # of the latest front (0 before any)
    n_evaluated: int  # distinct architectures measured
    front: list[FrontMember]  # best first in the first objective

    def to_dict(self) -> dict[str, Any]:
        return {
            "search": self.search,
            "status": self.status,
            "objectives": self.objectives,
            "hypervolume": self.hypervolume,
            "n_evaluated": self.n_evaluated,
            "front": [m.to_dict() for m in self.front],
        }


def search_front(store: Store, search: str) -> FrontReport:
    """The measured front of ``search``."""
    record = store.get_search(search)
    fronts = store.fronts(search)
    return FrontReport(
        search=search,
        status=record.status,
        objectives=record.objectives,
        hypervolume=fronts[-1].hypervolume if fronts else 0.0,
        n_evaluated=fronts[-1].n_evaluated if fronts else 0,
        front=front_members(store, search),
    )


@dataclass(frozen=True)
class SearchSummary:
    """One line of ``supernas searches``."""

    name: str
    strategy: str
    status: SearchStatus
    supernet: str | None  # registered supernet name (None for synthetic searches)
    objectives: list[str]  # metric names
    budget: int
    evaluated: int  # COMPLETE + FAILED
    failed: int
    hypervolume: float | None  # of the latest front
    created_at: str  # ISO 8601

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def list_searches(store: Store) -> list[SearchSummary]:
    """Every search in the store, oldest first."""
    out = []
    for r in store.list_searches():
        counts = store.count_evaluations(r.name)
        fronts = store.fronts(r.name)
        out.append(
            SearchSummary(
                name=r.name,
                strategy=r.strategy,
                status=r.status,
                supernet=r.supernet_name,
                objectives=[o["name"] for o in r.objectives],
                budget=r.budget,
                evaluated=counts[EvaluationStatus.COMPLETE] + counts[EvaluationStatus.FAILED],
                failed=counts[EvaluationStatus.FAILED],
                hypervolume=fronts[-1].hypervolume if fronts else None,
                created_at=r.created_at.isoformat(),
            )
        )
    return out


@dataclass(frozen=True)
class SearchStatusReport:
    """``supernas status``: counts, hypervolume per iteration and predictor quality."""

    search: str
    status: SearchStatus
    strategy: str
    counts: dict[EvaluationStatus, int]  # evaluations in each status
    hv_reference: list[float] | None  # fixed hypervolume reference point
    iterations: list[dict[str, Any]]  # iteration, n_evaluated, hypervolume, front_size
    predictor_fits: list[dict[str, Any]]  # iteration, objective, kind, kendall_tau, mape, n_train

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def search_status(store: Store, search: str) -> SearchStatusReport:
    """Where ``search`` stands."""
    record = store.get_search(search)
    iterations = [
        {
            "iteration": f.iteration,
            "n_evaluated": f.n_evaluated,
            "hypervolume": f.hypervolume,
            "front_size": len(f.members),
        }
        for f in store.fronts(search)
    ]
    fits = [
        {
            "iteration": f.iteration,
            "objective": f.objective,
            "kind": f.kind,
            "kendall_tau": f.kendall_tau,
            "mape": f.mape,
            "n_train": f.n_train,
        }
        for f in store.predictor_fits(search)
    ]
    return SearchStatusReport(
        search, record.status, record.strategy, store.count_evaluations(search), record.hv_reference, iterations, fits
    )


def hypervolume_series(store: Store, searches: Sequence[str]) -> dict[str, list[tuple[int, float]]]:
    """Per search (labelled ``name (strategy)``): (evaluations, hypervolume) after each iteration."""
    return {
        f"{n} ({store.get_search(n).strategy})": [(f.n_evaluated, f.hypervolume) for f in store.fronts(n)]
        for n in searches
    }
