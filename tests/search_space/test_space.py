from __future__ import annotations

import json
from pathlib import Path

import pytest

from supernas.errors import SearchSpaceError
from supernas.search_space import InputSpec, SearchSpace, default_space
from supernas.search_space.space import FIELD_AXES


def test_round_trip_toml_and_json(tmp_path: Path, tiny_space: SearchSpace) -> None:
    for suffix in (".toml", ".json"):
        path = tmp_path / f"space{suffix}"
        tiny_space.save(path)
        assert SearchSpace.load(path) == tiny_space


def test_layernorm_epsilon_round_trips_and_defaults_for_old_files(tmp_path: Path) -> None:
    for eps in (1e-6, 1e-12, 0.25):
        for suffix in (".toml", ".json"):
            path = tmp_path / f"space{suffix}"
            SearchSpace(ln_eps=eps).save(path)
            assert SearchSpace.load(path).ln_eps == eps
    old = SearchSpace().to_dict()
    del old["ln_eps"]  # a space saved before the field existed
    assert SearchSpace.from_dict(old).ln_eps == 1e-5
    assert FIELD_AXES["ln_eps"] == "norm"
    assert set(FIELD_AXES) == set(SearchSpace().to_dict())


def test_choices_are_sorted_and_deduplicated_on_load() -> None:
    space = SearchSpace.from_dict({"depth": [4, 2, 3], "keep_ratio": [1, 0.5], "reduction_layers": [2]})
    assert space.depth == (2, 3, 4)
    assert space.keep_ratio == (0.5, 1.0)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"depht": [2]}, "unknown field 'depht'; valid fields: depth, embed_dim"),
        ({"depth": []}, "'depth': the list of choices is empty"),
        ({"heads": [2, 8]}, "8 heads × head_dim 16 = 128 exceeds the largest embed_dim 64; valid: heads ≤ 4"),
        ({"weight_bits": [4, 12]}, "'weight_bits': choice 12 is out of range; valid: 2, 3, 4, 5, 6, 7, 8, 16, 32"),
        ({"keep_ratio": [0.0, 1.0]}, "'keep_ratio': choice 0.0 is out of range; valid: numbers in (0, 1]"),
        ({"loops": [1, 9]}, "'loops': choice 9 is out of range; valid: integers in 1..6"),
        ({"reduction_layers": [6]}, "'reduction_layers': choice 6 is out of range; valid: integers in 1..5"),
        ({"depth": [2, 2]}, "duplicate choices"),
        ({"depth": [2.5]}, "choice 2.5 is not an integer"),
        ({"depth": ["two"]}, "choice 'two' is not a number"),
        ({"head_dim": 0}, "'head_dim': 0 is not valid; valid: an integer in 1..1024"),
        ({"ln_eps": 0}, "'ln_eps': 0 is not valid; valid: a number in (0, 1)"),
        ({"ln_eps": 1.5}, "'ln_eps': 1.5 is not valid; valid: a number in (0, 1)"),
        ({"ln_eps": float("inf")}, "'ln_eps': inf is not valid; valid: a number in (0, 1)"),
        ({"ln_eps": "1e-6"}, "'ln_eps': '1e-6' is not valid; valid: a number in (0, 1)"),
    ],
)
def test_invalid_spaces_name_the_field_and_valid_values(data: dict, fragment: str) -> None:
    with pytest.raises(SearchSpaceError) as err:
        SearchSpace.from_dict(data)
    assert fragment in str(err.value)


def test_load_errors(tmp_path: Path) -> None:
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("depth = [2,")
    with pytest.raises(SearchSpaceError, match="not valid TOML"):
        SearchSpace.load(bad_toml)
    with pytest.raises(SearchSpaceError, match=r"valid: \.toml, \.json"):
        SearchSpace.load(tmp_path / "space.yaml")
    with pytest.raises(SearchSpaceError, match="cannot be read"):
        SearchSpace.load(tmp_path / "missing.json")
    not_table = tmp_path / "list.json"
    not_table.write_text(json.dumps([1, 2]))
    with pytest.raises(SearchSpaceError, match="expected a table"):
        SearchSpace.load(not_table)


def test_default_space_picks_a_fitting_patch_size() -> None:
    assert default_space(InputSpec("image", (1, 8, 8), 10)).patch_size == 2
    assert default_space(InputSpec("sequence", (60, 3), 4)).patch_size == 2
    wide = default_space(InputSpec("image", (3, 28, 28), 10))
    assert InputSpec("image", (3, 28, 28), 10).num_patches(wide.patch_size) <= 32


def test_patch_size_must_divide_the_input() -> None:
    with pytest.raises(SearchSpaceError, match=r"patch_size 3 does not divide the input .*valid: 1, 2, 4, 8"):
        SearchSpace(patch_size=3).check_input(InputSpec("image", (1, 8, 8), 10))
