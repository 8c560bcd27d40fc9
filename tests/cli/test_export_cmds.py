"""``supernas export``, ``pareto plot`` and ``status --plot``: success paths, JSON, bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supernas.cli.main import app
from supernas.export import load
from supernas.store import Store

PNG = b"\x89PNG\r\n\x1a\n"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in this process (typer's CliRunner) from ``cwd``: exit code, stdout and stderr."""
    before = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> Path:
    """A directory holding the tiny supernet and ``supernas.db`` with a finished search ``s`` (and ``r``)."""
    root = tmp_path_factory.mktemp("export")
    shutil.copy(tiny_checkpoint, root / "tiny.pt")
    for name, strategy in (("s", "linas"), ("r", "random")):
        result = run(
            "search",
            "--supernet",
            "tiny.pt",
            "--objectives",
            "accuracy,latency_ms",
            "--budget",
            "20",
            "--batch",
            "10",
            "--strategy",
            strategy,
            "--executor",
            "local",
            "--name",
            name,
            cwd=root,
        )
        assert result.returncode == 0, result.stderr
    return root


def _exports(root: Path) -> int:
    with Store.open(f"sqlite:///{root / 'supernas.db'}") as store:
        return len(store.exports("s"))


def test_export_knee_json_writes_a_loadable_directory_and_records_it(searched: Path) -> None:
    before = _exports(searched)
    result = run("export", "s", "--knee", "--out", "knee", "--json", cwd=searched)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert Path(data["directory"]).name == "knee" and data["checks"]["safetensors"] <= 1e-5
    assert data["check_rows_matching"] == {"safetensors": 1.0}
    metrics = json.loads((searched / "knee" / "metrics.json").read_text())
    assert metrics["checks"] == data["checks"] and metrics["check_rows_matching"] == data["check_rows_matching"]
    assert metrics["arch_id"] == data["arch_id"]
    assert 0 < metrics["exported"]["test_accuracy"] <= 1 and metrics["exported"]["latency_ms"] > 0
    assert len(metrics["provenance"]["supernet_sha256"]) == 64
    assert (searched / "knee" / "README.md").read_text().startswith(f"# supernas subnet {data['arch_id']}")
    load(searched / "knee")
    assert _exports(searched) == before + 1


@pytest.mark.slow
def test_export_rank_onnx_and_int8(searched: Path) -> None:
    result = run("export", "s", "--rank", "1", "--format", "onnx", "--out", "rank1", "--json", cwd=searched)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (searched / "rank1" / "model.onnx").is_file()
    assert data["check_rows_matching"]["safetensors"] == 1.0 and data["check_rows_matching"]["onnx"] >= 0.75
    if not any(bits < 32 for bits in data["config"]["act_bits"][: data["config"]["depth"]]):
        assert data["checks"]["onnx"] <= 1e-4  # nothing rounds inside the graph: every row matches
    with Store.open(f"sqlite:///{searched / 'supernas.db'}") as store:
        eight = next(e for e in store.evaluations("s", "COMPLETE") if 8 in e.config["weight_bits"][: e.config["depth"]])
    result = run("export", "s", "--arch", eight.arch_id, "--int8", "--out", "int8", "--json", cwd=searched)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["int8"]["layers"]
    exported = metrics["exported"]
    assert abs(exported["test_accuracy"] - exported["fake_quant_test_accuracy"]) <= 0.02


def test_pareto_plot_and_status_plot(searched: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(searched)
    runner = CliRunner()
    result = runner.invoke(app, ["pareto", "plot", "s", "--out", "front.png", "--html", "front.html", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["points"] == 20 and 1 <= data["front"] <= 20
    assert (searched / "front.png").read_bytes()[:8] == PNG
    page = (searched / "front.html").read_text()
    assert "plotly" in page and "exported" in page
    result = runner.invoke(app, ["status", "s", "--plot", "hv.svg", "--compare", "r", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["search"] == "s" and "<svg" in (searched / "hv.svg").read_text()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["pareto", "plot", "s", "--x", "speed"], "--x 'speed' was not measured in this search; valid: accuracy"),
        (["pareto", "plot", "s", "--out", "front.txt"], "has no image suffix; valid: .png, .svg, .pdf"),
        (["pareto", "plot", "nope"], "unknown search 'nope'"),
        (["pareto", "plot", "s", "--html", "front.txt"], "--html 'front.txt': valid: a .html file"),
        (["status", "s", "--plot", "no/dir/hv.png"], "the directory does not exist"),
        (["status", "s", "--plot", "hv.png", "--compare", "nope"], "unknown search 'nope'"),
    ],
)
def test_plot_bad_input(searched: Path, args: list[str], needle: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(searched)
    before = sorted(p.name for p in searched.iterdir())
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert needle in result.stderr
    assert sorted(p.name for p in searched.iterdir()) == before
