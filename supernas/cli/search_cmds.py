"""``supernas search``, ``resume``, ``searches``, ``status`` and ``pareto show|plot``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from supernas.cli.common import (
    JsonOption,
    ProgressDisplay,
    StorageOption,
    console,
    err_console,
    handle_errors,
    print_json,
)
from supernas.cli.finetune_cmds import render_trainings

if TYPE_CHECKING:
    from supernas.api import FrontReport, Progress, ProgressCallback, SearchRecord, StartCallback, TrainedFrontReport


def search(
    supernet: Annotated[str, typer.Option("--supernet", help="Checkpoint file or the name of a registered supernet.")],
    objectives: Annotated[str, typer.Option("--objectives", help="Comma-separated metrics.")] = "accuracy,latency_ms",
    constraint: Annotated[
        list[str] | None,
        typer.Option("--constraint", help="METRIC<=VALUE or METRIC>=VALUE; repeatable.", show_default=False),
    ] = None,
    budget: Annotated[int, typer.Option("--budget", help="Distinct subnets to measure.")] = 100,
    batch: Annotated[int, typer.Option("--batch", help="Subnets per iteration.")] = 10,
    strategy: Annotated[str, typer.Option("--strategy", help="linas, nsga2, random or optuna.")] = "linas",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the strategy.")] = 0,
    name: Annotated[
        str | None, typer.Option("--name", help="Search name (default: derived).", show_default=False)
    ] = None,
    sampler: Annotated[
        str | None, typer.Option("--sampler", help="Optuna sampler: nsga2 (default) or tpe.", show_default=False)
    ] = None,
    storage: StorageOption = None,
    executor: Annotated[str, typer.Option("--executor", help="ray (a pool of actors) or local (in process).")] = "ray",
    workers: Annotated[int, typer.Option("--workers", help="Ray actors; 0: one per CPU or GPU share.")] = 0,
    cpus_per_worker: Annotated[float, typer.Option("--cpus-per-worker", help="CPUs per actor.")] = 1.0,
    gpus_per_worker: Annotated[
        float | None,
        typer.Option("--gpus-per-worker", help="GPU share per actor (default 0.25 with GPUs).", show_default=False),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address", help="Join this Ray cluster (default $RAY_ADDRESS or local).", show_default=False
        ),
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda (local executor).")] = "auto",
    latency_batch: Annotated[int, typer.Option("--latency-batch", help="Examples per timed forward.")] = 1,
    as_json: JsonOption = False,
) -> None:
    """Search a trained supernet for the Pareto front of the objectives."""
    from supernas.api import EvaluationSettings, SearchRequest, start_search

    options = {"sampler": sampler} if sampler is not None else {}
    request = SearchRequest.parse(objectives, constraint or [], strategy, budget, batch, seed, options)
    evaluation = EvaluationSettings(
        executor, workers, cpus_per_worker, gpus_per_worker, ray_address, device, latency_batch
    )
    with ProgressDisplay() as display:
        on_start, on_progress = search_callbacks(display)
        report = start_search(
            supernet, request, evaluation, name=name, storage=storage, on_start=on_start, on_progress=on_progress
        )
    render_front(report, as_json)


def resume(
    name: Annotated[str, typer.Argument(help="Search to continue.")],
    storage: StorageOption = None,
    executor: Annotated[
        str | None, typer.Option("--executor", help="ray or local (default: as started).", show_default=False)
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Ray actors (default: as started).", show_default=False)
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Join this Ray cluster.", show_default=False)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Continue a killed or interrupted search from the database alone."""
    from supernas.api import resume_search

    with ProgressDisplay() as display:
        on_start, on_progress = search_callbacks(display)
        report = resume_search(
            name,
            storage=storage,
            executor=executor,
            workers=workers,
            ray_address=ray_address,
            on_start=on_start,
            on_progress=on_progress,
        )
    render_front(report, as_json)


