"""``supernas finetune``: train chosen subnets of a search further, on Ray workers or in this process."""

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
    fail,
    handle_errors,
    print_json,
)

if TYPE_CHECKING:
    from supernas.api import FinetuneEpoch, TrainingRecord


@handle_errors
def finetune(
    search: Annotated[str, typer.Argument(help="Search name.")],
    front: Annotated[bool, typer.Option("--front", help="Every member of the measured front.")] = False,
    top: Annotated[
        int | None,
        typer.Option("--top", help="The N best measured subnets in the first objective.", show_default=False),
    ] = None,
    rank: Annotated[
        int | None, typer.Option("--rank", help="Front member K, as `pareto show` lists it.", show_default=False)
    ] = None,
    arch: Annotated[
        str | None, typer.Option("--arch", help="Any completed arch_id of the search.", show_default=False)
    ] = None,
    knee: Annotated[bool, typer.Option("--knee", help="The knee of the measured front.")] = False,
    epochs: Annotated[int, typer.Option("--epochs", help="Training epochs per subnet.")] = 10,
    init: Annotated[
        str, typer.Option("--init", help="inherited (the supernet's weights) or scratch (re-initialised).")
    ] = "inherited",
    teacher: Annotated[
        str, typer.Option("--teacher", help="largest (distil from the supernet's largest subnet) or none.")
    ] = "largest",
    lr: Annotated[float, typer.Option("--lr", help="Peak AdamW learning rate.")] = 1e-3,
    kd_weight: Annotated[float, typer.Option("--kd-weight", help="Share of distillation in the loss.")] = 0.5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of shuffling, augmentation and scratch weights.")] = 0,
    executor: Annotated[str, typer.Option("--executor", help="ray (one Tune trial per subnet) or local.")] = "ray",
    workers: Annotated[int, typer.Option("--workers", help="Trials at once; 0: as many as fit.")] = 0,
    cpus_per_worker: Annotated[float, typer.Option("--cpus-per-worker", help="CPUs per trial.")] = 1.0,
    gpus_per_worker: Annotated[
        float | None,
        typer.Option("--gpus-per-worker", help="GPU share per trial (default 0.25 with GPUs).", show_default=False),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address", help="Join this Ray cluster (default $RAY_ADDRESS or local).", show_default=False
        ),
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    directory: Annotated[Path, typer.Option("--dir", help="Where checkpoints and trained weights go.")] = Path(
        "trainings"
    ),
    resume: Annotated[bool, typer.Option("--resume", help="Continue trainings a killed run left unfinished.")] = False,
    storage: StorageOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train chosen subnets of a search further (choose with --front, --top, --rank, --arch or --knee)."""
    from supernas.api import EvaluationSettings, FinetuneSettings, Selection, finetune_subnets

    selection = Selection(front=front, top=top, rank=rank, arch=arch, knee=knee)
    execution = EvaluationSettings(executor, workers, cpus_per_worker, gpus_per_worker, ray_address, device)
    settings = FinetuneSettings(
        epochs=epochs,
        init=init,
        teacher=teacher,
        seed=seed,
        lr=lr,
        kd_weight=kd_weight,
        execution=execution,
        directory=directory,
        resume=resume,
    )
    with ProgressDisplay() as display:
        epochs_done = [0]  # finished epochs, for the bar

        def on_plan(trainings: int, total: int, done: int) -> None:
            if trainings:
                err_console.print(f"Training {trainings} subnet(s) of {search!r} for {epochs} epochs ({init} weights)")
                epochs_done[0] = done
                display.start(total, done, "epoch", eta=True)

        def on_epoch(label: str, record: FinetuneEpoch) -> None:
            epochs_done[0] += 1
            display.update(epochs_done[0], f"{label} epoch {record.epoch}: val {record.val_accuracy:.3f}")

        report = finetune_subnets(search, selection, settings, storage=storage, on_plan=on_plan, on_epoch=on_epoch)
    if as_json:
        print_json(report.to_dict())
    else:
        render_trainings(report.trainings, f"Trainings of {search} ({report.already_complete} already complete)")
    if report.failed:
        raise fail(
            f"{len(report.failed)} of {len(report.trainings)} trainings did not complete; "
            f"`supernas status {search}` lists why",
            1,
        )


def render_trainings(trainings: list[TrainingRecord], title: str) -> None:
    """A table of trainings: inherited and trained validation accuracy side by side, test accuracy and latency
    (in ms) of the trained module."""
    table = Table(title=title, box=None, padding=(0, 1), pad_edge=False, header_style="bold")
    table.add_column("arch_id", no_wrap=True)
    for column in ("init/seed", "status", "epochs", "inherited", "trained", "test", "ms"):
        table.add_column(column)
    for t in trainings:
        table.add_row(
            t.arch_id,
            f"{t.init}/{t.seed}",
            str(t.status) if t.error is None else f"{t.status}: {t.error[:80]}",
            f"{len(t.curve)}/{t.epochs}",
            _acc(t.inherited_accuracy),
            _acc(t.val_accuracy),
            _acc(t.test_accuracy),
            "" if t.latency_ms is None else f"{t.latency_ms:.2f}",
        )
    console.print(table)


def _acc(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def register(app: typer.Typer) -> None:
    """Add the finetune command to the top-level app."""
    app.command("finetune")(finetune)
