"""The exception hierarchy of supernas.

Every error a user can cause derives from :class:`SupernasError`. When an error is
about one argument of the public API (``budget``, ``out``, ``batch_size`` …), it
carries that name as ``field`` and its message starts with it; the CLI shows the
matching flag in its place (``--budget``), so each message is written once.
The CLI turns these errors into one line ``Error: ...`` and exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager


class SupernasError(Exception):
    """Base class of every error supernas raises on purpose.

    ``SupernasError("0 is out of range; valid: an integer >= 1", field="budget")``
    reads ``budget 0 is out of range; …`` in Python and ``--budget 0 is out of
    range; …`` at the command line. ``exit_code`` is the CLI's: 2 for input the user
    can fix (the default), 1 for a failure at run time (the subclasses below).
    """

    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.detail = message  # the message without the field name
        self.field = field  # the API argument the error is about, if any

    def __str__(self) -> str:
        return self.naming(self.field)

    def naming(self, label: str | None) -> str:
        """The message with ``label`` (the field, or a CLI flag) in front of it."""
        if not label:
            return self.detail
        return f"{label}{self.detail}" if self.detail.startswith((":", ",")) else f"{label} {self.detail}"

    def about(self, field: str) -> SupernasError:
        """This error as one about the argument ``field`` (itself when it names a field already).

        ``DataError("unknown task 'x'").about("task")`` reads ``task: unknown task 'x'`` (``--task: …`` at
        the CLI): an error of a lower layer, attributed to the argument the caller was given.
        """
        if self.field is not None:
            return self
        return type(self)(f": {self.detail}", field=field)

    def __reduce__(self) -> tuple[object, ...]:  # keep the field across pickling (Ray)
        return (self.__class__, (self.detail,), {"field": self.field})


class SearchSpaceError(SupernasError):
    """A search space or a subnet config is invalid."""


class DataError(SupernasError):
    """A data set or task name is invalid."""


class CheckpointError(SupernasError):
    """A checkpoint is missing, corrupt or incompatible."""


class TrainingError(SupernasError):
    """Training settings are invalid or a run cannot start or continue."""


class StorageError(SupernasError):
    """The storage backend cannot be opened or holds unexpected data."""


class SearchError(SupernasError):
    """A search is misconfigured or cannot continue."""


class SearchBusyError(SearchError):
    """Another live process holds the search's lease (one writer per search)."""


class StorageLostError(StorageError):
    """The database went away (deleted, replaced, unreachable) while a command was writing to it."""

    exit_code = 1


class LeaseLostError(SearchError):
    """Another process took over a search this process was running (its heartbeat had gone stale)."""

    exit_code = 1


class TrainingDivergedError(TrainingError):
    """Training produced a non-finite loss; the last good checkpoint is kept."""

    exit_code = 1


class WorkerError(SupernasError):
    """The Ray worker pool is misconfigured or unreachable."""


class ExportError(SupernasError):
    """A subnet cannot be exported in the requested form."""


class OutputError(SupernasError):
    """An output file or directory cannot be written."""


def choices_text(values: Iterable[object]) -> str:
    """Render valid values for an error message: ``a, b, c``."""
    return ", ".join(str(v) for v in values)


@contextmanager
def about(field: str) -> Iterator[None]:
    """Attribute a :class:`SupernasError` raised inside that names no field to the argument ``field``."""
    try:
        yield
    except SupernasError as exc:
        raise exc.about(field) from None
