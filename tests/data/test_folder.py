"""``folder:PATH`` tasks: layouts, formats, and one-line errors for bad folders."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from supernas.data import load_task
from supernas.data.folder import ImageFiles
from supernas.errors import DataError

WriteImages = Callable[..., Path]  # tests/data/conftest.py: write_images


def test_class_folders_are_split_per_class_and_decoded_in_rgb(tmp_path: Path, images: WriteImages) -> None:
    root = images(tmp_path / "imgs", {"cat": 10, "dog": 10, "owl": 5})
    task = load_task(f"folder:{root}")
    assert task.name == f"folder:{root}" and task.class_names == ("cat", "dog", "owl")
    assert task.spec.kind == "image" and task.spec.shape == (3, 8, 8) and task.spec.num_classes == 3
    assert (len(task.train), len(task.val), len(task.test)) == (15, 5, 5)
    assert task.train.streams and torch.bincount(task.train.y).tolist() == [6, 6, 3]
    raw = np.asarray(Image.open(root / "dog" / "0.png").convert("RGB"), dtype=np.float32).transpose(2, 0, 1)
    examples = task.train._rows.examples  # type: ignore[union-attr]
    assert isinstance(examples, ImageFiles)
    assert np.array_equal(examples.read(list(examples.files).index(b"dog/0.png")), raw)
    assert abs(float(task.train.x.mean())) < 0.2  # standardised with training statistics
    assert len(task.mean) == len(task.std) == 3 and 40 < task.mean[0] < 160  # in pixel units (0..255)


def test_split_folders_grayscale_resize_and_forced_channels(tmp_path: Path, images: WriteImages) -> None:
    root = tmp_path / "splits"
    for split, n in (("train", 6), ("val", 2), ("test", 3)):
        images(root / split, {"a": n, "b": n}, size=(12, 10), mode="L", seed=len(split))
    task = load_task(f"folder:{root}")
    assert (len(task.train), len(task.val), len(task.test)) == (12, 4, 6)
    assert task.spec.shape == (1, 10, 12)  # (C, H, W): grayscale detected, the images' own size
    resized = load_task(f"folder:{root}", image_size=6, channels=3)
    assert resized.name == f"folder:{root}?image_size=6&channels=3"
    assert resized.spec.shape == (3, 6, 6) and resized.test.x.shape == (6, 3, 6, 6)
    assert load_task(resized.name).spec == resized.spec  # the name alone reads the same task again


def test_mixed_sizes_need_image_size(tmp_path: Path, images: WriteImages) -> None:
    root = images(tmp_path / "mixed", {"a": 5, "b": 5})
    images(tmp_path / "mixed", {"b": 1}, size=(9, 9))  # overwrites b/0.png at another size
    with pytest.raises(DataError, match=r"holds images of 2 sizes \(8×8, 9×9\); pass `image_size`") as info:
        load_task(f"folder:{root}")
    assert "\n" not in str(info.value)
    assert load_task(f"folder:{root}", image_size=8).spec.shape == (3, 8, 8)


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("empty", "has no class folders; valid: PATH/CLASS/*.png"),
        ("one-class", "has 1 class folder ('a'); valid: PATH/CLASS"),
        ("empty-class", "class folder 'b' has no PNG or JPEG files; valid: files ending in .png, .jpg, .jpeg"),
        ("garbage", "b/1.png' is not a readable PNG or JPEG image"),
        ("mixed-layout", "has the folders a, test, train, val; valid: exactly train, val and test"),
        ("unknown-val-class", "val': class folder 'c' is not a class of train; valid: a, b"),
        ("missing", "does not exist; valid tasks: digits, npz:PATH, folder:PATH, hf:PATH"),
    ],
)
def test_bad_folders_are_one_line_data_errors(tmp_path: Path, images: WriteImages, setup: str, needle: str) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    if setup == "one-class":
        images(root, {"a": 4})
    elif setup == "empty-class":
        images(root, {"a": 4})
        (root / "b").mkdir()
        (root / "b" / "notes.txt").write_text("not an image")
    elif setup == "garbage":
        images(root, {"a": 4, "b": 4})
        (root / "b" / "1.png").write_bytes(b"\x89PNG but not really")
    elif setup == "mixed-layout":
        for split in ("train", "val", "test"):
            images(root / split, {"a": 2, "b": 2})
        images(root, {"a": 2})
    elif setup == "unknown-val-class":
        images(root / "train", {"a": 2, "b": 2})
        images(root / "val", {"c": 2})
        images(root / "test", {"a": 2})
    elif setup == "missing":
        root = tmp_path / "nowhere"
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(DataError, match=re.escape(needle)) as info:
        load_task(f"folder:{root}")
    assert "\n" not in str(info.value)
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:60])


def test_a_truncated_training_image_fails_at_load_naming_its_path(tmp_path: Path, images: WriteImages) -> None:
    root = tmp_path / "t"
    for split in ("train", "val", "test"):
        images(root / split, {"a": 3, "b": 3}, size=(16, 16))
    _truncate(root / "train" / "b" / "2.png")  # the header survives: only decoding notices
    with pytest.raises(DataError, match=r"train/b/2\.png' is corrupt or truncated") as info:
        load_task(f"folder:{root}")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("workers", [0, 1])
def test_a_truncated_image_met_while_streaming_is_a_one_line_error(
    tmp_path: Path, images: WriteImages, workers: int
) -> None:
    root = tmp_path / "t"
    for split in ("train", "val", "test"):
        images(root / split, {"a": 3, "b": 3}, size=(16, 16))
    _truncate(root / "val" / "a" / "1.png")  # not read at load: only training images feed the statistics
    task = load_task(f"folder:{root}")
    with pytest.raises(DataError, match=r"val/a/1\.png' is corrupt or truncated") as info:
        list(task.val.batches([torch.arange(6)], workers=workers))
    assert "\n" not in str(info.value)
