"""The exception hierarchy of supernas.

Every error a user can cause derives from :class:`SupernasError`; the CLI turns
those into a one-line ``Error: ...`` message and exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterable


class SupernasError(Exception):
    """Base class of every error supernas raises on purpose."""


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


class WorkerError(SupernasError):
    """The Ray worker pool is misconfigured or unreachable."""


class ExportError(SupernasError):
    """A subnet cannot be exported in the requested form."""


def choices_text(values: Iterable[object]) -> str:
    """Render valid values for an error message: ``a, b, c``."""
    return ", ".join(str(v) for v in values)
