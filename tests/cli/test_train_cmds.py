"""``supernas train`` through real subprocesses: success, SIGKILL + --resume, bad input."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from supernas.cli.main import app
from supernas.store import Store
from supernas.supernet.checkpoint import read_checkpoint
from supernas.testing import run_cli, start_cli, tiny_space

TINY = tiny_space(depth=(1, 2))


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    TINY.save(tmp_path / "tiny.toml")
    return tmp_path / "tiny.toml"


def weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)["model"]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path: Path, space_file: Path) -> None:
    args = ["train", "--space", str(space_file), "--epochs", "5", "--seed", "3", "--batch-size", "32"]
    full = run_cli(*args, "--out", "full.pt", "--json", cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    metrics = json.loads(full.stdout)
    assert metrics["subnets"][0]["name"] == "largest" and len(metrics["subnets"]) == 12
    proc = start_cli(*args, "--out", "killed.pt", cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not (tmp_path / "killed.pt").exists():  # the first epoch's checkpoint
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.02)
    time.sleep(0.3)  # well inside a later epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    epoch = read_checkpoint(tmp_path / "killed.pt")["epoch"]
    assert 1 <= epoch < 5
    resumed = run_cli(*args, "--out", "killed.pt", "--resume", "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming" in resumed.stderr
    a, b = weights(tmp_path / "full.pt"), weights(tmp_path / "killed.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads(resumed.stdout)["subnets"] == metrics["subnets"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--task", "mnist"], "unknown task 'mnist'; valid: digits, npz:PATH"),
        (["--epochs", "0"], "epochs 0 is out of range"),
        (["--adam-eps", "0"], "--adam-eps 0.0 is out of range; valid: a number > 0 and <= 1"),
        (["--largest-every", "0"], "--largest-every 0 is out of range; valid: an integer >= 1 and <= 1000"),
        (["--student-weight", "2"], "--student-weight 2.0 is out of range; valid: a number in [0, 1]"),
        (["--random-subnets", "65"], "--random-subnets 65 is out of range; valid: an integer >= 0 and <= 64"),
        (["--device", "tpu"], "device 'tpu' is not valid; valid: auto, cpu, cuda"),
        (["--out", "no/such/dir/x.pt"], "does not exist"),
        (["--space", "bad.toml"], "unknown field 'depthh'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, extra: list[str], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad.toml").write_text("depthh = [2, 3]\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["train", "--out", "x.pt", *extra])  # in process; subprocesses below
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert needle in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_existing_or_corrupt_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.pt").write_bytes(b"not a checkpoint")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["train", "--out", "x.pt"])
    assert result.exit_code == 2 and "already exists; pass --resume" in result.stderr
    result = CliRunner().invoke(app, ["train", "--out", "x.pt", "--resume"])
    assert result.exit_code == 2 and "corrupt or not a supernas checkpoint" in result.stderr
    assert (tmp_path / "x.pt").read_bytes() == b"not a checkpoint"


@pytest.mark.slow
def test_ray_driver_sigkill_then_resume_finishes_and_registers(tmp_path: Path, space_file: Path) -> None:
    args = [
        "train",
        "--ray",
        "--space",
        str(space_file),
        "--epochs",
        "3",
        "--batch-size",
        "64",
        "--out",
        "ray.pt",
        "--storage",
        "sqlite:///s.db",
    ]
    proc = start_cli(*args, cwd=tmp_path, new_session=True, quiet=True)  # killed below with its Ray processes
    deadline = time.monotonic() + 180
    while not (tmp_path / "ray.pt").exists():  # the trial's own checkpoint of its first epoch
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray processes it started
    proc.wait()
    partial = read_checkpoint(tmp_path / "ray.pt")
    assert 1 <= partial["epoch"] < 3 and not partial.get("complete")
    resumed = run_cli(*args, "--resume", "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert read_checkpoint(tmp_path / "ray.pt")["epoch"] == 3
    assert json.loads(resumed.stdout)["supernet"] == "ray"
    with Store.open("sqlite:///" + str(tmp_path / "s.db")) as store:
        assert [s.name for s in store.list_supernets()] == ["ray"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--trials", "0"], "--trials 0 is out of range"),
        (["--gpus-per-trial", "64"], "--gpus-per-trial 64 is more than this machine has"),
        (["--ray-address", "127.0.0.1:1"], "--ray-address '127.0.0.1:1' is unreachable"),
    ],
)
def test_ray_bad_input_is_one_line_exit_2(
    tmp_path: Path, extra: list[str], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)  # in process: these are refused before any Ray cluster starts
    result = CliRunner().invoke(app, ["train", "--ray", "--out", "x.pt", *extra])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert needle in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


TUNER_PICKLE = """
import os, pickle, sys
class Payload:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
with open(sys.argv[1], "wb") as handle:
    pickle.dump(Payload(), handle)
