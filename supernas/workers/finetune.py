"""Subnet trainings as Ray Tune trials: one trial per subnet, run in parallel across the cluster.

Each trial runs :func:`~supernas.supernet.finetune.run_job` on its share of the cluster (a GPU share when
it has one: CUDA with bf16 autocast) and reports after every epoch the epoch's numbers and a Tune
checkpoint holding only a *pointer* (JSON: path, sha256, epoch) to supernas's own checkpoint of that
epoch. ``FailureConfig`` restarts a crashed trial, which follows the pointer — checking the sha256 before
loading with ``weights_only=True`` — and continues from that epoch. Nothing is ever restored by
unpickling: a killed driver is not continued with ``Tuner.restore`` but by starting new trials from the
checkpoints recorded in the store (the caller passes them as ``TrainingJob.start``).

The driver owns every store row: trials never open the store; their results reach a
:class:`TrainingSink` in the driver process (a Tune callback) as they stream in.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import torch

from supernas.errors import TrainingDivergedError
from supernas.supernet import Supernet
from supernas.supernet.finetune import CheckpointRef, EpochReport, FinetuneEpoch, TrainedSubnet, TrainingJob
from supernas.testing import maybe_crash

POINTER_FILE = "pointer.json"  # the only file in a Tune checkpoint of a subnet training


class TrainingSink(Protocol):
    """Where the driver sends what trainings report (it writes the store rows).

    Contract: ``started`` before a start's first epoch is passed on; ``epoch`` for every finished epoch
    (an epoch may come twice after a restart: it replaces the first); then exactly one of ``complete``
    or ``failed`` per training and run (``failed`` also for a trial that ran out of restarts).
    """

    def started(self, label: str, worker: str, device: str, from_epoch: int) -> None: ...

    def epoch(self, label: str, report: EpochReport) -> None: ...

    def complete(self, label: str, result: TrainedSubnet) -> None: ...

    def failed(self, label: str, error: str) -> None: ...


@dataclass(frozen=True)
class RayFinetuneSettings:
    """How the trials are laid out on the cluster."""

    workers: int = 0  # trials at once; 0: as many as the resources allow
    cpus_per_worker: float = 1.0  # CPUs reserved per trial (also its torch threads)
    gpus_per_worker: float = 0.0  # GPU share per trial
    max_failures: int = 2  # restarts of a crashed trial from its last checkpoint
    device: str = "auto"  # device inside a trial: auto (its GPU share, if any), cpu or cuda
    crash_marker: str | None = None  # fault injection: one trial exits after an epoch while this file exists


def trainable(config: dict[str, Any], payload: Mapping[str, Any]) -> None:
    """The Tune function trainable: one subnet training, continued from Tune's pointer after a crash."""
    from ray import tune

    from supernas.data import load_task
    from supernas.search_space import InputSpec, SearchSpace
    from supernas.supernet.finetune import run_job, worker_name

    torch.set_num_threads(config["threads"])  # the trial's CPU share; results depend on it
    job = TrainingJob.from_dict(config["job"])
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            pointer = json.loads((Path(directory) / POINTER_FILE).read_text())
        job = replace(job, start=CheckpointRef.from_dict(pointer))
    supernet = Supernet(SearchSpace.from_dict(payload["space"]), InputSpec.from_dict(payload["spec"]))
    supernet.load_state_dict(payload["state_dict"])
    device = _device(config["device"])
    start = {"worker": worker_name(), "device": str(device), "from_epoch": job.start.epoch if job.start else 0}

    def on_epoch(report: EpochReport) -> None:
        with tempfile.TemporaryDirectory() as directory:
            (Path(directory) / POINTER_FILE).write_text(json.dumps(report.checkpoint.to_dict()))
            metrics = {"event": "epoch", **start, **_epoch_metrics(report)}
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))
        maybe_crash(config.get("crash_marker"))

    try:
        result = run_job(job, supernet.eval(), load_task(payload["task"]), device, on_epoch)
    except TrainingDivergedError as exc:  # deterministic: a restart would diverge again
        tune.report({"event": "failed", **start, "error": str(exc)})
        return
    tune.report({"event": "complete", **start, **_result_metrics(result)})


def _device(requested: str) -> torch.device:
    """The trial's device: its GPU share when Ray gave it one (``auto``), else the CPU."""
    import ray

    from supernas.supernet.measure import pick_device

    if requested == "auto":
        has_gpu = bool(ray.get_gpu_ids()) and torch.cuda.is_available()
        return torch.device("cuda", 0) if has_gpu else torch.device("cpu")
    return pick_device(requested)


def _epoch_metrics(report: EpochReport) -> dict[str, Any]:
    r, c = report.record, report.checkpoint
    return {
        "epoch": r.epoch,
        "loss": r.loss,
        "val_accuracy": r.val_accuracy,
        "lr": r.lr,
        "seconds": r.seconds,
        "checkpoint_path": c.path,
        "checkpoint_sha256": c.sha256,
    }


def _result_metrics(result: TrainedSubnet) -> dict[str, Any]:
    return {
        "val_accuracy": result.val_accuracy,
        "test_accuracy": result.test_accuracy,
        "latency_ms": result.latency_ms,
        "weights_path": result.weights.path,
        "weights_sha256": result.weights.sha256,
        "epoch": result.weights.epoch,
        "seconds": result.seconds,
    }


