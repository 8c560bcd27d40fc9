"""``InputSpec``: validation naming the field at fault, patch geometry of images and sequences, the dict form."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from supernas.errors import SearchSpaceError
from supernas.search_space import InputSpec
from supernas.search_space.spec import MAX_CLASSES, MAX_DIMENSION


def test_input_spec_validation() -> None:
    with pytest.raises(SearchSpaceError, match="valid: image, sequence"):
        InputSpec("video", (1, 2, 3), 10)  # type: ignore[arg-type]
    with pytest.raises(SearchSpaceError, match="expected 3 positive dimensions"):
        InputSpec("image", (8, 8), 10)
    with pytest.raises(SearchSpaceError, match="at least 2"):
        InputSpec("image", (1, 8, 8), 1)


@pytest.mark.parametrize(
    ("kind", "shape", "num_classes", "message"),
    [
        ("video", (1, 8, 8), 10, "input kind 'video' is not valid; valid: image, sequence"),
        ("Image", (1, 8, 8), 10, "input kind 'Image' is not valid"),
        ("image", (8, 8), 10, "input shape (8, 8) does not fit kind 'image'; expected 3 positive dimensions"),
        ("sequence", (1, 8, 8), 10, "input shape (1, 8, 8) does not fit kind 'sequence'; expected 2 positive"),
        ("image", (1, 0, 8), 10, "input shape (1, 0, 8) does not fit"),
        ("image", (1, -8, 8), 10, "input shape (1, -8, 8) does not fit"),
        ("image", (1, 8.0, 8), 10, "input shape (1, 8.0, 8) does not fit"),
        ("image", (1, True, 8), 10, "input shape (1, True, 8) does not fit"),
        ("image", (1, MAX_DIMENSION + 1, 8), 10, f"of at most {MAX_DIMENSION:,}"),
        ("sequence", (16, 3), 1, "num_classes 1 must be at least 2 and at most 100,000"),
        ("image", (1, 8, 8), 0, "num_classes 0 must be at least 2"),
        ("image", (1, 8, 8), MAX_CLASSES + 1, "num_classes 100001 must be at least 2 and at most 100,000"),
        ("image", (1, 8, 8), 10.0, "num_classes 10.0 must be"),
        ("image", (1, 8, 8), True, "num_classes True must be"),
        ("image", (1, 8, 8), "10", "num_classes '10' must be"),
    ],
)
def test_invalid_specs_name_the_field_and_the_valid_values(
    kind: Any, shape: Any, num_classes: Any, message: str
) -> None:
    with pytest.raises(SearchSpaceError, match=re.escape(message)):
        InputSpec(kind, shape, num_classes)


def test_the_limits_themselves_are_valid() -> None:
    assert InputSpec("sequence", (1, 1), 2).num_classes == 2
    assert InputSpec("image", (1, MAX_DIMENSION, 1), MAX_CLASSES).shape == (1, MAX_DIMENSION, 1)
    assert InputSpec("image", (np.int64(3), 8, 8), np.int64(10)).channels == 3  # numpy integers are integers


def test_image_geometry_channels_first() -> None:
    spec = InputSpec("image", (3, 8, 12), 10)  # (C, H, W)
    assert spec.channels == 3
    assert spec.patch_dim(2) == 3 * 2 * 2 and spec.patch_dim(4) == 3 * 4 * 4
    assert spec.num_patches(2) == 4 * 6 and spec.num_patches(4) == 2 * 3 and spec.num_patches(1) == 96


def test_sequence_geometry_channels_last() -> None:
    spec = InputSpec("sequence", (12, 5), 4)  # (L, C)
    assert spec.channels == 5
    assert spec.patch_dim(3) == 5 * 3
    assert spec.num_patches(3) == 4 and spec.num_patches(12) == 1
    spec.check_patch_size(4)  # the channel count (5) does not matter


@pytest.mark.parametrize(
    ("spec", "patch", "message"),
    [
        (InputSpec("image", (1, 8, 12), 10), 3, "patch_size 3 does not divide the input (1, 8, 12); valid: 1, 2, 4"),
        (InputSpec("image", (3, 9, 9), 10), 2, "patch_size 2 does not divide the input (3, 9, 9); valid: 1, 3, 9"),
        (
            InputSpec("sequence", (12, 5), 4),
            5,
            "patch_size 5 does not divide the input (12, 5); valid: 1, 2, 3, 4, 6, 12",
        ),
    ],
)
def test_a_patch_size_must_divide_every_side(spec: InputSpec, patch: int, message: str) -> None:
    with pytest.raises(SearchSpaceError, match=re.escape(message)):
        spec.check_patch_size(patch)
    with pytest.raises(SearchSpaceError, match="does not divide"):
        spec.num_patches(patch)


@pytest.mark.parametrize(
    "spec", [InputSpec("image", (3, 32, 32), 100), InputSpec("sequence", (60, 3), 4), InputSpec("image", (1, 1, 1), 2)]
)
def test_the_dict_form_round_trips_through_json(spec: InputSpec) -> None:
    data = spec.to_dict()
    assert data == {"kind": spec.kind, "shape": list(spec.shape), "num_classes": spec.num_classes}
    assert InputSpec.from_dict(json.loads(json.dumps(data))) == spec


def test_from_dict_validates_like_the_constructor() -> None:
    with pytest.raises(SearchSpaceError, match="input kind 'video'"):
        InputSpec.from_dict({"kind": "video", "shape": [1, 8, 8], "num_classes": 10})
    with pytest.raises(SearchSpaceError, match="num_classes 1 must be at least 2"):
        InputSpec.from_dict({"kind": "image", "shape": [1, 8, 8], "num_classes": 1})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "image", "shape": [1, 8.9, 8], "num_classes": 10}, "input shape"),
        ({"kind": "image", "shape": "188", "num_classes": 10}, "input shape"),
        ({"kind": "image", "shape": [1, 8, 8], "num_classes": 10.7}, "num_classes"),
        ({"kind": "image", "shape": [1, 8, 8], "num_classes": "ten"}, "num_classes"),
    ],
)
def test_from_dict_refuses_values_that_are_not_integers(data: dict[str, Any], field: str) -> None:
    with pytest.raises(SearchSpaceError, match=field):
        InputSpec.from_dict(data)
