"""Fixtures of the bad-input tables: one prepared workspace per session, and a runner that checks a case."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.bad_input import Case, Outcome, build_workspace, run_case


@pytest.fixture(scope="session")
def bad_workspace(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> Path:
    """A directory with tiny.pt, supernas.db (a finished search ``s``) and the bad files of every table."""
    return build_workspace(tmp_path_factory.mktemp("bad-input"), tiny_checkpoint)


@pytest.fixture
def refused(bad_workspace: Path, capsys: pytest.CaptureFixture[str]) -> Callable[[Case], Outcome]:
    """Run a case in process from the workspace; assert exit 2, one line naming the field, nothing written."""

    def check(bad: Case) -> Outcome:
        capsys.readouterr()
        outcome = run_case(bad_workspace, bad)
        assert not outcome.problems, outcome.report()
        return outcome

    return check
