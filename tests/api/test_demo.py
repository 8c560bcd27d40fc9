"""``api/demo.py``: the plan checks every option and the directory's contents before any work, naming the
argument at fault; a trained checkpoint in the directory is reused and the search gets a free name.

The whole demo (training, search, fine-tuning, export) runs end to end in ``tests/cli/test_demo_cmds.py``.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from supernas.api import DemoCallbacks, Store, create_search, prepare_demo, run_demo
from supernas.api.demo import BATCH, CHECKPOINT, FINETUNE_EPOCHS, SEARCH
from supernas.errors import ExportError, OutputError, SearchError, StorageError, SupernasError, TrainingError
from supernas.supernet.checkpoint import read_checkpoint


def _contents(directory: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns) for p in directory.rglob("*")}


def test_the_plan_puts_everything_under_the_directory_and_writes_nothing(tmp_path: Path) -> None:
    plan = prepare_demo(tmp_path, epochs=3, budget=20, executor="local", seed=4)
    assert plan.directory == tmp_path
    assert plan.storage == f"sqlite:///{tmp_path.resolve() / 'supernas.db'}"
    assert (plan.checkpoint, plan.export_dir, plan.plot) == (
        tmp_path / CHECKPOINT,
        tmp_path / "export",
        tmp_path / "front.png",
    )
    assert (plan.config.epochs, plan.config.seed) == (3, 4)
    request = plan.request
    assert [m.name for m in request.objectives] == ["accuracy", "latency_ms"] and request.constraints == ()
    assert (request.strategy, request.budget, request.batch_size, request.seed) == ("linas", 20, BATCH, 4)
    assert plan.evaluation.executor == "local"
    assert plan.finetune is not None
    assert (plan.finetune.epochs, plan.finetune.seed) == (FINETUNE_EPOCHS, 4)
    assert plan.finetune.directory == tmp_path / "trainings" and plan.finetune.execution == plan.evaluation
    assert list(tmp_path.iterdir()) == []


def test_zero_fine_tuning_epochs_skip_fine_tuning(tmp_path: Path) -> None:
    assert prepare_demo(tmp_path, finetune_epochs=0).finetune is None
    assert prepare_demo(tmp_path, finetune_epochs=2).finetune.epochs == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("options", "error", "field", "message"),
    [
        ({"epochs": 0}, TrainingError, "epochs", "epochs 0 is out of range"),
        ({"seed": -1}, TrainingError, "seed", "seed -1 is out of range"),
        ({"budget": 5}, SearchError, "budget", "budget 5 is smaller than `batch_size` 10"),
        ({"executor": "slurm"}, SearchError, "executor", "executor 'slurm' is not valid; valid: ray, local"),
        ({"finetune_epochs": -1}, TrainingError, "finetune_epochs", "valid: an integer in 0..1000 (0: skip)"),
        ({"finetune_epochs": 1001}, TrainingError, "finetune_epochs", "finetune_epochs 1001 is out of range"),
        ({"finetune_epochs": True}, TrainingError, "finetune_epochs", "finetune_epochs True is out of range"),
        ({"directory": "missing"}, OutputError, "directory", "is not an existing directory"),
    ],
)
def test_invalid_options_name_their_argument(
    tmp_path: Path, options: dict[str, Any], error: type[SupernasError], field: str, message: str
) -> None:
    if "directory" in options:
        options = {"directory": tmp_path / options["directory"]}
    with pytest.raises(error) as info:
        prepare_demo(**{"directory": tmp_path, **options})
    assert info.value.field == field and message in str(info.value)
    assert list(tmp_path.iterdir()) == []


def _export_taken(directory: Path, checkpoint: Path) -> None:
    (directory / "export").mkdir()
    (directory / "export" / "x.txt").write_text("x")


def _garbage_database(directory: Path, checkpoint: Path) -> None:
    (directory / "supernas.db").write_bytes(random.Random(1).randbytes(4096))


def _unfinished_elsewhere(directory: Path, checkpoint: Path) -> None:
    """An unfinished training of another space than the demo's: the demo could not continue it."""
    torch.save({**read_checkpoint(checkpoint), "complete": False, "epoch": 1}, directory / CHECKPOINT)


@pytest.mark.parametrize(
    ("prepare", "error", "message"),
    [
        (_export_taken, ExportError, "already exists and is not an empty directory"),
        (_garbage_database, StorageError, "supernas.db' cannot be used (file is not a database)"),
        (_unfinished_elsewhere, TrainingError, "is an unfinished training with other settings than these"),
    ],
)
def test_what_the_directory_holds_must_be_usable(
    tmp_path: Path,
    tiny_checkpoint: Path,
    prepare: Callable[[Path, Path], None],
    error: type[SupernasError],
    message: str,
) -> None:
    prepare(tmp_path, tiny_checkpoint)
    before = _contents(tmp_path)
    with pytest.raises(error) as info:
        prepare_demo(tmp_path, executor="local")
    assert info.value.field == "directory" and str(info.value).startswith("directory: ")
    assert message in str(info.value)
    assert _contents(tmp_path) == before


class _Stop(Exception):
    """Ends the run where the search would begin measuring."""


def test_a_trained_checkpoint_is_reused_and_the_search_takes_a_free_name(tmp_path: Path, tiny_checkpoint: Path) -> None:
    shutil.copy(tiny_checkpoint, tmp_path / CHECKPOINT)  # a finished training
    trained = (tmp_path / CHECKPOINT).read_bytes()
    plan = prepare_demo(tmp_path, epochs=1, budget=10, executor="local", seed=3, finetune_epochs=0)
    with Store.open(plan.storage, create=True) as store:
        create_search(store, SEARCH, plan.request, None)  # "demo" is taken
    events: list[tuple[Any, ...]] = []

    def search_start(record: Any, done: int) -> None:
        events.append(("search", record.name, record.strategy, record.budget, done))
        raise _Stop

    callbacks = DemoCallbacks(
        stage=lambda number, text: events.append(("stage", number, text)),
        note=lambda text: events.append(("note", text)),
        epoch=lambda record: events.append(("epoch",)),
        search_start=search_start,
    )
    with pytest.raises(_Stop):
        run_demo(plan, callbacks)
    assert events == [
        ("stage", 1, f"Training a five-axis supernet on digits for 1 epochs → {plan.checkpoint}"),
        ("note", f"{plan.checkpoint} is already trained; reusing it"),
        ("stage", 2, "Searching it: linas, objectives accuracy and latency_ms, 10 measured subnets"),
        ("search", f"{SEARCH}-2", "linas", 10, 0),
    ]
    assert (tmp_path / CHECKPOINT).read_bytes() == trained  # not trained again
