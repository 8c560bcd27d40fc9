"""Metrics a search can optimise or constrain, with their directions."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from supernas.errors import SearchError


@dataclass(frozen=True)
class Metric:
    """A measurable property of a subnet."""

    name: str  # key in evaluation metrics
    direction: str  # "max" or "min"
    measured: bool  # True: needs a forward pass; False: analytic, from the config alone
    unit: str  # for display
    description: str  # one line for help texts


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "max", True, "", "validation accuracy of the extracted subnet"),
        Metric("latency_ms", "min", True, "ms", "median forward latency of the extracted subnet"),
        Metric("peak_memory", "min", True, "B", "peak inference memory for one latency batch"),
        Metric("params", "min", False, "", "parameters (shared blocks counted once)"),
        Metric("macs", "min", False, "", "multiply-accumulates per example"),
        Metric("model_bytes", "min", False, "B", "model size at the searched bit widths"),
    )
}
VALID = ", ".join(METRICS)


def parse_objectives(text: str | Sequence[str]) -> tuple[Metric, ...]:
    """``"accuracy,latency_ms"`` → metrics; at least two, no repeats."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    for name in names:
        if name not in METRICS:
            raise SearchError(f": unknown objective {name!r}; valid: {VALID}", field="objectives")
    if len(set(names)) != len(names):
        raise SearchError(
            f": {','.join(names)!r} repeats an objective; valid: distinct names of {VALID}", field="objectives"
        )
    if len(names) < 2:
        raise SearchError(
            f": a multi-objective search needs at least two objectives; valid: {VALID}", field="objectives"
        )
    return tuple(METRICS[n] for n in names)


@dataclass(frozen=True)
class Constraint:
    """``metric op bound``, e.g. ``latency_ms <= 2.5``."""

    metric: str  # a METRICS name
    op: str  # "<=" or ">="
    bound: float  # the limit

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"

    def violation(self, value: float) -> float:
        """How far ``value`` is past the bound (≤ 0: satisfied)."""
        return value - self.bound if self.op == "<=" else self.bound - value


CONSTRAINT_RE = re.compile(r"^\s*([a-z_]+)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$")


def parse_constraint(text: str) -> Constraint:
    """``"latency_ms<=2.5"`` → a constraint."""
    match = CONSTRAINT_RE.match(text)
    if match is None:
        raise SearchError(
            f"{text!r} is malformed; expected METRIC<=VALUE or METRIC>=VALUE, METRIC one of {VALID}",
            field="constraints",
        )
    name, op, value = match.groups()
    if name not in METRICS:
        raise SearchError(f"{text!r}: unknown metric {name!r}; valid: {VALID}", field="constraints")
    try:
        bound = float(value)
    except ValueError:
        raise SearchError(f"{text!r}: {value!r} is not a number; expected METRIC<=VALUE", field="constraints") from None
    if not math.isfinite(bound):
        raise SearchError(f"{text!r}: the bound must be a finite number", field="constraints")
    return Constraint(name, op, bound)


def needed_metrics(objectives: Sequence[Metric], constraints: Sequence[Constraint]) -> list[str]:
    """Every metric an evaluation must return, objectives first."""
    names = [m.name for m in objectives] + [c.metric for c in constraints]
    return list(dict.fromkeys(names))


FAILED_PENALTY = 1e12  # objective value of a failed evaluation, worse than any real one


def to_minimization(rows: Sequence[Mapping[str, float] | None], objectives: Sequence[Metric]) -> np.ndarray:
    """(N, M) objective values, maximised ones negated; ``None`` rows (failures) get a huge penalty."""
    out = np.full((len(rows), len(objectives)), FAILED_PENALTY)
    for i, row in enumerate(rows):
        if row is not None:
            out[i] = [-row[m.name] if m.direction == "max" else row[m.name] for m in objectives]
    return out


def violations(rows: Sequence[Mapping[str, float] | None], constraints: Sequence[Constraint]) -> np.ndarray:
    """(N, C) constraint violations (≤ 0 feasible); failures violate every constraint."""
    out = np.ones((len(rows), len(constraints)))
    for i, row in enumerate(rows):
        if row is not None:
            out[i] = [c.violation(row[c.metric]) for c in constraints]
    return out
