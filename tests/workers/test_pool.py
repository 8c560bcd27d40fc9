"""The Ray evaluation pool on a real local cluster (2 CPUs, one logical GPU)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from supernas.api.evaluation import RayEvaluator
from supernas.api.searches import SearchRequest, create_search, run_stored_search
from supernas.errors import WorkerError
from supernas.search_space import InputSpec, SearchSpace, sample
from supernas.store import Store
from supernas.supernet import Supernet
from supernas.supernet.measure import LatencySettings, SubnetMeasurer
from supernas.workers.cluster import ClusterSettings, RayCluster, probe
from supernas.workers.pool import CRASH_MARKER_ENV, DeviceLease, EvaluationPool, PoolSettings, make_payload

FAST = LatencySettings(batch_size=2, warmup=1, repeats=3)


@pytest.fixture(scope="module")
def setup(ray_cluster):  # type: ignore[no-untyped-def]
    space = SearchSpace(depth=(1, 2, 3), reduction_layers=(1,), loops=(1, 2))
    spec = InputSpec("image", (1, 8, 8), 10)
    net = Supernet(space, spec, torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    val = (torch.randn(64, 1, 8, 8, generator=gen), torch.randint(0, 10, (64,), generator=gen))
    return space, net, val


def _configs(space: SearchSpace, n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [sample(space, rng) for _ in range(n)]


def test_pool_accuracies_equal_in_process(setup) -> None:  # type: ignore[no-untyped-def]
    space, net, val = setup
    configs = _configs(space, 40, seed=0)
    pool = EvaluationPool(make_payload(net, val), PoolSettings(workers=2, gpus_per_worker=0, latency=FAST))
    try:
        results = list(pool.evaluate([c.to_dict() for c in configs], ["accuracy", "latency_ms", "params"]))
    finally:
        pool.close()
    local = SubnetMeasurer(net, val)
    assert sorted(r.index for r in results) == list(range(40))
    assert {r.worker for r in results} == {"worker-0", "worker-1"}
    for r in results:
        assert r.error is None and r.metrics is not None and r.device == "cpu"
        assert r.metrics["accuracy"] == local.measure(configs[r.index], ["accuracy"])["accuracy"]
        assert r.metrics["latency_ms"] > 0


def test_a_worker_dying_mid_batch_does_not_stop_the_batch(
    setup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    space, net, val = setup
    marker = tmp_path / "crash-once"
    marker.write_text("")
    monkeypatch.setenv(CRASH_MARKER_ENV, str(marker))
    configs = _configs(space, 6, seed=1)
    pool = EvaluationPool(make_payload(net, val), PoolSettings(workers=2, gpus_per_worker=0, latency=FAST))
    try:
        results = list(pool.evaluate([c.to_dict() for c in configs], ["accuracy"]))
    finally:
        pool.close()
    assert not marker.exists()  # a worker really died on it
    assert sorted(r.index for r in results) == list(range(6))
    assert all(r.error is None for r in results)


def test_a_worker_dying_during_a_stored_search_leaves_one_complete_row_per_architecture(
    setup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    space, net, val = setup
    marker = tmp_path / "crash-once"
    marker.write_text("")
    monkeypatch.setenv(CRASH_MARKER_ENV, str(marker))
    pool = EvaluationPool(make_payload(net, val), PoolSettings(workers=2, gpus_per_worker=0, latency=FAST))
    request = SearchRequest.parse("accuracy,params", [], "random", 12, 6, 0, {})
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", create=True) as store:
        create_search(store, "s", request, None)
        try:
            run_stored_search(store, "s", space, net.spec, RayEvaluator(pool, ["accuracy", "params"]))
        finally:
            pool.close()
        rows = store.evaluations("s")
    assert not marker.exists()  # a worker really died mid-batch
    assert len(rows) == 12 and len({r.arch_id for r in rows}) == 12
    assert all(r.status == "COMPLETE" for r in rows), [(r.status, r.error) for r in rows if r.status != "COMPLETE"]


def test_fractional_gpu_workers_share_one_gpu(setup) -> None:  # type: ignore[no-untyped-def]
    space, net, val = setup
    settings = PoolSettings(workers=4, cpus_per_worker=0.5, gpus_per_worker=0.25, latency=FAST)
    pool = EvaluationPool(make_payload(net, val), settings)
    try:
        import ray

        assert ray.available_resources().get("GPU", 0.0) == pytest.approx(0.0)
        results = list(pool.evaluate([c.to_dict() for c in _configs(space, 4, seed=2)], ["accuracy"]))
    finally:
        pool.close()
    assert len(results) == 4 and all(r.error is None for r in results)


def test_default_gpu_share_is_a_quarter_when_the_cluster_has_gpus(setup) -> None:  # type: ignore[no-untyped-def]
    from supernas.workers.pool import _gpu_share

    assert _gpu_share(PoolSettings()) == 0.25
    assert _gpu_share(PoolSettings(gpus_per_worker=0)) == 0.0


def test_unschedulable_requests_fail_fast_with_the_option_named(setup) -> None:  # type: ignore[no-untyped-def]
    _, net, val = setup
    too_many = r"gpus_per_worker 2 is more than any node of the cluster has \(1 GPUs\); valid: 0 to 1"
    with pytest.raises(WorkerError, match=too_many):
        EvaluationPool(make_payload(net, val), PoolSettings(workers=1, gpus_per_worker=2))
    start = time.monotonic()
    with pytest.raises(WorkerError, match="could not be scheduled within 2 s; the cluster has 2 CPUs"):
        EvaluationPool(
            make_payload(net, val), PoolSettings(workers=1, cpus_per_worker=3, gpus_per_worker=0, schedule_timeout_s=2)
        )
    assert time.monotonic() - start < 30


def test_actors_slower_to_start_than_the_schedule_timeout_are_waited_for_when_they_fit(setup) -> None:  # type: ignore[no-untyped-def]
    _, net, val = setup
    settings = PoolSettings(workers=1, gpus_per_worker=0, schedule_timeout_s=0.001, start_timeout_s=120)
    pool = EvaluationPool(make_payload(net, val), settings)  # no actor loads a payload within 1 ms
    try:
        assert len(pool.devices) == 1
    finally:
        pool.close()


def test_an_evaluation_past_its_timeout_is_reported_failed(setup) -> None:  # type: ignore[no-untyped-def]
    space, net, val = setup
    slow = LatencySettings(batch_size=1, warmup=0, repeats=2000)
    pool = EvaluationPool(
        make_payload(net, val), PoolSettings(workers=1, gpus_per_worker=0, eval_timeout_s=1.5, latency=slow)
    )
    try:
        [result] = list(pool.evaluate([_configs(space, 1, seed=3)[0].to_dict()], ["latency_ms"]))
    finally:
        pool.close()
    assert result.metrics is None and result.error == "timed out after 1.5 s"


def test_exclusive_lease_waits_for_readers(ray_cluster) -> None:  # type: ignore[no-untyped-def]
    ray = ray_cluster
    lease = DeviceLease.remote()
    ray.get(lease.acquire.remote("cpu", "a", False))
    exclusive = lease.acquire.remote("cpu", "b", True)
    ready, _ = ray.wait([exclusive], timeout=0.5)
    assert not ready  # blocked while "a" reads
    ray.get(lease.release.remote("cpu", "a", False))
    ray.get(exclusive, timeout=10)
    shared = lease.acquire.remote("cpu", "c", False)
    assert not ray.wait([shared], timeout=0.5)[0]  # blocked while "b" measures
    ray.get(lease.release_all.remote("b"))  # a crashed holder is cleaned up
    ray.get(shared, timeout=10)
    ray.kill(lease)


def test_unreachable_address_fails_within_seconds() -> None:
    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"ray_address '127\.0\.0\.1:9' is unreachable"):
        probe("127.0.0.1:9", timeout_s=2)
    with (
        pytest.raises(WorkerError, match="valid: HOST:PORT, ray://HOST:PORT or auto"),
        RayCluster(ClusterSettings(address="nonsense")),
    ):
        pass
    assert time.monotonic() - start < 10
