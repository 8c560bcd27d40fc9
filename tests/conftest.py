"""Shared fixtures: tiny spaces and specs."""

from __future__ import annotations

import pytest

from supernas.search_space import InputSpec, SearchSpace


@pytest.fixture
def digits_spec() -> InputSpec:
    return InputSpec("image", (1, 8, 8), 10)


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace()


@pytest.fixture
def tiny_space() -> SearchSpace:
    """A small space with every axis active, for fast tests."""
    return SearchSpace(
        depth=(1, 2, 3),
        embed_dim=(16, 24),
        heads=(1, 2),
        head_dim=8,
        mlp_ratio=(1.0, 2.0),
        loops=(1, 2),
        lora_rank=(0, 2),
        weight_bits=(4, 8, 32),
        act_bits=(8, 32),
        reduction_layers=(1,),
        keep_ratio=(0.5, 1.0),
        patch_size=2,
    )


@pytest.fixture(scope="session")
def ray_cluster():  # type: ignore[no-untyped-def]
    """One local Ray cluster for the whole session: 2 CPUs and one logical GPU."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
