"""Streaming examples: random access to a data set's raw examples, and batches read by loader workers.

A loader worker only reads and normalises examples, a pure function of the row, so a batch holds the
same values whatever the number of workers; shuffling and augmentation stay in the training process,
drawn from its checkpointed generator. Nothing here holds more than a batch of examples.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from supernas.errors import DataError
from supernas.search_space.spec import InputKind

MAX_DEFAULT_WORKERS = 4  # loader processes when none are asked for, on a large machine


def default_loader_workers() -> int:
    """Loader worker processes when none are given: half the CPUs, at most 4 (0 on one CPU)."""
    return min(MAX_DEFAULT_WORKERS, (os.cpu_count() or 1) // 2)


MAX_LOADER_WORKERS = 256  # loader processes one training may start


def check_loader_workers(workers: int) -> int:
    """``workers`` if it is a valid number of loader processes (0..MAX_LOADER_WORKERS)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= MAX_LOADER_WORKERS:
        raise DataError(
            f"{workers!r} is out of range; valid: an integer >= 0 and <= {MAX_LOADER_WORKERS}", field="loader_workers"
        )
    return workers


class Examples(ABC):
    """Random access to the raw examples of one data set.

    Contract: ``shape`` is the shape of every example ((C, H, W) images, (L, C) sequences);
    ``read(i)`` returns example ``i`` as a float32 array of that shape in the data's own units
    (pixel values 0..255 for decoded images), the same values on every call and in any process,
    and raises a one-line :class:`DataError` naming the file or row when it cannot. Instances
    must survive being forked or pickled into loader worker processes.
    """

    shape: tuple[int, ...]

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def read(self, index: int) -> np.ndarray: ...


class ArrayExamples(Examples):
    """Examples held in one in-memory array (small data, or arrays that cannot be streamed)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array  # (N, *shape)
        self.shape = tuple(int(s) for s in array.shape[1:])

    def __len__(self) -> int:
        return len(self.array)

    def read(self, index: int) -> np.ndarray:
        return np.asarray(self.array[index], dtype=np.float32)


@dataclass(frozen=True)
class Normalisation:
    """Per-channel standardisation: ``(raw - mean) / std``."""

    kind: InputKind  # where the channel axis is: first for images (C, H, W), last for sequences (L, C)
    mean: tuple[float, ...]  # per channel, in the data's units
    std: tuple[float, ...]  # per channel, in the data's units (never 0)

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """``raw`` standardised, as float32."""
        view = (-1, 1, 1) if self.kind == "image" else (1, -1)
        mean = np.asarray(self.mean, dtype=np.float32).reshape(view)
        std = np.asarray(self.std, dtype=np.float32).reshape(view)
        return (raw.astype(np.float32) - mean) / std


@dataclass(frozen=True)
class _Failed:
    """Stands in for a batch whose examples could not be read (raised in the training process)."""

    message: str


class SplitRows(Dataset[Tensor | _Failed]):
    """The normalised examples of one split: item ``k`` is example ``rows[k]`` of ``examples``."""

    def __init__(self, examples: Examples, rows: np.ndarray, normalisation: Normalisation) -> None:
        self.examples = examples
        self.rows = rows  # (N,) int64 indices into examples
        self.normalisation = normalisation

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, k: int) -> Tensor | _Failed:
        try:
            raw = self.examples.read(int(self.rows[k]))
        except DataError as exc:
            return _Failed(str(exc))  # a worker's exception would reach the caller as a multi-line traceback
        return torch.from_numpy(self.normalisation.apply(raw))


def _collate(items: list[Tensor | _Failed]) -> Tensor | _Failed | None:
    for item in items:
        if isinstance(item, _Failed):
            return item
    return torch.stack(items) if items else None  # type: ignore[arg-type]


class _AsLists:
    """Position batches handed to a DataLoader as lists of ints, converted one batch at a time."""

    def __init__(self, batches: Sequence[Sequence[int] | Tensor]) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list[int]]:
        for positions in self.batches:
            yield positions.tolist() if isinstance(positions, Tensor) else list(positions)


def read_batches(
    rows: SplitRows, batches: Sequence[Sequence[int] | Tensor], workers: int = 0, pin_memory: bool = False
) -> Iterator[Tensor]:
    """The batches of ``rows`` at the given positions, in order, read by ``workers`` processes (0: this one).

    Empty position lists give empty batches. An unreadable example raises its one-line DataError here.
    """
    empty = torch.empty((0, *rows.examples.shape))
    if workers == 0:
        for positions in _AsLists(batches):
            yield _checked(_collate([rows[k] for k in positions]), empty)
        return
    loader = DataLoader(
        rows,
        batch_sampler=_AsLists(batches),
        num_workers=workers,
        collate_fn=_collate,
        pin_memory=pin_memory,
        generator=torch.Generator(),  # DataLoader seeds its workers from this, not from the global RNG
    )
    for batch in loader:
        yield _checked(batch, empty)


def _checked(batch: Tensor | _Failed | None, empty: Tensor) -> Tensor:
    if isinstance(batch, _Failed):
        raise DataError(batch.message)
    return empty if batch is None else batch
