"""Probe campaign: hundreds of bad inputs across every command and file type, each refused in one line?

Builds the workspace of the bad-input tables (``tests/cli/bad_input.py``: a tiny supernet, a store with a
finished search, bad files of every kind) plus seeded corruptions of valid files (byte flips and truncations
of a checkpoint, a data archive, a database, a space file and an image folder), then runs, in this process
through ``supernas.cli.main.run``:

* every case of the per-command tables (``tests/cli/test_bad_input_*.py``), and
* mutations of one valid argv per command: each option in turn given a value it must refuse (wrong types,
  boundaries ±1, empty strings, unicode, 400-digit integers, 5,000-character names, paths that are missing,
  directories, files or unwritable), unknown options, extra arguments, missing required options,
  ``--flag=value`` on flags, and the corrupt files.

Each case must exit 2 with one line ``Error: …`` on stderr and write nothing (files, sizes, mtimes and the row
counts of every database are compared); where real work would begin (Ray, training, a search, fine-tuning,
an export) the case is stopped and counted as accepted. Prints one table (command, cases, one-line %,
exit-2 %, nothing-written %, names-the-field %) and then every failing case with its output. With
``--subprocess``, a seeded sample of 20 refused cases also runs through the real ``supernas`` console script,
which must print the same line with the same exit code.

Run: ``.venv/bin/python benchmarks/probe_inputs.py [--quick] [--subprocess] [--checkpoint PATH] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tables live in tests/cli

from tests.cli.bad_input import (  # noqa: E402
    BAD_STORAGE,
    ENV_CLEARED,
    HUGE,
    LONG,
    MISSING_STORAGE,
    UNWRITABLE,
    Case,
    Outcome,
    build_workspace,
    case,
    run_case,
)

TABLES = ("space", "train", "search", "resume", "searches", "status", "pareto", "export", "finetune", "demo", "db")
SEEDS = 8  # corrupted copies of each kind of file
UNICODE = "ñämé-名前-🙂"


# -- what each option refuses -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Int:
    """An integer option valid in ``low``..``high`` (``high`` None: unbounded above by design)."""

    low: int
    high: int | None = None

    def bad(self) -> list[str]:
        values = [str(self.low - 1), "ten", "1.5", "", HUGE, "-" + HUGE, "0x10", "1e3", UNICODE]
        return values + ([str(self.high + 1)] if self.high is not None else [])


@dataclass(frozen=True)
class Real:
    """A real option valid above ``low`` (``exclusive``) or from it, up to ``high``."""

    low: float
    high: float | None = None
    exclusive: bool = True

    def bad(self) -> list[str]:
        values = ["nan", "inf", "-inf", "1e999", f"{self.low - 1:g}", "fast", "", UNICODE]
        values += [f"{self.low:g}"] if self.exclusive else []
        return values + ([f"{self.high * 2 + 1:g}"] if self.high is not None else [])


@dataclass(frozen=True)
class Choice:
    """A string option with a fixed set of values."""

    valid: tuple[str, ...]

    def bad(self) -> list[str]:
        first = self.valid[0]
        return ["", "nope", UNICODE, LONG, first.upper() if first.upper() != first else first + "X", first + " "]


@dataclass(frozen=True)
class Values:
    """An option whose bad values are listed."""

    values: tuple[str, ...]

    def bad(self) -> list[str]:
        return list(self.values)


OUT_FILE = Values(("", "tiny.pt", "empty", "missing/x.pt", "notes.txt/x.pt", f"{UNWRITABLE}/x.pt", "/proc/x.pt", LONG))
OUT_DIR = Values(("tiny.pt", "full", "missing/x", "notes.txt/x", f"{UNWRITABLE}/x", "/proc/x", "/proc", LONG))
IMAGE = Values(("f.txt", "f", "empty", "missing/f.png", "notes.txt/f.png", f"{UNWRITABLE}/f.png", "/proc/f.png"))
SEARCH_NAME = Values(("nope", "", LONG, UNICODE, " s", "s\t"))
SPACE_FILE = Values(("spaces/malformed.toml", "spaces/deep.json", "missing.toml", "spaces/directory.toml", "", LONG))
TASK = Values(("mnist", "", "npz:", "npz:npz/text.npz", "folder:notes.txt", "hf:missing", "digits?x=1", LONG, UNICODE))
STORAGE_READ = Values(tuple(url for url, _ in BAD_STORAGE + MISSING_STORAGE))
STORAGE_WRITE = Values((*(url for url, _ in BAD_STORAGE), "sqlite:////proc/supernas.db"))
CHECKPOINT = Values(("ckpt/garbage.pt", "ckpt/nan-weights.pt", "ckpt/directory.pt", "missing.pt", "nosuch", "", LONG))
EXECUTOR = Choice(("ray", "local"))
DEVICE = Choice(("auto", "cpu", "cuda"))
ADDRESS = Values(("nohost", "127.0.0.1:1", "127.0.0.1:99999", "ray://", ":80", UNICODE))
EXECUTION = {  # the evaluation options `search` and `finetune` share
    "--executor": EXECUTOR,
    "--workers": Int(0, 4096),
    "--cpus-per-worker": Real(0.0),
    "--gpus-per-worker": Real(0.0, exclusive=False),
    "--ray-address": ADDRESS,
    "--device": DEVICE,
}
SEED = Int(0, 2**32 - 1)
FLAG = "flag"  # a boolean flag: --flag=value is refused

COMMANDS: dict[str, tuple[tuple[str, ...], dict[str, object]]] = {  # command -> (a valid argv, its options)
    "space show": (
        ("space", "show"),
        {"--task": TASK, "--space": SPACE_FILE, "--space-preset": Choice(("tiny",)), "--json": FLAG},
    ),
    "space validate": (("space", "validate", "tiny.toml"), {"--task": TASK}),
    "space sample": (
        ("space", "sample"),
        {
            "--n": Int(1, 10_000),
            "--seed": SEED,
            "--task": TASK,
            "--space": SPACE_FILE,
            "--space-preset": Choice(("tiny",)),
            "--json": FLAG,
        },
    ),
    "space presets": (("space", "presets"), {"--json": FLAG}),
    "train": (
        ("train", "--out", "new.pt", "--space", "tiny.toml", "--epochs", "1"),
        {
            "--out": OUT_FILE,
            "--task": TASK,
            "--space": SPACE_FILE,
            "--space-preset": Choice(("tiny",)),
            "--image-size": Int(1, 4096),
            "--channels": Values(("2", "0", "-1", "ten")),
            "--input-column": Values(("x", "")),
            "--label-column": Values(("y", "")),
            "--augment": Choice(("auto", "none", "shift", "crop-flip")),
            "--init": Values(("onnx:x", "timm:", "hf:", "hf:missing", "hf:notes.txt", "hf:hf-not-dataset", "")),
            "--init-weights": Values(("notes.txt", "missing.pt")),
            "--epochs": Int(1, 100_000),
            "--seed": SEED,
            "--batch-size": Int(1, 65_536),
            "--lr": Real(0.0, 10.0),
            "--device": DEVICE,
            "--loader-workers": Int(0, 256),
            "--trials": Int(1, 1000),
            "--workers": Int(1, 256),
            "--cpus-per-trial": Real(0.0),
            "--gpus-per-trial": Real(0.0, exclusive=False),
            "--ray-address": Values(("nohost", "127.0.0.1:99999", UNICODE, "127.0.0.1:1")),
            "--storage": Values(("sqlite:///db/garbage.db", "nosuch://x", "sqlite:///supernas.db")),
            "--resume": FLAG,
            "--ray": FLAG,
            "--json": FLAG,
        },
    ),
    "search": (
        ("search", "--supernet", "tiny.pt", "--objectives", "accuracy,params", "--budget", "4", "--batch", "2"),
        {
            "--supernet": CHECKPOINT,
            "--objectives": Values(("accuracy", "accuracy,accuracy", "speed,params", "", UNICODE, ",", "accuracy,")),
            "--constraint": Values(("params<=x", "speed<=1", "params", "params<=nan", "", "params=>1", UNICODE)),
            "--budget": Int(1, 1_000_000),
            "--batch": Int(1, 10_000),
            "--strategy": Choice(("linas", "nsga2", "random", "optuna")),
            "--seed": SEED,
            "--name": Values(("", LONG, "a\nb", " s", "s")),
            "--sampler": Choice(("nsga2", "tpe")),
            "--storage": STORAGE_WRITE,
            **EXECUTION,
            "--latency-batch": Int(1, 65_536),
            "--json": FLAG,
        },
    ),
    "resume": (
        ("resume", "s"),
        {
            "--storage": STORAGE_READ,
            "--executor": EXECUTOR,
            "--workers": Int(0, 4096),
            "--ray-address": Values(("nohost", "127.0.0.1:99999", UNICODE)),
            "--json": FLAG,
        },
    ),
    "searches": (("searches",), {"--storage": STORAGE_READ, "--json": FLAG}),
    "status": (
        ("status", "s"),
        {"--storage": STORAGE_READ, "--plot": IMAGE, "--compare": Values(("nope",)), "--json": FLAG},
    ),
    "pareto show": (("pareto", "show", "s"), {"--storage": STORAGE_READ, "--trained": FLAG, "--json": FLAG}),
    "pareto plot": (
        ("pareto", "plot", "s", "--x", "params", "--out", "new.png"),
        {
            "--out": IMAGE,
            "--x": Values(("speed", "", UNICODE, "latency_ms")),
            "--y": Values(("speed", "", UNICODE)),
            "--html": Values(("f.txt", "missing/f.html", "/proc/f.html", LONG + ".html", "empty")),
            "--storage": STORAGE_READ,
            "--trained": FLAG,
            "--json": FLAG,
        },
    ),
    "export": (
        ("export", "s", "--knee", "--out", "new-export"),
        {
            "--out": OUT_DIR,
            "--format": Choice(("safetensors", "pt2", "onnx")),
            "--rank": Int(1, 2),
            "--arch": Values(("nope", "", LONG)),
            "--weights": Choice(("inherited", "trained")),
            "--storage": STORAGE_READ,
            "--int8": FLAG,
            "--knee": FLAG,
            "--json": FLAG,
        },
    ),
    "finetune": (
        ("finetune", "s", "--knee", "--epochs", "1"),
        {
            "--top": Int(1, 4),
            "--rank": Int(1, 2),
            "--arch": Values(("nope", "")),
            "--epochs": Int(1, 1000),
            "--init": Choice(("inherited", "scratch")),
            "--teacher": Choice(("largest", "none")),
            "--lr": Real(0.0, 10.0),
            "--kd-weight": Real(0.0, 1.0, exclusive=False),
            "--seed": SEED,
            **EXECUTION,
            "--dir": Values(("notes.txt", "notes.txt/x", f"{UNWRITABLE}/x", "/proc", LONG)),
            "--storage": STORAGE_READ,
            "--front": FLAG,
            "--resume": FLAG,
            "--json": FLAG,
        },
    ),
    "demo": (
        ("demo", "--dir", "empty", "--epochs", "1", "--budget", "10", "--finetune-epochs", "0"),
        {
            "--dir": Values(("missing", "notes.txt", f"{UNWRITABLE}/x", "/proc", LONG, "demo/export-taken")),
            "--epochs": Int(1, 100_000),
            "--budget": Int(10, 1_000_000),
            "--executor": EXECUTOR,
            "--seed": SEED,
            "--finetune-epochs": Int(0, 1000),
        },
    ),
    "db upgrade": (("db", "upgrade"), {"--storage": STORAGE_WRITE}),
    "db info": (("db", "info"), {"--storage": STORAGE_READ, "--json": FLAG}),
}
REQUIRED = {"train": ("--out",), "search": ("--supernet",), "export": ("--out",)}  # options a command cannot lack
POSITIONAL = {"space validate": SPACE_FILE, "resume": SEARCH_NAME, "status": SEARCH_NAME}
POSITIONAL |= {"pareto show": SEARCH_NAME, "pareto plot": SEARCH_NAME, "export": SEARCH_NAME, "finetune": SEARCH_NAME}
SELECTIONS = ("--rank", "--arch", "--top", "--front")  # export/finetune: one of these replaces --knee


def mutations() -> Iterator[Case]:
    """One valid argv per command with one thing made invalid at a time."""
    for command, (base, options) in COMMANDS.items():
        for option, kind in options.items():
            if kind == FLAG:
                yield case(*base, f"{option}=yes", names=option)
                continue
            assert isinstance(kind, (Int, Real, Choice, Values))
            for value in kind.bad():
                yield case(*_set(base, option, value), names=option)
        yield case(*base, "--bogus", names="No such option: --bogus")
        yield case(*base, "extra-argument", names="unexpected extra argument")
        for option in REQUIRED.get(command, ()):
            yield case(*_drop(base, option), names=f"Missing option '{option}'")
        if command in POSITIONAL:
            words = len(command.split())
            for value in POSITIONAL[command].bad():
                yield case(*base[:words], value, *base[words + 1 :], names=())


def _set(argv: tuple[str, ...], option: str, value: str) -> tuple[str, ...]:
    """``argv`` with ``option`` given ``value`` (replacing its value if present; a selection replaces --knee)."""
    if option in SELECTIONS and "--knee" in argv:
        argv = tuple(a for a in argv if a != "--knee")
    if option in argv:
        i = argv.index(option)
        return (*argv[: i + 1], value, *argv[i + 2 :])
    return (*argv, option, value)


def _drop(argv: tuple[str, ...], option: str) -> tuple[str, ...]:
    i = argv.index(option)
    return (*argv[:i], *argv[i + 2 :])


def option_coverage() -> list[str]:
    """Options of the CLI that COMMANDS gives no bad values (so a new option cannot go unprobed)."""
    import typer

    from supernas.cli.main import app

    missing = []

    def walk(command: object, words: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*words, name))
            return
        name = " ".join(words)
        known = set(COMMANDS.get(name, ((), {}))[1]) | set(COMMANDS.get(name, ((), {}))[0])
        for param in getattr(command, "params", []):
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt not in known and opt not in ("--help", "--gpus-per-worker"):
                    missing.append(f"{name} {opt}")

    walk(typer.main.get_command(app), ())
    return missing


# -- corrupted copies of valid files ------------------------------------------------------------------------------


def corrupt_files(root: Path, seeds: int) -> list[Case]:
    """Seeded byte flips and truncations of valid files, each with a command that reads it and then refuses
    something else: whether the corruption is caught or not, the command must refuse in one line."""
    from PIL import Image

    out = root / "corrupt"
    out.mkdir()
    sources = {
        "pt": root / "tiny.pt",
        "npz": root / "npz" / "good.npz",
        "db": root / "supernas.db",
        "toml": root / "tiny.toml",
    }
    cases = []
    for seed in range(seeds):
        rng = random.Random(seed)
        for suffix, source in sources.items():
            data = bytearray(source.read_bytes())
            for _ in range(rng.randint(1, 16)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            flipped = out / f"flipped-{seed}.{suffix}"
            flipped.write_bytes(bytes(data))
            truncated = out / f"truncated-{seed}.{suffix}"
            truncated.write_bytes(source.read_bytes()[: rng.randrange(len(data))])
            for path in (flipped, truncated):
                cases.append(_reader(suffix, str(path.relative_to(root))))
        (out / f"garbage-{seed}.pt").write_bytes(rng.randbytes(rng.randint(1, 4096)))
        cases.append(case("search", "--supernet", f"corrupt/garbage-{seed}.pt", "--budget", "0", names=()))
        cases.append(case("search", "--supernet", f"corrupt/garbage-{seed}.pt", names="--supernet"))
        folder = out / f"images-{seed}"
        for k in ("a", "b"):
            for i in range(3):
                (folder / k).mkdir(parents=True, exist_ok=True)
                pixels = np.random.default_rng(seed * 10 + i).integers(0, 255, (8, 8, 3), dtype=np.uint8)
                Image.fromarray(pixels, "RGB").save(folder / k / f"{i}.png")
        victim = folder / "a" / "1.png"
        data = bytearray(victim.read_bytes())
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(8, len(data))] = rng.randrange(256)
        victim.write_bytes(bytes(data[: rng.randrange(16, len(data) + 1)]))
        task = f"folder:corrupt/images-{seed}"
        cases.append(case("train", "--out", "new.pt", "--task", task, "--augment", "nope", names=()))
    return cases


def _reader(kind: str, path: str) -> Case:
    """A command that reads ``path`` (of ``kind``) and, if it is fine, refuses a later option."""
    if kind == "pt":
        return case("train", "--out", path, "--resume", "--augment", "nope", names=())
    if kind == "npz":
        return case("train", "--out", "new.pt", "--task", f"npz:{path}", "--augment", "nope", names=())
    if kind == "db":
        return case("status", "nope", "--storage", f"sqlite:///{path}", names=())
    return case("space", "validate", path, "--task", "mnist", names=())


def hf_datasets(root: Path) -> list[Case]:
    """Saved Hugging Face datasets that are not usable tasks (and corrupted copies of a usable one)."""
    import datasets

    datasets.disable_progress_bars()
    out = root / "hf"
    rows = [[float(i), float(i % 3)] for i in range(12)]
    labels = [i % 3 for i in range(12)]
    bad = {
        "one-class": {"x": rows, "label": [0] * 12},
        "float-label": {"x": rows, "label": [v + 0.5 for v in labels]},
        "negative-label": {"x": rows, "label": [v - 1 for v in labels]},
        "no-input": {"label": labels},
        "string-input": {"x": ["a"] * 12, "label": labels},
        "nan-input": {"x": [[float("nan"), 1.0]] * 12, "label": labels},
        "ragged-input": {"x": [[1.0] * (1 + i % 2) for i in range(12)], "label": labels},
        "huge-label": {"x": rows, "label": [v * 10**9 for v in labels]},
        "good": {"x": rows, "label": labels},
    }
    for name, columns in bad.items():
        datasets.Dataset.from_dict(columns).save_to_disk(str(out / name))
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(bad["good"]), "bogus": datasets.Dataset.from_dict(bad["good"])}
    ).save_to_disk(str(out / "bogus-split"))
    corrupt = {"truncated-arrow": "arrow", "garbage-state": "state.json", "garbage-info": "dataset_info.json"}
    for name, target in corrupt.items():
        shutil.copytree(out / "good", out / name)
        victim = next(p for p in (out / name).iterdir() if p.name.endswith(target))
        victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 3] if target == "arrow" else b"{[garbage")
    names = [*bad.keys() - {"good"}, "bogus-split", *corrupt]
    return [
        *(case("space", "show", "--task", f"hf:hf/{name}", names="--task") for name in names),
        *(case("train", "--out", "new.pt", "--task", f"hf:hf/{name}", "--augment", "nope", names=()) for name in names),
        case("train", "--out", "new.pt", "--task", "hf:hf/good", "--label-column", "nope", names="--label-column"),
        case("train", "--out", "new.pt", "--task", "hf:hf/good", "--input-column", "nope", names="--input-column"),
        case("train", "--out", "new.pt", "--task", "hf:hf/good", "--image-size", "8", names="--image-size"),
    ]


def old_database(root: Path) -> list[Case]:
    """A supernas database of an older schema: read commands refuse it (``db upgrade`` migrates it)."""
    from sqlalchemy import create_engine

    from supernas.store.migrations import upgrade

    engine = create_engine(f"sqlite:///{root / 'db' / 'old.db'}")
    upgrade(engine, "0002")
    engine.dispose()
    url = "sqlite:///db/old.db"
    return [
        case("searches", "--storage", url, names="db upgrade"),
        case("status", "s", "--storage", url, names="db upgrade"),
        case("db", "info", "--storage", url, names="db upgrade"),
        case("export", "s", "--knee", "--out", "new-export", "--storage", url, names="db upgrade"),
    ]


def environment_cases() -> list[Case]:
    """Bad values of the environment variables supernas reads."""
    search = ("search", "--supernet", "tiny.pt", "--objectives", "accuracy,params", "--budget", "4", "--batch", "2")
    return [
        case("searches", names="--storage", env={"SUPERNAS_STORAGE": "sqlite:///:memory:"}),
        case("searches", names="--storage", env={"SUPERNAS_STORAGE": "nosuch://x"}),
        case("db", "info", names="--storage", env={"SUPERNAS_STORAGE": "sqlite:///db/other.db"}),
        case("db", "upgrade", names="--storage", env={"SUPERNAS_STORAGE": "sqlite:///db/garbage.db"}),
        case(*search, names="--ray-address", env={"RAY_ADDRESS": "nohost"}),
        case(*search, names="--ray-address", env={"RAY_ADDRESS": "127.0.0.1:1"}),
        case("finetune", "s", "--knee", names="--ray-address", env={"RAY_ADDRESS": "127.0.0.1:1"}),
    ]


# -- running and reporting ----------------------------------------------------------------------------------------


def table_cases() -> list[Case]:
    cases = []
    for name in TABLES:
        cases.extend(importlib.import_module(f"tests.cli.test_bad_input_{name}").CASES)
    return cases


def command_of(argv: tuple[str, ...]) -> str:
    """The command a case runs (``space show``, ``train``; a group's unknown subcommand counts as the group)."""
    words = " ".join(argv[:2])
    return words if words in COMMANDS else (argv[0] if argv else "(none)")


def report(outcomes: list[Outcome]) -> bool:
    """Print the table and every failing case; whether every case passed."""
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(command_of(outcome.case.argv), []).append(outcome)

    def share(rows: list[Outcome], test: str) -> str:
        return f"{100 * sum(bool(getattr(o, test)) for o in rows) / len(rows):.1f}"

    header = f"{'command':<15} {'cases':>6} {'one-line %':>11} {'exit-2 %':>9} {'nothing-written %':>18} {'names %':>8}"
    print(header)
    print("-" * len(header))
    for name, rows in [*sorted(groups.items()), ("all", outcomes)]:
        print(
            f"{name:<15} {len(rows):>6} {share(rows, 'one_line'):>11} {share(rows, 'exit_ok'):>9} "
            f"{share(rows, 'nothing_written'):>18} {share(rows, 'names_field'):>8}"
        )
    slow = sorted(outcomes, key=lambda o: -o.seconds)[:3]
    print("slowest: " + ", ".join(f"{o.case} ({o.seconds:.2f} s)" for o in slow))
    failing = [o for o in outcomes if o.problems]
    print(f"\n{len(failing)} failing case(s)")
    for outcome in failing:
        print(outcome.report())
    return not failing


def run_subprocesses(root: Path, passed: list[Outcome], count: int, seed: int) -> bool:
    """A sample of refused cases through the real console script: the same line and exit code."""
    script = Path(sys.executable).with_name("supernas")
    sample = random.Random(seed).sample(passed, min(count, len(passed)))
    env = {k: v for k, v in os.environ.items() if k not in ENV_CLEARED}
    same = 0
    print(f"\nconsole script {script}: {len(sample)} cases")
    for outcome in sample:
        start = time.perf_counter()
        proc = subprocess.run(
            [str(script), *outcome.case.argv],
            cwd=root,
            env={**env, **dict(outcome.case.env), "NO_COLOR": "1", "OMP_NUM_THREADS": "1"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        ok = proc.returncode == outcome.code and proc.stderr == outcome.err
        same += ok
        status = "same" if ok else f"DIFFERENT (exit {proc.returncode}, stderr {proc.stderr[-600:]!r})"
        print(f"  {str(outcome.case)[:90]:<90} {time.perf_counter() - start:5.1f} s  {status}")
    print(f"{same}/{len(sample)} print the same line with the same exit code as in process")
    return same == len(sample)


def tiny_checkpoint(directory: Path) -> Path:
    """The tests' tiny supernet: trained 2 epochs on digits (about 10 s)."""
    import torch

    from supernas.data import load_task
    from supernas.supernet.train import TrainConfig, train
    from supernas.testing import tiny_space

    torch.set_num_threads(1)
    path = directory / "tiny.pt"
    space = tiny_space(depth=(1, 2), weight_bits=(8, 32))
    train(load_task("digits"), space, TrainConfig(epochs=2, eval_subnets=2), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the tables and 2 corruption seeds only")
    parser.add_argument("--subprocess", action="store_true", help="also run 20 cases through the console script")
    parser.add_argument("--samples", type=int, default=20, help="cases run as subprocesses")
    parser.add_argument("--checkpoint", type=Path, help="a trained tiny supernet (default: train one)")
    parser.add_argument("--keep", type=Path, help="build the workspace here and keep it")
    args = parser.parse_args()
    missing = option_coverage()
    if missing:
        print("options without probes: " + ", ".join(missing))
    with tempfile.TemporaryDirectory(prefix="supernas-probe-") as tmp:
        root = args.keep or Path(tmp) / "workspace"
        if root.exists():
            shutil.rmtree(root)
        start = time.perf_counter()
        checkpoint = args.checkpoint or tiny_checkpoint(Path(tmp))
        build_workspace(root, checkpoint)
        cases = table_cases() + environment_cases() + corrupt_files(root, 2 if args.quick else SEEDS)
        cases += old_database(root)
        if not args.quick:
            cases += list(mutations()) + hf_datasets(root)
        print(f"workspace ready in {time.perf_counter() - start:.0f} s; {len(cases)} cases")
        start = time.perf_counter()
        outcomes = [run_case(root, c) for c in cases]
        print(f"ran in {time.perf_counter() - start:.0f} s\n")
        ok = report(outcomes) and not missing
        if args.subprocess:
            passed = [o for o in outcomes if not o.problems]
            ok = run_subprocesses(root, passed, args.samples, seed=0) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
