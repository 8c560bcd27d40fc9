from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from supernas.errors import SearchSpaceError
from supernas.search_space import (
    SearchSpace,
    SubnetConfig,
    canonical,
    count_architectures,
    decode,
    largest,
    sample,
    smallest,
    upper_bounds,
)


def test_sampling_is_deterministic_for_a_generator(space: SearchSpace) -> None:
    a = [sample(space, np.random.default_rng(7)) for _ in range(3)]
    b = [sample(space, np.random.default_rng(7)) for _ in range(3)]
    assert a == b
    rng = np.random.default_rng(7)
    assert len({sample(space, rng).arch_id for _ in range(50)}) > 40


def test_inactive_genes_do_not_change_the_arch_id(space: SearchSpace) -> None:
    rng = np.random.default_rng(2)
    checked = 0
    while checked < 100:
        config = sample(space, rng)
        if config.depth == space.max_depth:
            continue
        d = config.depth
        other = replace(
            config,
            heads=config.heads[: config.unique_blocks] + (space.heads[-1],) * (space.max_depth - config.unique_blocks),
            weight_bits=config.weight_bits[:d] + (space.weight_bits[-1],) * (space.max_depth - d),
            act_bits=config.act_bits[:d] + (space.act_bits[-1],) * (space.max_depth - d),
        )
        assert canonical(space, other).arch_id == config.arch_id
        checked += 1


def test_equivalent_loop_counts_share_an_arch_id(space: SearchSpace) -> None:
    base = replace(largest(space), depth=2)
    assert canonical(space, replace(base, loops=3)).arch_id == canonical(space, replace(base, loops=2)).arch_id
    assert canonical(space, replace(base, loops=1)).arch_id != canonical(space, replace(base, loops=2)).arch_id


def test_lora_is_inactive_without_sharing(space: SearchSpace) -> None:
    config = canonical(space, replace(largest(space), lora_rank=(8,) * space.max_depth))
    assert config.loops == 1 and set(config.lora_rank) == {0}
    shared = canonical(space, replace(largest(space), loops=2, lora_rank=(8,) * space.max_depth))
    assert set(shared.lora_rank) == {8}


def test_largest_and_smallest(space: SearchSpace) -> None:
    big, small = largest(space), smallest(space)
    assert big.depth == 6 and big.embed_dim == 64 and big.unique_blocks == 6
    assert small.depth == 2 and small.unique_blocks == 1
    assert set(small.weight_bits[: small.depth]) == {4}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"depth": 7}, "'depth': 7 is not in the space; valid: 2, 3, 4, 5, 6"),
        ({"embed_dim": 40}, "'embed_dim': 40 is not in the space; valid: 32, 48, 64"),
        ({"weight_bits": (4, 8, 32, 16, 4, 4)}, "'weight_bits[3]': 16 is not in the space; valid: 4, 8, 32"),
        ({"heads": (2, 2)}, "'heads': 2 entries; valid: one per layer (6)"),
        ({"keep_ratio": (1.0,)}, "'keep_ratio': 1 entries; valid: one per reduction point (2)"),
    ],
)
def test_configs_outside_the_space_are_rejected(space: SearchSpace, change: dict, fragment: str) -> None:
    with pytest.raises(SearchSpaceError) as err:
        canonical(space, replace(largest(space), **change))
    assert fragment in str(err.value)


def test_config_dict_round_trip_and_errors(space: SearchSpace) -> None:
    config = sample(space, np.random.default_rng(3))
    assert SubnetConfig.from_dict(config.to_dict()) == config
    data = config.to_dict()
    data["width"] = 3
    with pytest.raises(SearchSpaceError, match="unknown field 'width'"):
        SubnetConfig.from_dict(data)


def test_architecture_count_matches_enumeration() -> None:
    micro = SearchSpace(
        depth=(1, 2, 3),
        embed_dim=(16,),
        heads=(1, 2),
        head_dim=8,
        mlp_ratio=(1.0,),
        loops=(1, 2, 3),
        lora_rank=(0, 2),
        weight_bits=(8, 32),
        act_bits=(32,),
        reduction_layers=(1,),
        keep_ratio=(0.5, 1.0),
    )
    bounds = upper_bounds(micro)
    ids = {decode(micro, g).arch_id for g in itertools.product(*(range(b + 1) for b in bounds))}
    assert count_architectures(micro) == len(ids)
