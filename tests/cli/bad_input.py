"""The harness of the bad-input tables (``tests/cli/test_bad_input_*.py``) and ``benchmarks/probe_inputs.py``.

A :class:`Case` is an argv that must be refused: exit code 2 (or the code given), one line ``Error: …`` on
stderr naming the field at fault, and nothing written. :func:`run_case` runs it in this process through
:func:`supernas.cli.main.run` (the path that turns typer's usage errors into one line) from a prepared
workspace (:func:`build_workspace`), comparing the workspace's files (names, sizes, mtimes) and every
database's row counts before and after. While a case runs, the points where real work would begin
(starting or joining Ray, training, measuring a search, fine-tuning, writing an export) raise
:class:`Escaped` instead, so an input that is wrongly accepted fails fast and visibly.
"""

from __future__ import annotations

import _thread
import contextlib
import functools
import io
import json
import os
import random
import shutil
import sqlite3
import sys
import threading
import time
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

SEARCH = "s"  # a finished search of tiny.pt in the workspace's supernas.db
SYNTHETIC = "syn"  # a search without a supernet
UNWRITABLE = "/proc/supernas-probe"  # a path no process can create, root included
HUGE = "9" * 400  # an integer of 400 digits
LONG = "n" * 5000  # a name of 5,000 characters
ENV_CLEARED = ("SUPERNAS_STORAGE", "RAY_ADDRESS", "SUPERNAS_DEBUG")
UNSAFE_ADVICE = ("weights_only=False", "allow_pickle", "pickle.load", "trust the file")  # never in a message
TIME_LIMIT_S = 30.0  # a case still running after this is interrupted (Ctrl-C) and fails


@dataclass(frozen=True)
class Case:
    """An argv the CLI must refuse: exit ``code``, one line naming ``names`` (a flag, or what the argument is)."""

    argv: tuple[str, ...]
    names: tuple[str, ...]  # texts the message must contain: the flag at fault (``--budget``), the value, …
    code: int = 2
    env: tuple[tuple[str, str], ...] = ()  # environment variables set while it runs

    def __str__(self) -> str:
        text = " ".join(a if len(a) <= 40 else a[:20] + f"…({len(a)})" for a in self.argv)
        return text or "(no arguments)"


def case(*argv: str, names: str | tuple[str, ...], code: int = 2, env: dict[str, str] | None = None) -> Case:
    return Case(tuple(argv), (names,) if isinstance(names, str) else names, code, tuple((env or {}).items()))


class Escaped(BaseException):
    """Raised where real work would begin: the input got past validation (a BaseException, so no handler
    turns it into a one-line error)."""


@dataclass
class Outcome:
    """What a case did."""

    case: Case
    code: int | None  # None when it escaped validation
    out: str
    err: str
    written: list[str]  # what changed in the workspace (files, row counts)
    seconds: float
    escaped: str | None = None  # where real work would have begun
    timed_out: bool = False  # interrupted after TIME_LIMIT_S

    @property
    def one_line(self) -> bool:
        return self.err.startswith("Error: ") and self.err.count("\n") == 1 and self.err.endswith("\n")

    @property
    def exit_ok(self) -> bool:
        return self.code == self.case.code

    @property
    def nothing_written(self) -> bool:
        return not self.written

    @property
    def names_field(self) -> bool:
        return all(text in self.err for text in self.case.names)

    @property
    def safe_advice(self) -> bool:
        """No message suggests loading a file unsafely."""
        return not any(text in self.err for text in UNSAFE_ADVICE)

    @property
    def problems(self) -> list[str]:
        found = []
        if self.escaped is not None:
            found.append(f"accepted: reached {self.escaped}")
        if self.timed_out:
            found.append(f"still running after {TIME_LIMIT_S:g} s")
        if not self.exit_ok:
            found.append(f"exit code {self.code}, expected {self.case.code}")
        if not self.one_line:
            found.append(f"stderr is not one line 'Error: …' ({self.err.count(chr(10))} lines)")
        if not self.names_field:
            found.append(f"the message does not name {' and '.join(map(repr, self.case.names))}")
        if self.written:
            found.append("wrote " + ", ".join(self.written[:5]))
        if not self.safe_advice:
            found.append("suggests loading a file unsafely")
        return found

    def report(self) -> str:
        err = self.err if len(self.err) < 2000 else self.err[:2000] + "…"
        return f"{self.case}: {'; '.join(self.problems)}\n  stderr: {err!r}\n  stdout: {self.out[:500]!r}"


