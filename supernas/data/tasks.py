"""Tasks: the embedded ``digits`` data set and a user's own arrays (``npz:PATH``).

A task is a fixed, seeded split into train / validation / test tensors plus the
:class:`InputSpec` the supernet is built for. Images are ``(N, C, H, W)``
float32; sequences are ``(N, L, C)`` float32 (``(N, L)`` arrays gain ``C = 1``).
Features are standardised with statistics of the training split only.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from supernas.errors import DataError
from supernas.search_space.spec import InputSpec

BUILTIN_TASKS = ("digits",)
VALID_TASKS = "digits, npz:PATH"
SPLIT_SHARES = (0.6, 0.2, 0.2)  # train / val / test shares when the npz file gives no explicit splits
SPLIT_SEED = 0  # the built-in split is fixed: every run sees the same examples in each split


@dataclass(frozen=True)
class Split:
    """Inputs and integer labels of one split."""

    x: Tensor  # (N, C, H, W) images or (N, L, C) sequences, float32
    y: Tensor  # (N,) int64 labels in 0 .. num_classes - 1

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class TaskData:
    """A task's splits and what the network sees of it."""

    name: str  # "digits" or "npz:PATH"
    spec: InputSpec  # input shape and number of classes
    class_names: tuple[str, ...]  # one name per label
    train: Split  # for weight updates
    val: Split  # for model selection and search objectives
    test: Split  # for final reports only
    mean: tuple[float, ...] = ()  # per-channel mean subtracted from raw inputs (training split)
    std: tuple[float, ...] = ()  # per-channel std raw inputs were divided by (training split)


def load_task(task: str) -> TaskData:
    """The splits of ``task``: ``digits`` or ``npz:PATH``."""
    if task == "digits":
        return _digits()
    if task.startswith("npz:"):
        return _npz(task, Path(task[4:]))
    raise DataError(f"unknown task {task!r}; valid: {VALID_TASKS}")


def task_spec(task: str) -> InputSpec:
    """The input spec of ``task`` (loads the data: npz files are validated too)."""
    return load_task(task).spec


def _digits() -> TaskData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = bunch.target.astype(np.int64)
    parts = _stratified_split(y, np.random.default_rng(SPLIT_SEED))
    task = _build("digits", "image", x, y, parts, tuple(str(k) for k in range(10)), 10)
    # mean and std in the units of sklearn's raw pixels (0..16): (raw - mean) / std is what the network sees
    return replace(task, mean=tuple(16.0 * m for m in task.mean), std=tuple(16.0 * s for s in task.std))


def _stratified_split(y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of train / val / test with every class split in ``SPLIT_SHARES``."""
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_train = round(SPLIT_SHARES[0] * len(members))
        n_val = round(SPLIT_SHARES[1] * len(members))
        parts[0].append(members[:n_train])
        parts[1].append(members[n_train : n_train + n_val])
        parts[2].append(members[n_train + n_val :])
    return tuple(np.sort(np.concatenate(p)) for p in parts)  # type: ignore[return-value]


def _build(
    name: str,
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    parts: tuple[np.ndarray, np.ndarray, np.ndarray],
    class_names: tuple[str, ...],
    num_classes: int,
) -> TaskData:
    train_x = x[parts[0]]
    axes = (0, 2, 3) if kind == "image" else (0, 1)  # per-channel statistics
    mean = train_x.mean(axis=axes, keepdims=True)
    std = train_x.std(axis=axes, keepdims=True) + 1e-6
    splits = [
        Split(torch.from_numpy(((x[p] - mean) / std).astype(np.float32)), torch.from_numpy(y[p].astype(np.int64)))
        for p in parts
    ]
    spec = InputSpec(kind, tuple(int(s) for s in x.shape[1:]), num_classes)  # type: ignore[arg-type]
    train, val, test = splits
    return TaskData(name, spec, class_names, train, val, test, mean=_flat(mean), std=_flat(std))


def _flat(stats: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in stats.reshape(-1))


def _npz(name: str, path: Path) -> TaskData:
    """A user's arrays: ``x``, ``y`` and optionally ``split`` (0 train, 1 val, 2 test) and ``class_names``."""
    if not path.is_file():
        raise DataError(f"task file {str(path)!r} does not exist; valid tasks: {VALID_TASKS}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"task file {str(path)!r} is not a readable .npz archive ({exc})") from None
    missing = [key for key in ("x", "y") if key not in arrays]
    if missing:
        raise DataError(
            f"{path}: array {missing[0]!r} is missing; an npz task needs 'x' and 'y' (optional: 'split', 'class_names')"
        )
    unknown = sorted(set(arrays) - {"x", "y", "split", "class_names"})
    if unknown:
        raise DataError(f"{path}: unknown array {unknown[0]!r}; valid: x, y, split, class_names")
    x, y = _check_x(path, arrays["x"]), _check_y(path, arrays["y"], len(arrays["x"]))
    kind = "image" if x.ndim == 4 else "sequence"
    num_classes = int(y.max()) + 1
    class_names = _class_names(path, arrays.get("class_names"), num_classes)
    parts = (
        _explicit_split(path, arrays["split"], len(y))
        if "split" in arrays
        else _stratified_split(y, np.random.default_rng(SPLIT_SEED))
    )
    for label, part in zip(("train", "val", "test"), parts):
        if len(part) == 0:
            raise DataError(f"{path}: the {label} split is empty; every split needs at least one example")
    return _build(name, kind, x, y, parts, class_names, num_classes)


def _check_x(path: Path, x: np.ndarray) -> np.ndarray:
    if x.ndim not in (2, 3, 4):
        raise DataError(f"{path}: 'x' has shape {x.shape}; valid: (N, C, H, W) images, (N, L) or (N, L, C) sequences")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise DataError(f"{path}: 'x' has dtype {x.dtype}; valid: a float or integer dtype")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise DataError(f"{path}: 'x' contains NaN or infinite values; valid: finite numbers")
    return x[:, :, None] if x.ndim == 2 else x  # (N, L) -> (N, L, 1)


def _check_y(path: Path, y: np.ndarray, n: int) -> np.ndarray:
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{path}: 'y' has shape {y.shape}; valid: ({n},), one label per example of 'x'")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{path}: 'y' has dtype {y.dtype}; valid: integer labels 0 .. K-1")
    if len(y) and y.min() < 0:
        raise DataError(f"{path}: 'y' has label {int(y.min())}; valid: integer labels 0 .. K-1")
    if len(np.unique(y)) < 2:
        raise DataError(f"{path}: 'y' has fewer than 2 classes; valid: integer labels 0 .. K-1 with K >= 2")
    return y.astype(np.int64)


def _class_names(path: Path, names: np.ndarray | None, num_classes: int) -> tuple[str, ...]:
    if names is None:
        return tuple(str(k) for k in range(num_classes))
    if names.ndim != 1 or len(names) != num_classes:
        raise DataError(f"{path}: 'class_names' has {names.size} entries; valid: {num_classes}, one per label")
    return tuple(str(name) for name in names)


def _explicit_split(path: Path, split: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if split.shape != (n,) or not np.issubdtype(split.dtype, np.integer):
        raise DataError(f"{path}: 'split' has shape {split.shape} and dtype {split.dtype}; valid: ({n},) integers")
    bad = sorted(set(np.unique(split).tolist()) - {0, 1, 2})
    if bad:
        raise DataError(f"{path}: 'split' has value {bad[0]}; valid: 0 (train), 1 (val), 2 (test)")
    return tuple(np.flatnonzero(split == k) for k in range(3))  # type: ignore[return-value]
