"""``supernas/atomic.py``: files and directories appear whole or not at all; output directories checked first."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from supernas.atomic import atomic_directory, atomic_path, check_writable, write_bytes, write_json, write_text
from supernas.errors import OutputError


def test_atomic_path_replaces_the_file_only_when_the_block_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    with atomic_path(target, suffix=".png") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".a.txt.") and tmp.name.endswith(".tmp.png")
        tmp.write_text("new")
        assert target.read_text() == "old"  # nothing visible until the block ends
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_an_error_leaves_the_old_file_and_no_temporary_one(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(type(error)), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise error
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "new.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # a new file never appears half-written


def test_write_helpers(tmp_path: Path) -> None:
    write_bytes(tmp_path / "b.bin", b"\x00\x01")
    write_text(tmp_path / "t.txt", "héllo")
    write_json(tmp_path / "j.json", {"b": [1, 2.5], "a": None})
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "t.txt").read_bytes() == "héllo".encode()
    text = (tmp_path / "j.json").read_text()
    assert json.loads(text) == {"b": [1, 2.5], "a": None}
    assert text.endswith("\n") and text.index('"b"') < text.index('"a"')  # keys in the given order, indented
    assert '\n  "b"' in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "j.json", "t.txt"]


def test_atomic_directory_appears_whole(tmp_path: Path) -> None:
    out = tmp_path / "export"
    with atomic_directory(out) as tmp:
        assert tmp.parent == tmp_path and tmp != out
        (tmp / "sub").mkdir()
        (tmp / "sub" / "x.txt").write_text("x")
        assert not out.exists()
    assert (out / "sub" / "x.txt").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_atomic_directory_replaces_an_empty_directory_only(tmp_path: Path) -> None:
    out = tmp_path / "export"
    out.mkdir()
    with atomic_directory(out) as tmp:
        (tmp / "x.txt").write_text("x")
    assert [p.name for p in out.iterdir()] == ["x.txt"]
    with pytest.raises(OSError), atomic_directory(out) as tmp:  # not empty now: refused
        (tmp / "y.txt").write_text("y")
    assert [p.name for p in out.iterdir()] == ["x.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # the temporary directory is gone


def test_atomic_directory_cleans_up_on_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bad"), atomic_directory(tmp_path / "export") as tmp:
        (tmp / "x.txt").write_text("x")
        raise ValueError("bad")
    assert list(tmp_path.iterdir()) == []


def test_check_writable_refuses_a_missing_directory_naming_the_field(tmp_path: Path) -> None:
    check_writable(tmp_path, "out")
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind
    with pytest.raises(OutputError, match=r"^out '.*missing' is not an existing directory") as info:
        check_writable(tmp_path / "missing", "out")
    assert info.value.field == "out"
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="is not an existing directory"):
        check_writable(tmp_path / "file", "export_dir")


def test_check_writable_refuses_a_directory_that_takes_no_files() -> None:
    with pytest.raises(OutputError, match=r"^plot '/proc' is not writable \(") as info:
        check_writable("/proc", "plot")  # refuses new files even for root
    assert info.value.field == "plot"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only directories")
def test_check_writable_refuses_a_read_only_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="is not writable"):
            check_writable(locked, "out")
    finally:
        locked.chmod(0o700)
