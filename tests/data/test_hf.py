"""``hf:PATH`` tasks: saved Hugging Face datasets of images or arrays, and one-line errors."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import datasets
import numpy as np
import pytest
from PIL import Image

from supernas.data import load_task
from supernas.errors import DataError


def _images(n: int, size: int = 8, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)) for _ in range(n)]


def _image_dataset(n: int, names: tuple[str, ...] = ("cat", "dog"), seed: int = 0) -> datasets.Dataset:
    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=list(names))})
    return datasets.Dataset.from_dict(
        {"img": _images(n, seed=seed), "label": [i % len(names) for i in range(n)]}, features=features
    )


def test_an_image_dataset_is_split_and_decoded(tmp_path: Path) -> None:
    _image_dataset(20).save_to_disk(tmp_path / "ds")
    task = load_task(f"hf:{tmp_path / 'ds'}")
    assert task.class_names == ("cat", "dog") and task.spec.shape == (3, 8, 8)
    assert (len(task.train), len(task.val), len(task.test)) == (12, 4, 4)
    assert task.train.x.shape == (12, 3, 8, 8)
    resized = load_task(f"hf:{tmp_path / 'ds'}", image_size=4, channels=1)
    assert resized.spec.shape == (1, 4, 4) and resized.val.x.shape == (4, 1, 4, 4)


def test_a_dataset_dict_keeps_its_splits_and_carves_a_missing_validation_split(tmp_path: Path) -> None:
    datasets.DatasetDict({"train": _image_dataset(20), "test": _image_dataset(6, seed=1)}).save_to_disk(tmp_path / "dd")
    task = load_task(f"hf:{tmp_path / 'dd'}")
    assert (len(task.train), len(task.val), len(task.test)) == (16, 4, 6)  # 20 % of train, per class


def test_array_columns_give_images_and_sequences_with_named_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = datasets.Features({"x": datasets.Array3D((2, 4, 4), "float32"), "target": datasets.Value("int64")})
    data = {"x": rng.normal(size=(15, 2, 4, 4)).astype(np.float32), "target": [i % 3 for i in range(15)]}
    datasets.Dataset.from_dict(data, features=arrays).save_to_disk(tmp_path / "arr")
    task = load_task(f"hf:{tmp_path / 'arr'}", label_column="target")
    assert task.spec.kind == "image" and task.spec.shape == (2, 4, 4) and task.class_names == ("0", "1", "2")
    assert task.name == f"hf:{tmp_path / 'arr'}?label_column=target"
    seqs = {"tokens": [list(rng.normal(size=7)) for _ in range(10)], "extra": list(range(10)), "label": [0, 1] * 5}
    datasets.Dataset.from_dict(seqs).save_to_disk(tmp_path / "seq")
    task = load_task(f"hf:{tmp_path / 'seq'}?input_column=tokens")
    assert task.spec.kind == "sequence" and task.spec.shape == (7, 1)


@pytest.mark.parametrize(
    ("setup", "options", "needle"),
    [
        ("not-a-dataset", {}, "is not a saved Hugging Face dataset"),
        ("no-label", {}, "has no label columns (none of label, labels); pass `label_column`; valid: img, kind"),
        ("images", {"label_column": "y"}, "label_column 'y' is not a column of dataset"),
        ("images", {"input_column": "label"}, "input_column 'label' is not an image or array column"),
        ("arrays", {"image_size": 8}, "image_size applies to encoded images only"),
        ("ragged", {}, "row 1 has shape (3,), row 0 (2,)"),
        ("infinite", {}, "row 0 has NaN or infinite values"),
    ],
)
def test_bad_datasets_are_one_line_data_errors(
    tmp_path: Path, setup: str, options: dict[str, str | int], needle: str
) -> None:
    path = tmp_path / "ds"
    if setup == "not-a-dataset":
        path.mkdir()
        (path / "data.csv").write_text("x,y\n1,2\n")
    elif setup == "no-label":
        datasets.Dataset.from_dict({"img": _images(4), "kind": ["a", "b"] * 2}).save_to_disk(path)
    elif setup == "images":
        _image_dataset(6).save_to_disk(path)
    elif setup == "arrays":
        datasets.Dataset.from_dict({"x": [[1.0, 2.0]] * 4, "label": [0, 1] * 2}).save_to_disk(path)
    elif setup == "ragged":
        datasets.Dataset.from_dict({"x": [[1.0, 2.0], [1.0, 2.0, 3.0]] * 2, "label": [0, 1] * 2}).save_to_disk(path)
    elif setup == "infinite":
        datasets.Dataset.from_dict({"x": [[np.inf, 2.0]] * 4, "label": [0, 1] * 2}).save_to_disk(path)
    with pytest.raises(DataError, match=re.escape(needle)) as info:
        load_task(f"hf:{path}", **options)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_without_the_datasets_package_the_error_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets now raises ImportError
    with pytest.raises(DataError, match=re.escape("install the extra: pip install 'supernas[hf]'")) as info:
        load_task(f"hf:{tmp_path}")
    assert "\n" not in str(info.value)
