"""``api/database.py``: create or migrate a store, and describe what it holds (never creating one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from supernas.api.database import database_info, upgrade_database
from supernas.errors import StorageError
from supernas.store import Store
from supernas.store.migrations import head_revision

OBJECTIVES = [{"name": "accuracy", "direction": "max"}, {"name": "params", "direction": "min"}]


def test_upgrade_creates_the_database_at_the_head_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert upgrade_database(url) == (url, head_revision())
    assert (tmp_path / "new.db").is_file()
    assert upgrade_database(url) == (url, head_revision())  # idempotent


def test_info_counts_supernets_searches_and_evaluations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    upgrade_database(url)
    empty = database_info(url)
    assert (empty.url, empty.revision, empty.supernets, empty.searches, empty.evaluations) == (
        url,
        head_revision(),
        0,
        0,
        0,
    )
    with Store.open(url) as store:
        store.add_supernet("net", "digits", {}, {}, ["0"], "/x.pt", "sha", {})
        for name, n in (("a", 3), ("b", 2)):
            store.create_search(name, "random", OBJECTIVES, [], 10, 2, 0)
            store.add_pending(name, 0, [(f"{name}{i}", {}, None) for i in range(n)])
        store.complete("a", "a0", {"accuracy": 0.5, "params": 1.0})
        store.fail("b", "b1", "boom")
    info = database_info(url)
    assert (info.supernets, info.searches, info.evaluations) == (1, 2, 5)  # every status counts
    assert info.to_dict() == {"url": url, "revision": head_revision(), "supernets": 1, "searches": 2, "evaluations": 5}


def test_info_never_creates_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        database_info(f"sqlite:///{tmp_path / 'missing.db'}")
    monkeypatch.setenv("SUPERNAS_STORAGE", f"sqlite:///{tmp_path / 'env.db'}")
    with pytest.raises(StorageError, match=r"env\.db"):
        database_info()  # the default comes from $SUPERNAS_STORAGE
    assert list(tmp_path.iterdir()) == []
