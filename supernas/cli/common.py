"""Shared CLI plumbing: consoles, shared options, progress bars, errors, JSON output.

Library errors name the API argument they are about (``budget``); :func:`flag` maps
those names to the flags of this CLI, in this one place.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from supernas.errors import SupernasError

F = TypeVar("F", bound=Callable[..., Any])

console = Console()  # results: stdout stays parseable
err_console = Console(stderr=True)  # progress, tables meant for people, errors

StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage", help="SQLAlchemy URL; default $SUPERNAS_STORAGE or sqlite:///supernas.db.", show_default=False
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]

# API argument -> CLI flag, where the flag is not "--" + the argument with dashes
FLAGS = {
    "batch_size": "--batch",
    "constraints": "--constraint",
    "directory": "--dir",
    "fmt": "--format",
    "pretrained": "--init",
    "spec": "--task",
    "state_dict": "--init-weights",
    "search": "search",  # a positional argument
    "supernet_name": "--supernet",
}
COMMAND_FLAGS = {  # command -> {API argument: flag} where its flag differs from FLAGS
    "train": {"batch_size": "--batch-size"},
}


def flag(field: str, command: str | None = None) -> str:
    """The CLI flag of the API argument ``field`` (in ``command``, where its flags differ)."""
    special = COMMAND_FLAGS.get(command or "", {})
    return special.get(field) or FLAGS.get(field, "--" + field.replace("_", "-"))


def error_text(exc: SupernasError, command: str | None = None) -> str:
    """``exc``'s message as the CLI says it: argument names become flags (the leading one and `quoted` ones)."""
    text = exc.naming(flag(exc.field, command) if exc.field else None)
    return re.sub(r"`([a-z][a-z0-9_]*)`", lambda m: flag(m.group(1), command), text)


class Interrupted(KeyboardInterrupt):
    """A signal (SIGTERM) stopping a command the way Ctrl-C does."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``Error: message`` as one line on stderr and return the exit to raise."""
    one_line = " ".join(message.split())
    print(f"Error: {one_line}", file=sys.stderr)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn a :class:`SupernasError` into a one-line error and exit code 2.

    Any other exception is a runtime failure: exit code 1, with the traceback
    when ``SUPERNAS_DEBUG=1``.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.TyperException):  # an exit, or a usage error: the caller prints it
            raise
        except SupernasError as exc:
            if os.environ.get("SUPERNAS_DEBUG") == "1":
                traceback.print_exc()
            raise fail(error_text(exc, func.__name__), exc.exit_code) from None
        except Interrupted as exc:
            raise fail(
                f"interrupted by {exc}; a search continues with `supernas resume NAME`", 128 + exc.signum
            ) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None
        except Exception as exc:
            if os.environ.get("SUPERNAS_DEBUG") == "1":
                traceback.print_exc()
            raise fail(f"{type(exc).__name__}: {exc} (set SUPERNAS_DEBUG=1 for the traceback)", 1) from None

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


class ProgressDisplay:
    """One progress bar at a time on stderr (stdout stays for results); stages start and stop it."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._bar: TaskID | None = None

    def start(self, total: float, completed: int = 0, description: str = "", eta: bool = False) -> None:
        """Replace the current bar (if any) with a new one."""
        self.stop()
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        if eta:
            columns.append(TimeRemainingColumn())
        self._progress = Progress(*columns, console=err_console)
        self._progress.start()
        self._bar = self._progress.add_task(description, total=total, completed=completed)

    def update(self, completed: float, description: str | None = None) -> None:
        if self._progress is not None and self._bar is not None:
            self._progress.update(self._bar, completed=completed, description=description)

    def stop(self) -> None:
        """Leave the finished bar on screen and end the live display."""
        if self._progress is not None:
            self._progress.stop()
            self._progress, self._bar = None, None

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