def _dispatch(sink: TrainingSink, label: str, result: Mapping[str, Any], seen: dict[str, tuple[str, int]]) -> None:
    """Pass one streamed trial result to ``sink`` (noting a new start first)."""
    start = (str(result["worker"]), int(result["from_epoch"]))
    if seen.get(label) != start:
        seen[label] = start
        sink.started(label, start[0], str(result["device"]), start[1])
    event = result["event"]
    if event == "epoch":
        record = FinetuneEpoch(
            int(result["epoch"]),
            float(result["loss"]),
            float(result["val_accuracy"]),
            float(result["lr"]),
            float(result["seconds"]),
        )
        ref = CheckpointRef(str(result["checkpoint_path"]), str(result["checkpoint_sha256"]), record.epoch)
        sink.epoch(label, EpochReport(record, ref))
    elif event == "complete":
        weights = CheckpointRef(str(result["weights_path"]), str(result["weights_sha256"]), int(result["epoch"]))
        trained = TrainedSubnet(
            float(result["val_accuracy"]),
            float(result["test_accuracy"]),
            float(result["latency_ms"]),
            weights,
            float(result["seconds"]),
        )
        sink.complete(label, trained)
    else:
        sink.failed(label, str(result["error"]))


def run_trainings(
    jobs: list[TrainingJob],
    payload: Mapping[str, Any],
    settings: RayFinetuneSettings,
    sink: TrainingSink,
    storage: Path,
) -> None:
    """Train ``jobs`` as Tune trials on the connected cluster, streaming every result to ``sink``.

    ``payload`` holds the supernet (``space``, ``spec``, ``state_dict``) and its ``task``; Tune puts it in the
    object store once. Tune's own files go to a fresh experiment under ``storage``, never restored from and
    removed once the run is over.
    """
    from ray import tune

    class _SinkCallback(tune.Callback):
        """Passes each streamed result to the sink, in the driver. Tune pickles its settings into tuner.pkl
        (never read back here): the sink, which holds the open store, stays out of that copy."""

        def __init__(self, sink: TrainingSink | None) -> None:
            self.sink = sink
            self.seen: dict[str, tuple[str, int]] = {}  # label -> its latest (worker, from_epoch)
            self.unsaved: dict[str, dict[str, Any]] = {}  # label -> its epoch result whose checkpoint Tune saves

        def __getstate__(self) -> dict[str, Any]:
            return {"sink": None, "seen": {}, "unsaved": {}}

        def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: dict, **info: Any) -> None:
            # An epoch is recorded only once Tune holds its checkpoint (on_checkpoint): a trial killed in
            # between restarts from the previous checkpoint, which is then the last one recorded.
            label = trial.config["job"]["label"]
            if result.get("event") == "epoch":
                self.unsaved[label] = result
            else:
                self._flush(label)
                assert self.sink is not None
                _dispatch(self.sink, label, result, self.seen)

        def on_checkpoint(self, iteration: int, trials: list[Any], trial: Any, checkpoint: Any, **info: Any) -> None:
            self._flush(trial.config["job"]["label"])

        def _flush(self, label: str) -> None:
            result = self.unsaved.pop(label, None)
            if result is not None:
                assert self.sink is not None
                _dispatch(self.sink, label, result, self.seen)

        def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            assert self.sink is not None
            error = trial.get_error()  # read from the trial's error text file; nothing is unpickled
            self.sink.failed(trial.config["job"]["label"], _last_line(str(error) if error else "the trial failed"))

    name = f"finetune-{uuid.uuid4().hex[:8]}"  # a fresh experiment for every run
    fn = tune.with_resources(
        tune.with_parameters(trainable, payload=dict(payload)),
        {"cpu": settings.cpus_per_worker, "gpu": settings.gpus_per_worker},
    )
    tuner = tune.Tuner(
        fn,
        param_space={
            "job": tune.grid_search([job.to_dict() for job in jobs]),
            "threads": max(1, int(settings.cpus_per_worker)),
            "device": settings.device,
            "crash_marker": settings.crash_marker,
        },
        tune_config=tune.TuneConfig(
            num_samples=1,
            max_concurrent_trials=settings.workers or None,
            reuse_actors=True,  # later trials skip starting a process and importing torch
            trial_name_creator=_trial_name,
            trial_dirname_creator=_trial_name,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(storage.resolve()),
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=settings.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            callbacks=[_SinkCallback(sink)],
        ),
    )
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # Tune's reporter prints paths of
        tuner.fit()  # files removed below; every result reaches the sink, errors are logged on stderr
    shutil.rmtree(storage / name, ignore_errors=True)  # every result is in the store; nothing here is read back


def _trial_name(trial: Any) -> str:
    return str(trial.config["job"]["label"])


def make_payload(supernet: Supernet, task: str) -> dict[str, Any]:
    """What every trial needs of the supernet: its space, spec and weights (on the CPU), and the task name."""
    return {
        "space": supernet.space.to_dict(),
        "spec": supernet.spec.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in supernet.state_dict().items()},
        "task": task,
    }


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "the trial failed"
