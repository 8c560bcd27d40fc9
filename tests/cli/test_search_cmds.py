"""``supernas search`` and friends through real subprocesses: runs, kills and resumes, readers, bad input."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from supernas.cli.main import app
from supernas.store import Store
from supernas.testing import completed_evaluations, run_cli, start_cli

SEARCH = ["--objectives", "accuracy,params", "--budget", "40", "--batch", "4", "--executor", "local"]


@pytest.mark.slow
def test_kill_and_resume_five_times_loses_and_duplicates_nothing(tmp_path: Path, tiny_checkpoint: Path) -> None:
    reference = run_cli(
        "search",
        "--supernet",
        str(tiny_checkpoint),
        *SEARCH,
        "--name",
        "ref",
        "--storage",
        "sqlite:///ref.db",
        "--json",
        cwd=tmp_path,
    )
    assert reference.returncode == 0, reference.stderr
    expected = json.loads(reference.stdout)
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    rng = np.random.default_rng(0)
    args = ["search", "--supernet", str(tiny_checkpoint), *SEARCH, "--name", "k", "--storage", url]
    kills = 0
    while kills < 5:
        proc = (
            start_cli(*args, cwd=tmp_path) if kills == 0 else start_cli("resume", "k", "--storage", url, cwd=tmp_path)
        )
        before = completed_evaluations(url, "k")
        deadline = time.monotonic() + 120
        while completed_evaluations(url, "k") <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(float(rng.uniform(0.0, 0.5)))
        if proc.poll() is not None:
            break  # finished before it could be killed
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    assert kills == 5
    final = run_cli("resume", "k", "--storage", url, "--json", cwd=tmp_path)
    assert final.returncode == 0, final.stderr
    with Store.open(url) as store:
        counts = store.count_evaluations("k")
        assert counts == {"PENDING": 0, "RUNNING": 0, "COMPLETE": 40, "FAILED": 0}
        killed_ids = [e.arch_id for e in store.evaluations("k")]
    with Store.open("sqlite:///" + str(tmp_path / "ref.db")) as store:
        assert sorted(killed_ids) == sorted(e.arch_id for e in store.evaluations("ref"))
    got = json.loads(final.stdout)
    assert [r["arch_id"] for r in got["front"]] == [r["arch_id"] for r in expected["front"]]
    assert [r["metrics"] for r in got["front"]] == [r["metrics"] for r in expected["front"]]


@pytest.mark.slow
def test_pareto_show_while_a_search_writes(tmp_path: Path, tiny_checkpoint: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    proc = start_cli(
        "search", "--supernet", str(tiny_checkpoint), *SEARCH, "--name", "live", "--storage", url, cwd=tmp_path
    )
    while completed_evaluations(url, "live") == 0 and proc.poll() is None:
        time.sleep(0.05)
    reads = 0
    while proc.poll() is None:
        shown = run_cli("pareto", "show", "live", "--storage", url, "--json", cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert "locked" not in shown.stderr
        for row in json.loads(shown.stdout)["front"]:
            assert set(row["metrics"]) >= {"accuracy", "params"}
        reads += 1
    assert proc.returncode == 0 and reads >= 2


def test_search_status_searches_and_db_commands(tmp_path: Path, tiny_checkpoint: Path) -> None:
    url = "sqlite:///ok.db"
    result = run_cli(
        "search",
        "--supernet",
        str(tiny_checkpoint),
        "--objectives",
        "accuracy,model_bytes",
        "--budget",
        "10",
        "--batch",
        "5",
        "--executor",
        "local",
        "--strategy",
        "random",
        "--storage",
        url,
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    front = json.loads(result.stdout)["front"]
    assert front and all("test_accuracy" in r["metrics"] for r in front)
    listed = json.loads(run_cli("searches", "--storage", url, "--json", cwd=tmp_path).stdout)
    assert listed[0]["name"] == "tiny-random-s0" and listed[0]["evaluated"] == 10
    status = json.loads(run_cli("status", "tiny-random-s0", "--storage", url, "--json", cwd=tmp_path).stdout)
    assert status["counts"]["COMPLETE"] == 10 and len(status["iterations"]) == 2
    info = json.loads(run_cli("db", "info", "--storage", url, "--json", cwd=tmp_path).stdout)
    assert info["searches"] == 1 and info["evaluations"] == 10


def invoke(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """Run the CLI in this process (typer's CliRunner): exit code and stderr."""
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--objectives", "accuracy,speed"], "unknown objective 'speed'; valid: accuracy"),
        (["--strategy", "grid"], "unknown strategy 'grid'; valid: linas, nsga2, random, optuna"),
        (["--constraint", "latency<3"], "--constraint 'latency<3' is malformed"),
        (["--budget", "4", "--batch", "5"], "--budget 4 is smaller than --batch 5"),
        (["--storage", "nosuchdriver://x"], "--storage 'nosuchdriver://x' is not a usable database URL"),
        (["--executor", "gpu"], "--executor 'gpu' is not valid; valid: ray, local"),
        (["--workers", "-1"], "--workers -1 is out of range"),
        (["--gpus-per-worker", "-1"], "--gpus-per-worker -1 is out of range"),
    ],
)
def test_search_bad_input(
    tmp_path: Path, tiny_checkpoint: Path, args: list[str], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, stderr = invoke(["search", "--supernet", str(tiny_checkpoint), *args], tmp_path, monkeypatch)
    assert code == 2, stderr
    assert stderr.startswith("Error: ") and stderr.count("\n") == 1
    assert needle in stderr
    assert list(tmp_path.iterdir()) == []  # no database, nothing else


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--ray-address", "127.0.0.1:1"], "--ray-address '127.0.0.1:1' is unreachable"),
        (["--gpus-per-worker", "64"], "--gpus-per-worker 64 is more than this machine has"),
    ],
)
def test_search_bad_cluster_options_in_a_subprocess(
    tmp_path: Path, tiny_checkpoint: Path, args: list[str], needle: str
) -> None:
    result = run_cli("search", "--supernet", str(tiny_checkpoint), *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert needle in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ["pareto", "show", "nope"],
        ["status", "nope"],
        ["resume", "nope"],
        ["searches"],
        ["db", "info"],
        ["search", "--supernet", "missing.pt"],
    ],
)
def test_read_commands_on_a_missing_database_or_unknown_search(
    tmp_path: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, stderr = invoke(args, tmp_path, monkeypatch)
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert list(tmp_path.iterdir()) == []
    Store.open(f"sqlite:///{tmp_path / 'supernas.db'}", create=True).close()
    if args[0] in ("pareto", "status", "resume"):
        code, stderr = invoke(args, tmp_path, monkeypatch)
        assert code == 2 and "unknown search 'nope'; known: no searches yet" in stderr
