"""The ``supernas`` command line."""

from __future__ import annotations

import typer

from supernas.cli import db_cmds, demo_cmds, export_cmds, search_cmds, space_cmds, train_cmds

app = typer.Typer(
    name="supernas",
    help="Neural architecture search over a five-axis weight-sharing transformer supernet.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(space_cmds.app, name="space")
app.add_typer(db_cmds.app, name="db")
train_cmds.register(app)
search_cmds.register(app)
export_cmds.register(app)
demo_cmds.register(app)


def main() -> None:
    """Entry point of the ``supernas`` console script."""
    app()


if __name__ == "__main__":
    main()
