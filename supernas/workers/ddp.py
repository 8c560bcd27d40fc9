"""Data-parallel supernet training on Ray Train: several workers share every global batch.

:func:`run_ddp` runs a ``ray.train.torch.TorchTrainer`` (ray 2.60 runs it on the Train V2 controller)
with one process per worker and torch.distributed between them: gloo on CPUs, NCCL with one GPU per
worker. Every worker loads the task by name and builds the same :class:`Trainer` as one rank of a
:class:`World`: the same seed gives every rank the same weights, subnets, permutation and
augmentation draws; each reads only its contiguous share of every global batch, and one explicit
all-reduce per step (``Trainer._average_gradients``), after the sandwich's backward passes and before
clipping, gives every rank the gradient of the whole batch.

Why not ``DistributedDataParallel``: a sandwich step runs ``2 + random_subnets`` forward/backward
passes over differently sliced subnets. DDP all-reduces after every backward (three or more messages
per step), needs ``find_unused_parameters`` because slices leave weights unused, and gives those
unused weights zero gradients, which AdamW then decays and updates, unlike a one-process run. One
all-reduce of the accumulated gradients is exact, one message per step, and keeps a gradient unset
where no rank computed one.

Checkpoints are supernas's own: rank 0 writes ``out`` (``weights_only`` format, atomic) after every
epoch, and every worker that starts — first, after ``resume``, or when Ray Train restarts the group
after a failure (``max_failures``) — continues from ``out`` when it exists. Ray Train's run directory
is temporary and never restored: nothing is unpickled from a directory a user controls. ``out`` must
be on a filesystem every worker sees (a local cluster, or shared storage).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from supernas.data.augment import AUGMENT_MODES
from supernas.errors import SupernasError, TrainingError, WorkerError
from supernas.search_space import SearchSpace
from supernas.supernet.checkpoint import read_checkpoint, save_checkpoint
from supernas.supernet.train import (
    EpochRecord,
    TrainConfig,
    Trainer,
    TrainResult,
    World,
    check_resumable,
    checkpoint_augment,
)
from supernas.testing import maybe_crash

MAX_WORKERS = 256  # Ray Train workers of one run


@dataclass(frozen=True)
class DDPSettings:
    """How a data-parallel run is laid out on the cluster."""

    workers: int = 2  # Ray Train worker processes; each runs its share of every global batch
    cpus_per_worker: float = 1.0  # CPUs reserved per worker (its torch threads, at least 1)
    gpus_per_worker: float = 0.0  # 0: CPUs and gloo; 1: one GPU per worker and NCCL
    loader_workers: int | None = None  # DataLoader processes inside each worker; None: the default
    max_failures: int = 0  # restarts of the worker group after a worker fails (each continues from `out`)
    crash_marker: str | None = None  # fault injection: one worker exits after an epoch once while this file exists

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not 1 <= self.workers <= MAX_WORKERS:
            raise WorkerError(f"{self.workers} is out of range; valid: an integer in 1..{MAX_WORKERS}", field="workers")
        if not self.cpus_per_worker > 0:
            raise WorkerError(f"{self.cpus_per_worker:g} is out of range; valid: a number > 0", field="cpus_per_worker")
        if self.gpus_per_worker not in (0, 1):
            raise WorkerError(
                f"{self.gpus_per_worker:g} is not valid; valid: 0 (CPUs, gloo) or 1 (one GPU per worker, NCCL)",
                field="gpus_per_worker",
            )
        if self.max_failures < 0:
            raise WorkerError(f"{self.max_failures} is out of range; valid: an integer >= 0", field="max_failures")


def run_ddp(
    task: str,
    space: SearchSpace,
    config: TrainConfig,
    out: str | Path,
    settings: DDPSettings,
    *,
    resume: bool = False,
    augment: str | None = None,
) -> TrainResult:
    """Train on the connected Ray cluster with ``settings.workers`` data-parallel workers; ``out`` as in ``train``.

    ``config.batch_size`` is the global batch. ``augment`` defaults to the resumed checkpoint's, else
    ``auto``. Returns what :func:`~supernas.supernet.train.train` returns for the same run.
    """
    if augment is not None and augment not in AUGMENT_MODES:
        raise TrainingError(f"{augment!r} is not valid; valid: {', '.join(AUGMENT_MODES)}", field="augment")
    out = Path(out).resolve()
    resumed_from = 0
    if out.exists():
        if not resume:
            raise TrainingError(
                f"{str(out)!r} already exists; pass `resume` to continue it or choose another file", field="out"
            )
        state = read_checkpoint(out)
        augment = augment or checkpoint_augment(state)
        check_resumable(state, task, space, config, augment, out)
        resumed_from = int(state["epoch"])
        if state.get("complete"):
            return _result(out, resumed_from)
    _check_resources(settings)
    loop_config = {
        "task": task,
        "space": space.to_dict(),
        "train": asdict(config),
        "augment": augment or "auto",
        "out": str(out),
        "cwd": os.getcwd(),
        "threads": max(1, int(settings.cpus_per_worker)),
        "use_gpu": settings.gpus_per_worker > 0,
        "loader_workers": settings.loader_workers,
        "crash_marker": settings.crash_marker,
    }
    _fit(loop_config, settings)
    return _result(out, resumed_from)


def _result(out: Path, resumed_from: int) -> TrainResult:
    state = read_checkpoint(out)
    if not state.get("complete"):
        raise TrainingError(f"Ray Train stopped before {str(out)!r} was complete; pass `resume` to continue it")
    history = tuple(EpochRecord(**r) for r in state["history"])
    return TrainResult(out, dict(state["metrics"]), history, resumed_from)


def _check_resources(settings: DDPSettings) -> None:
    """Fail fast when the cluster cannot hold the workers (Ray Train would wait for them forever)."""
    import ray

    have = ray.cluster_resources()
    cpus, gpus = settings.workers * settings.cpus_per_worker, settings.workers * settings.gpus_per_worker
    if cpus > have.get("CPU", 0) or gpus > have.get("GPU", 0):
        raise WorkerError(
            f"{settings.workers} workers need {cpus:g} CPUs and {gpus:g} GPUs; the cluster has "
            f"{have.get('CPU', 0):g} CPUs and {have.get('GPU', 0):g} GPUs; valid: fewer workers or a smaller "
            "`cpus_per_worker`/`gpus_per_worker`",
            field="workers",
        )


def _fit(loop_config: dict[str, Any], settings: DDPSettings) -> None:
    from ray.train import FailureConfig, RunConfig, ScalingConfig, TrainingFailedError
    from ray.train.torch import TorchTrainer

    resources = {"CPU": settings.cpus_per_worker, **({"GPU": 1.0} if settings.gpus_per_worker else {})}
    with tempfile.TemporaryDirectory(prefix="supernas-ray-train-") as storage:
        trainer = TorchTrainer(
            _train_loop,
            train_loop_config=loop_config,
            scaling_config=ScalingConfig(
                num_workers=settings.workers, use_gpu=settings.gpus_per_worker > 0, resources_per_worker=resources
            ),
            run_config=RunConfig(
                name="supernas-ddp",
                storage_path=storage,
                failure_config=FailureConfig(max_failures=settings.max_failures),
            ),
        )
        try:
            with contextlib.redirect_stdout(sys.stderr):  # Ray's progress lines; stdout stays the caller's
                trainer.fit()
        except TrainingFailedError as exc:
            raise _cause(exc) from None


def _cause(exc: BaseException) -> SupernasError:
    """A worker's own supernas error when there is one, else a one-line TrainingError."""
    failures = list(getattr(exc, "worker_failures", {}).values()) or [exc]
    for failure in failures:
        seen: BaseException | None = failure
        while seen is not None:
            if isinstance(seen, SupernasError):
                return seen
            seen = getattr(seen, "cause", None) or seen.__cause__
    first = str(failures[0]).strip().splitlines()
    return TrainingError(f"Ray Train failed ({first[-1] if first else type(failures[0]).__name__})")


