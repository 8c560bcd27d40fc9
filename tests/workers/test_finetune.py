"""Subnet trainings as Ray Tune trials: every result reaches the driver's sink; a crashed trial continues exactly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from supernas.data import load_task
from supernas.search_space import sample
from supernas.supernet.checkpoint import load_supernet
from supernas.supernet.finetune import EpochReport, FinetuneConfig, TrainedSubnet, TrainingJob, run_job
from supernas.workers.finetune import RayFinetuneSettings, make_payload, run_trainings


class RecordingSink:
    """A TrainingSink that keeps every call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []

    def started(self, label: str, worker: str, device: str, from_epoch: int) -> None:
        self.calls.append(("started", label, from_epoch))

    def epoch(self, label: str, report: EpochReport) -> None:
        self.calls.append(("epoch", label, report.record.epoch))

    def complete(self, label: str, result: TrainedSubnet) -> None:
        self.calls.append(("complete", label, result))

    def failed(self, label: str, error: str) -> None:
        self.calls.append(("failed", label, error))


class Stop(Exception):
    """Stands in for a killed driver."""


@pytest.mark.slow
def test_trials_stream_to_the_sink_and_continue_exactly_after_a_crash_or_from_a_given_checkpoint(  # type: ignore[no-untyped-def]
    ray_cluster, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    loaded = load_supernet(tiny_checkpoint)
    task = load_task(loaded.task)
    rng = np.random.default_rng(5)
    recipe = FinetuneConfig(epochs=3, batch_size=128)
    jobs = [
        TrainingJob(label, sample(loaded.supernet.space, rng).to_dict(), "inherited", "largest", recipe,
                    str(tmp_path / label), loaded.sha256)
        for label in ("crash", "given")
    ]  # fmt: skip
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the trials (1 CPU): float reductions depend on the thread count
    try:
        plain = [run_job(replace(j, directory=str(tmp_path / "plain" / j.label)), loaded.supernet, task,
                         torch.device("cpu"), lambda r: None) for j in jobs]  # fmt: skip
        first: list[EpochReport] = []

        def killed(report: EpochReport) -> None:
            first.append(report)
            raise Stop

        with pytest.raises(Stop):  # a driver killed after epoch 1 left this checkpoint behind
            run_job(jobs[1], loaded.supernet, task, torch.device("cpu"), killed)
    finally:
        torch.set_num_threads(threads)
    jobs[1] = replace(jobs[1], start=first[0].checkpoint)
    marker = tmp_path / "crash-once"
    marker.write_text("")
    sink = RecordingSink()
    settings = RayFinetuneSettings(gpus_per_worker=0.0, device="cpu", crash_marker=str(marker))
    run_trainings(jobs, make_payload(loaded.supernet, loaded.task), settings, sink, tmp_path / ".tune")
    assert not marker.exists()  # one trial did crash after reporting an epoch
    restarts = 0
    for job, reference in zip(jobs, plain):
        calls = [(kind, value) for kind, label, value in sink.calls if label == job.label]
        starts = [value for kind, value in calls if kind == "started"]
        assert starts[0] == (0 if job.start is None else 1) and len(starts) <= 2
        restarts += len(starts) - 1
        assert [v for k, v in calls if k == "epoch"][-1] == 3 and not [k for k, _ in calls if k == "failed"]
        (trained,) = [v for k, v in calls if k == "complete"]
        assert isinstance(trained, TrainedSubnet)
        assert trained.weights.sha256 == reference.weights.sha256  # exactly an uninterrupted run
    assert restarts == 1
    assert list((tmp_path / ".tune").iterdir()) == []  # Tune's experiment is gone; the store has everything
