"""The one-writer lease of a search, held while a process runs it, renewed by a heartbeat thread."""

from __future__ import annotations

import contextlib
import threading
from types import TracebackType

from supernas.errors import SupernasError
from supernas.store import Store
from supernas.store.store import owner_id

HEARTBEAT_S = 2.0  # how often the holder renews its lease
STALE_AFTER_S = 30.0  # a lease not renewed for this long is taken over (its holder is presumed dead)


class SearchLease:
    """Context manager: takes ``search``'s lease (or raises ``SearchBusyError``), renews it in a daemon
    thread, and gives it back on exit. :meth:`check` raises in the running thread once the lease is lost
    (another process took it over, or the database went away), so the search stops at its next step."""

    def __init__(self, store: Store, search: str) -> None:
        self.store, self.search = store, search
        self.owner = owner_id()  # this process, as the store records it
        self._stop = threading.Event()
        self._lost: SupernasError | None = None
        self._thread = threading.Thread(target=self._beat, name=f"lease-{search}", daemon=True)

    def __enter__(self) -> SearchLease:
        self.store.acquire_lease(self.search, self.owner, STALE_AFTER_S)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.store.renew_lease(self.search, self.owner)
            except SupernasError as exc:
                self._lost = exc
                return

    def check(self) -> None:
        """Raise the reason the lease was lost, if it was."""
        if self._lost is not None:
            raise self._lost

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        if self._lost is None:
            with contextlib.suppress(SupernasError):  # the database went away: no lease is left to give back
                self.store.release_lease(self.search, self.owner)
