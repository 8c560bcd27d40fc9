"""``supernas demo``: the embedded default end to end — train, search, show, plot, export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supernas.cli.common import ProgressDisplay, console, err_console, handle_errors
from supernas.cli.search_cmds import render_front, search_callbacks

if TYPE_CHECKING:
    from supernas.api import FrontReport


@handle_errors
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to leave supernas.db, front.png and export/.")] = Path(
        "."
    ),
    epochs: Annotated[int, typer.Option("--epochs", help="Supernet training epochs (reduced for the demo).")] = 30,
    budget: Annotated[int, typer.Option("--budget", help="Subnets the search measures.")] = 50,
    executor: Annotated[str, typer.Option("--executor", help="ray (a pool of actors) or local.")] = "ray",
    seed: Annotated[int, typer.Option("--seed", help="Seed of training and search.")] = 0,
    finetune_epochs: Annotated[
        int | None,
        typer.Option("--finetune-epochs", help="Fine-tuning epochs of the knee; 0 skips it.", show_default=False),
    ] = None,
) -> None:
    """Train a supernet on digits, search it (linas: accuracy vs latency), fine-tune the knee, plot the front,
    export the knee."""
    from supernas.api import DemoCallbacks, prepare_demo, run_demo
    from supernas.api.demo import STAGES

    chosen = {} if finetune_epochs is None else {"finetune_epochs": finetune_epochs}  # None: the demo's default
    plan = prepare_demo(directory, epochs=epochs, budget=budget, executor=executor, seed=seed, **chosen)

    with ProgressDisplay() as display:

        def stage(number: int, text: str) -> None:
            display.stop()
            err_console.rule(f"[bold][{number}/{STAGES}] {text}", align="left")
            if number == 1:
                display.start(epochs, description="epoch", eta=True)

        def note(text: str) -> None:
            display.stop()
            err_console.print(f"  {text}")

        def searched(report: FrontReport) -> None:
            display.stop()
            render_front(report, as_json=False)
            if plan.finetune is not None:
                display.start(plan.finetune.epochs, description="fine-tuning epoch", eta=True)

        on_start, on_progress = search_callbacks(display)
        callbacks = DemoCallbacks(
            stage=stage,
            note=note,
            epoch=lambda record: display.update(record.epoch),
            search_start=on_start,
            progress=on_progress,
            searched=searched,
            finetune_epoch=lambda label, record: display.update(
                record.epoch, f"fine-tuning epoch {record.epoch}: val {record.val_accuracy:.3f}"
            ),
        )
        result = run_demo(plan, callbacks)
    metrics = result.export.metrics
    e, w = metrics["exported"], metrics["weights"]
    trained = ""
    if w["source"] == "trained":
        trained = f" (fine-tuned: validation {w['inherited_val_accuracy']:.3f} → {w['trained_val_accuracy']:.3f})"
    console.print(
        f"Knee {metrics['arch_id']}: test accuracy {e['test_accuracy']:.3f}{trained}, latency {e['latency_ms']:.3f} "
        f"ms; files: {', '.join(result.export.exported.files)}"
    )
    err_console.rule(f"[bold][{STAGES}/{STAGES}] Done in {result.seconds:.0f} s. Try next:", align="left")
    name, storage = result.search, plan.storage
    here = plan.directory.resolve() == Path.cwd().resolve()
    db = "" if here else f" --storage {storage}"  # default: ./supernas.db
    trainings = "" if here else f" --dir {plan.directory / 'trainings'}"  # default: ./trainings
    for line in (
        f"supernas pareto show {name}{db}",
        f"supernas pareto show {name} --trained{db}",
        f"supernas finetune {name} --front --epochs 10{trainings}{db}",
        f"supernas status {name} --plot hv.png{db}",
        f"supernas export {name} --rank 1 --format onnx --out {plan.directory / 'export-rank1'}{db}",
        f"supernas search --supernet {plan.checkpoint} --objectives accuracy,model_bytes --budget 100{db}",
        "supernas train --task digits --out digits.pt   # the full 120-epoch supernet",
    ):
        console.print(f"  {line}", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the demo command to the top-level app."""
    app.command("demo")(demo)
