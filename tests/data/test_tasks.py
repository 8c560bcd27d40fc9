"""Tasks: the digits split and validation of user npz files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from supernas.data import augment, load_task, task_spec
from supernas.data.tasks import stratified_split
from supernas.errors import DataError


def test_digits_split_is_fixed_stratified_and_standardised() -> None:
    a, b = load_task("digits"), load_task("digits")
    assert (len(a.train), len(a.val), len(a.test)) == (1078, 359, 360)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    for split in (a.train, a.val, a.test):
        counts = torch.bincount(split.y, minlength=10)
        assert counts.min() >= 0.9 * counts.float().mean()  # every class in its share
    assert abs(float(a.train.x.mean())) < 1e-3 and abs(float(a.train.x.std()) - 1) < 1e-2
    assert a.spec.shape == (1, 8, 8) and a.class_names == tuple("0123456789")


def _save(path: Path, **arrays: np.ndarray) -> str:
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return f"npz:{path}"


def test_npz_images_sequences_and_explicit_splits(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = np.arange(40) % 4
    images = load_task(_save(tmp_path / "img.npz", x=rng.normal(size=(40, 3, 4, 4)), y=y))
    assert images.spec.kind == "image" and images.spec.shape == (3, 4, 4) and images.spec.num_classes == 4
    assert len(images.train) + len(images.val) + len(images.test) == 40
    split = np.array([0] * 30 + [1] * 5 + [2] * 5)
    names = np.array(["a", "b", "c", "d"])
    seqs = load_task(_save(tmp_path / "seq.npz", x=rng.normal(size=(40, 12)), y=y, split=split, class_names=names))
    assert seqs.spec.kind == "sequence" and seqs.spec.shape == (12, 1)
    assert (len(seqs.train), len(seqs.val), len(seqs.test)) == (30, 5, 5)
    assert seqs.class_names == ("a", "b", "c", "d")
    assert task_spec(f"npz:{tmp_path / 'seq.npz'}") == seqs.spec


@pytest.mark.parametrize(
    ("arrays", "needle"),
    [
        ({"y": np.zeros(4, dtype=int)}, "'x' is missing"),
        ({"x": np.zeros((4, 2, 2, 2, 2)), "y": np.arange(4) % 2}, "'x' has shape"),
        ({"x": np.zeros((4, 5)), "y": np.arange(3) % 2}, "'y' has shape"),
        ({"x": np.zeros((4, 5)), "y": np.array([0.0, 1.0, 0.0, 1.0])}, "'y' has dtype"),
        ({"x": np.zeros((4, 5)), "y": np.array([0, -1, 0, 1])}, "label -1"),
        ({"x": np.zeros((4, 5)), "y": np.zeros(4, dtype=int)}, "fewer than 2 classes"),
        ({"x": np.full((4, 5), np.nan), "y": np.arange(4) % 2}, "NaN"),
        ({"x": np.zeros((4, 5)), "y": np.arange(4) % 2, "split": np.array([0, 0, 1, 1])}, "test split is empty"),
        ({"x": np.zeros((4, 5)), "y": np.arange(4) % 2, "split": np.array([0, 1, 2, 3])}, "'split' has value 3"),
        ({"x": np.zeros((4, 5)), "y": np.arange(4) % 2, "labels": np.arange(4)}, "unknown array 'labels'"),
        ({"x": np.zeros((4, 5)), "y": np.arange(4) % 2, "class_names": np.array(["a"])}, "'class_names' has 1"),
    ],
)
def test_malformed_npz_is_a_one_line_data_error(tmp_path: Path, arrays: dict[str, np.ndarray], needle: str) -> None:
    with pytest.raises(DataError, match=needle) as info:
        load_task(_save(tmp_path / "bad.npz", **arrays))
    assert "\n" not in str(info.value)


def test_unknown_task_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="valid: digits, npz:PATH"):
        load_task("mnist")
    with pytest.raises(DataError, match="does not exist"):
        load_task(f"npz:{tmp_path / 'none.npz'}")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        load_task(f"npz:{tmp_path / 'text.npz'}")


def test_augment_shifts_by_at_most_one_pixel_and_is_seeded() -> None:
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).reshape(2, 1, 6, 6)
    a = augment(x, "image", torch.Generator().manual_seed(3))
    b = augment(x, "image", torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == x.shape
    padded = torch.nn.functional.pad(x, [1, 1, 1, 1], mode="replicate")
    for i in range(2):
        windows = [padded[i, :, dy : dy + 6, dx : dx + 6] for dy in range(3) for dx in range(3)]
        assert any(torch.equal(a[i], w) for w in windows)
    seq = torch.randn(3, 10, 2)
    out = augment(seq, "sequence", torch.Generator().manual_seed(0), noise=0.0)
    assert out.shape == seq.shape


def test_a_streamed_split_reads_x_on_first_access_and_its_batches_agree(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    task = load_task(_save(tmp_path / "img.npz", x=rng.normal(size=(40, 2, 3, 3)), y=np.arange(40) % 4))
    assert task.train.streams and task.train._x is None
    first, second = task.train.batches([torch.tensor([5, 0, 5]), torch.arange(24)])
    x = task.train.x
    assert not task.train.streams and task.train.x is x and x.shape == (24, 2, 3, 3)
    assert torch.equal(first, x[[5, 0, 5]]) and torch.equal(second, x)


def test_stratified_split_gives_every_class_its_shares() -> None:
    y = np.repeat(np.arange(3), 10)
    train, val = stratified_split(y, np.random.default_rng(0), (0.8, 0.2))
    assert len(train) == 24 and len(val) == 6 and np.bincount(y[val]).tolist() == [2, 2, 2]
    assert not set(train) & set(val)
