"""Tasks: splits, what the network sees of them, and the embedded ``digits`` data set.

A task is a fixed, seeded split into train / validation / test plus the :class:`InputSpec`
the supernet is built for. Images are ``(N, C, H, W)`` float32; sequences are ``(N, L, C)``
float32. Features are standardised with statistics of the training split only. Small tasks
(``digits``) are held in memory; the others stream their examples from disk (see
:mod:`supernas.data.streaming`) and read the whole of a split only when ``Split.x`` is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import torch
from torch import Tensor

from supernas.data.stats import channel_statistics
from supernas.data.streaming import Examples, SplitRows, read_batches
from supernas.errors import DataError
from supernas.search_space.spec import InputKind, InputSpec

SPLIT_SHARES = (0.6, 0.2, 0.2)  # train / val / test shares when the data give no explicit splits
SPLIT_SEED = 0  # the built-in split is fixed: every run sees the same examples in each split
MAX_CLASSES = 100_000  # labels are 0 .. K-1 with K at most this (a classifier head has K outputs)
SPLIT_NAMES = ("train", "val", "test")
MATERIALISE_BATCH = 256  # examples read at a time when a streamed split's ``x`` is asked for


class Split:
    """Inputs and integer labels of one split, held in memory or streamed from a data set.

    ``x`` is the whole split as one (N, ...) float32 tensor: a streamed split reads it on first
    access and keeps it, for consumers that evaluate whole splits. Training and its per-epoch
    validation use :meth:`batches`, which holds one batch at a time.
    """

    def __init__(self, x: Tensor, y: Tensor) -> None:
        self._x: Tensor | None = x  # (N, C, H, W) images or (N, L, C) sequences, float32
        self.y = y  # (N,) int64 labels in 0 .. num_classes - 1
        self._rows: SplitRows | None = None

    @classmethod
    def streamed(cls, rows: SplitRows, y: Tensor) -> Split:
        """A split whose examples are read from ``rows`` when needed."""
        split = cls.__new__(cls)
        split._x, split.y, split._rows = None, y, rows
        return split

    def __len__(self) -> int:
        return len(self.y)

    @property
    def streams(self) -> bool:
        """True while the examples are read from disk (``x`` not held in memory)."""
        return self._x is None

    @property
    def x(self) -> Tensor:
        if self._x is None:
            assert self._rows is not None
            x = torch.empty((len(self), *self._rows.examples.shape))
            chunks = [range(s, min(s + MATERIALISE_BATCH, len(self))) for s in range(0, len(self), MATERIALISE_BATCH)]
            for chunk, batch in zip(chunks, read_batches(self._rows, chunks)):
                x[chunk.start : chunk.stop] = batch
            self._x = x
        return self._x

    def batches(self, positions: Sequence[Tensor], workers: int = 0, pin_memory: bool = False) -> Iterator[Tensor]:
        """The inputs at each tensor of ``positions`` (indices into this split), in order.

        Streamed splits are read by ``workers`` loader processes (0: this process); the values never
        depend on the number of workers.
        """
        if self._x is not None:
            for rows in positions:
                yield self._x[rows]
            return
        assert self._rows is not None
        yield from read_batches(self._rows, positions, workers, pin_memory)


@dataclass(frozen=True)
class TaskData:
    """A task's splits and what the network sees of it."""

    name: str  # "digits", "npz:PATH", "folder:PATH?image_size=32", … (load_task(name) loads it again)
    spec: InputSpec  # input shape and number of classes
    class_names: tuple[str, ...]  # one name per label
    train: Split  # for weight updates
    val: Split  # for model selection and search objectives
    test: Split  # for final reports only
    mean: tuple[float, ...] = ()  # per-channel mean subtracted from raw inputs (training split)
    std: tuple[float, ...] = ()  # per-channel std raw inputs were divided by (training split)


@dataclass(frozen=True)
class TaskOptions:
    """How a task's data are read; the options given are part of its name (``folder:PATH?image_size=32``)."""

    image_size: int | None = None  # resize every image to image_size × image_size; None: the images' own size
    channels: int | None = None  # 1 (grayscale) or 3 (RGB); None: 3 when any image is in colour
    input_column: str | None = None  # hf: the image or array column; None: detected
    label_column: str | None = None  # hf: the label column; None: detected

    def given(self) -> dict[str, int | str]:
        """The options that are set, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def stratified_split(
    y: np.ndarray, rng: np.random.Generator, shares: Sequence[float] = SPLIT_SHARES
) -> tuple[np.ndarray, ...]:
    """Indices of one part per share with every class split in ``shares`` (the last part takes the rest)."""
    parts: list[list[np.ndarray]] = [[] for _ in shares]
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        start = 0
        for k, share in enumerate(shares):
            stop = len(members) if k == len(shares) - 1 else start + round(share * len(members))
            parts[k].append(members[start:stop])
            start = stop
    return tuple(np.sort(np.concatenate(p)) for p in parts)


def streamed_task(
    name: str,
    where: str,
    kind: InputKind,
    examples: Examples,
    labels: np.ndarray,
    parts: Sequence[np.ndarray],
    class_names: tuple[str, ...],
) -> TaskData:
    """A task whose splits stream from ``examples``, standardised with training-split statistics."""
    for label, part in zip(SPLIT_NAMES, parts):
        if len(part) == 0:
            raise DataError(f"{where}: the {label} split is empty; every split needs at least one example")
    normalisation = channel_statistics(where, examples, parts[0], kind)
    train, val, test = (
        Split.streamed(SplitRows(examples, part.astype(np.int64), normalisation), torch.from_numpy(labels[part]))
        for part in parts
    )
    spec = InputSpec(kind, examples.shape, len(class_names))
    return TaskData(name, spec, class_names, train, val, test, mean=normalisation.mean, std=normalisation.std)


def load_digits() -> TaskData:
    """The embedded 8×8 digits in memory: a fixed, seeded, stratified 60/20/20 split."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = bunch.target.astype(np.int64)
    parts = stratified_split(y, np.random.default_rng(SPLIT_SEED))
    task = _in_memory("digits", "image", x, y, parts, tuple(str(k) for k in range(10)))
    # mean and std in the units of sklearn's raw pixels (0..16): (raw - mean) / std is what the network sees
    return replace(task, mean=tuple(16.0 * m for m in task.mean), std=tuple(16.0 * s for s in task.std))


def _in_memory(
    name: str,
    kind: InputKind,
    x: np.ndarray,
    y: np.ndarray,
    parts: Sequence[np.ndarray],
    class_names: tuple[str, ...],
) -> TaskData:
    train_x = x[parts[0]]
    axes = (0, 2, 3) if kind == "image" else (0, 1)  # per-channel statistics
    mean = train_x.mean(axis=axes, keepdims=True)
    std = train_x.std(axis=axes, keepdims=True) + 1e-6
    train, val, test = (
        Split(torch.from_numpy(((x[p] - mean) / std).astype(np.float32)), torch.from_numpy(y[p].astype(np.int64)))
        for p in parts
    )
    spec = InputSpec(kind, tuple(int(s) for s in x.shape[1:]), len(class_names))
    return TaskData(name, spec, class_names, train, val, test, mean=_flat(mean), std=_flat(std))


def _flat(stats: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in stats.reshape(-1))
