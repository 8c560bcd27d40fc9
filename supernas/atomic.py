"""Atomic writes: a reader sees the old file (or nothing) or the new one, never half of one.

Every file supernas writes goes through :func:`atomic_path`: the content is written
to a temporary file in the target's own directory (so the rename never crosses a
file system), flushed to disk with ``fsync``, then renamed onto the target with
``os.replace``; on any error the temporary file is removed. Directories (exports)
use :func:`atomic_directory` the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from supernas.errors import OutputError


@contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; once the block succeeds it replaces ``path``.

    ``suffix`` ends the temporary name (writers such as matplotlib choose the format
    by it). The caller writes the temporary file however it likes.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode())


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


@contextmanager
def atomic_directory(out: str | Path) -> Iterator[Path]:
    """Yield a temporary directory next to ``out``; once the block succeeds it becomes ``out``.

    ``out`` must not exist or be an empty directory. On error nothing is left behind.
    """
    out = Path(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        for file in tmp.rglob("*"):
            if file.is_file():
                _fsync(file)
        if out.exists():
            out.rmdir()  # only an empty directory may be replaced
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_directory(out.parent)


MAX_NAME_BYTES = 200  # of a file or directory name supernas writes: its temporary sibling's name must fit too


def check_path_name(path: str | Path, field: str) -> bool:
    """Refuse, before any work, an output path (the argument ``field``) the file system cannot hold (a name too
    long, a component that is not a directory); returns whether it exists."""
    path = Path(path)
    if len(os.fsencode(path.name)) > MAX_NAME_BYTES:
        raise OutputError(
            f"{str(path)[:60]!r}…: the name has {len(os.fsencode(path.name)):,} bytes; valid: at most {MAX_NAME_BYTES}",
            field=field,
        )
    try:
        return path.exists()
    except OSError as exc:
        raise OutputError(f"{str(path)[:200]!r} is not a usable path ({exc.strerror or exc})", field=field) from None


def check_writable(directory: str | Path, field: str) -> None:
    """Refuse, before any work, an output directory (the argument ``field``) that is missing or not writable."""
    directory = Path(directory)
    check_path_name(directory, field)
    if not directory.is_dir():
        raise OutputError(f"{str(directory)!r} is not an existing directory", field=field)
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise OutputError(f"{str(directory)!r} is not writable ({exc.strerror or exc})", field=field) from None


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable (a no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
