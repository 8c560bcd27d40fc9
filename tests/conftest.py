"""Shared fixtures: tiny spaces and specs."""

from __future__ import annotations

import pytest

from supernas.search_space import InputSpec, SearchSpace
from supernas.testing import tiny_space as make_tiny_space


@pytest.fixture
def digits_spec() -> InputSpec:
    return InputSpec("image", (1, 8, 8), 10)


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace()


@pytest.fixture
def tiny_space() -> SearchSpace:
    """A small space with every axis active, for fast tests."""
    return make_tiny_space()


@pytest.fixture(scope="session")
def ray_cluster():  # type: ignore[no-untyped-def]
    """One local Ray cluster for the whole session: 2 CPUs and one logical GPU."""
    import ray

    from supernas.workers.cluster import ClusterSettings, RayCluster

    with RayCluster(ClusterSettings(num_cpus=2, num_gpus=1)):  # on 127.0.0.1 only, like the clusters supernas starts
        yield ray