def search_callbacks(display: ProgressDisplay) -> tuple[StartCallback, ProgressCallback]:
    """(on_start, on_progress): announce a search on stderr, then draw its progress on ``display``."""

    def on_start(record: SearchRecord, done: int) -> None:
        objectives = ", ".join(o["name"] for o in record.objectives)
        err_console.print(
            f"Search {record.name!r}: {record.strategy}, objectives {objectives}, budget {record.budget}"
            f" ({done} measured so far)"
        )
        display.start(record.budget, done, "starting")

    def on_progress(p: Progress) -> None:
        description = f"iteration {p.iteration + 1} · HV {p.hypervolume:.4g} · front {p.front_size}"
        display.update(p.n_evaluated, description)

    return on_start, on_progress


def render_front(report: FrontReport, as_json: bool) -> None:
    """Print a measured front: JSON, or a table."""
    if as_json:
        print_json(report.to_dict())
        return
    names = [o["name"] for o in report.objectives]
    table = Table(title=f"Measured Pareto front of {report.search} ({len(report.front)} subnets)")
    for column in ("rank", "arch_id", *names, "test_accuracy", "depth", "embed", "loops"):
        table.add_column(column)
    for rank, member in enumerate(report.front, 1):
        m, c = member.metrics, member.config
        test = m.get("test_accuracy")
        table.add_row(
            str(rank),
            member.arch_id,
            *(_fmt(m[n]) for n in names),
            "" if test is None else f"{test:.4f}",
            str(c["depth"]),
            str(c["embed_dim"]),
            str(c["loops"]),
        )
    console.print(table)


def _fmt(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 100 else f"{value:,.0f}"


def searches(storage: StorageOption = None, as_json: JsonOption = False) -> None:
    """List the searches in the store."""
    from supernas.api import Store, list_searches

    with Store.open(storage) as store:
        rows = list_searches(store)
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    table = Table(title="Searches")
    for column in ("name", "strategy", "status", "objectives", "evaluated", "hypervolume"):
        table.add_column(column)
    for row in rows:
        hv = "" if row.hypervolume is None else f"{row.hypervolume:.4g}"
        table.add_row(row.name, row.strategy, row.status, ",".join(row.objectives), f"{row.evaluated}/{row.budget}", hv)
    console.print(table)


def status(
    name: Annotated[str, typer.Argument(help="Search name.")],
    storage: StorageOption = None,
    as_json: JsonOption = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write hypervolume per evaluation to this image.", show_default=False)
    ] = None,
    compare: Annotated[
        list[str] | None, typer.Option("--compare", help="With --plot: another search to draw (repeatable).")
    ] = None,
) -> None:
    """Per-iteration hypervolume and predictor quality of a search."""
    from supernas.api import Store, list_trainings, plot_hypervolume, search_status
    from supernas.api.plots import check_plot_path

    if compare and plot is None:
        raise typer.BadParameter("draws into --plot only; give --plot FILE too", param_hint="'--compare'")
    if plot is not None:
        check_plot_path(plot, "plot")
    with Store.open(storage) as store:
        report = search_status(store, name)
        trainings = list_trainings(store, name)
    if plot is not None:
        plot_hypervolume([name, *(compare or [])], plot, storage)
        err_console.print(f"Wrote {plot}")
    if as_json:
        print_json({**report.to_dict(), "trainings": [t.to_dict() for t in trainings]})
        return
    console.print(
        f"{name}: {report.strategy}, {report.status}; " + ", ".join(f"{k} {v}" for k, v in report.counts.items())
    )
    table = Table(title="Iterations")
    for column in ("iteration", "evaluated", "hypervolume", "front"):
        table.add_column(column)
    for f in report.iterations:
        table.add_row(str(f["iteration"]), str(f["n_evaluated"]), f"{f['hypervolume']:.5g}", str(f["front_size"]))
    console.print(table)
    if report.predictor_fits:
        fit_table = Table(title="Predictor fits (cross-validated)")
        for column in ("iteration", "objective", "model", "Kendall τ", "MAPE", "trained on"):
            fit_table.add_column(column)
        for f in report.predictor_fits:
            fit_table.add_row(
                str(f["iteration"]),
                f["objective"],
                f["kind"],
                f"{f['kendall_tau']:.3f}",
                f"{f['mape']:.3%}",
                str(f["n_train"]),
            )
        console.print(fit_table)
    if trainings:
        render_trainings(trainings, f"Trainings ({len(trainings)})")


