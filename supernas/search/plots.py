"""Pictures of searches: a measured front in two metrics, and hypervolume per iteration."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from supernas.errors import SearchError
from supernas.search.objectives import METRICS
from supernas.search.pareto import nondominated

PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_path(path: Path, option: str) -> None:
    """``path`` must end in a known image suffix and lie in an existing directory."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise SearchError(f"{option} {str(path)!r} has no image suffix; valid: {', '.join(PLOT_SUFFIXES)}")
    if not path.parent.is_dir():
        raise SearchError(f"{option} {str(path)!r}: the directory does not exist")


def front_plot(
    points: Sequence[Mapping[str, float]],
    x: str,
    y: str,
    out: Path,
    title: str,
    chosen: Sequence[Mapping[str, float]] = (),
) -> int:
    """Scatter every measured point, highlight the 2-D front of (x, y), mark ``chosen``; returns the front size."""
    available = sorted({k for p in points for k in p})
    for axis, name in (("--x", x), ("--y", y)):
        if name not in available:
            raise SearchError(f"{axis} {name!r} was not measured in this search; valid: {', '.join(available)}")
    import numpy as np

    xy = np.array([[p[x], p[y]] for p in points if x in p and y in p])  # (n, 2)
    signs = np.array([_sign(x), _sign(y)])
    front = xy[nondominated(xy * signs)]
    front = front[np.argsort(front[:, 0])]
    fig, ax = _figure()
    ax.scatter(xy[:, 0], xy[:, 1], s=14, c="0.7", label=f"measured ({len(xy)})")
    ax.plot(front[:, 0], front[:, 1], "-o", c="tab:blue", ms=5, drawstyle="steps-post", label=f"front ({len(front)})")
    if chosen:
        cx = [c[x] for c in chosen]
        cy = [c[y] for c in chosen]
        ax.scatter(cx, cy, s=140, marker="*", c="tab:red", zorder=5, label="exported")
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, out)
    return len(front)


def front_html(
    rows: Sequence[Mapping[str, object]],
    x: str,
    y: str,
    out: Path,
    title: str,
    chosen: Sequence[str] = (),
) -> None:
    """An interactive page (plotly): every measured subnet, hover for its arch_id and metrics.

    ``rows`` hold ``arch_id`` and ``metrics``; ``chosen`` are exported arch_ids.
    """
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise SearchError("--html needs plotly; valid: pip install 'supernas[html]'") from None
    import numpy as np

    points = [r for r in rows if x in r["metrics"] and y in r["metrics"]]  # type: ignore[operator]
    xy = np.array([[r["metrics"][x], r["metrics"][y]] for r in points])  # type: ignore[index]
    on_front = set(nondominated(xy * np.array([_sign(x), _sign(y)])).tolist())
    fig = go.Figure()
    for name, keep, style in (
        ("measured", lambda i: i not in on_front, {"color": "lightgray", "size": 7}),
        ("front", lambda i: i in on_front, {"color": "royalblue", "size": 9}),
        ("exported", lambda i: points[i]["arch_id"] in chosen, {"color": "crimson", "size": 16, "symbol": "star"}),
    ):
        idx = [i for i in range(len(points)) if keep(i)]
        fig.add_trace(
            go.Scatter(
                x=xy[idx, 0] if idx else [],
                y=xy[idx, 1] if idx else [],
                mode="markers",
                name=name,
                marker=style,
                text=[_hover(points[i]) for i in idx],
                hoverinfo="text",
            )
        )
    fig.update_layout(title=title, xaxis_title=_label(x), yaxis_title=_label(y))
    handle, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".html", dir=out.parent)
    os.close(handle)
    try:
        fig.write_html(tmp, include_plotlyjs=True)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _hover(row: Mapping[str, object]) -> str:
    metrics = row["metrics"]
    assert isinstance(metrics, Mapping)
    return f"{row['arch_id']}<br>" + "<br>".join(f"{k}: {v:.4g}" for k, v in metrics.items())


def hv_plot(series: Mapping[str, Sequence[tuple[int, float]]], out: Path, title: str) -> None:
    """Hypervolume against evaluations, one line per search (name -> [(n_evaluated, hv)])."""
    fig, ax = _figure()
    for name, values in series.items():
        ax.plot([n for n, _ in values], [hv for _, hv in values], "-o", ms=3, label=name)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("hypervolume (measured front)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, out)


def _sign(metric: str) -> float:
    """+1 to minimise, -1 to maximise (unknown metrics, e.g. test_accuracy, are maximised)."""
    known = METRICS.get(metric)
    return 1.0 if known is not None and known.direction == "min" else -1.0


def _label(metric: str) -> str:
    return f"{metric} ({'lower' if _sign(metric) > 0 else 'higher'} is better)"


def _figure():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7, 4.5), dpi=120)


def _save(fig, out: Path) -> None:  # type: ignore[no-untyped-def]
    """Write the figure atomically: a reader never sees half an image."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    handle, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=out.suffix, dir=out.parent)
    os.close(handle)
    try:
        fig.savefig(tmp)
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.remove(tmp)
