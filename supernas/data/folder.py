"""``folder:PATH`` tasks: PNG and JPEG files in class folders, decoded with Pillow when read.

Two layouts:

* ``PATH/CLASS/*.png|*.jpg|*.jpeg`` — split 60/20/20 within every class (fixed seed);
* ``PATH/train/CLASS/…``, ``PATH/val/CLASS/…``, ``PATH/test/CLASS/…`` — the given splits.

Class names are the folder names, sorted; a label is its class's position. Hidden entries and files
with other suffixes are ignored. Loading reads every image's header (sizes, colour) and decodes the
statistics sample; the other images are decoded when a batch needs them, and a corrupt one is then a
one-line DataError naming its path.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from supernas.data.images import IMAGE_SUFFIXES, ImageFormat, choose_format, decode, probe
from supernas.data.streaming import Examples
from supernas.data.tasks import SPLIT_NAMES, SPLIT_SEED, TaskData, TaskOptions, stratified_split, streamed_task
from supernas.errors import DataError

LAYOUTS = "PATH/CLASS/*.png|*.jpg|*.jpeg with at least 2 classes, or PATH/train|val|test/CLASS/…"


class ImageFiles(Examples):
    """Image files decoded to one format when read.

    The paths are one numpy array of UTF-8 bytes, not a list of strings: forked loader workers
    then share its pages instead of copying every string whose reference count they touch.
    """

    def __init__(self, root: Path, files: list[str], image_format: ImageFormat) -> None:
        self.root = root
        self.files = np.array([f.encode() for f in files])  # (N,) paths relative to root, UTF-8
        self.format = image_format
        self.shape = image_format.shape

    def __len__(self) -> int:
        return len(self.files)

    def read(self, index: int) -> np.ndarray:
        path = self.root / self.files[index].decode()
        return decode(path, self.format, f"image {str(path)!r}")


def load_folder(name: str, path: Path, options: TaskOptions) -> TaskData:
    """The task of an image folder; every problem is a one-line DataError naming the folder or file."""
    from supernas.data.sources import VALID_TASKS

    where = f"image folder {str(path)!r}"
    if not path.is_dir():
        raise DataError(f"{where} does not exist; valid tasks: {VALID_TASKS}")
    folders = _folders(path)
    if any(f in SPLIT_NAMES for f in folders):
        files, labels, parts, class_names = _split_layout(path, folders, where)
    else:
        files, labels, class_names = _class_folders(path, where, folders)
        parts = list(stratified_split(labels, np.random.default_rng(SPLIT_SEED)))
    headers = (probe(path / f, f"image {str(path / f)!r}") for f in files)
    image_format = choose_format(headers, where, options.image_size, options.channels)
    examples = ImageFiles(path, files, image_format)
    return streamed_task(name, str(path), "image", examples, labels, parts, class_names)


def _folders(path: Path) -> list[str]:
    with os.scandir(path) as entries:
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))


def _images(folder: Path) -> list[str]:
    with os.scandir(folder) as entries:
        return sorted(
            e.name
            for e in entries
            if e.is_file() and not e.name.startswith(".") and e.name.lower().endswith(IMAGE_SUFFIXES)
        )


def _class_folders(
    root: Path, where: str, classes: list[str], known: tuple[str, ...] | None = None, prefix: str = ""
) -> tuple[list[str], np.ndarray, tuple[str, ...]]:
    """Files (relative to ``root``), labels and class names of class folders under ``root/prefix``."""
    if known is None:
        if not classes:
            raise DataError(f"{where} has no class folders; valid: {LAYOUTS}")
        if len(classes) < 2:
            raise DataError(f"{where} has 1 class folder ({classes[0]!r}); valid: {LAYOUTS}")
        known = tuple(classes)
    files: list[str] = []
    labels: list[int] = []
    for name in classes:
        if name not in known:
            raise DataError(f"{where}: class folder {name!r} is not a class of train; valid: {', '.join(known)}")
        images = _images(root / prefix / name)
        if not images:
            raise DataError(
                f"{where}: class folder {prefix + name!r} has no PNG or JPEG files; valid: files ending in "
                f"{', '.join(IMAGE_SUFFIXES)}"
            )
        files += [f"{prefix}{name}/{image}" for image in images]
        labels += [known.index(name)] * len(images)
    return files, np.asarray(labels, dtype=np.int64), known


def _split_layout(
    root: Path, folders: list[str], where: str
) -> tuple[list[str], np.ndarray, list[np.ndarray], tuple[str, ...]]:
    """``train/``, ``val/`` and ``test/``, each with class folders (those of val and test among train's)."""
    if folders != sorted(SPLIT_NAMES):
        found = ", ".join(folders)
        raise DataError(f"{where} has the folders {found}; valid: exactly train, val and test, or only class folders")
    files: list[str] = []
    labels: list[np.ndarray] = []
    parts: list[np.ndarray] = []
    known: tuple[str, ...] | None = None
    for split in SPLIT_NAMES:
        split_where = f"image folder {str(root / split)!r}"
        split_files, split_labels, names = _class_folders(root, split_where, _folders(root / split), known, f"{split}/")
        known = names
        parts.append(np.arange(len(files), len(files) + len(split_files)))
        files += split_files
        labels.append(split_labels)
    assert known is not None
    return files, np.concatenate(labels), parts, known
