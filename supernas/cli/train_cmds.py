"""``supernas train``: train a weight-sharing supernet and checkpoint it every epoch."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from supernas.cli.common import console, err_console, handle_errors, print_json
from supernas.errors import TrainingError


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
    storage: Annotated[
        str | None,
        typer.Option("--storage", help="With --ray: register the supernet in this store.", show_default=False),
    ] = None,
) -> None:
    """Train a supernet with the sandwich rule and in-place distillation."""
    from supernas.data import load_task
    from supernas.search_space import SearchSpace, default_space
    from supernas.supernet.checkpoint import read_checkpoint
    from supernas.supernet.train import TrainConfig
    from supernas.supernet.train import train as run_training
    from supernas.workers.measure import pick_device

    given = {"epochs": epochs, "seed": seed, "batch_size": batch_size, "lr": lr}
    given = {key: value for key, value in given.items() if value is not None}
    stored: dict[str, Any] | None = read_checkpoint(out) if resume and out.exists() else None
    if out.exists() and not resume:
        raise TrainingError(f"--out {str(out)!r} already exists; pass --resume to continue it or choose another file")
    if not out.parent.is_dir():
        raise TrainingError(f"--out {str(out)!r}: directory {str(out.parent)!r} does not exist")
    config = TrainConfig.from_dict({**(stored["train_config"] if stored else {}), **given})
    task_data = load_task(task or (stored["task"] if stored else "digits"))
    if space_file is not None:
        space = SearchSpace.load(space_file)
    elif stored is not None:
        space = SearchSpace.from_dict(stored["space"], source=f"checkpoint {out}")
    else:
        space = default_space(task_data.spec)
    space.check_input(task_data.spec)
    torch_device = pick_device(device)
    if use_ray:
        _train_on_ray(
            task_data.name,
            space,
            config,
            out,
            resume,
            device,
            trials,
            cpus_per_trial,
            gpus_per_trial,
            ray_address,
            storage,
            as_json,
        )
        return
    if stored is not None:
        err_console.print(f"Resuming {out} after epoch {stored['epoch']} of {config.epochs}")

    with _progress() as progress:
        bar = progress.add_task("epoch 1", total=config.epochs)

        def on_step(epoch: int, step: int, steps: int) -> None:
            progress.update(bar, completed=epoch - 1 + step / steps)

        def on_epoch(record: Any) -> None:
            progress.update(
                bar,
                completed=record.epoch,
                description=f"epoch {record.epoch} · loss {record.loss:.3f} · val largest {record.val_largest:.3f}"
                f" · smallest {record.val_smallest:.3f}",
            )

        progress.update(bar, completed=stored["epoch"] if stored else 0)
        result = run_training(
            task_data,
            space,
            replace(config),
            out,
            resume=resume,
            device=torch_device,
            on_step=on_step,
            on_epoch=on_epoch,
        )
    if as_json:
        print_json({"checkpoint": str(out), "task": task_data.name, "train_config": asdict(config), **result.metrics})
        return
    _print_table(result.metrics, str(out))


def _train_on_ray(
    task: str,
    space: Any,
    config: Any,
    out: Path,
    resume: bool,
    device: str,
    trials: int,
    cpus: float,
    gpus: float | None,
    ray_address: str | None,
    storage: str | None,
    as_json: bool,
) -> None:
    """Train as Ray Tune trials, write the best supernet to ``out`` and register it in the store."""
    from supernas.errors import WorkerError
    from supernas.search.service import register_supernet
    from supernas.store import Store
    from supernas.supernet.checkpoint import load_supernet
    from supernas.workers.cluster import ClusterSettings, RayCluster, check_local_gpus
    from supernas.workers.tune import TuneSettings, run_tune

    if trials < 1:
        raise WorkerError(f"--trials {trials} is out of range; valid: an integer >= 1")
    if cpus <= 0 or (gpus is not None and gpus < 0):
        raise WorkerError("--cpus-per-trial must be > 0 and --gpus-per-trial >= 0")
    Store.check_url(storage)
    if gpus is not None:
        check_local_gpus(ray_address, gpus, "--gpus-per-trial")
    with RayCluster(ClusterSettings(address=ray_address)):
        import ray

        have = ray.cluster_resources().get("GPU", 0.0)
        gpu_share = (1.0 if have else 0.0) if gpus is None else gpus
        if gpu_share > have:
            raise WorkerError(f"--gpus-per-trial {gpu_share:g} is more than the cluster has ({have:g} GPUs)")
        settings = TuneSettings(trials=trials, cpus_per_trial=cpus, gpus_per_trial=gpu_share, device=device)
        err_console.print(f"Training on Ray Tune: {trials} trial(s), {config.epochs} epochs each")
        metrics = run_tune(task, space, config, out, settings, resume=resume)
    loaded = load_supernet(out)
    with Store.open(storage, create=True) as store:
        record = register_supernet(store, loaded, out.stem, metrics)
    err_console.print(f"Registered supernet {record.name!r} in {store.url}")
    if as_json:
        print_json({"checkpoint": str(out), "supernet": record.name, **metrics})
        return
    _print_table(metrics, str(out))


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


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
