"""``workers/cluster.py``: addresses, fast failure on bad or dead ones, GPU shares checked before Ray starts."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import torch

from supernas.errors import WorkerError
from supernas.workers.cluster import ClusterSettings, RayCluster, check_local_gpus, probe, resolve_address


@pytest.fixture
def listening() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a socket that accepts connections."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"127.0.0.1:{server.getsockname()[1]}"


def test_resolve_address_prefers_the_argument_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert resolve_address(None) is None
    assert resolve_address("10.0.0.1:6379") == "10.0.0.1:6379"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.2:6379")
    assert resolve_address(None) == "10.0.0.2:6379"
    assert resolve_address("10.0.0.1:6379") == "10.0.0.1:6379"
    monkeypatch.setenv("RAY_ADDRESS", "")
    assert resolve_address(None) is None


@pytest.mark.parametrize("address", ["nonsense", "host:", ":6379", "host:port", "ray://host"])
def test_a_malformed_address_names_the_field_and_the_valid_forms(address: str) -> None:
    with pytest.raises(WorkerError, match="is not valid; valid: HOST:PORT, ray://HOST:PORT or auto") as info:
        probe(address, 1.0)
    assert info.value.field == "ray_address" and str(info.value).startswith(f"ray_address {address!r} ")


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_a_dead_address_is_unreachable_at_once(scheme: str) -> None:
    with pytest.raises(WorkerError, match=r"is unreachable within 1.5 s \(.*\); start the cluster or fix the address"):
        probe(f"{scheme}127.0.0.1:1", 1.5)


def test_a_listening_address_and_auto_pass(listening: str) -> None:
    probe(listening, 2.0)
    probe(f"ray://{listening}", 2.0)
    probe("auto", 0.001)  # left to Ray


def test_joining_a_dead_address_fails_before_ray_starts() -> None:
    import ray

    cluster = RayCluster(ClusterSettings(address="127.0.0.1:1", connect_timeout_s=1.0))
    initialized = ray.is_initialized()
    with pytest.raises(WorkerError, match=r"ray_address '127\.0\.0\.1:1' is unreachable"), cluster:
        pass
    assert not cluster.started and ray.is_initialized() == initialized


def test_a_gpu_share_beyond_this_machine_is_refused_naming_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    have = torch.cuda.device_count()
    with pytest.raises(
        WorkerError, match=rf"^gpus_per_worker {have + 1} is more than this machine has \({have} GPUs\)"
    ):
        check_local_gpus(None, have + 1, "gpus_per_worker")
    with pytest.raises(WorkerError) as info:
        check_local_gpus(None, have + 0.5, "gpus_per_trial")
    assert info.value.field == "gpus_per_trial" and f"valid: 0 to {have}" in str(info.value)
    check_local_gpus(None, 0, "gpus_per_worker")
    check_local_gpus(None, have, "gpus_per_worker")


def test_a_remote_cluster_is_not_checked_against_local_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    check_local_gpus("10.0.0.1:6379", 64, "gpus_per_worker")  # checked once joined
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    check_local_gpus(None, 64, "gpus_per_worker")


def test_a_running_cluster_is_joined_and_left_as_it_was(ray_cluster) -> None:  # type: ignore[no-untyped-def]
    with RayCluster(ClusterSettings(num_cpus=1)) as cluster:
        assert not cluster.started and ray_cluster.is_initialized()
    assert ray_cluster.is_initialized()  # not shut down: another owner started it
    assert ray_cluster.cluster_resources()["CPU"] == 2  # the session's cluster, not a new one of 1 CPU


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_a_bracketed_ipv6_address_is_probed() -> None:
    with socket.socket(socket.AF_INET6) as server:
        server.bind(("::1", 0))
        server.listen()
        probe(f"[::1]:{server.getsockname()[1]}", 2.0)
