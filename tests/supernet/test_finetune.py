"""Subnet training: inherited vs scratch starts, exact resume, same seed same weights, divergence, sha256 checks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from supernas.data import Split, TaskData, load_task
from supernas.errors import CheckpointError, TrainingDivergedError, TrainingError
from supernas.search_space import SubnetConfig, sample
from supernas.supernet import Supernet
from supernas.supernet.checkpoint import file_sha256, load_supernet
from supernas.supernet.finetune import (
    EpochReport,
    FinetuneConfig,
    TrainingJob,
    initial_model,
    load_trained_weights,
    read_training_checkpoint,
    run_job,
    teacher_model,
)
from supernas.supernet.measure import accuracy

RECIPE = FinetuneConfig(epochs=2, batch_size=128, lr=2e-3)


@pytest.fixture(scope="module")
def supernet(tiny_checkpoint: Path) -> Supernet:
    return load_supernet(tiny_checkpoint).supernet


@pytest.fixture(scope="module")
def task() -> TaskData:
    return load_task("digits")


@pytest.fixture(scope="module")
def config(supernet: Supernet) -> SubnetConfig:
    return sample(supernet.space, np.random.default_rng(3))


def _job(config: SubnetConfig, directory: Path, init: str = "inherited", **settings: object) -> TrainingJob:
    recipe = replace(RECIPE, **settings)  # type: ignore[arg-type]
    return TrainingJob("x", config.to_dict(), init, "largest", recipe, str(directory), "0" * 64)


class Stop(Exception):
    """Stands in for a killed worker."""


def test_a_resumed_training_ends_with_the_weights_of_an_uninterrupted_one(
    supernet: Supernet, task: TaskData, config: SubnetConfig, tmp_path: Path
) -> None:
    straight = run_job(_job(config, tmp_path / "a"), supernet, task, torch.device("cpu"), lambda r: None)
    reports: list[EpochReport] = []

    def killed_after_one_epoch(report: EpochReport) -> None:
        reports.append(report)
        raise Stop

    with pytest.raises(Stop):
        run_job(_job(config, tmp_path / "b"), supernet, task, torch.device("cpu"), killed_after_one_epoch)
    (first,) = reports
    assert first.checkpoint.epoch == 1 and file_sha256(first.checkpoint.path) == first.checkpoint.sha256
    resumed_job = replace(_job(config, tmp_path / "b"), start=first.checkpoint)
    epochs: list[int] = []
    resumed = run_job(resumed_job, supernet, task, torch.device("cpu"), lambda r: epochs.append(r.record.epoch))
    assert epochs == [2]  # only the missing epoch ran
    assert resumed.weights.sha256 == straight.weights.sha256  # same seed, same bytes
    assert resumed.val_accuracy == straight.val_accuracy and resumed.test_accuracy == straight.test_accuracy
    other_seed = run_job(_job(config, tmp_path / "c", seed=1), supernet, task, torch.device("cpu"), lambda r: None)
    assert other_seed.weights.sha256 != straight.weights.sha256


def test_inherited_weights_compute_the_supernet_scratch_weights_are_fresh_and_seeded(
    supernet: Supernet, config: SubnetConfig
) -> None:
    x = torch.randn((5, *supernet.spec.shape), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = supernet(x, config)
        inherited = initial_model(supernet, config, "inherited", 0).eval()(x)
        scratch = initial_model(supernet, config, "scratch", 7).eval()(x)
        again = initial_model(supernet, config, "scratch", 7).eval()(x)
    assert torch.allclose(inherited, reference, atol=1e-6)
    assert not torch.allclose(scratch, reference, atol=1e-3) and torch.equal(scratch, again)
    assert teacher_model(supernet, "none") is None
    with pytest.raises(TrainingError, match="init 'warm' is not valid; valid: inherited, scratch"):
        initial_model(supernet, config, "warm", 0)


def test_a_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(
    supernet: Supernet, task: TaskData, config: SubnetConfig, tmp_path: Path
) -> None:
    own = replace(task, train=Split(task.train.x.clone(), task.train.y))
    written: list[EpochReport] = []

    def poison_after_the_first_epoch(report: EpochReport) -> None:
        written.append(report)
        own.train.x[:] = float("nan")

    with pytest.raises(TrainingDivergedError, match=r"epoch 2, step 1; the last good checkpoint \(epoch 1\) is kept"):
        run_job(_job(config, tmp_path), supernet, own, torch.device("cpu"), poison_after_the_first_epoch)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-0001.pt"]
    assert file_sha256(written[0].checkpoint.path) == written[0].checkpoint.sha256
    assert TrainingDivergedError("x").exit_code == 1


def test_changed_checkpoints_and_weights_are_refused_before_loading(
    supernet: Supernet, task: TaskData, config: SubnetConfig, tmp_path: Path
) -> None:
    job = _job(config, tmp_path, epochs=1)
    result = run_job(job, supernet, task, torch.device("cpu"), lambda r: None)
    checkpoint = replace(
        result.weights, path=str(tmp_path / "epoch-0001.pt"), sha256=file_sha256(tmp_path / "epoch-0001.pt")
    )
    assert read_training_checkpoint(checkpoint, job.identity())["epoch"] == 1
    with pytest.raises(CheckpointError, match="belongs to another training"):
        read_training_checkpoint(checkpoint, {**job.identity(), "init": "scratch"})
    static = initial_model(supernet, config, "inherited", 0)
    load_trained_weights(static, result.weights.path, result.weights.sha256)
    assert accuracy(static.eval(), task.test.x, task.test.y) == result.test_accuracy  # the trained weights
    with open(result.weights.path, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(CheckpointError, match=r"weights .* changed since they were recorded") as info:
        load_trained_weights(static, result.weights.path, result.weights.sha256)
    assert info.value.field == "weights"
    Path(checkpoint.path).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="changed since it was written; refusing to load it"):
        read_training_checkpoint(checkpoint, job.identity())


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"epochs": 0}, "epochs 0 is out of range; valid: an integer in 1..1000"),
        ({"epochs": 1001}, "epochs 1001 is out of range"),
        ({"seed": -1}, "seed -1 is out of range; valid: an integer in 0..4294967295"),
        ({"seed": 2**32}, "seed 4294967296 is out of range"),
        ({"lr": 0.0}, "lr 0.0 is out of range; valid: a number > 0"),
        ({"kd_weight": 1.5}, "kd_weight 1.5 is out of range; valid: a number in [0, 1]"),
        ({"augment": "mixup"}, "augment 'mixup' is not valid; valid: auto, none, shift, crop-flip"),
    ],
)
def test_settings_are_checked_naming_the_field(settings: dict[str, object], needle: str) -> None:
    with pytest.raises(TrainingError) as info:
        FinetuneConfig(**settings)  # type: ignore[arg-type]
    assert str(info.value) == needle or str(info.value).startswith(needle)
