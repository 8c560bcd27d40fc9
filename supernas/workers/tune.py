"""Supernet training as Ray Tune trials: crash-tolerant, restorable, optionally a sweep.

Each trial runs :class:`~supernas.supernet.train.Trainer` and reports after every
epoch a ``score`` (mean validation accuracy of the largest, the smallest and a
fixed set of random subnets) with a checkpoint holding the complete trainer state.
``FailureConfig`` restarts a crashed trial from its last checkpoint; a killed driver
is continued with ``Tuner.restore``. With more than one trial, Tune's Optuna search
samples learning rate, weight decay, distillation weight and random subnets per
step, and an ASHA scheduler stops poor trials early.
"""

from __future__ import annotations

import contextlib
import os
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
from supernas.supernet.train import LEGACY_AUGMENT, TrainConfig, Trainer, checkpoint_augment
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
    """The Tune function trainable: resumes from Tune's checkpoint when there is one."""
    from ray import tune

    from supernas.data import load_task
    from supernas.supernet.measure import pick_device

    torch.set_num_threads(config["threads"])  # the trial's CPU share; results depend on it
    if "cwd" in config:  # Tune starts trials in their own directory: task paths are the driver's
        os.chdir(config["cwd"])
    task = load_task(config["task"])
    space = SearchSpace.from_dict(config["space"])
    settings = {**config["train"], **{k: config[k] for k in config if k in SWEEP}}
    trainer = Trainer(
        task,
        space,
        TrainConfig.from_dict(settings),
        pick_device(config.get("device", "auto")),
        augment=config.get("augment", LEGACY_AUGMENT),  # experiments started before the setting: as they ran
        loader_workers=config.get("loader_workers"),
    )
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            trainer.restore(read_checkpoint(Path(directory) / CHECKPOINT_FILE))
    while trainer.epoch < trainer.config.epochs:
        record = trainer.run_epoch()
        with tempfile.TemporaryDirectory() as directory:
            save_checkpoint(Path(directory) / CHECKPOINT_FILE, trainer.state())
            metrics = {
                "score": score(trainer),
                "epoch": record.epoch,
                "loss": record.loss,
                "val_largest": record.val_largest,
                "val_smallest": record.val_smallest,
            }
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))
        maybe_crash(config.get("crash_marker"))


SWEEP = ("lr", "weight_decay", "kd_weight", "random_subnets")  # hyperparameters a sweep samples


def param_space(task: str, space: SearchSpace, config: TrainConfig, settings: TuneSettings) -> dict[str, Any]:
    from ray import tune

    base: dict[str, Any] = {
        "task": task,
        "space": space.to_dict(),
        "train": asdict(config),
        "device": settings.device,
        "crash_marker": settings.crash_marker,
        "threads": max(1, int(settings.cpus_per_trial)),
        "augment": settings.augment,
        "loader_workers": settings.loader_workers,
        "cwd": os.getcwd(),
    }
    if settings.trials > 1:
        base.update(
            {
                "lr": tune.loguniform(1e-3, 1e-2),
                "weight_decay": tune.loguniform(1e-3, 1e-1),
                "kd_weight": tune.uniform(0.0, 1.0),
                "random_subnets": tune.randint(0, 3),
            }
        )
    return base


def run_tune(
    task: str,
    space: SearchSpace,
    config: TrainConfig,
    out: Path,
    settings: TuneSettings,
    resume: bool = False,
) -> dict[str, Any]:
    """Run (or restore) the Tune experiment of ``out`` and write its best supernet to ``out``.

    Returns the final metrics (see ``Trainer.final_metrics``) plus ``score``, ``trials``
    and the winning hyperparameters. Tune's files live next to ``out``.
    """
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    storage = out.parent.resolve()
    name = f".{out.name}.tune"
    path = storage / name
    resources = {"cpu": settings.cpus_per_trial, "gpu": settings.gpus_per_trial}
    fn = tune.with_resources(trainable, resources)
    if resume and tune.Tuner.can_restore(str(path)):
        tuner = tune.Tuner.restore(str(path), fn, resume_errored=True)
    else:
        if path.exists() and not resume:
            raise TrainingError(
                f"{str(out)!r}: a Ray Tune run already exists at {str(path)!r}; pass `resume`", field="out"
            )
        sweep = settings.trials > 1
        tuner = tune.Tuner(
            fn,
            param_space=param_space(task, space, config, settings),
            tune_config=tune.TuneConfig(
                metric="score",
                mode="max",
                num_samples=settings.trials,
                search_alg=OptunaSearch(seed=config.seed) if sweep else None,
                scheduler=ASHAScheduler(time_attr="epoch", max_t=config.epochs, grace_period=max(1, config.epochs // 4))
                if sweep
                else None,
            ),
            run_config=tune.RunConfig(
                name=name,
                storage_path=str(storage),
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=settings.max_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            ),
        )
    with contextlib.redirect_stdout(sys.stderr):  # Tune's reporter prints; stdout stays the caller's
        grid = tuner.fit()
    best = grid.get_best_result(metric="score", mode="max", scope="last")
    if best.checkpoint is None:
        raise TrainingError(f"Ray Tune finished without a checkpoint ({best.error or 'every trial failed'})")
    return _finish(best, out)


def _finish(best: Any, out: Path) -> dict[str, Any]:
    """Evaluate the best trial's last checkpoint and write it, complete, to ``out``."""
    from supernas.data import load_task
    from supernas.supernet.measure import pick_device

    with best.checkpoint.as_directory() as directory:
        state = read_checkpoint(Path(directory) / CHECKPOINT_FILE)
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
        "score": best.metrics["score"],
        "hyperparameters": {k: getattr(train_config, k) for k in SWEEP},
    }
    save_checkpoint(out, {**trainer.state(), "metrics": metrics, "complete": True})
    return metrics
