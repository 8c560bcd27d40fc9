"""``npz:PATH`` tasks: ``x`` read row by row from stored or compressed members, never whole."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from supernas.data import load_task
from supernas.data.npz import NpyRowExamples
from supernas.data.streaming import ArrayExamples
from supernas.errors import DataError

RNG = np.random.default_rng(0)
X = RNG.integers(0, 255, size=(30, 3, 4, 5), dtype=np.uint8)
Y = np.arange(30) % 3


def _examples(task_name: str) -> object:
    return load_task(task_name).train._rows.examples  # type: ignore[union-attr]


def test_stored_compressed_and_fortran_members_give_the_same_task(tmp_path: Path) -> None:
    np.savez(tmp_path / "stored.npz", x=X, y=Y)
    np.savez_compressed(tmp_path / "packed.npz", x=X, y=Y)
    np.savez(tmp_path / "fortran.npz", x=np.asfortranarray(X), y=Y)
    tasks = [load_task(f"npz:{tmp_path / name}") for name in ("stored.npz", "packed.npz", "fortran.npz")]
    for task in tasks[1:]:
        assert task.mean == tasks[0].mean and task.std == tasks[0].std
        for split in ("train", "val", "test"):
            assert torch.equal(getattr(task, split).x, getattr(tasks[0], split).x)
    assert isinstance(_examples(f"npz:{tmp_path / 'stored.npz'}"), NpyRowExamples)
    assert isinstance(_examples(f"npz:{tmp_path / 'packed.npz'}"), NpyRowExamples)  # decompressed to a temp file
    assert isinstance(_examples(f"npz:{tmp_path / 'fortran.npz'}"), ArrayExamples)  # cannot be read by rows


def test_rows_are_read_in_place_and_survive_pickling(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", x=X, y=Y)
    examples = _examples(f"npz:{tmp_path / 'a.npz'}")
    assert isinstance(examples, NpyRowExamples)
    assert np.array_equal(examples.read(7), X[7].astype(np.float32))
    clone = pickle.loads(pickle.dumps(examples))  # a spawned loader worker opens its own descriptor
    assert clone._fd is None and np.array_equal(clone.read(29), X[29].astype(np.float32))


def test_x_is_never_loaded_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    np.savez(tmp_path / "a.npz", x=X, y=Y)
    original = np.lib.npyio.NpzFile.__getitem__

    def guarded(self: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
        assert key != "x", "x must be read row by row"
        return original(self, key)

    monkeypatch.setattr(np.lib.npyio.NpzFile, "__getitem__", guarded)
    task = load_task(f"npz:{tmp_path / 'a.npz'}")
    assert task.spec.shape == (3, 4, 5) and len(task.train) == 18


@pytest.mark.parametrize(
    ("x", "needle"),
    [
        (np.array([["a", "b"]] * 6), "'x' has dtype <U1; valid: a float or integer dtype"),
        (np.ones((6, 2), dtype=bool), "'x' has dtype bool; valid: a float or integer dtype"),
        (np.array([[1.0, np.inf]] * 6), "'x' contains NaN or infinite values"),
    ],
)
def test_non_numeric_or_non_finite_x_is_a_one_line_error(tmp_path: Path, x: np.ndarray, needle: str) -> None:
    np.savez(tmp_path / "bad.npz", x=x, y=np.arange(6) % 2)
    with pytest.raises(DataError, match=needle) as info:
        load_task(f"npz:{tmp_path / 'bad.npz'}")
    assert "\n" not in str(info.value)


def test_a_truncated_archive_is_a_one_line_error(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", x=X, y=Y)
    data = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"is not a readable \.npz archive") as info:
        load_task(f"npz:{tmp_path / 'cut.npz'}")
    assert "\n" not in str(info.value)


def test_a_single_array_renamed_npz_is_refused_in_one_line(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros((10, 4)))
    (tmp_path / "a.npy").rename(tmp_path / "a.npz")
    with pytest.raises(DataError, match=r"holds a single array \(a \.npy file\), not an \.npz archive"):
        load_task(f"npz:{tmp_path / 'a.npz'}")


def test_a_huge_label_is_refused_before_any_class_name_is_made(tmp_path: Path) -> None:
    y = np.array([0] * 5 + [10**9] * 5)
    np.savez(tmp_path / "big.npz", x=np.zeros((10, 4), np.float32), y=y)
    with pytest.raises(DataError, match=r"'y' has label 1000000000; valid: integer labels 0 \.\. K-1 with K <= 100000"):
        load_task(f"npz:{tmp_path / 'big.npz'}")


def test_finite_extreme_values_standardise_to_finite_inputs(tmp_path: Path) -> None:
    x = np.full((20, 4), 3e38, np.float32) * np.array([1, -1, 1, -1], np.float32)
    np.savez(tmp_path / "huge.npz", x=x, y=np.arange(20) % 2)
    task = load_task(f"npz:{tmp_path / 'huge.npz'}")
    assert all(np.isfinite(task.std)) and torch.isfinite(task.train.x).all()
