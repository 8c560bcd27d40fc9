"""``supernas search``, ``resume``, ``searches``, ``status`` and ``pareto show``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from supernas.cli.common import console, err_console, handle_errors, print_json
from supernas.errors import CheckpointError, SearchError, WorkerError

StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage", help="SQLAlchemy URL; default $SUPERNAS_STORAGE or sqlite:///supernas.db.", show_default=False
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
EXECUTORS = ("ray", "local")


class ExecutorOptions:
    """Where evaluations run; validated before anything is written."""

    def __init__(
        self,
        executor: str,
        workers: int,
        cpus_per_worker: float,
        gpus_per_worker: float | None,
        ray_address: str | None,
        device: str,
        latency_batch: int,
    ) -> None:
        if executor not in EXECUTORS:
            raise SearchError(f"--executor {executor!r} is not valid; valid: {', '.join(EXECUTORS)}")
        if workers < 0:
            raise WorkerError(f"--workers {workers} is out of range; valid: 0 (one per CPU) or a positive integer")
        if cpus_per_worker <= 0:
            raise WorkerError(f"--cpus-per-worker {cpus_per_worker:g} is out of range; valid: a number > 0")
        if gpus_per_worker is not None and gpus_per_worker < 0:
            raise WorkerError(f"--gpus-per-worker {gpus_per_worker:g} is out of range; valid: a number >= 0")
        if latency_batch < 1:
            raise SearchError(f"--latency-batch {latency_batch} is out of range; valid: an integer >= 1")
        if executor == "ray" and gpus_per_worker is not None:
            from supernas.workers.cluster import check_local_gpus

            check_local_gpus(ray_address, gpus_per_worker, "--gpus-per-worker")
        self.executor, self.workers, self.cpus, self.gpus = executor, workers, cpus_per_worker, gpus_per_worker
        self.ray_address, self.device, self.latency_batch = ray_address, device, latency_batch

    def to_dict(self) -> dict[str, Any]:
        return {
            "executor": self.executor,
            "workers": self.workers,
            "cpus_per_worker": self.cpus,
            "gpus_per_worker": self.gpus,
            "device": self.device,
            "latency_batch": self.latency_batch,
        }

    @contextmanager
    def evaluator(self, loaded: Any, metrics: list[str]) -> Iterator[Any]:
        """An evaluator for ``loaded`` (a LoadedSupernet), cleaned up on exit."""
        from supernas.data import load_task
        from supernas.search.evaluators import LocalEvaluator, RayEvaluator
        from supernas.workers.measure import LatencySettings, SubnetMeasurer, pick_device

        task = load_task(loaded.task)
        latency = LatencySettings(batch_size=self.latency_batch)
        val = (task.val.x, task.val.y)
        if self.executor == "local":
            measurer = SubnetMeasurer(loaded.supernet, val, latency=latency, device=pick_device(self.device))
            yield LocalEvaluator(measurer, metrics)
            return
        from supernas.workers.cluster import ClusterSettings, RayCluster
        from supernas.workers.pool import EvaluationPool, PoolSettings, make_payload

        settings = PoolSettings(
            workers=self.workers, cpus_per_worker=self.cpus, gpus_per_worker=self.gpus, latency=latency
        )
        with RayCluster(ClusterSettings(address=self.ray_address)):
            pool = EvaluationPool(make_payload(loaded.supernet, val), settings)
            try:
                yield RayEvaluator(pool, metrics)
            finally:
                pool.close()


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
    sampler: Annotated[str, typer.Option("--sampler", help="Optuna sampler: nsga2 or tpe.")] = "nsga2",
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
    from supernas.search.service import SearchRequest, create_search, register_supernet
    from supernas.store import Store

    options = {"sampler": sampler} if strategy == "optuna" else {}
    request = SearchRequest.parse(objectives, constraint or [], strategy, budget, batch, seed, options)
    run_options = ExecutorOptions(
        executor, workers, cpus_per_worker, gpus_per_worker, ray_address, device, latency_batch
    )
    loaded = _load_supernet(supernet, storage)
    Store.check_url(storage)
    with run_options.evaluator(loaded, request.metrics) as evaluator, Store.open(storage, create=True) as store:
        record = register_supernet(store, loaded, Path(supernet).stem if Path(supernet).is_file() else supernet)
        name = name or _free_name(store, f"{record.name}-{strategy}-s{seed}")
        create_search(store, name, request, record.name, run_options.to_dict())
        _run(store, name, loaded, evaluator, as_json)


def resume(
    name: Annotated[str, typer.Argument(help="Search to continue.")],
    storage: StorageOption = None,
    executor: Annotated[
        str | None, typer.Option("--executor", help="ray or local (default: as started).", show_default=False)
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Ray actors; 0: one per CPU or GPU share.")] = 0,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Join this Ray cluster.", show_default=False)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Continue a killed or interrupted search from the database alone."""
    from supernas.search.service import load_registered_supernet, request_of
    from supernas.store import Store

    with Store.open(storage) as store:
        record = store.get_search(name)
        if record.supernet_name is None:
            raise SearchError(f"search {name!r} has no supernet to evaluate with")
        saved = record.settings
        run_options = ExecutorOptions(
            executor or saved.get("executor", "ray"),
            workers or saved.get("workers", 0),
            saved.get("cpus_per_worker", 1.0),
            saved.get("gpus_per_worker"),
            ray_address,
            saved.get("device", "auto"),
            saved.get("latency_batch", 1),
        )
        loaded = load_registered_supernet(store, record.supernet_name)
        with run_options.evaluator(loaded, request_of(record).metrics) as evaluator:
            _run(store, name, loaded, evaluator, as_json)


