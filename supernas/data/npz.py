"""``npz:PATH`` tasks: a user's arrays, with ``x`` streamed from the archive instead of read whole.

The archive holds ``x`` ((N, C, H, W) images, (N, L) or (N, L, C) sequences), integer labels ``y``
and optionally ``split`` (0 train, 1 val, 2 test) and ``class_names``; everything but ``x`` is small
and read whole. ``x`` is located inside the zip file: a member stored uncompressed (``np.savez``) is
read in place, one ``os.pread`` per example at its offset; a compressed member (``np.savez_compressed``)
is decompressed once, chunk by chunk, into an anonymous temporary file that is then read the same way.
Either way the process holds no more than the rows it reads: reading through a memory map instead
would count every page touched towards the process's resident memory (measured: +150 MiB after one
pass over a 50,000 × 3 × 32 × 32 uint8 array), so a large file would look as if it were read whole.
Arrays stored in Fortran order (or with a version 3 header) cannot be read row by row; they are
loaded whole, as before.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from supernas.data.streaming import ArrayExamples, Examples
from supernas.data.tasks import MAX_CLASSES, SPLIT_SEED, TaskData, stratified_split, streamed_task
from supernas.errors import DataError
from supernas.search_space.spec import InputKind

NPZ_ARRAYS = ("x", "y", "split", "class_names")
CHUNK_BYTES = 16 << 20  # bytes decompressed or checked at a time
LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip local file header (30 bytes)
HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class NpyRowExamples(Examples):
    """The rows of a C-ordered array stored raw at ``offset`` of a file (or of a decompressed copy)."""

    def __init__(self, path: Path, member: str, dtype: np.dtype[Any], shape: tuple[int, ...], offset: int) -> None:
        self.path, self.member, self.dtype = path, member, dtype
        self.rows, self.offset = shape[0], offset  # offset: in the archive, or in the decompressed copy
        self.stored_shape = shape[1:]  # one row as stored: (C, H, W), (L,) or (L, C)
        self.shape = (*shape[1:], 1) if len(shape) == 2 else tuple(shape[1:])  # (L,) rows become (L, 1)
        self.row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        self._fd: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fd": None}  # another process opens (or decompresses) its own copy

    def __len__(self) -> int:
        return self.rows

    def _file(self) -> int:
        if self._fd is None:
            self._fd = _open_member(self.path, self.member)
        return self._fd

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start`` to ``stop`` as stored (dtype and shape of the array)."""
        size = (stop - start) * self.row_bytes
        data = os.pread(self._file(), size, self.offset + start * self.row_bytes)
        if len(data) != size:
            raise DataError(f"{self.path}: 'x' ends before row {stop - 1}; the file is truncated")
        return np.frombuffer(data, dtype=self.dtype).reshape(stop - start, *self.stored_shape)

    def read(self, index: int) -> np.ndarray:
        return self.read_rows(index, index + 1)[0].astype(np.float32).reshape(self.shape)


