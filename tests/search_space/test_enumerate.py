"""``search_space/enumerate.py``: every canonical config exactly once, as many as ``count_architectures`` says."""

from __future__ import annotations

import numpy as np
import pytest

from supernas.search_space import SearchSpace, canonical, count_architectures, largest, sample, smallest
from supernas.search_space.enumerate import enumerate_configs
from supernas.testing import tiny_space

SPACES = {
    "widths and bits": tiny_space(
        depth=(1, 2),
        embed_dim=(16,),
        loops=(1,),
        lora_rank=(0,),
        weight_bits=(8, 32),
        act_bits=(32,),
        keep_ratio=(1.0,),
    ),
    "loops and LoRA": tiny_space(
        depth=(1, 2, 3),
        embed_dim=(16, 24),
        heads=(1,),
        mlp_ratio=(1.0,),
        loops=(1, 2, 3),
        lora_rank=(0, 2),
        weight_bits=(8,),
        act_bits=(32,),
        keep_ratio=(1.0,),
    ),
    "token reductions": tiny_space(
        depth=(1, 2, 3),
        embed_dim=(16,),
        heads=(1,),
        mlp_ratio=(1.0,),
        loops=(1,),
        lora_rank=(0,),
        weight_bits=(4, 32),
        act_bits=(32,),
        reduction_layers=(1, 2),
        keep_ratio=(0.5, 1.0),
    ),
}


@pytest.mark.parametrize("name", list(SPACES))
def test_each_canonical_config_appears_once_and_the_count_agrees(name: str) -> None:
    space = SPACES[name]
    configs = list(enumerate_configs(space))
    ids = [c.arch_id for c in configs]
    assert len(ids) == len(set(ids)) == count_architectures(space)
    assert all(canonical(space, c) == c for c in configs)


@pytest.mark.parametrize("name", list(SPACES))
def test_every_sampled_config_and_both_extremes_are_enumerated(name: str) -> None:
    space = SPACES[name]
    ids = {c.arch_id for c in enumerate_configs(space)}
    rng = np.random.default_rng(0)
    assert {sample(space, rng).arch_id for _ in range(300)} <= ids
    assert largest(space).arch_id in ids and smallest(space).arch_id in ids


def test_a_space_of_one_network() -> None:
    space = SearchSpace(
        depth=(1,),
        embed_dim=(16,),
        heads=(1,),
        head_dim=8,
        mlp_ratio=(1.0,),
        loops=(1,),
        lora_rank=(0,),
        weight_bits=(32,),
        act_bits=(32,),
        reduction_layers=(),
        keep_ratio=(1.0,),
        patch_size=2,
    )
    assert [c.arch_id for c in enumerate_configs(space)] == [smallest(space).arch_id] and count_architectures(
        space
    ) == 1
