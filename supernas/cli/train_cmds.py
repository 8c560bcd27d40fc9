"""``supernas train``: train a weight-sharing supernet and checkpoint it every epoch."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from supernas.cli.common import ProgressDisplay, StorageOption, console, err_console, handle_errors, print_json

if TYPE_CHECKING:
    from supernas.api import EpochRecord


def train(
    out: Annotated[Path, typer.Option("--out", help="Checkpoint file, rewritten atomically after every epoch.")],
    task: Annotated[
        str | None, typer.Option("--task", help="Task: 'digits' (default) or 'npz:PATH'.", show_default=False)
    ] = None,
    space_file: Annotated[
        Path | None,
        typer.Option("--space", help="Search space file (.toml/.json); default: the task's built-in space."),
    ] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Epochs (default 120).", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default 0).", show_default=False)] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Examples per step (default 32).", show_default=False)
    ] = None,
    lr: Annotated[
        float | None, typer.Option("--lr", help="Peak learning rate (default 3e-3).", show_default=False)
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out if it exists.")] = False,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the final metrics as JSON on stdout.")] = False,
    use_ray: Annotated[
        bool, typer.Option("--ray", help="Train as Ray Tune trials (crash-tolerant, restorable).")
    ] = False,
    trials: Annotated[
        int, typer.Option("--trials", help="With --ray: trials; more than 1 sweeps hyperparameters.")
    ] = 1,
    cpus_per_trial: Annotated[float, typer.Option("--cpus-per-trial", help="With --ray: CPUs per trial.")] = 1.0,
    gpus_per_trial: Annotated[
        float | None,
        typer.Option(
            "--gpus-per-trial", help="With --ray: GPU share per trial (default 1 with GPUs).", show_default=False
        ),
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="With --ray: join this cluster.", show_default=False)
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Train a supernet with the sandwich rule and in-place distillation."""
    from supernas.api import RayTrainSettings, prepare_training, train_supernet, train_supernet_on_ray
    from supernas.api.evaluation import pick_device_name

    given = {"epochs": epochs, "seed": seed, "batch_size": batch_size, "lr": lr}
    plan = prepare_training(
        out,
        task=task,
        space=space_file,
        settings={k: v for k, v in given.items() if v is not None},
        resume=resume,
    )
    pick_device_name(device)
    if use_ray:
        settings = RayTrainSettings(trials, cpus_per_trial, gpus_per_trial, ray_address, device)

        def on_start(gpu_share: float) -> None:
            err_console.print(f"Training on Ray Tune: {trials} trial(s), {plan.config.epochs} epochs each")

        on_ray = train_supernet_on_ray(plan, settings, storage, on_start)
        err_console.print(f"Registered supernet {on_ray.supernet.name!r} in {on_ray.store_url}")
        if as_json:
            print_json({"checkpoint": str(out), "supernet": on_ray.supernet.name, **on_ray.metrics})
            return
        _print_table(on_ray.metrics, str(out))
        return
    if plan.done_epochs:
        err_console.print(f"Resuming {out} after epoch {plan.done_epochs} of {plan.config.epochs}")
    with ProgressDisplay() as display:
        display.start(plan.config.epochs, plan.done_epochs, "epoch 1", eta=True)

        def on_step(epoch: int, step: int, steps: int) -> None:
            display.update(epoch - 1 + step / steps)

        def on_epoch(record: EpochRecord) -> None:
            display.update(
                record.epoch,
                f"epoch {record.epoch} · loss {record.loss:.3f} · val largest {record.val_largest:.3f}"
                f" · smallest {record.val_smallest:.3f}",
            )

        result = train_supernet(plan, device=device, on_step=on_step, on_epoch=on_epoch)
    if as_json:
        print_json(
            {"checkpoint": str(out), "task": plan.task.name, "train_config": asdict(plan.config), **result.metrics}
        )
        return
    _print_table(result.metrics, str(out))


def _print_table(metrics: dict[str, Any], out: str) -> None:
    table = Table(title=f"Validation accuracy of subnets of {out}")
    table.add_column("subnet")
    table.add_column("arch_id")
    table.add_column("val acc", justify="right")
    table.add_column("test acc", justify="right")
    for row in metrics["subnets"]:
        test = row.get("test_accuracy")
        table.add_row(row["name"], row["arch_id"], f"{row['val_accuracy']:.4f}", "" if test is None else f"{test:.4f}")
    console.print(table)
    if metrics.get("val_random_median") is not None:
        console.print(f"median validation accuracy of the random subnets: {metrics['val_random_median']:.4f}")


def register(app: typer.Typer) -> None:
    """Add ``train`` to the top-level app."""
    app.command("train")(handle_errors(train))
