"""``finetune_subnets`` (local executor): one row per training, idempotent calls, resume after a killed driver,
the trained front, and exports that ship the trained weights (or refuse a changed file)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supernas.api import (
    EvaluationSettings,
    ExportRequest,
    FinetuneSettings,
    SearchRequest,
    Selection,
    Store,
    TrainingStatus,
    export_subnet,
    finetune_subnets,
    start_search,
    trained_front,
)
from supernas.errors import CheckpointError, TrainingError
from supernas.supernet.checkpoint import file_sha256

LOCAL = EvaluationSettings(executor="local", device="cpu")


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> tuple[Path, str]:
    """A directory with a copy of the tiny supernet and a store holding search ``s`` (8 measured subnets)."""
    root = tmp_path_factory.mktemp("finetune-api")
    shutil.copy(tiny_checkpoint, root / "tiny.pt")
    url = f"sqlite:///{root / 'supernas.db'}"
    request = SearchRequest.parse("accuracy,latency_ms", [], "random", budget=8, batch_size=4, seed=0)
    start_search(str(root / "tiny.pt"), request, LOCAL, name="s", storage=url)
    return root, url


def _settings(root: Path, **changes: object) -> FinetuneSettings:
    values: dict[str, object] = {"epochs": 1, "batch_size": 128, "execution": LOCAL, "directory": root / "trainings"}
    return FinetuneSettings(**{**values, **changes})  # type: ignore[arg-type]


def test_trainings_get_one_row_each_and_a_second_call_trains_nothing(searched: tuple[Path, str]) -> None:
    root, url = searched
    report = finetune_subnets("s", Selection(top=2), _settings(root), storage=url)
    assert report.already_complete == 0 and len(report.trainings) == 2 and not report.failed
    for t in report.trainings:
        assert t.status == TrainingStatus.COMPLETE and len(t.curve) == 1 and len(t.starts) == 1
        assert t.weights_path is not None and file_sha256(t.weights_path) == t.weights_sha256
        assert t.inherited_accuracy is not None and 0 <= (t.val_accuracy or 0) <= 1 and (t.latency_ms or 0) > 0
    again = finetune_subnets("s", Selection(top=2), _settings(root), storage=url)
    assert again.already_complete == 2 and again.trainings == report.trainings  # nothing trained, nothing changed
    with Store.open(url) as store:
        assert len(store.trainings("s")) == 2
    json.dumps(report.to_dict())  # JSON-ready


def test_a_killed_driver_is_continued_with_resume_from_its_last_recorded_epoch(searched: tuple[Path, str]) -> None:
    root, url = searched
    settings = _settings(root, epochs=2, init="scratch", teacher="none")

    def killed(label: str, record: object) -> None:
        raise KeyboardInterrupt  # the driver dies after recording epoch 1

    with pytest.raises(KeyboardInterrupt):
        finetune_subnets("s", Selection(rank=1), settings, storage=url, on_epoch=killed)
    with Store.open(url) as store:
        (row,) = [t for t in store.trainings("s") if t.init == "scratch"]
    assert row.status == TrainingStatus.RUNNING and [e["epoch"] for e in row.curve] == [1]
    with pytest.raises(TrainingError, match=r"scratch-s0' of search 's' was started before .* pass `resume`"):
        finetune_subnets("s", Selection(rank=1), settings, storage=url)
    with pytest.raises(TrainingError, match=r"lr 0\.002 differs from the 0\.001 that training") as info:
        changed = _settings(root, epochs=2, init="scratch", teacher="none", lr=2e-3)
        finetune_subnets("s", Selection(rank=1), changed, storage=url)
    assert info.value.field == "lr"
    report = finetune_subnets("s", Selection(rank=1), _settings(root, epochs=2, init="scratch", teacher="none",
                                                                  resume=True), storage=url)  # fmt: skip
    (done,) = report.trainings
    assert done.status == TrainingStatus.COMPLETE and [e["epoch"] for e in done.curve] == [1, 2]
    assert [s["from_epoch"] for s in done.starts] == [0, 1]  # never trained twice from the start
    assert sorted(p.name for p in Path(done.weights_path or "").parent.iterdir()) == [
        "epoch-0002.pt",
        "model.safetensors",
    ]  # older epochs' checkpoints go once a newer one is recorded


def test_resume_refuses_a_recorded_checkpoint_that_changed(searched: tuple[Path, str]) -> None:
    root, url = searched
    settings = _settings(root, epochs=2, seed=7)

    def killed(label: str, record: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune_subnets("s", Selection(rank=1), settings, storage=url, on_epoch=killed)
    with Store.open(url) as store:
        (row,) = [t for t in store.trainings("s") if t.seed == 7]
    with open(row.checkpoint_path or "", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(CheckpointError, match="is missing or changed since it was recorded"):
        finetune_subnets("s", Selection(rank=1), _settings(root, epochs=2, seed=7, resume=True), storage=url)


def test_the_trained_front_and_exports_of_trained_weights(searched: tuple[Path, str]) -> None:
    root, url = searched
    finetune_subnets("s", Selection(top=2), _settings(root), storage=url)  # trains nothing if an earlier test did
    with Store.open(url) as store:
        report = trained_front(store, "s")
        trained = {t.arch_id: t for t in store.trainings("s", TrainingStatus.COMPLETE) if t.init == "inherited"}
    assert {m.arch_id for m in report.members} == set(trained)
    assert report.front and all(m.on_trained_front for m in report.front)
    assert report.hypervolume_trained >= 0 and report.median_gain is not None
    member = report.members[0]
    exported = export_subnet(ExportRequest("s", root / "trained", arch=member.arch_id), url)
    weights = exported.metrics["weights"]
    assert weights["source"] == "trained" and weights["trained_val_accuracy"] == member.trained_accuracy
    assert exported.metrics["exported"]["val_accuracy"] == member.trained_accuracy  # the shipped module is trained
    assert "trained further: 1 epochs from inherited weights" in (root / "trained" / "README.md").read_text()
    plain = export_subnet(ExportRequest("s", root / "plain", arch=member.arch_id, weights="inherited"), url)
    assert plain.metrics["weights"]["source"] == "inherited"
    assert plain.metrics["exported"]["val_accuracy"] == member.inherited_accuracy
    path = Path(trained[member.arch_id].weights_path or "")
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(CheckpointError, match="changed since they were recorded") as info:
        export_subnet(ExportRequest("s", root / "refused", arch=member.arch_id), url)
    assert info.value.field == "weights" and not (root / "refused").exists()


def test_reading_trainings_does_not_import_torch(searched: tuple[Path, str]) -> None:
    _, url = searched
    code = (
        "import sys, supernas.api as a; store = a.Store.open(sys.argv[1]); "
        "a.list_trainings(store, 's'); a.trained_front(store, 's'); print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
