"""The store as a whole: create or migrate it, and describe it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from supernas.store import Store
from supernas.store.migrations import current_revision


@dataclass(frozen=True)
class DatabaseInfo:
    """What a store holds."""

    url: str  # the SQLAlchemy URL
    revision: str | None  # schema version
    supernets: int  # registered supernets
    searches: int
    evaluations: int  # across every search

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def upgrade_database(storage: str | None = None) -> tuple[str, str | None]:
    """Create the database at ``storage`` if needed and migrate it; returns its URL and schema version."""
    with Store.open(storage, create=True) as store:
        return store.url, current_revision(store.engine)


def database_info(storage: str | None = None) -> DatabaseInfo:
    """Schema version and contents of the database at ``storage`` (never creates one)."""
    with Store.open(storage) as store:
        searches = store.list_searches()
        return DatabaseInfo(
            url=store.url,
            revision=current_revision(store.engine),
            supernets=len(store.list_supernets()),
            searches=len(searches),
            evaluations=sum(sum(store.count_evaluations(s.name).values()) for s in searches),
        )
