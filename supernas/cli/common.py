"""Shared CLI plumbing: consoles, error reporting and JSON output."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from supernas.errors import SupernasError

F = TypeVar("F", bound=Callable[..., Any])

console = Console()  # results: stdout stays parseable
err_console = Console(stderr=True)  # progress, tables meant for people, errors


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
        except typer.Exit:
            raise
        except SupernasError as exc:
            if os.environ.get("SUPERNAS_DEBUG") == "1":
                traceback.print_exc()
            raise fail(str(exc), 2) from None
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
