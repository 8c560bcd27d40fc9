"""``hf:PATH`` tasks: a Hugging Face ``datasets`` dataset saved with ``save_to_disk`` (the ``hf`` extra).

The dataset needs an input column — an ``Image`` feature (decoded with Pillow like an image folder)
or a fixed-shape numeric array per row ((C, H, W) images, (L,) or (L, C) sequences) — and an integer
label column. Both are detected (the label: a ``ClassLabel`` feature, else a column named ``label`` or
``labels``; the input: the one remaining image or array column) or named with ``input_column`` and
``label_column``. A ``DatasetDict`` gives its splits (``train``; ``validation``, ``val`` or ``valid``;
``test``); a missing validation or test split is carved from train (20 %, stratified, fixed seed), and
a single ``Dataset`` is split 60/20/20. Rows are read from the memory-mapped Arrow files when needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from supernas.data.images import ImageFormat, choose_format, decode, probe
from supernas.data.streaming import Examples
from supernas.data.tasks import MAX_CLASSES, SPLIT_SEED, TaskData, TaskOptions, stratified_split, streamed_task
from supernas.errors import DataError
from supernas.search_space.spec import InputKind

EXTRA = "pip install 'supernas[hf]'"  # what installs the optional dependency
LABEL_NAMES = ("label", "labels")  # label columns found by name when no ClassLabel feature exists
SPLIT_ALIASES = {"train": "train", "validation": "val", "val": "val", "valid": "val", "test": "test"}
CARVE_SHARE = 0.2  # share of train carved out for a missing validation or test split
SCAN_BATCH = 256  # rows read at a time when checking every row at load


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise DataError(f"hf: tasks need the Hugging Face `datasets` package; install the extra: {EXTRA}") from None
    return datasets


class HFImages(Examples):
    """Rows of an ``Image`` column, decoded to one format when read."""

    def __init__(self, dataset: Any, column: str, image_format: ImageFormat, where: str) -> None:
        datasets = _datasets()
        self.dataset = dataset.select_columns([column]).cast_column(column, datasets.Image(decode=False))
        self.column, self.format, self.where = column, image_format, where
        self.shape = image_format.shape

    def __len__(self) -> int:
        return len(self.dataset)

    def read(self, index: int) -> np.ndarray:
        label = f"{self.where}: row {index}"
        return decode(_encoded(self.dataset[index][self.column], label), self.format, label)


class HFArrays(Examples):
    """Rows of a numeric array column."""

    def __init__(self, dataset: Any, column: str, shape: tuple[int, ...]) -> None:
        self.dataset = dataset.select_columns([column]).with_format("numpy")
        self.column = column
        self.shape = shape

    def __len__(self) -> int:
        return len(self.dataset)

    def read(self, index: int) -> np.ndarray:
        return np.asarray(self.dataset[index][self.column], dtype=np.float32).reshape(self.shape)


def load_hf(name: str, path: Path, options: TaskOptions) -> TaskData:
    """The task of a saved dataset; every problem is a one-line DataError naming the folder or column."""
    from supernas.data.sources import VALID_TASKS

    datasets = _datasets()
    where = f"dataset {str(path)!r}"
    if not path.is_dir():
        raise DataError(f"{where} does not exist; valid tasks: {VALID_TASKS}")
    try:
        loaded = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError, OSError, KeyError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"{where} is not a saved Hugging Face dataset ({reason}); valid: a folder written by save_to_disk"
        ) from None
    splits = _named_splits(loaded, where)
    first = next(iter(splits.values()))
    label = _label_column(first.features, options.label_column, where)
    column = _input_column(first.features, label, options.input_column, where)
    try:
        combined = datasets.concatenate_datasets(list(splits.values())) if len(splits) > 1 else first
    except ValueError:
        raise DataError(
            f"{where} has splits with different features; valid: the same features in every split"
        ) from None
    labels, class_names = _labels(combined, first.features[label], label, where)
    parts = _parts(splits, labels)
    feature = first.features[column]
    if isinstance(feature, datasets.Image):
        examples: Examples = _images(combined, column, options, where)
    else:
        for option in ("image_size", "channels"):
            if getattr(options, option) is not None:
                raise DataError(
                    f"applies to encoded images only; {where} column {column!r} holds arrays; valid: leave it unset",
                    field=option,
                )
        examples = _arrays(combined, column, where)
    kind: InputKind = "image" if len(examples.shape) == 3 else "sequence"
    return streamed_task(name, str(path), kind, examples, labels, parts, class_names)


def _named_splits(loaded: Any, where: str) -> dict[str, Any]:
    """``{"all": dataset}`` or the splits of a DatasetDict under their short names (train, val, test)."""
    if not hasattr(loaded, "keys"):
        return {"all": loaded}
    unknown = sorted(set(loaded.keys()) - set(SPLIT_ALIASES))
    if unknown:
        raise DataError(f"{where} has split {unknown[0]!r}; valid: {', '.join(SPLIT_ALIASES)}")
    named = {SPLIT_ALIASES[key]: loaded[key] for key in loaded}
    if "train" not in named or len(named) != len(loaded):
        raise DataError(
            f"{where} has the splits {', '.join(loaded.keys())}; valid: train, plus at most one of "
            "validation/val/valid, plus test"
        )
    return {key: named[key] for key in ("train", "val", "test") if key in named}


def _label_column(features: Any, given: str | None, where: str) -> str:
    datasets = _datasets()
    columns = list(features)
    if given is not None:
        if given not in features:
            raise DataError(f"{given!r} is not a column of {where}; valid: {', '.join(columns)}", field="label_column")
        return given
    class_labels = [c for c in columns if isinstance(features[c], datasets.ClassLabel)]
    candidates = class_labels or [c for c in columns if c in LABEL_NAMES]
    if len(candidates) != 1:
        found = "no" if not candidates else "several"
        raise DataError(
            f"{where} has {found} label columns ({', '.join(candidates) or 'none of ' + ', '.join(LABEL_NAMES)}); "
            f"pass `label_column`; valid: {', '.join(columns)}"
        )
    return candidates[0]


def _input_column(features: Any, label: str, given: str | None, where: str) -> str:
    datasets = _datasets()
    usable = [c for c in features if c != label and _is_input(features[c], datasets)]
    if given is not None:
        if given not in usable:
            raise DataError(
                f"{given!r} is not an image or array column of {where}; valid: {', '.join(usable) or 'none'}",
                field="input_column",
            )
        return given
    if len(usable) != 1:
        found = "no" if not usable else "several"
        raise DataError(
            f"{where} has {found} image or array columns besides {label!r}; pass `input_column`; "
            f"valid: {', '.join(usable) or 'an Image feature or a numeric array column'}"
        )
    return usable[0]


def _is_input(feature: Any, datasets: Any) -> bool:
    if isinstance(feature, datasets.Image):
        return True
    array_types = tuple(getattr(datasets, n) for n in ("Array2D", "Array3D", "Array4D", "Array5D"))
    if isinstance(feature, array_types):
        return True
    inner = feature
    while isinstance(inner, (datasets.Sequence, datasets.List, datasets.LargeList)):
        inner = inner.feature
    return inner is not feature and isinstance(inner, datasets.Value) and _numeric(inner.dtype)


def _numeric(dtype: str) -> bool:
    return dtype.startswith(("int", "uint", "float"))


def _labels(dataset: Any, feature: Any, column: str, where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    datasets = _datasets()
    labels = np.asarray(dataset.with_format("numpy")[column])
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{where} label column {column!r} holds {labels.dtype} values; valid: integer labels 0 .. K-1")
    if len(labels) and labels.min() < 0:
        raise DataError(f"{where} label column {column!r} has label {int(labels.min())}; valid: integers 0 .. K-1")
    if len(np.unique(labels)) < 2:
        raise DataError(f"{where} label column {column!r} has fewer than 2 classes; valid: integer labels, K >= 2")
    if int(labels.max()) >= MAX_CLASSES:
        raise DataError(
            f"{where} label column {column!r} has label {int(labels.max())}; valid: labels 0 .. K-1, K <= {MAX_CLASSES}"
        )
    if isinstance(feature, datasets.ClassLabel):
        names = tuple(str(n) for n in feature.names)
        if int(labels.max()) >= len(names):
            raise DataError(f"{where} label {int(labels.max())} has no class name; valid: 0 .. {len(names) - 1}")
        return labels.astype(np.int64), names
    return labels.astype(np.int64), tuple(str(k) for k in range(int(labels.max()) + 1))


def _parts(splits: dict[str, Any], labels: np.ndarray) -> list[np.ndarray]:
    """Row indices (into the concatenated splits) of train, val and test."""
    if "all" in splits:
        return list(stratified_split(labels, np.random.default_rng(SPLIT_SEED)))
    offsets: dict[str, np.ndarray] = {}
    start = 0
    for key, dataset in splits.items():
        offsets[key] = np.arange(start, start + len(dataset))
        start += len(dataset)
    train = offsets["train"]
    missing = [key for key in ("val", "test") if key not in offsets]
    if missing:
        shares = (1 - CARVE_SHARE * len(missing), *([CARVE_SHARE] * len(missing)))
        carved = stratified_split(labels[train], np.random.default_rng(SPLIT_SEED), shares)
        train = train[carved[0]]
        offsets.update({key: offsets["train"][rows] for key, rows in zip(missing, carved[1:])})
    return [train, offsets["val"], offsets["test"]]


def _images(dataset: Any, column: str, options: TaskOptions, where: str) -> HFImages:
    datasets = _datasets()
    encoded = dataset.select_columns([column]).cast_column(column, datasets.Image(decode=False))

    def headers() -> Any:
        index = 0
        for batch in encoded.iter(batch_size=SCAN_BATCH):
            for cell in batch[column]:
                label = f"{where}: row {index}"
                yield probe(_encoded(cell, label), label)
                index += 1

    image_format = choose_format(headers(), where, options.image_size, options.channels)
    return HFImages(dataset, column, image_format, where)


def _encoded(cell: dict[str, Any] | None, label: str) -> bytes | str:
    """The bytes of an undecoded image cell, else its path."""
    if cell is None or not (cell.get("bytes") or cell.get("path")):
        raise DataError(f"{label} has no image; valid: an image in every row")
    return cell["bytes"] or cell["path"]


def _arrays(dataset: Any, column: str, where: str) -> HFArrays:
    """Every row of an array column checked for one shape, a numeric dtype and finite values."""
    rows = dataset.select_columns([column]).with_format("numpy")
    shape: tuple[int, ...] | None = None
    index = 0
    for batch in rows.iter(batch_size=SCAN_BATCH):
        for value in batch[column]:
            array = np.asarray(value)
            if shape is None:
                shape = array.shape
                if array.ndim not in (1, 2, 3):
                    raise DataError(
                        f"{where} column {column!r} has rows of shape {shape}; valid: (C, H, W) images, "
                        "(L,) or (L, C) sequences"
                    )
            if array.shape != shape:
                raise DataError(f"{where} column {column!r}: row {index} has shape {array.shape}, row 0 {shape}")
            if not np.isfinite(array.astype(np.float64)).all():
                raise DataError(f"{where} column {column!r}: row {index} has NaN or infinite values")
            index += 1
    assert shape is not None, "a dataset with labels has rows"
    return HFArrays(dataset, column, (*shape, 1) if len(shape) == 1 else shape)