"""


@pytest.mark.slow
def test_ray_resume_never_unpickles_tune_state_from_the_output_directory(
    ray_cluster, tmp_path: Path, space_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The Tune-resume reproduction of issue 13: a planted ``tuner.pkl`` next to ``--out`` runs nothing."""
    marker = tmp_path / "pwned"
    for directory in (tmp_path / ".x.pt.tune", tmp_path / ".x.pt.tune" / "run"):
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", TUNER_PICKLE, str(directory / "tuner.pkl"), str(marker)], check=True)
    args = ["train", "--ray", "--space", str(space_file), "--epochs", "1", "--batch-size", "128", "--out", "x.pt"]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*args, "--gpus-per-trial", "0", "--resume", "--storage", "sqlite:///s.db"])
    assert result.exit_code == 0, result.stderr
    assert not marker.exists()
    assert read_checkpoint(tmp_path / "x.pt")["complete"]


@pytest.fixture(scope="module")
def image_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ``images.npz`` (3×32×32 images, 3 classes), a wrong-shape state dict and a non-ViT hf dir."""
    root = tmp_path_factory.mktemp("init")
    rng = np.random.default_rng(0)
    np.savez(root / "images.npz", x=rng.random((30, 3, 32, 32), dtype=np.float32), y=np.arange(30) % 3)
    torch.save({"head.weight": torch.zeros(3, 7)}, root / "wrong.pt")
    (root / "bert").mkdir()
    (root / "bert" / "config.json").write_text('{"model_type": "bert"}')
    return root


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--init", "timm:no_such_vit"], "--init timm model 'no_such_vit' is unknown; valid: a timm VisionTransformer"),
        (["--init", "timm:resnet18"], "is not a VisionTransformer; supported: timm VisionTransformer models"),
        (["--init", "timm:vit_tiny_patch16_224", "--init-weights", "wrong.pt"], "--init-weights for timm model"),
        (["--init", "hf:bert"], "holds a 'bert' config; supported: ViT"),
        (["--init", "timm:deit_tiny_distilled_patch16_224"], "distillation token"),
        (["--init", "onnx:model.onnx"], "--init 'onnx:model.onnx' is not valid; valid:"),
        (["--init-weights", "wrong.pt"], "--init-weights needs --init"),
    ],
)
def test_bad_pretrained_sources_are_one_line_exit_2_and_write_nothing(
    image_task: Path, extra: list[str], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(p.name for p in image_task.iterdir())
    monkeypatch.chdir(image_task)
    result = CliRunner().invoke(app, ["train", "--out", "x.pt", "--task", "npz:images.npz", *extra])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert needle in result.stderr, result.stderr
    assert sorted(p.name for p in image_task.iterdir()) == before


def test_help_states_the_defaults_of_a_plain_and_a_pretrained_start() -> None:
    from supernas.supernet.train import PRETRAINED_START, TrainConfig

    text = " ".join(CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "300"}).output.split())
    fields = {"epochs": "Epochs", "lr": "Peak learning rate", "adam_eps": "AdamW epsilon", "largest_every": "step only"}
    assert set(fields) == set(PRETRAINED_START)  # every setting a pretrained start changes is in the help
    for field, words in fields.items():
        match = re.search(rf"{words}[^(]*\(default ([^;]+); ([^ ]+) with --init\)", text)
        assert match is not None, field
        plain, pretrained = (float(value) for value in match.groups())
        assert (plain, pretrained) == (getattr(TrainConfig(), field), PRETRAINED_START[field]), field
