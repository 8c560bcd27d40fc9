"""``supernas db``: create, upgrade and inspect the store."""

from __future__ import annotations

from typing import Annotated

import typer

from supernas.cli.common import console, handle_errors, print_json

app = typer.Typer(help="Create, upgrade and inspect the database.", no_args_is_help=True)
StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage", help="SQLAlchemy URL; default $SUPERNAS_STORAGE or sqlite:///supernas.db.", show_default=False
    ),
]


@app.command("upgrade")
@handle_errors
def upgrade(storage: StorageOption = None) -> None:
    """Create the database if needed and migrate it to the current schema."""
    from supernas.store import Store
    from supernas.store.migrations import current_revision

    with Store.open(storage, create=True) as store:
        console.print(f"{store.url}: schema {current_revision(store.engine)}")


@app.command("info")
@handle_errors
def info(storage: StorageOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Schema version and contents of the database (never creates one)."""
    from supernas.store import Store
    from supernas.store.migrations import current_revision

    with Store.open(storage) as store:
        searches = store.list_searches()
        data = {
            "url": store.url,
            "revision": current_revision(store.engine),
            "supernets": len(store.list_supernets()),
            "searches": len(searches),
            "evaluations": sum(sum(store.count_evaluations(s.name).values()) for s in searches),
        }
    if as_json:
        print_json(data)
        return
    console.print(", ".join(f"{k}: {v}" for k, v in data.items()))
