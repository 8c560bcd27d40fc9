"""``supernas db upgrade|info`` on real SQLite files: what they print, the default storage, refused URLs.

The table of refused inputs (every bad URL, exit 2, nothing written) is ``test_bad_input_db.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from supernas.cli.main import app
from supernas.store import Store
from supernas.store.migrations import head_revision

OBJECTIVES = [{"name": "accuracy", "direction": "max"}, {"name": "params", "direction": "min"}]


def db(*args: str) -> Result:
    return CliRunner().invoke(app, ["db", *args])


def _squashed(text: str) -> str:
    """``text`` without whitespace: rich wraps long lines at the terminal width."""
    return "".join(text.split())


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty directory with no storage configured: a default database would land there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SUPERNAS_STORAGE", raising=False)


def test_upgrade_creates_the_database_at_the_head_revision_and_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    for _ in range(2):  # the second run finds it current and changes nothing
        result = db("upgrade", "--storage", url)
        assert result.exit_code == 0, result.output
        assert _squashed(result.stdout) == _squashed(f"{url}: schema {head_revision()}")
        assert result.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.db"]


def test_info_prints_the_revision_and_counts_as_text_and_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert db("upgrade", "--storage", url).exit_code == 0
    with Store.open(url) as store:
        store.create_search("a", "random", OBJECTIVES, [], 10, 2, 0)
        store.add_pending("a", 0, [("x", {}, None), ("y", {}, None)])
    result = db("info", "--storage", url, "--json")
    assert result.exit_code == 0, result.output
    expected = {"url": url, "revision": head_revision(), "supernets": 0, "searches": 1, "evaluations": 2}
    assert json.loads(result.stdout) == expected
    text = db("info", "--storage", url)
    assert text.exit_code == 0, text.output
    assert _squashed(text.stdout) == _squashed(", ".join(f"{k}: {v}" for k, v in expected.items()))


def test_the_storage_defaults_to_supernas_storage_then_supernas_db_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setenv("SUPERNAS_STORAGE", f"sqlite:///{tmp_path / 'elsewhere' / 'env.db'}")
    assert db("upgrade").exit_code == 0
    assert db("info", "--json").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere"]
    assert (tmp_path / "elsewhere" / "env.db").is_file()
    monkeypatch.delenv("SUPERNAS_STORAGE")
    assert db("upgrade").exit_code == 0
    assert (tmp_path / "supernas.db").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["info", "--storage", "sqlite:///missing.db"], "does not exist"),  # info never creates one
        (["upgrade", "--storage", "nosuch://x"], "'nosuch://x' is not a usable database URL"),
        (["info", "--storage", "not a url"], "'not a url' is not a usable database URL"),
    ],
)
def test_a_bad_database_url_is_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    result = db(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: --storage") and result.stderr.count("\n") == 1, result.stderr
    assert needle in result.stderr and result.stdout == ""
    assert list(tmp_path.iterdir()) == []