# -- where real work begins: each raises Escaped while a case runs ------------------------------------------------


def _escape(where: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Escaped(where)

    return refuse


WORK = {  # dotted name -> what it starts
    "ray.init": "a Ray cluster (ray.init)",
    "supernas.api.supernets.train": "supernet training",
    "supernas.api.supernets.write_start": "writing a pretrained start",
    "supernas.api.searches.run_stored_search": "running a search",
    "supernas.api.finetune._run_local": "fine-tuning",
    "supernas.api.exports.write_export": "writing an export",
    "supernas.api.demo.train_supernet": "the demo's training",
    "supernas.api.demo.start_search": "the demo's search",
}


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Make every point where real work begins raise :class:`Escaped` (and Ray look not started)."""
    import ray

    import supernas.api.demo
    import supernas.api.exports
    import supernas.api.finetune
    import supernas.api.searches
    import supernas.api.supernets  # noqa: F401  (the modules patched below)

    with contextlib.ExitStack() as stack:
        for target, what in WORK.items():
            stack.enter_context(mock.patch(target, _escape(what)))
        stack.enter_context(mock.patch.object(ray, "is_initialized", lambda: False))
        yield


# -- the workspace ---------------------------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, object]:
    """Every file (size, mtime) and directory under ``root``, and the row counts of every table of its databases."""
    state: dict[str, object] = {}
    pending = [str(root)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                rel = os.path.relpath(entry.path, root)
                if entry.is_symlink():
                    state[rel] = ("link", os.readlink(entry.path))
                elif entry.is_dir():
                    state[rel + "/"] = "dir"
                    pending.append(entry.path)
                else:
                    info = entry.stat()
                    state[rel] = (info.st_size, info.st_mtime_ns)
                    if entry.name.endswith(".db"):
                        state[rel + " rows"] = _row_counts(Path(entry.path), info.st_size, info.st_mtime_ns)
    return state


@functools.lru_cache(maxsize=256)
def _row_counts(path: Path, size: int, mtime_ns: int) -> dict[str, int] | str:
    """:func:`row_counts`, read again only when the file changed (size or mtime)."""
    return row_counts(path)


def row_counts(path: Path) -> dict[str, int] | str:
    """Rows per table of a SQLite file, read without locking or writing it (``immutable``)."""
    try:
        connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    except sqlite3.Error as exc:
        return f"unreadable ({exc})"
    try:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: connection.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    except sqlite3.Error as exc:
        return f"unreadable ({exc})"
    finally:
        connection.close()


def changes(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """What differs between two snapshots, one phrase per path."""
    out = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            out.append(f"created {key}")
        elif key not in after:
            out.append(f"removed {key}")
        elif before[key] != after[key]:
            out.append(f"changed {key}: {before[key]} -> {after[key]}")
    return out


@contextlib.contextmanager
def _in(root: Path, env: tuple[tuple[str, str], ...] = ()) -> Iterator[None]:
    """Run from ``root`` with the storage and Ray variables unset, then ``env`` set."""
    cwd = os.getcwd()
    saved = {k: os.environ.pop(k) for k in {*ENV_CLEARED, *dict(env)} if k in os.environ}
    os.environ.update(dict(env))
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(cwd)
        for key in dict(env):
            os.environ.pop(key, None)
        os.environ.update(saved)


@contextlib.contextmanager
def _warnings_on_stderr() -> Iterator[None]:
    """Warnings print to stderr with Python's default filters, as in a ``supernas`` process (pytest would record
    them instead, hiding a warning that breaks the one line)."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.showwarning = _show_warning
        yield


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def run_case(root: Path, bad: Case) -> Outcome:
    """Run ``bad`` in this process from ``root``; what it printed, its exit code, and what it wrote."""
    from supernas.cli.main import run

    before = snapshot(root)
    out, err = io.StringIO(), io.StringIO()
    code: int | None = None
    escaped = None
    watchdog = threading.Timer(TIME_LIMIT_S, _thread.interrupt_main)
    start = time.perf_counter()
    with (
        _in(root, bad.env),
        guarded(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        _warnings_on_stderr(),
    ):
        watchdog.start()
        try:
            code = run(list(bad.argv))
        except Escaped as exc:
            escaped = str(exc)
        except KeyboardInterrupt:
            pass  # the watchdog fired outside the command's own handler
        finally:
            watchdog.cancel()
    seconds = time.perf_counter() - start
    written = changes(before, snapshot(root))
    return Outcome(
        bad, code, out.getvalue(), err.getvalue(), written, seconds, escaped, timed_out=seconds >= TIME_LIMIT_S
    )


def build_workspace(root: Path, checkpoint: Path) -> Path:
    """``root`` with ``tiny.pt`` (a copy of ``checkpoint``), ``supernas.db`` holding the finished search
    :data:`SEARCH` of it and the supernet-less :data:`SYNTHETIC`, and the bad files the cases name."""
    from supernas.api import EvaluationSettings, SearchRequest, Store, create_search, start_search
    from supernas.testing import tiny_space

    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(checkpoint, root / "tiny.pt")
    url = f"sqlite:///{root / 'supernas.db'}"
    request = SearchRequest.parse("accuracy,params", [], "random", budget=4, batch_size=2, seed=0)
    with _in(root), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        start_search("tiny.pt", request, EvaluationSettings(executor="local"), name=SEARCH, storage=url)
        with Store.open(url) as store:
            create_search(store, SYNTHETIC, request, None)
            tiny = store.get_supernet("tiny")
            for name, path, sha in (  # registered supernets whose checkpoint changed, or went away
                ("changed", tiny.checkpoint_path, "0" * 64),
                ("gone", str(root / "gone.pt"), "1" * 64),
            ):
                store.add_supernet(name, tiny.task, tiny.space, tiny.spec, tiny.class_names, path, sha, {})
                create_search(store, f"{name}-search", request, name)
    tiny_space(depth=(1, 2)).save(root / "tiny.toml")
    (root / "empty").mkdir()  # an empty directory (demo --dir, export --out parent, ...)
    (root / "full").mkdir()  # a directory that is not empty
    (root / "full" / "x.txt").write_text("x")
    _space_files(root)
    _checkpoints(root, checkpoint)
    _npz_files(root)
    _image_folders(root)
    _databases(root)
    (root / "notes.txt").write_text("not a model, not data\n")
    (root / "hf-not-dataset").mkdir()
    (root / "hf-not-dataset" / "config.json").write_text('{"model_type": "bert"}')
    (root / "hf-empty").mkdir()
    vit = {"model_type": "vit", "architectures": ["ViTForImageClassification"], "hidden_size": 16}
    vit |= {"num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32, "image_size": 8}
    vit |= {"patch_size": 2, "num_channels": 1, "num_labels": 10}
    for name, config in (("hf-vit-corrupt", vit), ("hf-vit-bad-config", {**vit, "hidden_size": "big"})):
        (root / name).mkdir()
        (root / name / "config.json").write_text(json.dumps(config))
        (root / name / "model.safetensors").write_bytes(garbage(3000, seed=5))
    _demo_directories(root)
    return root


def _demo_directories(root: Path) -> None:
    """Directories where the demo must refuse to start: files in its way that it would fail on later."""
    import torch

    from supernas.supernet.checkpoint import read_checkpoint

    for name in ("export-taken", "bad-db", "other-db", "bad-checkpoint", "unfinished"):
        (root / "demo" / name).mkdir(parents=True)
    (root / "demo" / "export-taken" / "export").mkdir()
    (root / "demo" / "export-taken" / "export" / "x.txt").write_text("x")
    (root / "demo" / "bad-db" / "supernas.db").write_bytes(garbage(4096, seed=1))
    shutil.copy(root / "db" / "other.db", root / "demo" / "other-db" / "supernas.db")
    (root / "demo" / "bad-checkpoint" / "digits-demo.pt").write_bytes(garbage(256, seed=2))
    unfinished = {**read_checkpoint(root / "tiny.pt"), "complete": False, "epoch": 1}  # another space than the demo's
    torch.save(unfinished, root / "demo" / "unfinished" / "digits-demo.pt")


def garbage(size: int, seed: int) -> bytes:
    """``size`` seeded random bytes."""
    return random.Random(seed).randbytes(size)


def _space_files(root: Path) -> None:
    spaces = root / "spaces"
    spaces.mkdir()
    texts = {
        "unknown-field.toml": "depthh = [2, 3]\n",
        "malformed.toml": "depth = [2, 3\n",
        "malformed.json": '{"depth": [2, 3}',
        "array.json": "[1, 2, 3]\n",
        "string.json": '"depth"\n',
        "huge-int.toml": f"depth = [{HUGE}]\n",
        "negative.toml": "depth = [-1, 2]\n",
        "zero.toml": "embed_dim = [0]\n",
        "float-depth.toml": "depth = [2.5]\n",
        "bool-depth.toml": "depth = [true]\n",
        "string-depth.toml": 'depth = ["two"]\n',
        "empty-list.toml": "depth = []\n",
        "duplicates.toml": "depth = [2, 2]\n",
        "scalar-list.toml": "depth = 3\n",
        "nan.json": '{"depth": [NaN]}',
        "infinity.json": '{"mlp_ratio": [Infinity]}',
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "too-many-choices.toml": f"depth = {list(range(1, 66))}\n",
        "too-big.toml": "depth = [64]\nembed_dim = [8192]\nheads = [64]\nhead_dim = 128\nmlp_ratio = [8.0]\n",
        "ln-eps.toml": "ln_eps = 0\n",
        "patch.toml": "patch_size = 5000\n",
        "patch-misfit.toml": "patch_size = 3\n",
        "space.yaml": "depth: [2, 3]\n",
        "nul.toml": "depth = [2]\x00\n",
    }
    for name, text in texts.items():
        (spaces / name).write_text(text)
    (spaces / "latin1.toml").write_bytes("# d\xe9pth\ndepth = [2]\n".encode("latin-1"))
    (spaces / "binary.json").write_bytes(bytes(range(256)) * 8)
    (spaces / "oversized.toml").write_text("# padding\n" * 200_000)  # 2 MB of comments
    (spaces / "directory.toml").mkdir()


def _checkpoints(root: Path, checkpoint: Path) -> None:
    import pickle

    import torch

    from supernas.supernet.checkpoint import read_checkpoint

    bad = root / "ckpt"
    bad.mkdir()
    data = checkpoint.read_bytes()
    (bad / "empty.pt").write_bytes(b"")
    (bad / "garbage.pt").write_bytes(garbage(4096, seed=0))
    for name, seed in (("index", 2), ("key", 20), ("unicode", 195)):  # torch.load raises IndexError, KeyError, …
        (bad / f"garbage-{name}.pt").write_bytes(garbage(256, seed))
    (bad / "truncated.pt").write_bytes(data[: len(data) // 2])
    (bad / "text.pt").write_text("not a checkpoint\n")
    (bad / "pickle.pt").write_bytes(pickle.dumps({"format": "supernas-supernet/1", "x": Path("x")}))
    (bad / "directory.pt").mkdir()
    state = read_checkpoint(checkpoint)
    torch.save([1, 2, 3], bad / "list.pt")
    variants: dict[str, dict[str, Any]] = {
        "format.pt": {**state, "format": "other/9"},
        "lacks-model.pt": {k: v for k, v in state.items() if k != "model"},
        "epoch-string.pt": {**state, "epoch": "three"},
        "model-list.pt": {**state, "model": [1, 2]},
        "space-string.pt": {**state, "space": "tiny"},
        "bad-space.pt": {**state, "space": {**state["space"], "depth": [0]}},
        "bad-spec.pt": {**state, "spec": {"kind": "video"}},
        "task-int.pt": {**state, "task": 7},
        "nan-weights.pt": {**state, "model": {k: torch.full_like(v, float("nan")) for k, v in state["model"].items()}},
        "inf-weights.pt": {**state, "model": {k: torch.full_like(v, float("inf")) for k, v in state["model"].items()}},
        "shape.pt": {**state, "model": {k: v[..., :1] for k, v in state["model"].items()}},
        "missing-weights.pt": {**state, "model": dict(list(state["model"].items())[:1])},
        "unknown-task.pt": {**state, "task": "mnist"},
        "missing-npz-task.pt": {**state, "task": "npz:gone.npz"},
        "huge-classes.pt": {**state, "spec": {**state["spec"], "num_classes": 10**7}},
        "huge-input.pt": {**state, "spec": {**state["spec"], "shape": [1, 60_000, 60_000]}},
        "huge-int-spec.pt": {**state, "spec": {**state["spec"], "shape": [1, 10**400, 8]}},
        "string-classes.pt": {**state, "spec": {**state["spec"], "num_classes": "ten"}},
    }
    for name, contents in variants.items():
        torch.save(contents, bad / name)
    torch.save(state, root / "other.pt")  # a valid checkpoint that no store knows
    with zipfile.ZipFile(bad / "zip.pt", "w") as archive:
        archive.writestr("archive/data.pkl", b"garbage")


def _npz_files(root: Path) -> None:
    data = root / "npz"
    data.mkdir()
    rng = np.random.default_rng(0)
    x = rng.random((30, 1, 8, 8), dtype=np.float32)  # (N, C, H, W)
    y = np.arange(30) % 3
    np.save(data / "array.npy", x)
    (data / "renamed.npz").write_bytes((data / "array.npy").read_bytes())  # a .npy, named .npz
    with zipfile.ZipFile(data / "members.npz", "w") as archive:  # a zip of non-.npy members
        archive.writestr("x.txt", "1 2 3")
        archive.writestr("y.csv", "0,1,2")
    np.savez(data / "huge-label.npz", x=x, y=np.where(y == 0, 10**9, y))
    np.savez(data / "negative-label.npz", x=x, y=y - 1)
    np.savez(data / "float-label.npz", x=x, y=y + 0.5)
    np.savez(data / "one-class.npz", x=x, y=np.zeros(30, dtype=np.int64))
    np.savez(data / "string-x.npz", x=np.array(["a"] * 30), y=y)
    np.savez(data / "nan-x.npz", x=np.full_like(x, np.nan), y=y)
    np.savez(data / "inf-x.npz", x=np.where(x > 0.5, np.inf, x), y=y)
    np.savez(data / "flat-x.npz", x=np.arange(30.0), y=y)
    np.savez(data / "five-d-x.npz", x=x[:, None], y=y)
    np.savez(data / "short-y.npz", x=x, y=y[:10])
    np.savez(data / "no-y.npz", x=x)
    np.savez(data / "extra.npz", x=x, y=y, z=y)
    np.savez(data / "bad-split.npz", x=x, y=y, split=np.full(30, 7))
    np.savez(data / "names.npz", x=x, y=y, class_names=np.array(["a"]))
    np.savez(data / "huge-values.npz", x=np.full(x.shape, 1e300), y=y)  # finite in float64, not in float32
    np.savez(data / "empty.npz", x=np.zeros((0, 1, 8, 8), np.float32), y=np.zeros(0, np.int64))
    np.savez(data / "object-x.npz", x=np.array([{"a": 1}] * 30, dtype=object), y=y)
    np.savez(data / "complex-x.npz", x=x.astype(np.complex64), y=y)
    np.savez(data / "zero-width.npz", x=np.zeros((30, 0), np.float32), y=y)
    np.savez(data / "matrix-y.npz", x=x, y=y[:, None])
    np.savez(data / "bool-y.npz", x=x, y=y > 0)
    np.savez(data / "two-rows.npz", x=x[:2], y=np.array([0, 1]))
    np.savez(data / "no-val-split.npz", x=x, y=y, split=np.where(np.arange(30) % 2, 0, 2))
    (data / "zero-bytes.npz").write_bytes(b"")
    (data / "text.npz").write_text("x,y\n1,2\n")
    _npz_with_member(data / "claims-huge-x.npz", "x", (30, 1, 100_000, 100_000), y)
    _npz_with_member(data / "claims-huge-y.npz", "y", (10**12,), y, x=x)
    with zipfile.ZipFile(data / "raw-members.npz", "w") as archive:  # members without the .npy suffix
        archive.writestr("x", x.tobytes())
        archive.writestr("y", y.tobytes())
    good = data / "good.npz"
    np.savez(good, x=x, y=y)
    payload = good.read_bytes()
    (data / "truncated.npz").write_bytes(payload[: len(payload) // 2])


def _npz_with_member(path: Path, key: str, shape: tuple[int, ...], y: np.ndarray, **arrays: np.ndarray) -> None:
    """An archive whose member ``key`` has a header stating ``shape`` (float32) over a few bytes of data."""
    np.savez(path, **({"y": y} if key == "x" else {}), **arrays)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(f"{key}.npy", header.getvalue() + bytes(64))


def _image_folders(root: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)

    def image(path: Path, size: tuple[int, int] = (8, 8)) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels, "RGB").save(path)

    folders = root / "images"
    (folders / "empty").mkdir(parents=True)
    for i in range(4):
        image(folders / "one-class" / "cat" / f"{i}.png")
        for k in ("a", "b"):
            image(folders / "mixed-sizes" / k / f"{i}.png", (8, 8) if i % 2 else (12, 10))
            image(folders / "corrupt" / k / f"{i}.png")
            image(folders / "truncated" / k / f"{i}.png")
            image(folders / "half-split" / "train" / k / f"{i}.png")
            image(folders / "half-split" / "val" / k / f"{i}.png")
    (folders / "corrupt" / "a" / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n" + garbage(64, seed=3))
    truncated = folders / "truncated" / "b" / "1.png"
    truncated.write_bytes(truncated.read_bytes()[:40])
    bomb = folders / "bomb" / "a" / "0.png"  # a valid PNG header claiming 40,000 × 40,000 pixels
    image(bomb)
    header = bytearray(bomb.read_bytes())
    header[16:24] = (40_000).to_bytes(4, "big") * 2
    header[29:33] = zlib.crc32(bytes(header[12:29])).to_bytes(4, "big")
    bomb.write_bytes(bytes(header))
    (folders / "png-directory" / "a" / "0.png").mkdir(parents=True)
    for i in range(2):
        image(folders / "bomb" / "b" / f"{i}.png")
        image(folders / "png-directory" / "b" / f"{i}.png")
    (folders / "no-images" / "a").mkdir(parents=True)
    (folders / "no-images" / "b").mkdir(parents=True)
    (folders / "no-images" / "a" / "x.txt").write_text("x")


def _databases(root: Path) -> None:
    dbs = root / "db"
    dbs.mkdir()
    (dbs / "empty.db").write_bytes(b"")
    (dbs / "garbage.db").write_bytes(garbage(8192, seed=4))
    (dbs / "text.db").write_text("SQLite format 3? no.\n")
    connection = sqlite3.connect(dbs / "other.db")  # a SQLite database of someone else's
    connection.execute("CREATE TABLE t (x INTEGER)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()
    connection.close()
    (dbs / "directory.db").mkdir()
    shutil.copy(root / "supernas.db", dbs / "newer.db")  # a supernas database of a newer schema
    connection = sqlite3.connect(dbs / "newer.db")
    connection.execute("UPDATE alembic_version SET version_num = 'ffff9999'")
    connection.commit()
    connection.close()
    json_file = dbs / "store.json"
    json_file.write_text(json.dumps({"not": "a database"}))


BAD_STORAGE = [  # URLs no command may use: (URL, what the message names)
    ("sqlite:///:memory:", "--storage"),
    ("sqlite://", "--storage"),
    ("nosuch://x", "--storage"),
    ("not a url", "--storage"),
    ("", "--storage"),
    ("sqlite:///missing/x.db", "--storage"),
    ("sqlite:///notes.txt/x.db", "--storage"),
    ("sqlite:///db/garbage.db", "--storage"),
    ("sqlite:///db/text.db", "--storage"),
    ("sqlite:///db/other.db", "--storage"),
    ("sqlite:///db/directory.db", "--storage"),
    ("sqlite:///db/newer.db", "--storage"),
    ("sqlite:///db/store.json", "--storage"),
    ("postgresql://nobody@127.0.0.1:1/x", "--storage"),
    ("sqlite:///" + LONG + ".db", "--storage"),
]
MISSING_STORAGE = [  # databases read commands must not create: (URL, what the message names)
    ("sqlite:///missing.db", "--storage"),
    ("sqlite:///db/empty.db", "--storage"),
    (f"sqlite:///{UNWRITABLE}.db", "--storage"),
]
UNWRITABLE_STORAGE = [("sqlite:////proc/supernas.db", "--storage")]  # commands that would create it
