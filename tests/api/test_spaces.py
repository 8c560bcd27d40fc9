"""``api/spaces.py``: resolving, describing and sampling spaces, validating space files, listing presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from supernas.api.spaces import describe_space, list_presets, resolve_space, sample_subnets, validate_space_file
from supernas.errors import SearchSpaceError
from supernas.search_space import (
    InputSpec,
    canonical,
    costs,
    count_architectures,
    default_space,
    largest,
    preset_space,
    smallest,
)
from supernas.testing import tiny_space

SPEC = InputSpec("image", (1, 8, 8), 10)  # digits


def test_describe_space_counts_architectures_and_the_costs_of_its_extremes() -> None:
    space = tiny_space()
    summary = describe_space(space, SPEC)
    small, big = costs(space, smallest(space), SPEC), costs(space, largest(space), SPEC)
    assert summary.architectures == count_architectures(space) == 170_544
    assert summary.tokens == 17  # 16 patches of 2×2 and the class token
    assert summary.params == (small.params, big.params) and small.params < big.params
    assert summary.macs == (small.macs, big.macs) and small.macs < big.macs
    assert summary.model_bytes == (small.model_bytes, big.model_bytes)
    data = summary.to_dict()
    assert data["input"] == SPEC.to_dict() and data["space"] == space.to_dict()
    assert data["params"] == [small.params, big.params] and data["architectures"] == 170_544


def test_sampled_subnets_are_canonical_costed_and_fixed_by_the_seed() -> None:
    space = tiny_space()
    first = sample_subnets(space, SPEC, 5, seed=3)
    assert [s.config for s in first] == [s.config for s in sample_subnets(space, SPEC, 5, seed=3)]
    assert [s.config for s in first] != [s.config for s in sample_subnets(space, SPEC, 5, seed=4)]
    for s in first:
        assert canonical(space, s.config) == s.config
        c = costs(space, s.config, SPEC)
        assert (s.params, s.macs, s.model_bytes) == (c.params, c.macs, c.model_bytes)
        assert s.to_dict()["arch_id"] == s.config.arch_id
    assert sample_subnets(space, SPEC, 0, seed=0) == []


def test_validate_space_file_returns_the_space_and_its_size(tmp_path: Path) -> None:
    space = tiny_space(depth=(1, 2))
    space.save(tmp_path / "ok.toml")
    assert validate_space_file(tmp_path / "ok.toml") == (space, count_architectures(space))
    assert validate_space_file(tmp_path / "ok.toml", task="digits")[0] == space
    (tmp_path / "bad.toml").write_text("depthh = [2, 3]\n")
    with pytest.raises(SearchSpaceError, match="unknown field 'depthh'"):
        validate_space_file(tmp_path / "bad.toml")
    tiny_space(patch_size=3).save(tmp_path / "misfit.toml")
    validate_space_file(tmp_path / "misfit.toml")  # fine on its own
    with pytest.raises(SearchSpaceError, match="patch"):
        validate_space_file(tmp_path / "misfit.toml", task="digits")  # 8×8 digits do not cut into 3×3


def test_resolve_space_prefers_a_given_space_then_a_file_then_a_preset_then_the_default(tmp_path: Path) -> None:
    space = tiny_space(depth=(1, 2))
    space.save(tmp_path / "s.json")
    assert resolve_space("digits", space, preset="deit-tiny") == (space, SPEC)
    assert resolve_space("digits", tmp_path / "s.json")[0] == space
    assert resolve_space("digits", preset="tiny")[0] == preset_space("tiny", SPEC)
    assert resolve_space("digits")[0] == default_space(SPEC)
    with pytest.raises(SearchSpaceError, match="'huge' is not a preset; valid: tiny, digits, deit-tiny") as info:
        resolve_space("digits", preset="huge")
    assert info.value.field == "space_preset"


def test_list_presets_in_order() -> None:
    presets = list_presets()
    assert [p.name for p in presets] == ["tiny", "digits", "deit-tiny"]
    assert all(p.description for p in presets)
