"""The ``supernas`` program: help, exit codes, one-line usage errors, SIGTERM, the console script."""

from __future__ import annotations

import signal
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import supernas
from supernas.cli.common import Interrupted
from supernas.cli.main import main, run
from supernas.testing import run_cli, tiny_space

COMMANDS = ("train", "search", "resume", "searches", "status", "export", "finetune", "demo", "space", "db", "pareto")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["search", "--supernet", "x.pt", "--budget", "ten"], "Invalid value for '--budget'"),
        (["search", "--bugdet", "3"], "No such option: --bugdet"),
        (["export", "s"], "Missing option '--out'"),
        (["nosuchcommand"], "No such command 'nosuchcommand'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1 and needle in err, err


def test_the_program_prints_its_help_with_every_command(tmp_path: Path) -> None:
    done = run_cli("--help", cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "Usage: supernas [OPTIONS] COMMAND [ARGS]..." in done.stdout
    listed = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("│ ") and len(line.split()) > 2}
    assert set(COMMANDS) <= listed, listed
    assert list(tmp_path.iterdir()) == []


def test_the_program_exits_2_with_one_line_on_an_unknown_command(tmp_path: Path) -> None:
    done = run_cli("nosuch", cwd=tmp_path, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", "Error: No such command 'nosuch'.\n")


def test_no_command_shows_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([]) == 2
    captured = capsys.readouterr()
    assert "Usage: supernas [OPTIONS] COMMAND [ARGS]..." in captured.out and captured.err == ""
    assert run(["db"]) == 2  # a command group without its subcommand
    captured = capsys.readouterr()
    assert "Usage: supernas db [OPTIONS] COMMAND [ARGS]..." in captured.out and captured.err == ""


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr() == (f"supernas {supernas.__version__}\n", "")


def test_run_returns_the_exit_code_of_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny_space().save(tmp_path / "space.toml")
    assert run(["space", "validate", str(tmp_path / "space.toml")]) == 0  # a command that returns normally: 0
    assert "OK: " in capsys.readouterr().out
    assert run(["space", "validate", str(tmp_path / "missing.toml")]) == 2  # a refused input: 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1 and "missing.toml" in err, err


def test_main_exits_the_process_with_the_code_of_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["supernas", "nosuch"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2


def test_the_console_script_is_main() -> None:
    (script,) = entry_points(group="console_scripts", name="supernas")
    assert script.load() is main


class _Unhandled(Exception):
    """What SIGTERM raises in this test when ``run`` did not install its handler."""


def _unhandled(signum: int, frame: object) -> None:
    raise _Unhandled


def test_after_run_sigterm_stops_the_process_like_ctrl_c(capsys: pytest.CaptureFixture[str]) -> None:
    previous = signal.signal(signal.SIGTERM, _unhandled)  # never the default action: it would end pytest
    try:
        assert run(["--help"]) == 0
        with pytest.raises(Interrupted) as info:
            signal.raise_signal(signal.SIGTERM)
            time.sleep(5)  # the handler raises before this returns
        assert isinstance(info.value, KeyboardInterrupt) and info.value.signum == signal.SIGTERM
        assert str(info.value) == "SIGTERM"
    finally:
        signal.signal(signal.SIGTERM, previous)