def _run(store: Any, name: str, loaded: Any, evaluator: Any, as_json: bool) -> None:
    from supernas.search.service import request_of, run_stored_search

    record = store.get_search(name)
    request = request_of(record)
    done = sum(store.count_evaluations(name)[s] for s in ("COMPLETE", "FAILED"))
    err_console.print(
        f"Search {name!r}: {request.strategy}, objectives {', '.join(m.name for m in request.objectives)},"
        f" budget {request.budget} ({done} measured so far)"
    )
    with _progress() as progress:
        bar = progress.add_task("starting", total=request.budget, completed=done)

        def on_progress(p: Any) -> None:
            progress.update(
                bar,
                completed=p.n_evaluated,
                description=f"iteration {p.iteration + 1} · HV {p.hypervolume:.4g} · front {p.front_size}",
            )

        run_stored_search(store, name, loaded.supernet.space, loaded.supernet.spec, evaluator, on_progress)
    _report_test_accuracy(store, name, loaded)
    _show_front(store, name, as_json)


def _report_test_accuracy(store: Any, name: str, loaded: Any) -> None:
    """Measure test accuracy of the final front's members (for the report only)."""
    from supernas.data import load_task
    from supernas.search.service import measured_front
    from supernas.search_space import SubnetConfig
    from supernas.workers.measure import SubnetMeasurer

    members = [e for e in measured_front(store, name) if "test_accuracy" not in (e.metrics or {})]
    if not members:
        return
    task = load_task(loaded.task)
    measurer = SubnetMeasurer(loaded.supernet, (task.val.x, task.val.y), (task.test.x, task.test.y))
    for e in members:
        test = measurer.measure(SubnetConfig.from_dict(e.config), ["test_accuracy"])
        store.update_metrics(name, e.arch_id, test)


def _load_supernet(supernet: str, storage: str | None) -> Any:
    """A checkpoint path, or the name of a supernet registered in the store."""
    from supernas.search.service import load_registered_supernet
    from supernas.store import Store
    from supernas.supernet.checkpoint import load_supernet

    if Path(supernet).is_file():
        return load_supernet(supernet)
    if supernet.endswith((".pt", ".ckpt")) or "/" in supernet:
        raise CheckpointError(f"--supernet {supernet!r}: no such checkpoint file (or registered supernet name)")
    with Store.open(storage) as store:
        return load_registered_supernet(store, supernet)


def _free_name(store: Any, base: str) -> str:
    taken = {s.name for s in store.list_searches()}
    if base not in taken:
        return base
    return next(f"{base}-{i}" for i in range(2, 10**6) if f"{base}-{i}" not in taken)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console
    )


