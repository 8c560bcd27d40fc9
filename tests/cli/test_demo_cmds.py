"""``supernas demo``: the whole run end to end, bad input, what it prints and which commands it suggests next."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

import supernas.api
from supernas.api import DemoCallbacks, DemoPlan, DemoResult, ExportResult, FrontReport
from supernas.cli.main import app
from supernas.export.artifacts import Exported
from supernas.store import SearchStatus, Store
from supernas.testing import run_cli

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_demo_runs_end_to_end_and_leaves_its_files(tmp_path: Path) -> None:
    result = run_cli(
        "demo", "--epochs", "1", "--budget", "20", "--executor", "local", "--finetune-epochs", "1", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    for stage in ("[1/4]", "[2/4]", "[3/4]", "[4/4]"):
        assert stage in result.stderr
    assert (tmp_path / "front.png").read_bytes()[:8] == PNG
    assert {"model.pt2", "model.safetensors", "metrics.json"} <= {p.name for p in (tmp_path / "export").iterdir()}
    assert "supernas pareto show demo" in result.stdout
    with Store.open(f"sqlite:///{tmp_path / 'supernas.db'}") as store:
        assert store.count_evaluations("demo")["COMPLETE"] == 20 and len(store.exports("demo")) == 1
        (training,) = store.trainings("demo")  # the knee, fine-tuned for one epoch, is what was exported
        assert training.status == "COMPLETE" and len(training.curve) == 1
        assert store.exports("demo")[0].metrics["weights"]["source"] == "trained"
    assert "Fine-tuning the knee for 1 epochs" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--dir", "missing"], "--dir 'missing' is not an existing directory"),
        (["--epochs", "0"], "epochs 0 is out of range"),
        (["--budget", "5"], "--budget 5 is smaller than --batch 10"),
        (["--executor", "gpu"], "--executor 'gpu' is not valid; valid: ray, local"),
        (["--finetune-epochs", "-1"], "--finetune-epochs -1 is out of range; valid: an integer in 0..1000 (0: skip)"),
    ],
)
def test_demo_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", *args])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert needle in result.stderr
    assert list(tmp_path.iterdir()) == []


def _squashed(text: str) -> str:
    """``text`` without whitespace: rich wraps long lines at the terminal width."""
    return "".join(text.split())


def _finished_run(plans: list[DemoPlan], trained: bool) -> object:
    """A stand-in for ``run_demo`` that records the plan, announces the stages and returns a finished result (the
    real run is the end-to-end test above; this one checks what the command prints around it)."""

    def run_demo(plan: DemoPlan, callbacks: DemoCallbacks) -> DemoResult:
        plans.append(plan)
        assert callbacks.stage is not None and callbacks.epoch is not None and callbacks.note is not None
        callbacks.stage(1, "Training")
        callbacks.epoch(SimpleNamespace(epoch=1))  # type: ignore[arg-type]
        callbacks.stage(2, "Searching")
        callbacks.note("a remark")
        callbacks.stage(3, "Exporting")
        weights: dict[str, Any] = {"source": "trained" if trained else "inherited", "inherited_val_accuracy": 0.8}
        weights["trained_val_accuracy"] = 0.9 if trained else None
        metrics = {
            "arch_id": "0123456789abcdef",
            "exported": {"test_accuracy": 0.875, "latency_ms": 0.25},
            "weights": weights,
        }
        exported = Exported(plan.export_dir, {"model.safetensors": 10, "metrics.json": 2}, {}, {})
        front = FrontReport("demo-2", SearchStatus.COMPLETE, [], 0.0, 10, [])
        return DemoResult("demo-2", front, ExportResult(exported, metrics), None, 12.0)

    return run_demo


def test_run_elsewhere_the_next_commands_name_the_database_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    plans: list[DemoPlan] = []
    monkeypatch.setattr(supernas.api, "run_demo", _finished_run(plans, trained=True))
    result = CliRunner().invoke(app, ["demo", "--dir", "out", "--executor", "local", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    (plan,) = plans
    assert plan.directory == Path("out") and plan.finetune is not None and plan.finetune.epochs == 5  # the default
    storage = f"sqlite:///{(tmp_path / 'out' / 'supernas.db').resolve()}"
    lines = result.stdout.splitlines()
    for expected in (
        f"  supernas pareto show demo-2 --storage {storage}",
        f"  supernas finetune demo-2 --front --epochs 10 --dir out/trainings --storage {storage}",
        f"  supernas export demo-2 --rank 1 --format onnx --out out/export-rank1 --storage {storage}",
        f"  supernas search --supernet out/digits-demo.pt --objectives accuracy,model_bytes --budget 100 --storage "
        f"{storage}",
    ):
        assert expected in lines
    knee = "Knee 0123456789abcdef: test accuracy 0.875 (fine-tuned: validation 0.800 → 0.900), latency 0.250 ms"
    assert _squashed(knee + "; files: model.safetensors, metrics.json") in _squashed(result.stdout)
    for rule in ("[1/4] Training", "[2/4] Searching", "[3/4] Exporting", "[4/4] Done in 12 s. Try next:"):
        assert rule in result.stderr  # progress goes to stderr, results to stdout
    assert "a remark" in result.stderr and "Training" not in result.stdout


def test_run_here_with_fine_tuning_skipped_the_next_commands_use_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    plans: list[DemoPlan] = []
    monkeypatch.setattr(supernas.api, "run_demo", _finished_run(plans, trained=False))
    result = CliRunner().invoke(app, ["demo", "--executor", "local", "--finetune-epochs", "0"])
    assert result.exit_code == 0, result.output
    assert plans[0].finetune is None
    assert "--storage" not in result.stdout and "--dir" not in result.stdout
    assert "  supernas finetune demo-2 --front --epochs 10" in result.stdout.splitlines()
    assert "fine-tuned" not in result.stdout and _squashed("test accuracy 0.875, latency 0.250 ms") in _squashed(
        result.stdout
    )