pareto_app = typer.Typer(help="Inspect measured Pareto fronts.", no_args_is_help=True)


@pareto_app.command("show")
@handle_errors
def pareto_show(
    name: Annotated[str, typer.Argument(help="Search name.")],
    trained: Annotated[
        bool, typer.Option("--trained", help="Inherited and trained accuracy side by side, and the trained front.")
    ] = False,
    storage: StorageOption = None,
    as_json: JsonOption = False,
) -> None:
    """The measured front of a search, with test accuracy of each member (or, with --trained, its trained front)."""
    from supernas.api import Store, search_front, trained_front

    with Store.open(storage) as store:
        if trained:
            render_trained_front(trained_front(store, name), as_json)
        else:
            render_front(search_front(store, name), as_json)


def render_trained_front(report: TrainedFrontReport, as_json: bool) -> None:
    """Print trained subnets (inherited vs trained accuracy, ★ on the trained front): JSON, or a table."""
    if as_json:
        print_json(report.to_dict())
        return
    others = [o["name"] for o in report.objectives if o["name"] != "accuracy"]
    table = Table(
        title=f"Trained subnets of {report.search} ({report.init}; ★ trained front, {len(report.front)} subnets)"
    )
    table.add_column("arch_id", no_wrap=True)
    for column in ("inherited", "trained", "gain", "test", *others, "front"):
        table.add_column(column)
    for m in report.members:
        table.add_row(
            m.arch_id,
            "" if m.inherited_accuracy is None else f"{m.inherited_accuracy:.4f}",
            f"{m.trained_accuracy:.4f}",
            "" if m.gain is None else f"{m.gain:+.4f}",
            f"{m.test_accuracy:.4f}",
            *(_fmt(m.metrics[n]) for n in others),
            "★" if m.on_trained_front else "",
        )
    console.print(table)
    gain = "" if report.median_gain is None else f"; median gain {report.median_gain:+.4f}"
    console.print(
        f"Hypervolume: inherited {report.hypervolume_inherited:.5g} → trained {report.hypervolume_trained:.5g}{gain}"
    )


@pareto_app.command("plot")
@handle_errors
def pareto_plot(
    name: Annotated[str, typer.Argument(help="Search name.")],
    out: Annotated[Path, typer.Option("--out", help="Image to write (.png, .svg or .pdf).")] = Path("front.png"),
    x: Annotated[str, typer.Option("--x", help="Metric on the x axis.")] = "latency_ms",
    y: Annotated[str, typer.Option("--y", help="Metric on the y axis.")] = "accuracy",
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write an interactive plotly page.", show_default=False)
    ] = None,
    trained: Annotated[
        bool, typer.Option("--trained", help="Draw each trained subnet's move from inherited to trained accuracy.")
    ] = False,
    storage: StorageOption = None,
    as_json: JsonOption = False,
) -> None:
    """Plot every measured point of a search, its front in (x, y) and the exported subnets (or, with --trained,
    each trained subnet's move from inherited to trained accuracy)."""
    from supernas.api import plot_front, plot_trained_front

    if trained:
        drawn = plot_trained_front(name, out, x=x, y=y, storage=storage)
    else:
        drawn = plot_front(name, out, x=x, y=y, html=html, storage=storage)
    if as_json:
        print_json(drawn.to_dict())
        return
    what = "trained" if trained else "measured"
    console.print(f"Wrote {out}: {drawn.points} {what} subnets, {drawn.front} on the ({x}, {y}) front")


def register(app: typer.Typer) -> None:
    """Add the search commands to the top-level app."""
    app.command("search")(handle_errors(search))
    app.command("resume")(handle_errors(resume))
    app.command("searches")(handle_errors(searches))
    app.command("status")(handle_errors(status))
    app.add_typer(pareto_app, name="pareto")