def _show_front(store: Any, name: str, as_json: bool) -> None:
    from supernas.search.service import front_rows

    record = store.get_search(name)
    rows = front_rows(store, name)
    if as_json:
        fronts = store.fronts(name)
        print_json(
            {
                "search": name,
                "status": record.status,
                "objectives": record.objectives,
                "hypervolume": fronts[-1].hypervolume if fronts else 0.0,
                "n_evaluated": fronts[-1].n_evaluated if fronts else 0,
                "front": rows,
            }
        )
        return
    names = [o["name"] for o in record.objectives]
    table = Table(title=f"Measured Pareto front of {name} ({len(rows)} subnets)")
    for column in ("rank", "arch_id", *names, "test_accuracy", "depth", "embed", "loops"):
        table.add_column(column)
    for rank, row in enumerate(rows, 1):
        m, c = row["metrics"], row["config"]
        test = m.get("test_accuracy")
        table.add_row(
            str(rank),
            row["arch_id"],
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
    from supernas.store import Store

    with Store.open(storage) as store:
        rows: list[dict[str, Any]] = []
        for r in store.list_searches():
            counts = store.count_evaluations(r.name)
            fronts = store.fronts(r.name)
            rows.append(
                {
                    "name": r.name,
                    "strategy": r.strategy,
                    "status": r.status,
                    "supernet": r.supernet_name,
                    "objectives": [o["name"] for o in r.objectives],
                    "budget": r.budget,
                    "evaluated": counts["COMPLETE"] + counts["FAILED"],
                    "failed": counts["FAILED"],
                    "hypervolume": fronts[-1].hypervolume if fronts else None,
                    "created_at": r.created_at.isoformat(),
                }
            )
    if as_json:
        print_json(rows)
        return
    table = Table(title="Searches")
    for column in ("name", "strategy", "status", "objectives", "evaluated", "hypervolume"):
        table.add_column(column)
    for row in rows:
        hv = "" if row["hypervolume"] is None else f"{row['hypervolume']:.4g}"
        table.add_row(
            row["name"],
            row["strategy"],
            row["status"],
            ",".join(row["objectives"]),
            f"{row['evaluated']}/{row['budget']}",
            hv,
        )
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
    from supernas.search.plots import check_plot_path, hv_plot
    from supernas.store import Store

    if plot is not None:
        check_plot_path(plot, "--plot")
    with Store.open(storage) as store:
        record = store.get_search(name)
        if plot is not None:
            names = [name, *(compare or [])]
            series = {
                f"{n} ({store.get_search(n).strategy})": [(f.n_evaluated, f.hypervolume) for f in store.fronts(n)]
                for n in names
            }
            hv_plot(series, plot, f"Hypervolume of {', '.join(names)}")
            err_console.print(f"Wrote {plot}")
        counts = store.count_evaluations(name)
        fronts: list[dict[str, Any]] = [
            {
                "iteration": f.iteration,
                "n_evaluated": f.n_evaluated,
                "hypervolume": f.hypervolume,
                "front_size": len(f.members),
            }
            for f in store.fronts(name)
        ]
        fits: list[dict[str, Any]] = [
            {
                "iteration": f.iteration,
                "objective": f.objective,
                "kind": f.kind,
                "kendall_tau": f.kendall_tau,
                "mape": f.mape,
                "n_train": f.n_train,
            }
            for f in store.predictor_fits(name)
        ]
    if as_json:
        print_json(
            {
                "search": name,
                "status": record.status,
                "strategy": record.strategy,
                "counts": counts,
                "hv_reference": record.hv_reference,
                "iterations": fronts,
                "predictor_fits": fits,
            }
        )
        return
    console.print(f"{name}: {record.strategy}, {record.status}; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    table = Table(title="Iterations")
    for column in ("iteration", "evaluated", "hypervolume", "front"):
        table.add_column(column)
    for f in fronts:
        table.add_row(str(f["iteration"]), str(f["n_evaluated"]), f"{f['hypervolume']:.5g}", str(f["front_size"]))
    console.print(table)
    if fits:
        fit_table = Table(title="Predictor fits (cross-validated)")
        for column in ("iteration", "objective", "model", "Kendall τ", "MAPE", "trained on"):
            fit_table.add_column(column)
        for f in fits:
            fit_table.add_row(
                str(f["iteration"]),
                f["objective"],
                f["kind"],
                f"{f['kendall_tau']:.3f}",
                f"{f['mape']:.3%}",
                str(f["n_train"]),
            )
        console.print(fit_table)


pareto_app = typer.Typer(help="Inspect measured Pareto fronts.", no_args_is_help=True)


@pareto_app.command("show")
@handle_errors
def pareto_show(
    name: Annotated[str, typer.Argument(help="Search name.")],
    storage: StorageOption = None,
    as_json: JsonOption = False,
) -> None:
    """The measured front of a search, with test accuracy of each member."""
    from supernas.store import Store

    with Store.open(storage) as store:
        _show_front(store, name, as_json)


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
    storage: StorageOption = None,
    as_json: JsonOption = False,
) -> None:
    """Plot every measured point of a search, its front in (x, y) and the exported subnets."""
    from supernas.search.plots import check_plot_path, front_html, front_plot
    from supernas.store import Store

    check_plot_path(out, "--out")
    if html is not None and (html.suffix.lower() != ".html" or not html.parent.is_dir()):
        raise SearchError(f"--html {str(html)!r}: valid: a .html file in an existing directory")
    with Store.open(storage) as store:
        store.get_search(name)
        evaluations = {e.arch_id: e.metrics for e in store.evaluations(name, "COMPLETE") if e.metrics}
        exported = [e.arch_id for e in store.exports(name) if e.arch_id in evaluations]
    if not evaluations:
        raise SearchError(f"search {name!r} has no completed evaluations to plot yet")
    title = f"{name}: measured subnets"
    size = front_plot(list(evaluations.values()), x, y, out, title, [evaluations[a] for a in exported])
    if html is not None:
        rows = [{"arch_id": a, "metrics": m} for a, m in evaluations.items()]
        front_html(rows, x, y, html, title, exported)
    if as_json:
        print_json(
            {"search": name, "out": str(out), "points": len(evaluations), "front": size, "exported": len(exported)}
        )
        return
    console.print(f"Wrote {out}: {len(evaluations)} measured subnets, {size} on the ({x}, {y}) front")


def register(app: typer.Typer) -> None:
    """Add the search commands to the top-level app."""
    app.command("search")(handle_errors(search))
    app.command("resume")(handle_errors(resume))
    app.command("searches")(handle_errors(searches))
    app.command("status")(handle_errors(status))
    app.add_typer(pareto_app, name="pareto")
