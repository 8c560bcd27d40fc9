"""The ``supernas`` command line."""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Sequence
from importlib.metadata import version
from types import FrameType
from typing import Any

import typer

from supernas.cli import db_cmds, demo_cmds, export_cmds, finetune_cmds, search_cmds, space_cmds, train_cmds
from supernas.cli.common import Interrupted, fail

app = typer.Typer(
    name="supernas",
    help="Neural architecture search over a five-axis weight-sharing transformer supernet.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"supernas {version('supernas')}")  # the installed distribution's: supernas.__version__
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Neural architecture search over a five-axis weight-sharing transformer supernet."""


app.add_typer(space_cmds.app, name="space")
app.add_typer(db_cmds.app, name="db")
train_cmds.register(app)
search_cmds.register(app)
export_cmds.register(app)
finetune_cmds.register(app)
demo_cmds.register(app)


@functools.cache
def _command() -> Any:
    """The click command typer builds from ``app`` (built once: callers in one process may run many commands)."""
    return typer.main.get_command(app)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: the process's arguments); returns the exit code.

    SIGTERM stops a command like Ctrl-C does (a search ends INTERRUPTED and resumable).
    Usage errors (an unknown option, ``--budget ten``) are one line, exit code 2.
    """
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        result = _command().main(
            args=list(argv) if argv is not None else None, prog_name="supernas", standalone_mode=False
        )
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return fail("aborted", 1).exit_code
    except typer.TyperException as exc:  # click's usage errors: typer would draw a boxed panel
        if type(exc).__name__ == "NoArgsIsHelpError":  # no command given: the help (typer >= 0.13 printed it)
            message = exc.format_message()  # type: ignore[attr-defined]
            if message:
                print(message, file=sys.stderr)
            return 2
        return fail(exc.format_message(), getattr(exc, "exit_code", 2)).exit_code  # type: ignore[attr-defined]
    return result if isinstance(result, int) else 0


def main() -> None:
    """Entry point of the ``supernas`` console script."""
    sys.exit(run())


if __name__ == "__main__":
    main()
