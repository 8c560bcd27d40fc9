"""Pictures of searches: a measured front in two metrics (PNG/SVG/PDF, or an interactive page), hypervolume curves,
and trained subnets moving from inherited to trained accuracy.

:func:`plot_front`, :func:`plot_trained_front` and :func:`plot_hypervolume` read a search from the store and draw
it; :func:`front_plot`, :func:`moves_plot`, :func:`front_html` and :func:`hv_plot` draw given points. Every image is
written atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from supernas.atomic import atomic_path, check_path_name, check_writable
from supernas.errors import SearchError
from supernas.search.objectives import METRICS
from supernas.search.pareto import nondominated
from supernas.store import EvaluationStatus, Store

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_path(path: Path, field: str) -> None:
    """``path`` (the argument ``field``) must end in a known image suffix and lie in an existing directory."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise SearchError(f"{str(path)!r} has no image suffix; valid: {', '.join(PLOT_SUFFIXES)}", field=field)
    check_path_name(path, field)
    if not path.parent.is_dir():
        raise SearchError(f"{str(path)!r}: the directory does not exist", field=field)
    check_writable(path.parent, field)


def check_html_path(path: Path) -> None:
    """``path`` must be a ``.html`` file in an existing directory this process can write."""
    if path.suffix.lower() != ".html" or not path.parent.is_dir():
        raise SearchError(f"{str(path)!r}: valid: a .html file in an existing directory", field="html")
    check_path_name(path, "html")
    check_writable(path.parent, "html")


@dataclass(frozen=True)
class FrontPlot:
    """What :func:`plot_front` drew."""

    search: str  # the search
    out: Path  # the image
    points: int  # measured subnets drawn
    front: int  # members of the (x, y) front
    exported: int  # exported subnets marked

    def to_dict(self) -> dict[str, object]:
        return {
            "search": self.search,
            "out": str(self.out),
            "points": self.points,
            "front": self.front,
            "exported": self.exported,
        }


def plot_front(
    search: str,
    out: Path,
    *,
    x: str = "latency_ms",
    y: str = "accuracy",
    html: Path | None = None,
    storage: str | None = None,
) -> FrontPlot:
    """Draw every measured subnet of ``search``, its front in (``x``, ``y``) and its exports to ``out``.

    With ``html`` also an interactive plotly page (hover for each subnet's arch_id and metrics).
    """
    check_plot_path(out, "out")
    if html is not None:
        check_html_path(html)
    with Store.open(storage) as store:
        store.get_search(search)
        evaluations = {e.arch_id: e.metrics for e in store.evaluations(search, EvaluationStatus.COMPLETE) if e.metrics}
        exported = list(dict.fromkeys(e.arch_id for e in store.exports(search) if e.arch_id in evaluations))
    if not evaluations:
        raise SearchError(f"search {search!r} has no completed evaluations to plot yet")
    title = f"{search}: measured subnets"
    size = front_plot(list(evaluations.values()), x, y, out, title, [evaluations[a] for a in exported])
    if html is not None:
        rows = [{"arch_id": a, "metrics": m} for a, m in evaluations.items()]
        front_html(rows, x, y, html, title, exported)
    return FrontPlot(search, out, len(evaluations), size, len(exported))


def plot_trained_front(
    search: str,
    out: Path,
    *,
    x: str = "latency_ms",
    y: str = "accuracy",
    init: str = "inherited",
    storage: str | None = None,
) -> FrontPlot:
    """Draw each trained subnet of ``search`` moving from its inherited to its trained accuracy (an arrow), and
    both fronts in (``x``, ``y``), to ``out``."""
    from supernas.api.finetune import trained_front

    check_plot_path(out, "out")
    with Store.open(storage) as store:
        report = trained_front(store, search, init)
    if not report.members:
        raise SearchError(f"search {search!r} has no completed trainings to plot yet; run `supernas finetune` first")
    before = [dict(m.metrics) for m in report.members]
    after = [{**m.metrics, "accuracy": m.trained_accuracy} for m in report.members]
    size = moves_plot(before, after, x, y, out, f"{search}: {len(after)} subnets, inherited → trained ({init})")
    return FrontPlot(search, out, len(after), size, 0)


def moves_plot(
    before: Sequence[Mapping[str, float]],
    after: Sequence[Mapping[str, float]],
    x: str,
    y: str,
    out: Path,
    title: str,
) -> int:
    """An arrow from each point of ``before`` to the same subnet in ``after``, and the (x, y) front of each;
    returns the size of the ``after`` front."""
    available = sorted({k for p in before for k in p})
    for axis, name in (("x", x), ("y", y)):
        if name not in available:
            raise SearchError(f"{name!r} was not measured in this search; valid: {', '.join(available)}", field=axis)
    import numpy as np

    signs = np.array([_sign(x), _sign(y)])
    fig, ax = _figure()
    for label, points, colour in (("inherited", before, "0.55"), ("trained", after, "tab:green")):
        xy = np.array([[p[x], p[y]] for p in points])  # (n, 2)
        front = xy[nondominated(xy * signs)]
        front = front[np.argsort(front[:, 0])]
        ax.scatter(xy[:, 0], xy[:, 1], s=16, c=colour, zorder=3)
        ax.plot(front[:, 0], front[:, 1], "-", c=colour, drawstyle="steps-post", label=f"{label} front ({len(front)})")
    for b, a in zip(before, after):
        ax.annotate(
            "", xy=(a[x], a[y]), xytext=(b[x], b[y]), arrowprops={"arrowstyle": "->", "color": "tab:blue", "lw": 0.8}
        )
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, out)
    return len(nondominated(np.array([[p[x], p[y]] for p in after]) * signs))


def plot_hypervolume(searches: Sequence[str], out: Path, storage: str | None = None) -> None:
    """Draw the hypervolume of each of ``searches`` against its evaluations to ``out``."""
    from supernas.api.reports import hypervolume_series

    check_plot_path(out, "plot")
    with Store.open(storage) as store:
        series = hypervolume_series(store, searches)
    hv_plot(series, out, f"Hypervolume of {', '.join(searches)}")


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
    for axis, name in (("x", x), ("y", y)):
        if name not in available:
            raise SearchError(f"{name!r} was not measured in this search; valid: {', '.join(available)}", field=axis)
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
        raise SearchError("needs plotly; valid: pip install 'supernas[html]'", field="html") from None
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
    with atomic_path(out, suffix=".html") as tmp:
        fig.write_html(tmp, include_plotlyjs=True)


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


def _figure() -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7, 4.5), dpi=120)


def _save(fig, out: Path) -> None:  # type: ignore[no-untyped-def]
    """Write the figure atomically: a reader never sees half an image."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    try:
        with atomic_path(out, suffix=out.suffix) as tmp:
            fig.savefig(tmp)
    finally:
        plt.close(fig)
