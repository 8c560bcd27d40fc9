"""``supernas demo``: the embedded default end to end — train, search, show, plot, export."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from supernas.cli.common import console, err_console, handle_errors
from supernas.errors import TrainingError

CHECKPOINT = "digits-demo.pt"
SEARCH = "demo"
OBJECTIVES = "accuracy,latency_ms"
BATCH = 10  # subnets per search iteration


@handle_errors
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to leave supernas.db, front.png and export/.")] = Path(
        "."
    ),
    epochs: Annotated[int, typer.Option("--epochs", help="Supernet training epochs (reduced for the demo).")] = 30,
    budget: Annotated[int, typer.Option("--budget", help="Subnets the search measures.")] = 50,
    executor: Annotated[str, typer.Option("--executor", help="ray (a pool of actors) or local.")] = "ray",
    seed: Annotated[int, typer.Option("--seed", help="Seed of training and search.")] = 0,
) -> None:
    """Train a supernet on digits, search it (linas: accuracy vs latency), plot the front, export the knee."""
    from supernas.cli import search_cmds
    from supernas.data import load_task
    from supernas.export.service import ExportRequest, export_search
    from supernas.search.plots import front_plot
    from supernas.search.service import SearchRequest
    from supernas.search_space import default_space
    from supernas.store import Store
    from supernas.supernet.checkpoint import load_supernet
    from supernas.supernet.train import TrainConfig, train

    if not directory.is_dir():
        raise TrainingError(f"--dir {str(directory)!r} is not an existing directory")
    config = TrainConfig(epochs=epochs, seed=seed)  # validates --epochs
    SearchRequest.parse(OBJECTIVES, [], "linas", budget, BATCH, seed, {})  # validates --budget before any work
    search_cmds.ExecutorOptions(executor, 0, 1.0, None, None, "auto", 1)  # validates --executor
    storage = f"sqlite:///{(directory / 'supernas.db').resolve()}"
    checkpoint, export_dir, plot = directory / CHECKPOINT, directory / "export", directory / "front.png"
    start = time.perf_counter()

    _stage(1, f"Training a five-axis supernet on digits for {epochs} epochs → {checkpoint}")
    task = load_task("digits")
    if checkpoint.exists() and load_supernet(checkpoint).complete:
        err_console.print(f"  {checkpoint} is already trained; reusing it")
    else:
        with search_cmds._progress() as progress:
            bar = progress.add_task("epoch", total=epochs)
            train(
                task,
                default_space(task.spec),
                config,
                checkpoint,
                resume=checkpoint.exists(),
                on_epoch=lambda record: progress.update(bar, completed=record.epoch),
            )

    _stage(2, f"Searching it: linas, objectives accuracy and latency_ms, {budget} measured subnets")
    with Store.open(storage, create=True) as store:
        name = search_cmds._free_name(store, SEARCH)
    search_cmds.search(
        supernet=str(checkpoint),
        objectives=OBJECTIVES,
        budget=budget,
        batch=BATCH,
        strategy="linas",
        seed=seed,
        name=name,
        storage=storage,
        executor=executor,
    )

    _stage(3, f"Plotting every measured subnet and the front → {plot}; exporting the knee → {export_dir}")
    with Store.open(storage) as store:
        exported, metrics = export_search(store, ExportRequest(name, export_dir, fmt="pt2", knee=True))
        points = [e.metrics for e in store.evaluations(name, "COMPLETE") if e.metrics]
    front_plot(
        points, "latency_ms", "accuracy", plot, f"supernas demo: {len(points)} measured subnets", [metrics["searched"]]
    )
    e = metrics["exported"]
    console.print(
        f"Knee {metrics['arch_id']}: test accuracy {e['test_accuracy']:.3f}, latency {e['latency_ms']:.3f} ms; "
        f"files: {', '.join(exported.files)}"
    )
    _stage(4, f"Done in {time.perf_counter() - start:.0f} s. Try next:")
    db = "" if directory.resolve() == Path.cwd().resolve() else f" --storage {storage}"  # default: ./supernas.db
    for line in (
        f"supernas pareto show {name}{db}",
        f"supernas status {name} --plot hv.png{db}",
        f"supernas export {name} --rank 1 --format onnx --out {directory / 'export-rank1'}{db}",
        f"supernas search --supernet {checkpoint} --objectives accuracy,model_bytes --budget 100{db}",
        "supernas train --task digits --out digits.pt   # the full 120-epoch supernet",
    ):
        console.print(f"  {line}", soft_wrap=True, highlight=False)


def _stage(number: int, text: str) -> None:
    err_console.rule(f"[bold][{number}/4] {text}", align="left")


def register(app: typer.Typer) -> None:
    """Add the demo command to the top-level app."""
    app.command("demo")(demo)
