"""Supernet training as Ray Tune trials: crash-tolerant, resumable, optionally a sweep.

Each trial runs :class:`~supernas.supernet.train.Trainer` and reports after every
epoch a ``score`` (mean validation accuracy of the largest, the smallest and a
fixed set of random subnets) with a checkpoint holding the complete trainer state;
``FailureConfig`` restarts a crashed trial from it. Every trial also mirrors that
state to a supernas checkpoint of its own — ``out`` itself for a single trial,
``.OUT.sweep/trial-K.pt`` next to it in a sweep — and a killed driver resumes from
those mirrors (``weights_only`` files supernas wrote), never by unpickling Tune's
experiment state (``Tuner.restore`` would run whatever ``tuner.pkl`` holds). Tune's
own files go to a temporary directory that lives as long as the run.

A sweep draws learning rate, weight decay, distillation weight and random subnets
per step for each trial from the seed (so a resumed sweep gives trial K the same
values), and an ASHA scheduler stops poor trials early.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from supernas.errors import TrainingError
from supernas.search_space import SearchSpace, largest, sample, smallest
from supernas.supernet.checkpoint import read_checkpoint, save_checkpoint
from supernas.supernet.train import TrainConfig, Trainer, check_resumable, checkpoint_augment
from supernas.testing import maybe_crash

CHECKPOINT_FILE = "supernet.pt"
SCORE_SUBNETS = 3  # random subnets in the score, besides the largest and the smallest


@dataclass(frozen=True)
class TuneSettings:
    """How the Tune run is laid out."""

    trials: int = 1  # 1: train with the given settings; more: sweep hyperparameters
    cpus_per_trial: float = 1.0  # CPUs reserved per trial
    gpus_per_trial: float = 0.0  # GPU share per trial
    max_failures: int = 2  # restarts of a crashed trial from its checkpoint
    device: str = "auto"  # device inside each trial
    crash_marker: str | None = None  # fault injection: a trial exits after an epoch once while this file exists
    augment: str = "auto"  # augmentation mode (see supernas.data.augment)
    loader_workers: int | None = None  # DataLoader processes per trial for streamed tasks; None: the default


def score(trainer: Trainer) -> float:
    """Mean validation accuracy of the largest, smallest and a fixed set of random subnets."""
    rng = np.random.default_rng([trainer.config.seed, 3])
    configs = [largest(trainer.space), smallest(trainer.space)]
    configs += [sample(trainer.space, rng) for _ in range(SCORE_SUBNETS)]
    return statistics.fmean(trainer.accuracies(configs, trainer.task.val))


def trainable(config: dict[str, Any]) -> None:
    """The Tune function trainable: continues Tune's checkpoint (a restarted trial), else its mirror."""
    from ray import tune

    from supernas.data import load_task
    from supernas.supernet.measure import pick_device

    torch.set_num_threads(config["threads"])  # the trial's CPU share; results depend on it
    os.chdir(config["cwd"])  # Tune starts trials in their own directory: task paths are the driver's
    mirror = Path(config["mirrors"][config["trial"]])
    settings = {**config["train"], **config["sweep"][config["trial"]]}
    trainer = Trainer(
        load_task(config["task"]),
        SearchSpace.from_dict(config["space"]),
        TrainConfig.from_dict(settings),
        pick_device(config["device"]),
        augment=config["augment"],
        loader_workers=config["loader_workers"],
    )
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            trainer.restore(read_checkpoint(Path(directory) / CHECKPOINT_FILE))
    elif mirror.exists():
        trainer.restore(read_checkpoint(mirror))
    while trainer.epoch < trainer.config.epochs:
        record = trainer.run_epoch()
        state = trainer.state()
        save_checkpoint(mirror, state)
        with tempfile.TemporaryDirectory() as directory:
            save_checkpoint(Path(directory) / CHECKPOINT_FILE, state)
            metrics = {
                "score": score(trainer),
                "epoch": record.epoch,
                "loss": record.loss,
                "val_largest": record.val_largest,
                "val_smallest": record.val_smallest,
            }
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))
        maybe_crash(config["crash_marker"])


SWEEP = ("lr", "weight_decay", "kd_weight", "random_subnets")  # hyperparameters a sweep samples


def sweep_settings(trials: int, seed: int) -> list[dict[str, Any]]:
    """The hyperparameters of each trial: none for a single trial, else drawn from ``seed`` (the same on resume)."""
    if trials == 1:
        return [{}]
    rng = np.random.default_rng([seed, 4])
    return [
        {
            "lr": float(np.exp(rng.uniform(np.log(1e-3), np.log(1e-2)))),
            "weight_decay": float(np.exp(rng.uniform(np.log(1e-3), np.log(1e-1)))),
            "kd_weight": float(rng.uniform(0.0, 1.0)),
            "random_subnets": int(rng.integers(0, 3)),
        }
        for _ in range(trials)
    ]


