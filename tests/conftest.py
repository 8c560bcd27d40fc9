"""Shared fixtures: tiny spaces and specs, one tiny trained supernet, one Ray cluster per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from supernas.search_space import InputSpec, SearchSpace
from supernas.testing import tiny_space as make_tiny_space


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread per test process: with pytest-xdist the workers share the cores, and more threads
    than cores make every op spin. Subprocesses get ``OMP_NUM_THREADS=1`` from ``supernas.testing``."""
    import torch

    torch.set_num_threads(1)


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


TINY_CHECKPOINT_SPACE = make_tiny_space(depth=(1, 2), weight_bits=(8, 32))  # small, yet with 8-bit layers for int8


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tiny.pt``: a supernet of TINY_CHECKPOINT_SPACE trained 2 epochs on digits, shared by the session (read it,
    never change it)."""
    from supernas.data import load_task
    from supernas.supernet.train import TrainConfig, train

    path = tmp_path_factory.mktemp("tiny-supernet") / "tiny.pt"
    train(load_task("digits"), TINY_CHECKPOINT_SPACE, TrainConfig(epochs=2, eval_subnets=2), path)
    return path