def _train_loop(config: dict[str, Any]) -> None:
    """Ray Train's per-worker function: this worker's rank, world size and device, then :func:`run_worker`."""
    import ray.train
    import ray.train.torch

    context = ray.train.get_context()
    world = World(context.get_world_rank(), context.get_world_size())
    device = ray.train.torch.get_device() if config["use_gpu"] else torch.device("cpu")
    run_worker(config, world, device)


def run_worker(config: dict[str, Any], world: World, device: torch.device) -> None:
    """One rank of a run: continue ``out`` when it exists, train, and (rank 0) write ``out`` every epoch."""
    from supernas.data import load_task

    os.chdir(config["cwd"])  # Ray Train starts workers in their own directory: task paths are the driver's
    torch.set_num_threads(config["threads"])
    trainer = Trainer(
        load_task(config["task"]),
        SearchSpace.from_dict(config["space"]),
        TrainConfig.from_dict(config["train"]),
        device,
        augment=config["augment"],
        loader_workers=config["loader_workers"],
        world=world,
    )
    out = Path(config["out"])
    if out.exists():
        state = read_checkpoint(out)
        if state.get("complete"):
            return
        trainer.restore(state)
    while trainer.epoch < trainer.config.epochs:
        trainer.run_epoch()
        _check_in_sync(trainer)
        if world.rank == 0:
            save_checkpoint(out, trainer.state())
        maybe_crash(config.get("crash_marker"))
    metrics = trainer.final_metrics()
    if world.rank == 0:
        save_checkpoint(out, {**trainer.state(), "metrics": metrics, "complete": True})


def _check_in_sync(trainer: Trainer) -> None:
    """Every rank holds the same weights (they get the same gradients and run the same updates)."""
    if trainer.world.size == 1:
        return
    with torch.no_grad():
        total = torch.stack([p.double().sum() for p in trainer.supernet.parameters()]).sum().reshape(1)
    low, high = total.clone(), total.clone()
    torch.distributed.all_reduce(low, op=torch.distributed.ReduceOp.MIN)
    torch.distributed.all_reduce(high, op=torch.distributed.ReduceOp.MAX)
    if not torch.equal(low, high):
        raise TrainingError(f"the workers' weights differ after epoch {trainer.epoch}; the run cannot continue")
