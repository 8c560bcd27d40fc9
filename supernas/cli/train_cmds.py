"""``supernas train``: train a weight-sharing supernet and checkpoint it every epoch."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from supernas.cli.common import ProgressDisplay, StorageOption, console, err_console, handle_errors, print_json

if TYPE_CHECKING:
    from supernas.api import EpochRecord, TrainingPlan


def train(
    out: Annotated[Path, typer.Option("--out", help="Checkpoint file, rewritten atomically after every epoch.")],
    task: Annotated[
        str | None,
        typer.Option("--task", help="'digits' (default), 'npz:PATH', 'folder:PATH' or 'hf:PATH'.", show_default=False),
    ] = None,
    space_file: Annotated[
        Path | None,
        typer.Option("--space", help="Search space file (.toml/.json); default: the task's built-in space."),
    ] = None,
    space_preset: Annotated[
        str | None,
        typer.Option("--space-preset", help="A named space (`supernas space presets`).", show_default=False),
    ] = None,
    image_size: Annotated[
        int | None, typer.Option("--image-size", help="Resize images to this side.", show_default=False)
    ] = None,
    channels: Annotated[
        int | None, typer.Option("--channels", help="1 (grayscale) or 3 (RGB); default: detected.", show_default=False)
    ] = None,
    input_column: Annotated[
        str | None, typer.Option("--input-column", help="hf: the image or array column.", show_default=False)
    ] = None,
    label_column: Annotated[
        str | None, typer.Option("--label-column", help="hf: the label column.", show_default=False)
    ] = None,
    augment: Annotated[
        str | None,
        typer.Option("--augment", help="auto, none, shift or crop-flip (default: auto).", show_default=False),
    ] = None,
    init: Annotated[
        str | None,
        typer.Option("--init", help="Start from a pretrained ViT: timm:MODEL_NAME or hf:DIR.", show_default=False),
    ] = None,
    init_weights: Annotated[
        Path | None,
        typer.Option("--init-weights", help="With --init timm:…: a local state dict file.", show_default=False),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", help="Epochs (default 120; 55 with --init).", show_default=False)
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default 0).", show_default=False)] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Examples per step (default 32).", show_default=False)
    ] = None,
    lr: Annotated[
        float | None,
        typer.Option("--lr", help="Peak learning rate (default 3e-3; 8e-3 with --init).", show_default=False),
    ] = None,
    random_subnets: Annotated[
        int | None,
        typer.Option(
            "--random-subnets", help="Random subnets per step besides the sandwich (default 1).", show_default=False
        ),
    ] = None,
    kd_weight: Annotated[
        float | None,
        typer.Option(
            "--kd-weight", help="Share of distillation in the smaller subnets' loss (default 0.5).", show_default=False
        ),
    ] = None,
    student_weight: Annotated[
        float | None,
        typer.Option("--student-weight", help="Loss weight of each smaller subnet (default 0.5).", show_default=False),
    ] = None,
    weight_decay: Annotated[
        float | None, typer.Option("--weight-decay", help="AdamW weight decay (default 0.05).", show_default=False)
    ] = None,
    adam_eps: Annotated[
        float | None,
        typer.Option("--adam-eps", help="AdamW epsilon (default 1e-8; 1e-3 with --init).", show_default=False),
    ] = None,
    grad_projection: Annotated[
        bool | None,
        typer.Option(
            "--grad-projection/--no-grad-projection",
            help="Drop the smaller subnets' gradient that opposes the largest's (default off).",
            show_default=False,
        ),
    ] = None,
    largest_every: Annotated[
        int | None,
        typer.Option(
            "--largest-every",
            help="Train the largest subnet on every N-th step only: faster smaller subnets (default 1; 4 with --init).",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out if it exists.")] = False,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    loader_workers: Annotated[
        int | None,
        typer.Option("--loader-workers", help="Processes reading streamed examples.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the final metrics as JSON on stdout.")] = False,
    use_ray: Annotated[
        bool, typer.Option("--ray", help="Train on Ray: Tune trials, or Ray Train workers with --workers.")
    ] = False,
    trials: Annotated[
        int, typer.Option("--trials", help="With --ray: trials; more than 1 sweeps hyperparameters.")
    ] = 1,
    workers: Annotated[int, typer.Option("--workers", help="With --ray: data-parallel Ray Train workers (DDP).")] = 1,
    cpus_per_trial: Annotated[
        float, typer.Option("--cpus-per-trial", help="With --ray: CPUs per trial or worker.")
    ] = 1.0,
    gpus_per_trial: Annotated[
        float | None,
        typer.Option(
            "--gpus-per-trial",
            "--gpus-per-worker",
            help="With --ray: GPU share per trial or worker (default 1 with GPUs).",
            show_default=False,
        ),
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="With --ray: join this cluster.", show_default=False)
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Train a supernet with the sandwich rule and in-place distillation (from a pretrained ViT with --init)."""
    from supernas.api import RayTrainSettings, prepare_training, train_supernet, train_supernet_on_ray
    from supernas.api.evaluation import pick_device_name

    for given_option, name in ((ray_address, "--ray-address"), (storage, "--storage")):
        if given_option is not None and not use_ray:
            raise typer.BadParameter("applies to --ray training only; add --ray or drop it", param_hint=f"'{name}'")
    given = {
        "epochs": epochs,
        "seed": seed,
        "batch_size": batch_size,
        "lr": lr,
        "random_subnets": random_subnets,
        "kd_weight": kd_weight,
        "student_weight": student_weight,
        "weight_decay": weight_decay,
        "adam_eps": adam_eps,
        "grad_projection": grad_projection,
        "largest_every": largest_every,
    }
    settings = RayTrainSettings(trials, workers, cpus_per_trial, gpus_per_trial, ray_address, device, loader_workers)
    ray_settings = settings if use_ray else None  # checked either way: every option is valid or refused
    pick_device_name(device)
    plan = prepare_training(
        out,
        task=task,
        space=space_file,
        space_preset=space_preset,
        settings={k: v for k, v in given.items() if v is not None},
        resume=resume,
        image_size=image_size,
        channels=channels,
        input_column=input_column,
        label_column=label_column,
        augment=augment,
        init=init,
        init_weights=init_weights,
    )
    if ray_settings is not None:

        def on_start(gpu_share: float) -> None:
            _announce(plan)
            layout = f"{workers} Ray Train workers" if workers > 1 else f"Ray Tune: {trials} trial(s)"
            err_console.print(f"Training on {layout}, {plan.config.epochs} epochs")

        on_ray = train_supernet_on_ray(plan, ray_settings, storage, on_start)
        err_console.print(f"Registered supernet {on_ray.supernet.name!r} in {on_ray.store_url}")
        if as_json:
            print_json({"checkpoint": str(out), "supernet": on_ray.supernet.name, **on_ray.metrics})
            return
        _print_table(on_ray.metrics, str(out))
        return
    with ProgressDisplay() as display:

        def started() -> None:  # everything is checked: say what runs, then draw its progress
            _announce(plan)
            display.start(plan.config.epochs, plan.done_epochs, "epoch 1", eta=True)

        def on_step(epoch: int, step: int, steps: int) -> None:
            display.update(epoch - 1 + step / steps)

        def on_epoch(record: EpochRecord) -> None:
            display.update(
                record.epoch,
                f"epoch {record.epoch} · loss {record.loss:.3f} · val largest {record.val_largest:.3f}"
                f" · smallest {record.val_smallest:.3f}",
            )

        result = train_supernet(
            plan, device=device, loader_workers=loader_workers, on_step=on_step, on_epoch=on_epoch, on_start=started
        )
    if as_json:
        print_json(
            {"checkpoint": str(out), "task": plan.task.name, "train_config": asdict(plan.config), **result.metrics}
        )
        return
    _print_table(result.metrics, str(out))


def _announce(plan: TrainingPlan) -> None:
    """Say on stderr what is resumed, or which space a pretrained start derived."""
    if plan.done_epochs:
        err_console.print(f"Resuming {plan.out} after epoch {plan.done_epochs} of {plan.config.epochs}")
    if plan.start is not None:
        teacher = "teaches every subnet" if plan.start.teacher else "has a new classifier head (no teacher)"
        err_console.print(f"Starting from {plan.start.source}, which {teacher}; its space:")
        err_console.print(plan.space.to_toml(), highlight=False, markup=False)


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
