"""The registry of task sources, task names with their options, and :func:`load_task`.

A task is named ``digits`` or ``SOURCE:PATH``, optionally followed by the options it was read with,
``?name=value&name=value`` (``folder:data/cifar?image_size=32``). :func:`load_task` puts the options
it is given into the name of the task it returns, so ``load_task(task.name)`` — what every consumer
of a checkpoint does — reads the same data again. Paths cannot contain ``?``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from supernas.data.folder import load_folder
from supernas.data.hf import load_hf
from supernas.data.images import check_channels, check_image_size
from supernas.data.npz import load_npz
from supernas.data.tasks import TaskData, TaskOptions, load_digits
from supernas.errors import DataError
from supernas.search_space.spec import InputSpec

Loader = Callable[[str, Path, TaskOptions], TaskData]  # (task name, path, options) -> task


@dataclass(frozen=True)
class TaskSource:
    """One kind of task: how it is named, which options it reads, and how it is loaded."""

    prefix: str  # "npz" for npz:PATH; a built-in task's whole name ("digits")
    syntax: str  # how a task of this source is written, for messages
    options: tuple[str, ...]  # the TaskOptions fields it reads
    load: Loader  # builds the task; raises a one-line DataError on bad data
    takes_path: bool = True  # False for built-in tasks


def _digits(name: str, path: Path, options: TaskOptions) -> TaskData:
    return load_digits()


def _npz(name: str, path: Path, options: TaskOptions) -> TaskData:
    return load_npz(name, path)


IMAGE_OPTIONS = ("image_size", "channels")
SOURCES: dict[str, TaskSource] = {
    s.prefix: s
    for s in (
        TaskSource("digits", "digits", (), _digits, takes_path=False),
        TaskSource("npz", "npz:PATH", (), _npz),
        TaskSource("folder", "folder:PATH", IMAGE_OPTIONS, load_folder),
        TaskSource("hf", "hf:PATH", (*IMAGE_OPTIONS, "input_column", "label_column"), load_hf),
    )
}
BUILTIN_TASKS = tuple(s.prefix for s in SOURCES.values() if not s.takes_path)
VALID_TASKS = ", ".join(s.syntax for s in SOURCES.values())
OPTION_NAMES = tuple(f.name for f in fields(TaskOptions))


def load_task(
    task: str,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    input_column: str | None = None,
    label_column: str | None = None,
) -> TaskData:
    """The splits of ``task`` (see :data:`VALID_TASKS`), read with the given options.

    Options may also be part of ``task`` (``folder:PATH?image_size=32``); the returned task's
    ``name`` holds every option set, so loading that name again gives the same task.
    """
    given = TaskOptions(image_size, channels, input_column, label_column)
    source, path, named = parse_task(task)
    options = _merge(named, given)
    for option in options.given():
        if option not in source.options:
            valid = ", ".join(source.options) or "none"
            raise DataError(f"does not apply to {source.syntax} tasks; valid options: {valid}", field=option)
    return source.load(task_name(source, path, options), Path(path), options)


def task_spec(
    task: str,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    input_column: str | None = None,
    label_column: str | None = None,
) -> InputSpec:
    """The input spec of ``task`` read with these options (loads it: its files are validated too)."""
    return load_task(
        task, image_size=image_size, channels=channels, input_column=input_column, label_column=label_column
    ).spec


def parse_task(task: str) -> tuple[TaskSource, str, TaskOptions]:
    """The source of ``task``, its path ("" for built-in tasks) and the options in its name."""
    prefix, colon, rest = task.partition(":")
    source = SOURCES.get(prefix)
    if source is None or source.takes_path != bool(colon):
        raise DataError(f"unknown task {task!r}; valid: {VALID_TASKS}")
    path, _, query = rest.partition("?")
    if source.takes_path and not path:
        raise DataError(f"task {task!r} names no path; valid: {source.syntax}")
    return source, path, _parse_options(task, query) if query else TaskOptions()


def task_name(source: TaskSource, path: str, options: TaskOptions) -> str:
    """The canonical name: ``SOURCE:PATH`` and the options set, in field order."""
    name = f"{source.prefix}:{path}" if source.takes_path else source.prefix
    given = options.given()
    return name + ("?" + "&".join(f"{k}={v}" for k, v in given.items()) if given else "")


def _parse_options(task: str, query: str) -> TaskOptions:
    values: dict[str, int | str] = {}
    for pair in query.split("&"):
        key, equals, value = pair.partition("=")
        if key not in OPTION_NAMES or not equals or not value:
            raise DataError(
                f"task {task!r} has option {pair!r}; valid: NAME=VALUE with NAME one of {', '.join(OPTION_NAMES)}"
            )
        if key in IMAGE_OPTIONS and not value.isdigit():
            raise DataError(f"task {task!r} has option {pair!r}; valid: {key}=INTEGER")
        values[key] = int(value) if key in IMAGE_OPTIONS else value
    try:
        return _checked(TaskOptions(**values))  # type: ignore[arg-type]
    except DataError as exc:  # about the task name, not an argument
        raise DataError(f"task {task!r}: {exc}") from None


def _merge(named: TaskOptions, given: TaskOptions) -> TaskOptions:
    """The options of the task name and of the arguments; the same option twice must agree."""
    merged = {**named.given()}
    for key, value in given.given().items():
        if key in merged and merged[key] != value:
            raise DataError(f"{value!r} differs from {key}={merged[key]} in the task name", field=key)
        merged[key] = value
    return _checked(TaskOptions(**merged))  # type: ignore[arg-type]


def _checked(options: TaskOptions) -> TaskOptions:
    check_image_size(options.image_size)
    check_channels(options.channels)
    for key in ("input_column", "label_column"):
        value = getattr(options, key)
        if value is not None and (not isinstance(value, str) or not value or any(c in value for c in "?&=")):
            raise DataError(f"{value!r} is not valid; valid: a column name without ?, & or =", field=key)
    return options
