"""Streaming: batches read by loader workers equal those read in process; failures are one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from supernas.data import check_loader_workers, default_loader_workers
from supernas.data.streaming import ArrayExamples, Examples, Normalisation, SplitRows, read_batches
from supernas.errors import DataError

RAW = np.arange(20 * 2 * 3 * 3, dtype=np.float32).reshape(20, 2, 3, 3)
NORM = Normalisation("image", (10.0, 20.0), (2.0, 4.0))


class Broken(Examples):
    """Row 5 cannot be read."""

    def __init__(self) -> None:
        self.shape = (2, 3, 3)

    def __len__(self) -> int:
        return 20

    def read(self, index: int) -> np.ndarray:
        if index == 5:
            raise DataError("image 'x/5.png' is corrupt or truncated (image file is truncated)")
        return RAW[index]


def test_workers_read_the_same_normalised_batches_in_the_given_order() -> None:
    rows = SplitRows(ArrayExamples(RAW), np.arange(19, -1, -1), NORM)  # the split is the data reversed
    batches = [[0, 3, 1], [], [19, 2]]
    alone = list(read_batches(rows, batches))
    with_workers = list(read_batches(rows, batches, workers=2))
    assert [b.shape for b in alone] == [(3, 2, 3, 3), (0, 2, 3, 3), (2, 2, 3, 3)]
    assert all(torch.equal(a, b) for a, b in zip(alone, with_workers))
    expected = (RAW[19] - np.array([10.0, 20.0])[:, None, None]) / np.array([2.0, 4.0])[:, None, None]
    assert torch.allclose(alone[0][0], torch.from_numpy(expected.astype(np.float32)))


@pytest.mark.parametrize("workers", [0, 2])
def test_an_unreadable_example_is_a_one_line_error_in_the_caller(workers: int) -> None:
    rows = SplitRows(Broken(), np.arange(20), NORM)
    batches = read_batches(rows, [[0, 1], [4, 5, 6]], workers=workers)
    assert next(batches).shape == (2, 2, 3, 3)
    with pytest.raises(DataError, match=r"^image 'x/5\.png' is corrupt or truncated \(image file is truncated\)$"):
        next(batches)


def test_loader_worker_counts() -> None:
    assert 0 <= default_loader_workers() <= 4
    assert check_loader_workers(3) == 3
    with pytest.raises(DataError, match=r"loader_workers -1 is out of range; valid: an integer >= 0"):
        check_loader_workers(-1)
