"""The task registry: names with options, and one-line errors for unknown tasks and options."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from supernas.data import SOURCES, VALID_TASKS, TaskOptions, load_task
from supernas.data.sources import parse_task, task_name
from supernas.errors import DataError


def test_the_registry_names_every_source() -> None:
    assert VALID_TASKS == "digits, npz:PATH, folder:PATH, hf:PATH"
    assert set(SOURCES) == {"digits", "npz", "folder", "hf"}


def test_options_round_trip_through_the_task_name() -> None:
    source, path, options = parse_task("folder:data/x?channels=1&image_size=32")
    assert (source.prefix, path, options) == ("folder", "data/x", TaskOptions(image_size=32, channels=1))
    assert task_name(source, path, options) == "folder:data/x?image_size=32&channels=1"  # field order
    assert task_name(SOURCES["digits"], "", TaskOptions()) == "digits"


@pytest.mark.parametrize(
    ("task", "options", "needle"),
    [
        ("digits:x", {}, "unknown task 'digits:x'; valid: digits, npz:PATH, folder:PATH, hf:PATH"),
        ("folder", {}, "unknown task 'folder'; valid: digits"),
        ("folder:?image_size=8", {}, "task 'folder:?image_size=8' names no path; valid: folder:PATH"),
        ("folder:x?size=3", {}, "task 'folder:x?size=3' has option 'size=3'; valid: NAME=VALUE with NAME one of"),
        (
            "folder:x?image_size=big",
            {},
            "task 'folder:x?image_size=big' has option 'image_size=big'; valid: image_size=INT",
        ),
        ("folder:x?channels=2", {}, "task 'folder:x?channels=2': channels 2 is not valid; valid: 1 (grayscale) or 3"),
        ("folder:x?image_size=8", {"image_size": 16}, "image_size 16 differs from image_size=8 in the task name"),
        ("digits", {"image_size": 16}, "image_size does not apply to digits tasks; valid options: none"),
        ("NPZ", {"channels": 1}, "channels does not apply to npz:PATH tasks; valid options: none"),
        ("hf:x", {"label_column": "a&b"}, "label_column 'a&b' is not valid; valid: a column name without ?, & or ="),
    ],
)
def test_bad_names_and_options_are_one_line_errors(
    tmp_path: Path, task: str, options: dict[str, int | str], needle: str
) -> None:
    if task == "NPZ":
        np.savez(tmp_path / "a.npz", x=np.zeros((6, 2)), y=np.arange(6) % 2)
        task = f"npz:{tmp_path / 'a.npz'}"
    with pytest.raises(DataError, match=re.escape(needle)) as info:
        load_task(task, **options)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