def mirrors(out: Path, trials: int) -> list[Path]:
    """Where each trial keeps its supernas checkpoint: ``out`` for one trial, a sweep directory for several."""
    if trials == 1:
        return [out]
    return [sweep_directory(out) / f"trial-{k}.pt" for k in range(trials)]


def sweep_directory(out: Path) -> Path:
    return out.parent / f".{out.name}.sweep"


def run_tune(
    task: str,
    space: SearchSpace,
    config: TrainConfig,
    out: Path,
    settings: TuneSettings,
    resume: bool = False,
) -> dict[str, Any]:
    """Train (or continue) the trials of ``out`` and write the best supernet, complete, to ``out``.

    Returns the final metrics (see ``Trainer.final_metrics``) plus ``score`` and the winning
    hyperparameters. With ``resume`` each trial continues its mirror (a partly trained
    ``out``, or the sweep's trial files); without it existing ones are an error.
    """
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    out = out.resolve()
    paths = mirrors(out, settings.trials)
    existing = [p for p in paths if p.exists()] + ([out] if settings.trials > 1 and out.exists() else [])
    if existing and not resume:
        raise TrainingError(
            f"{str(out)!r}: {str(existing[0])!r} already exists; pass `resume` to continue it", field="out"
        )
    for path in existing:
        state = read_checkpoint(path)
        check_resumable(state, task, space, _trial_config(config, state), checkpoint_augment(state), path)
    if settings.trials == 1 and out.exists() and read_checkpoint(out).get("complete"):
        return dict(read_checkpoint(out)["metrics"])
    sweep = sweep_settings(settings.trials, config.seed)
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    resources = {"cpu": settings.cpus_per_trial, "gpu": settings.gpus_per_trial}
    scheduler = ASHAScheduler(time_attr="epoch", max_t=config.epochs, grace_period=max(1, config.epochs // 4))
    with tempfile.TemporaryDirectory(prefix="supernas-tune-") as storage:
        tuner = tune.Tuner(
            tune.with_resources(trainable, resources),
            param_space={
                "trial": tune.grid_search(list(range(settings.trials))),
                "sweep": sweep,
                "mirrors": [str(p) for p in paths],
                "task": task,
                "space": space.to_dict(),
                "train": asdict(config),
                "device": settings.device,
                "crash_marker": settings.crash_marker,
                "threads": max(1, int(settings.cpus_per_trial)),
                "augment": settings.augment,
                "loader_workers": settings.loader_workers,
                "cwd": os.getcwd(),
            },
            tune_config=tune.TuneConfig(
                metric="score", mode="max", scheduler=scheduler if settings.trials > 1 else None
            ),
            run_config=tune.RunConfig(
                name="run",
                storage_path=storage,
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=settings.max_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            ),
        )
        with contextlib.redirect_stdout(sys.stderr):  # Tune's reporter prints; stdout stays the caller's
            grid = tuner.fit()
        best = grid.get_best_result(metric="score", mode="max", scope="last")
        if best.checkpoint is None or best.config is None or best.metrics is None:
            raise TrainingError(f"Ray Tune finished without a checkpoint ({best.error or 'every trial failed'})")
        best_mirror = paths[int(best.config["trial"])]
        metrics = _finish(read_checkpoint(best_mirror), float(best.metrics["score"]), out)
    if settings.trials > 1:
        shutil.rmtree(sweep_directory(out), ignore_errors=True)
    return metrics


def _trial_config(config: TrainConfig, state: dict[str, Any]) -> TrainConfig:
    """``config`` with the hyperparameters a sweep trial's checkpoint was trained with."""
    stored = state["train_config"]
    return TrainConfig.from_dict({**asdict(config), **{k: stored[k] for k in SWEEP if k in stored}})


def _finish(state: dict[str, Any], best_score: float, out: Path) -> dict[str, Any]:
    """Evaluate the best trial's last state and write it, complete, to ``out``."""
    from supernas.data import load_task
    from supernas.supernet.measure import pick_device

    train_config = TrainConfig.from_dict(state["train_config"])
    trainer = Trainer(
        load_task(state["task"]),
        SearchSpace.from_dict(state["space"]),
        train_config,
        pick_device("auto"),
        augment=checkpoint_augment(state),
    )
    trainer.restore(state)
    metrics = {
        **trainer.final_metrics(),
        "score": best_score,
        "hyperparameters": {k: getattr(train_config, k) for k in SWEEP},
    }
    save_checkpoint(out, {**trainer.state(), "metrics": metrics, "complete": True})
    return metrics
