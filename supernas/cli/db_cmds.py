"""``supernas db``: create, upgrade and inspect the store."""

from __future__ import annotations

import typer

from supernas.cli.common import JsonOption, StorageOption, console, handle_errors, print_json

app = typer.Typer(help="Create, upgrade and inspect the database.", no_args_is_help=True)


@app.command("upgrade")
@handle_errors
def upgrade(storage: StorageOption = None) -> None:
    """Create the database if needed and migrate it to the current schema."""
    from supernas.api import upgrade_database

    url, revision = upgrade_database(storage)
    console.print(f"{url}: schema {revision}")


@app.command("info")
@handle_errors
def info(storage: StorageOption = None, as_json: JsonOption = False) -> None:
    """Schema version and contents of the database (never creates one)."""
    from supernas.api import database_info

    data = database_info(storage).to_dict()
    if as_json:
        print_json(data)
        return
    console.print(", ".join(f"{k}: {v}" for k, v in data.items()))
