"""``api/lease.py``: one writer per search — busy, dead and stale owners, takeovers, release on exit."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

import supernas.api.lease as lease_module
from supernas.api.lease import STALE_AFTER_S, SearchLease
from supernas.errors import LeaseLostError, SearchBusyError
from supernas.store import Store
from supernas.store.models import SearchRow, utcnow

OBJECTIVES = [{"name": "accuracy", "direction": "max"}, {"name": "params", "direction": "min"}]
OTHER_HOST = "elsewhere.invalid:4242:abcd1234"  # a live owner for all this host can tell: only its heartbeat counts


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", create=True) as s:
        s.create_search("s", "random", OBJECTIVES, [], 4, 2, 0)
        yield s


def owner(store: Store) -> str | None:
    with store.engine.connect() as c:
        return c.execute(select(SearchRow.owner).where(SearchRow.name == "s")).scalar_one()


def age_heartbeat(store: Store, seconds: float) -> None:
    with store.engine.begin() as c:
        c.execute(
            update(SearchRow).where(SearchRow.name == "s").values(heartbeat_at=utcnow() - timedelta(seconds=seconds))
        )


def dead_owner() -> str:
    """A process of this host that cannot exist: one past the kernel's largest pid."""
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    return f"{socket.gethostname()}:{pid_max + 1}:deadbeef"


def test_a_second_holder_in_the_same_process_is_refused_naming_the_owner(store: Store) -> None:
    with SearchLease(store, "s") as first:
        assert owner(store) == first.owner and first.owner.split(":")[1].isdigit()
        with pytest.raises(SearchBusyError, match=f"search 's' is being run by {first.owner} ") as info:
            SearchLease(store, "s").__enter__()
        assert "last heartbeat" in str(info.value)
        assert owner(store) == first.owner


def test_the_lease_is_released_on_exit_even_after_an_error(store: Store) -> None:
    with pytest.raises(ValueError, match="inside"), SearchLease(store, "s"):
        raise ValueError("inside")
    assert owner(store) is None
    with SearchLease(store, "s") as again:
        assert owner(store) == again.owner
    assert owner(store) is None


def test_a_dead_owner_on_this_host_is_taken_over_at_once(store: Store) -> None:
    store.acquire_lease("s", dead_owner(), STALE_AFTER_S)  # its heartbeat is fresh
    with SearchLease(store, "s") as lease:
        assert owner(store) == lease.owner


def test_a_live_owner_elsewhere_is_busy_until_its_heartbeat_goes_stale(store: Store) -> None:
    store.acquire_lease("s", OTHER_HOST, STALE_AFTER_S)
    with pytest.raises(SearchBusyError, match=OTHER_HOST):
        SearchLease(store, "s").__enter__()
    age_heartbeat(store, STALE_AFTER_S + 5)
    with SearchLease(store, "s") as lease:
        assert owner(store) == lease.owner


def test_renewing_after_a_takeover_raises_lease_lost(store: Store) -> None:
    store.acquire_lease("s", OTHER_HOST, STALE_AFTER_S)
    store.renew_lease("s", OTHER_HOST)
    age_heartbeat(store, STALE_AFTER_S + 5)
    store.acquire_lease("s", dead_owner(), STALE_AFTER_S)  # takes the stale lease over
    with pytest.raises(LeaseLostError, match="search 's' was taken over by another process"):
        store.renew_lease("s", OTHER_HOST)
    store.release_lease("s", OTHER_HOST)  # not the owner any more: changes nothing
    assert owner(store) == dead_owner()


def test_the_heartbeat_notices_a_takeover_and_check_raises(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lease_module, "HEARTBEAT_S", 0.02)
    with SearchLease(store, "s") as lease:
        lease.check()  # still ours
        with store.engine.begin() as c:  # another process takes over
            c.execute(update(SearchRow).where(SearchRow.name == "s").values(owner=OTHER_HOST))
        deadline = time.monotonic() + 10
        while lease._lost is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(LeaseLostError):
            lease.check()
    assert owner(store) == OTHER_HOST  # a lost lease is not given back on exit


def test_the_heartbeat_renews_the_lease(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lease_module, "HEARTBEAT_S", 0.02)
    with SearchLease(store, "s"):
        age_heartbeat(store, STALE_AFTER_S + 5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with store.engine.connect() as c:
                beat = c.execute(select(SearchRow.heartbeat_at).where(SearchRow.name == "s")).scalar_one()
            age = None if beat is None else (utcnow().replace(tzinfo=None) - beat.replace(tzinfo=None)).total_seconds()
            if age is not None and age < STALE_AFTER_S:
                break
            time.sleep(0.01)
        else:
            pytest.fail("the heartbeat never renewed the lease")
