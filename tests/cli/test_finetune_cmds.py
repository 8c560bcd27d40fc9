"""``supernas finetune``, ``pareto show|plot --trained`` and ``status`` trainings: success, bad input, and faults
through real processes (a killed trial continues from its last epoch; a killed driver continues with --resume)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supernas.api import EvaluationSettings, SearchRequest, Store, TrainingStatus, start_search
from supernas.cli.main import app
from supernas.supernet.checkpoint import read_checkpoint, save_checkpoint
from supernas.testing import run_cli, start_cli

PNG = b"\x89PNG\r\n\x1a\n"
LOCAL = EvaluationSettings(executor="local", device="cpu")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> Path:
    """``supernas.db`` with search ``s`` (8 measured subnets) and search ``t``, whose checkpoint changed since."""
    root = tmp_path_factory.mktemp("finetune-cli")
    url = f"sqlite:///{root / 'supernas.db'}"
    shutil.copy(tiny_checkpoint, root / "tiny.pt")
    state = read_checkpoint(tiny_checkpoint)
    save_checkpoint(root / "other.pt", {**state, "metrics": {**state.get("metrics", {}), "copy": True}})  # new sha
    for name, file in (("s", "tiny.pt"), ("t", "other.pt")):
        request = SearchRequest.parse("accuracy,latency_ms", [], "random", budget=8, batch_size=4, seed=0)
        start_search(str(root / file), request, LOCAL, name=name, storage=url)
    save_checkpoint(root / "other.pt", {**state, "metrics": {**state.get("metrics", {}), "edited": True}})
    return root


def _trainings(root: Path, search: str = "s") -> int:
    with Store.open(f"sqlite:///{root / 'supernas.db'}") as store:
        return len(store.trainings(search))


def test_a_search_whose_checkpoint_changed_is_refused_and_nothing_written(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(root)
    before, rows = sorted(p.name for p in root.iterdir()), _trainings(root, "t")
    result = CliRunner().invoke(app, ["finetune", "t", "--knee"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "changed since it was registered" in result.stderr
    assert sorted(p.name for p in root.iterdir()) == before and _trainings(root, "t") == rows


def test_finetune_the_front_then_show_plot_status_and_export_it(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root)
    runner = CliRunner()
    result = runner.invoke(app, ["finetune", "s", "--front", "--epochs", "1", "--executor", "local", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["already_complete"] == 0 and data["trainings"]
    assert {t["status"] for t in data["trainings"]} == {"COMPLETE"}
    assert set(data["trainings"][0]) >= {"arch_id", "init", "seed", "curve", "val_accuracy", "weights_sha256"}
    shown = runner.invoke(app, ["pareto", "show", "s", "--trained", "--json"])
    assert shown.exit_code == 0, shown.output
    front = json.loads(shown.stdout)
    assert {m["arch_id"] for m in front["members"]} == {t["arch_id"] for t in data["trainings"]}
    assert front["front"] and {"hypervolume_inherited", "hypervolume_trained", "median_gain"} <= set(front)
    table = runner.invoke(app, ["pareto", "show", "s", "--trained"])
    assert table.exit_code == 0 and "Hypervolume: inherited" in table.stdout
    plotted = runner.invoke(app, ["pareto", "plot", "s", "--trained", "--out", "moves.png", "--json"])
    assert plotted.exit_code == 0, plotted.output
    assert json.loads(plotted.stdout)["points"] == len(data["trainings"])
    assert (root / "moves.png").read_bytes()[:8] == PNG
    status = runner.invoke(app, ["status", "s", "--json"])
    assert status.exit_code == 0, status.output
    assert [t["arch_id"] for t in json.loads(status.stdout)["trainings"]] == [t["arch_id"] for t in data["trainings"]]
    assert "Trainings (" in runner.invoke(app, ["status", "s"]).stdout
    exported = runner.invoke(app, ["export", "s", "--knee", "--out", "knee", "--json"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["weights"]["source"] == "trained"
    again = runner.invoke(app, ["finetune", "s", "--front", "--epochs", "1", "--executor", "local", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["already_complete"] == len(data["trainings"])


def test_trained_views_and_export_bad_input(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root)
    runner = CliRunner()
    result = runner.invoke(app, ["pareto", "plot", "t", "--trained", "--out", "t.png"])
    assert result.exit_code == 2 and "has no completed trainings to plot yet" in result.stderr
    result = runner.invoke(app, ["export", "t", "--knee", "--weights", "fresh", "--out", "x"])
    assert result.exit_code == 2 and "--weights 'fresh' is not valid; valid: inherited, trained" in result.stderr
    assert not (root / "t.png").exists() and not (root / "x").exists()


def _rows(url: str) -> list[dict[str, object]]:
    try:
        with Store.open(url) as store:
            return [t.to_dict() for t in store.trainings("s")]
    except Exception:  # the database may be mid-write in the other process; look again
        return []


@pytest.mark.slow
def test_a_killed_trial_continues_from_its_last_epoch_and_completes_once(root: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{root / 'supernas.db'}"
    args = ["finetune", "s", "--rank", "1", "--epochs", "6", "--seed", "3", "--executor", "ray", "--storage", url]
    proc = start_cli(*args, "--dir", str(tmp_path), cwd=tmp_path)
    deadline = time.monotonic() + 240
    while True:  # wait for the first recorded epoch, then kill the trial's process
        rows = [r for r in _rows(url) if r["seed"] == 3 and r["curve"]]
        if rows:
            break
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    worker = str(rows[0]["worker"])
    os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    (row,) = [r for r in _rows(url) if r["seed"] == 3]  # exactly one row
    assert row["status"] == TrainingStatus.COMPLETE
    assert [e["epoch"] for e in row["curve"]] == list(range(1, 7))  # type: ignore[union-attr]
    starts = [s["from_epoch"] for s in row["starts"]]  # type: ignore[union-attr]
    assert starts[0] == 0 and len(starts) == 2 and starts[1] >= 1, starts  # resumed, not restarted from zero


@pytest.mark.slow
def test_a_killed_driver_continues_with_resume_and_trains_nothing_twice_from_zero(root: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{root / 'supernas.db'}"
    args = ["finetune", "s", "--top", "2", "--epochs", "4", "--seed", "4", "--executor", "local"]
    args += ["--dir", str(tmp_path), "--storage", url]
    proc = start_cli(*args, cwd=tmp_path)
    deadline = time.monotonic() + 240
    while not any(r["seed"] == 4 and r["curve"] for r in _rows(url)):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.kill()  # SIGKILL: the driver is the trainer here
    proc.communicate()
    before = {str(r["arch_id"]): len(r["curve"]) for r in _rows(url) if r["seed"] == 4}  # type: ignore[arg-type]
    refused = run_cli(*args, cwd=tmp_path)
    assert refused.returncode == 2 and "pass --resume to continue it" in refused.stderr
    resumed = run_cli(*args, "--resume", "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    rows = [r for r in _rows(url) if r["seed"] == 4]
    assert len(rows) == 2 and {r["status"] for r in rows} == {TrainingStatus.COMPLETE}
    for r in rows:
        assert [e["epoch"] for e in r["curve"]] == list(range(1, 5))  # type: ignore[union-attr]
        starts = [s["from_epoch"] for s in r["starts"]]  # type: ignore[union-attr]
        assert starts.count(0) == 1, starts  # nothing trained twice from the start
        assert starts[-1] == before.get(str(r["arch_id"]), 0), (starts, before)  # continued where it stood
    assert [t["arch_id"] for t in json.loads(resumed.stdout)["trainings"]] == [r["arch_id"] for r in rows]
