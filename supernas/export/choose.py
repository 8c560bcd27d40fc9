"""Picking members of a measured search: one by rank, by arch_id or the knee; or the whole front, or the top N."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from supernas.errors import ExportError
from supernas.search.objectives import METRICS, to_minimization


def knee(rows: Sequence[Mapping[str, Any]], objectives: Sequence[Mapping[str, str]]) -> int:
    """Index of the front member closest to the ideal point after min-max normalising each objective
    (each in the direction ``objectives`` give, as stored with the search).

    With two objectives this is the point where trading one for the other stops paying:
    the member nearest the (best accuracy, best latency) corner of the normalised front.
    """
    if not rows:
        raise ExportError("the search has no measured front yet; run or resume it first")
    stored = [replace(METRICS[o["name"]], direction=o["direction"]) for o in objectives]  # as the search ran
    F = to_minimization([r["metrics"] for r in rows], stored)  # (n, k), lower is better
    span = F.max(axis=0) - F.min(axis=0)
    normalised = (F - F.min(axis=0)) / np.where(span > 0, span, 1.0)
    return int(np.argmin(np.linalg.norm(normalised, axis=1)))


def _given(value: object) -> bool:
    """Whether an option was set: anything but None and False (0 is a value, out of range)."""
    return value is not None and value is not False


def choose(
    rows: Sequence[Mapping[str, Any]],
    objectives: Sequence[Mapping[str, str]],
    rank: int | None,
    arch: str | None,
    use_knee: bool,
    complete: Mapping[str, Mapping[str, Any]],
) -> Mapping[str, Any]:
    """The row picked by exactly one of ``rank`` (1-based, as ``pareto show`` lists), ``arch`` or ``use_knee``.

    ``arch`` may name any COMPLETE evaluation of the search (``complete``), not only a
    front member.
    """
    given = [f"`{name}`" for name, value in (("rank", rank), ("arch", arch), ("knee", use_knee)) if _given(value)]
    if len(given) != 1:
        raise ExportError(f"choose exactly one of `rank` K, `arch` ARCH_ID, `knee` (got {', '.join(given) or 'none'})")
    if use_knee:
        return rows[knee(rows, objectives)]
    if rank is not None:
        if not 1 <= rank <= len(rows):
            raise ExportError(f"{rank} is out of range; valid: 1..{len(rows)} (the front's members)", field="rank")
        return rows[rank - 1]
    assert arch is not None
    if arch not in complete:
        known = ", ".join(sorted(complete)[:5]) + (", …" if len(complete) > 5 else "")
        raise ExportError(
            f"{arch!r} is not a completed evaluation of this search; e.g. {known or 'none yet'}", field="arch"
        )
    return complete[arch]


def select(
    rows: Sequence[Mapping[str, Any]],
    objectives: Sequence[Mapping[str, str]],
    complete: Mapping[str, Mapping[str, Any]],
    *,
    front: bool = False,
    top: int | None = None,
    rank: int | None = None,
    arch: str | None = None,
    use_knee: bool = False,
) -> list[Mapping[str, Any]]:
    """The rows picked by exactly one of ``front`` (every member of the front ``rows``), ``top`` N (the N best
    COMPLETE evaluations in the first objective, ties by arch_id), or one row by ``rank``, ``arch`` or
    ``use_knee`` as in :func:`choose`."""
    given = [
        f"`{name}`"
        for name, value in (("front", front), ("top", top), ("rank", rank), ("arch", arch), ("knee", use_knee))
        if _given(value)
    ]
    if len(given) != 1:
        options = "`front`, `top` N, `rank` K, `arch` ARCH_ID, `knee`"
        raise ExportError(f"choose exactly one of {options} (got {', '.join(given) or 'none'})")
    if front:
        if not rows:
            raise ExportError("the search has no measured front yet; run or resume it first")
        return list(rows)
    if top is not None:
        return _top(complete, objectives[0], top)
    return [choose(rows, objectives, rank, arch, use_knee, complete)]


def _top(complete: Mapping[str, Mapping[str, Any]], first: Mapping[str, str], n: int) -> list[Mapping[str, Any]]:
    name, sign = first["name"], (-1.0 if first["direction"] == "max" else 1.0)
    if isinstance(n, bool) or not 1 <= n <= len(complete):
        valid = f"1..{len(complete)} (the completed evaluations)" if complete else "none: nothing is measured yet"
        raise ExportError(f"{n} is out of range; valid: {valid}", field="top")
    ordered = sorted(complete.values(), key=lambda r: (sign * float(r["metrics"][name]), str(r["arch_id"])))
    return ordered[:n]