def _open_member(path: Path, member: str) -> int:
    """A file descriptor holding the member's bytes: the archive itself when stored, else a decompressed copy."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
        if info.compress_type == zipfile.ZIP_STORED:
            return os.open(path, os.O_RDONLY)
        # an anonymous file: the system removes it when the last descriptor (ours, duplicated) closes
        with tempfile.TemporaryFile() as copy, archive.open(info) as source:
            while chunk := source.read(CHUNK_BYTES):
                copy.write(chunk)
            copy.flush()
            return os.dup(copy.fileno())


def load_npz(name: str, path: Path) -> TaskData:
    """The task of an ``.npz`` file; every problem is a one-line DataError naming the array."""
    from supernas.data.sources import VALID_TASKS

    if not path.is_file():
        raise DataError(f"task file {str(path)!r} does not exist; valid tasks: {VALID_TASKS}")
    try:
        loaded = np.load(path, mmap_mode="r", allow_pickle=False)  # a lone .npy is mapped, not read
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(
                f"task file {str(path)!r} holds a single array (a .npy file), not an .npz archive; valid: a file "
                "written by numpy.savez with arrays 'x' and 'y'"
            )
        with loaded as archive:
            members = list(archive.files)
            _check_members(path, members)
            with zipfile.ZipFile(path) as zipped:
                for key in members:
                    _npy_header(path, zipped, key)  # before reading anything: what it claims fits the file
            small = {key: archive[key] for key in members if key != "x"}
        examples = _locate_x(path)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"task file {str(path)!r} is not a readable .npz archive ({_reason(exc)})") from None
    y = _check_y(path, small["y"], len(examples))
    kind: InputKind = "image" if len(examples.shape) == 3 else "sequence"
    num_classes = int(y.max()) + 1
    class_names = _class_names(path, small.get("class_names"), num_classes)
    parts = (
        _explicit_split(path, small["split"], len(y))
        if "split" in small
        else stratified_split(y, np.random.default_rng(SPLIT_SEED))
    )
    return streamed_task(name, str(path), kind, examples, y, parts, class_names)


def _check_members(path: Path, members: list[str]) -> None:
    """The archive holds 'x' and 'y' and nothing unknown (checked by name, before anything is read)."""
    missing = [key for key in ("x", "y") if key not in members]
    if missing:
        raise DataError(
            f"{path}: array {missing[0]!r} is missing; an npz task needs 'x' and 'y' (optional: 'split', 'class_names')"
        )
    unknown = sorted(set(members) - set(NPZ_ARRAYS))
    if unknown:
        raise DataError(f"{path}: unknown array {unknown[0]!r}; valid: x, y, split, class_names")


def _npy_header(
    path: Path, archive: zipfile.ZipFile, key: str
) -> tuple[zipfile.ZipInfo, tuple[tuple[int, ...], bool, np.dtype[Any], int] | None]:
    """The member ``key`` and its array header (shape, Fortran order, dtype, header bytes; None for header
    versions read only whole), checked: a ``.npy`` member of plain data whose stated size fits the member (a
    corrupt header claiming terabytes is refused before anything is allocated)."""
    try:
        info = archive.getinfo(f"{key}.npy")
    except KeyError:
        raise DataError(f"{path}: {key!r} is not a .npy array; valid: arrays written by numpy.savez") from None
    with archive.open(info) as member:
        reader = HEADER_READERS.get(np.lib.format.read_magic(member))
        if reader is None:
            return info, None
        shape, fortran_order, dtype = reader(member)
        header_bytes = member.tell()
    if dtype.hasobject:
        raise DataError(f"{path}: {key!r} holds Python objects, which supernas never loads; valid: numeric arrays")
    stated = math.prod(shape) * dtype.itemsize
    if stated > info.file_size - header_bytes:
        raise DataError(
            f"{path}: {key!r} states {stated:,} bytes of data (shape {shape}) but holds "
            f"{max(0, info.file_size - header_bytes):,}; the file is truncated or corrupt"
        )
    return info, (shape, fortran_order, dtype, header_bytes)


def _reason(exc: BaseException) -> str:
    """Why numpy or zipfile refused a file, in one line (never numpy's advice to load pickled data)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return "neither a zip archive nor a .npy file, and supernas never unpickles files" if "pickle" in text else text


def _locate_x(path: Path) -> Examples:
    """``x`` read row by row when it is C-ordered, else loaded whole; its shape and dtype checked first."""
    with zipfile.ZipFile(path) as archive:
        info, header = _npy_header(path, archive, "x")
    if header is None:
        return _whole_x(path)
    shape, fortran_order, dtype, header_bytes = header
    _check_x_header(path, shape, dtype)
    if fortran_order:
        return _whole_x(path)
    offset = header_bytes
    if info.compress_type == zipfile.ZIP_STORED:
        offset += _member_data_start(path, info)
    examples = NpyRowExamples(path, info.filename, dtype, shape, offset)
    if np.issubdtype(dtype, np.floating):
        _check_finite(path, examples)
    return examples


def _member_data_start(path: Path, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes begin: after its local header (whose extra field may differ)."""
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        fields = LOCAL_HEADER.unpack(handle.read(LOCAL_HEADER.size))
    if fields[0] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header of {info.filename}")
    name_length, extra_length = fields[-2], fields[-1]
    return info.header_offset + LOCAL_HEADER.size + name_length + extra_length


def _whole_x(path: Path) -> Examples:
    with np.load(path, allow_pickle=False) as archive:
        x = archive["x"]
    _check_x_header(path, x.shape, x.dtype)
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise DataError(f"{path}: 'x' contains NaN or infinite values; valid: finite numbers")
    return ArrayExamples(x[:, :, None] if x.ndim == 2 else x)  # (N, L) -> (N, L, 1)


def _check_x_header(path: Path, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
    if len(shape) not in (2, 3, 4) or 0 in shape[1:]:
        raise DataError(
            f"{path}: 'x' has shape {shape}; valid: (N, C, H, W) images, (N, L) or (N, L, C) sequences, each "
            "dimension but N at least 1"
        )
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
        raise DataError(f"{path}: 'x' has dtype {dtype}; valid: a float or integer dtype")


def _check_finite(path: Path, examples: NpyRowExamples) -> None:
    """Every value of a float ``x`` is finite, checked a chunk of rows at a time."""
    step = max(1, CHUNK_BYTES // max(1, examples.row_bytes))
    for start in range(0, len(examples), step):
        if not np.isfinite(examples.read_rows(start, min(start + step, len(examples)))).all():
            raise DataError(f"{path}: 'x' contains NaN or infinite values; valid: finite numbers")


def _check_y(path: Path, y: np.ndarray, n: int) -> np.ndarray:
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{path}: 'y' has shape {y.shape}; valid: ({n},), one label per example of 'x'")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{path}: 'y' has dtype {y.dtype}; valid: integer labels 0 .. K-1")
    if len(y) and y.min() < 0:
        raise DataError(f"{path}: 'y' has label {int(y.min())}; valid: integer labels 0 .. K-1")
    if len(np.unique(y)) < 2:
        raise DataError(f"{path}: 'y' has fewer than 2 classes; valid: integer labels 0 .. K-1 with K >= 2")
    if int(y.max()) >= MAX_CLASSES:
        raise DataError(f"{path}: 'y' has label {int(y.max())}; valid: integer labels 0 .. K-1 with K <= {MAX_CLASSES}")
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
