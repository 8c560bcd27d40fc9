"""A pool of Ray actors that evaluate subnets of one supernet.

Each actor holds the supernet and the evaluation data, put once in the object
store, on its device: a GPU or a fraction of one when the cluster
has GPUs, a CPU otherwise.

Latency is never measured while other work shares the device. Every actor
takes a *shared* lease on its device for accuracy and an *exclusive* lease for
latency and peak memory, from one :class:`DeviceLease` actor per device (a
reader/writer lock that lets a waiting exclusive request go first). Actors
restart after a crash and retry the task they were running; a task that runs
past its timeout gets its actor restarted and is reported as failed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ray
import torch
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from supernas.errors import WorkerError
from supernas.supernet import Supernet
from supernas.supernet.measure import LatencySettings
from supernas.testing import CRASH_MARKER_ENV, maybe_crash


@dataclass(frozen=True)
class PoolSettings:
    """Size and behaviour of the evaluation pool."""

    workers: int = 0  # actors; 0: one per CPU (or per GPU fraction) of the cluster
    cpus_per_worker: float = 1.0  # CPUs reserved by each actor
    gpus_per_worker: float | None = None  # GPU share per actor; None: 0.25 if the cluster has GPUs, else 0
    eval_timeout_s: float = 300.0  # one evaluation longer than this fails and restarts its actor
    schedule_timeout_s: float = 60.0  # actors not started by then mean the request cannot be met...
    start_timeout_s: float = 600.0  # ...unless the cluster has their resources: then they are slow to start
    max_restarts: int = 3  # restarts of a crashed actor
    latency: LatencySettings = field(default_factory=LatencySettings)


@dataclass(frozen=True)
class PoolResult:
    """The outcome of one evaluation."""

    index: int  # position of the config in the submitted batch
    metrics: dict[str, float] | None  # None when the evaluation failed
    error: str | None  # why it failed
    worker: str  # actor that ran it
    device: str  # "cpu" or "cuda:N"
    seconds: float  # wall time of the evaluation inside the actor


@dataclass
class _Lock:
    readers: dict[str, int] = field(default_factory=dict)  # holder -> shared leases held
    writer: str | None = None  # holder of the exclusive lease
    waiting_writers: int = 0


@ray.remote(num_cpus=0)
class DeviceLease:
    """Reader/writer locks, one per device; an exclusive request waits for readers and goes first.

    Created by the pool in the driver, so it lives exactly as long as the pool.
    """

    def __init__(self) -> None:
        self.locks: dict[str, _Lock] = {}
        self.changed = asyncio.Condition()

    async def acquire(self, device: str, holder: str, exclusive: bool) -> None:
        lock = self.locks.setdefault(device, _Lock())
        async with self.changed:
            if exclusive:
                lock.waiting_writers += 1
                await self.changed.wait_for(lambda: lock.writer is None and not lock.readers)
                lock.waiting_writers -= 1
                lock.writer = holder
            else:
                await self.changed.wait_for(lambda: lock.writer is None and lock.waiting_writers == 0)
                lock.readers[holder] = lock.readers.get(holder, 0) + 1

    async def release(self, device: str, holder: str, exclusive: bool) -> None:
        lock = self.locks[device]
        async with self.changed:
            if exclusive and lock.writer == holder:
                lock.writer = None
            elif not exclusive and lock.readers.get(holder):
                lock.readers[holder] -= 1
                if not lock.readers[holder]:
                    del lock.readers[holder]
            self.changed.notify_all()

    async def release_all(self, holder: str) -> None:
        """Drop what a crashed holder left behind (called by its restarted self)."""
        async with self.changed:
            for lock in self.locks.values():
                lock.readers.pop(holder, None)
                if lock.writer == holder:
                    lock.writer = None
            self.changed.notify_all()


@ray.remote(max_restarts=-1, max_task_retries=-1)
class EvaluationWorker:
    """Holds a supernet and its evaluation data; measures configs sent to it.

    The constructor takes plain values only. The shared state (the payload's
    ObjectRef and the device lease actor) comes inside a list with every call,
    so an actor that Ray restarts rebuilds from the retried call itself: Ray
    does not keep refs given to a restartable actor's constructor alive.
    """

    def __init__(self, name: str, latency: LatencySettings, threads: int) -> None:
        torch.set_num_threads(max(1, threads))
        self.name = name
        self.latency = latency
        gpu_ids = ray.get_gpu_ids()
        self.device = torch.device("cuda", 0) if gpu_ids and torch.cuda.is_available() else torch.device("cpu")
        self.device_label = f"cuda:{gpu_ids[0]}" if self.device.type == "cuda" else "cpu"
        self.lease_key = f"{ray.get_runtime_context().get_node_id()}/{self.device_label}"
        self.lease: Any = None
        self.measurer: Any = None

    def load(self, shared: list[Any]) -> str:
        """Build the measurer from ``shared`` = [payload ref, lease actor] once; returns the device label."""
        if self.measurer is not None:
            return self.device_label
        from supernas.search_space import InputSpec, SearchSpace
        from supernas.supernet import Supernet
        from supernas.supernet.measure import SubnetMeasurer

        payload_ref, self.lease = shared
        ray.get(self.lease.release_all.remote(self.name))  # leases an earlier life of this actor held
        payload = ray.get(payload_ref)
        net = Supernet(SearchSpace.from_dict(payload["space"]), InputSpec.from_dict(payload["spec"]))
        net.load_state_dict(payload["state_dict"])
        self.measurer = SubnetMeasurer(net, payload["val"], payload.get("test"), self.latency, self.device)
        return self.device_label

    def evaluate(self, config: dict[str, Any], metrics: list[str], shared: list[Any]) -> tuple[dict[str, float], float]:
        from supernas.search_space import SubnetConfig

        self.load(shared)
        start = time.perf_counter()
        maybe_crash(os.environ.get(CRASH_MARKER_ENV))
        results = self.measurer.measure(SubnetConfig.from_dict(config), metrics, guard=self._lease)
        return results, time.perf_counter() - start

    @contextmanager
    def _lease(self, exclusive: bool) -> Iterator[None]:
        ray.get(self.lease.acquire.remote(self.lease_key, self.name, exclusive))
        try:
            yield
        finally:
            ray.get(self.lease.release.remote(self.lease_key, self.name, exclusive))


def make_payload(
    supernet: Supernet, val: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor] | None = None
) -> dict[str, Any]:
    """What every worker needs, as plain data for the object store."""
    cpu_state = {k: v.detach().cpu() for k, v in supernet.state_dict().items()}
    return {
        "space": supernet.space.to_dict(),
        "spec": supernet.spec.to_dict(),
        "state_dict": cpu_state,
        "val": val,
        "test": test,
    }


class EvaluationPool:
    """Starts the actors, streams results as they complete, and stops the actors on close."""

    def __init__(self, payload: dict[str, Any], settings: PoolSettings) -> None:
        self.settings = settings
        gpus = _gpu_share(settings)
        count = settings.workers or _default_workers(settings.cpus_per_worker, gpus)
        self.payload_ref = ray.put(payload)  # kept alive here: restarted actors rebuild from it
        self.lease = DeviceLease.remote()  # type: ignore[attr-defined]
        self.shared = [self.payload_ref, self.lease]  # sent inside a list with every call: Ray passes it unresolved
        threads = int(max(1, settings.cpus_per_worker))
        env = {CRASH_MARKER_ENV: os.environ[CRASH_MARKER_ENV]} if CRASH_MARKER_ENV in os.environ else {}
        self.actors = [
            EvaluationWorker.options(  # type: ignore[attr-defined]
                num_cpus=settings.cpus_per_worker,
                num_gpus=gpus,
                max_restarts=settings.max_restarts,
                runtime_env={"env_vars": env} if env else None,
            ).remote(f"worker-{i}", settings.latency, threads)
            for i in range(count)
        ]
        self.devices = self._wait_ready(gpus)

    def _wait_ready(self, gpus: float) -> list[str]:
        """Wait for every actor to load the payload. Actors the cluster cannot place fail after
        ``schedule_timeout_s``; actors it can place but that start slowly (a busy machine) get
        ``start_timeout_s``."""
        count, cpus = len(self.actors), self.settings.cpus_per_worker
        loads = [a.load.remote(self.shared) for a in self.actors]
        try:
            return ray.get(loads, timeout=self.settings.schedule_timeout_s)
        except GetTimeoutError:
            have = ray.cluster_resources()
            fits = have.get("CPU", 0) >= count * cpus and have.get("GPU", 0) >= count * gpus
        if fits:
            rest = max(0.0, self.settings.start_timeout_s - self.settings.schedule_timeout_s)
            try:
                return ray.get(loads, timeout=rest)
            except GetTimeoutError:
                self.close()
                raise WorkerError(
                    f"{count} workers did not start within {self.settings.start_timeout_s:g} s although the "
                    "cluster has their resources; the machine is overloaded: valid: fewer `workers`, or retry",
                    field="workers",
                ) from None
        self.close()
        raise WorkerError(
            f"{count} of {cpus:g} CPUs (`cpus_per_worker`) and {gpus:g} GPUs (`gpus_per_worker`) each could not "
            f"be scheduled within {self.settings.schedule_timeout_s:g} s; the cluster has {have.get('CPU', 0):g} "
            f"CPUs and {have.get('GPU', 0):g} GPUs",
            field="workers",
        )

    def evaluate(self, configs: list[dict[str, Any]], metrics: list[str]) -> Iterator[PoolResult]:
        """Evaluate every config; yield each result as soon as it is ready (any order)."""
        queue = list(enumerate(configs))[::-1]
        running: dict[Any, tuple[int, int, float]] = {}  # ref -> (config index, actor index, started)
        lost = dict.fromkeys(range(len(configs)), 0)  # index -> times its actor died under it
        idle = list(range(len(self.actors)))
        while queue or running:
            while queue and idle:
                index, config = queue.pop()
                actor = idle.pop()
                ref = self.actors[actor].evaluate.remote(config, metrics, self.shared)
                running[ref] = (index, actor, time.monotonic())
            done, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            for ref in done:
                index, actor, _ = running.pop(ref)
                idle.append(actor)
                result, actor_died = self._result(ref, index, actor)
                if actor_died and lost[index] < self.settings.max_restarts:
                    lost[index] += 1  # the worker, not the config, failed: evaluate it again
                    queue.append((index, configs[index]))
                    continue
                yield result
            yield from self._expire(running, idle)

    def _result(self, ref: Any, index: int, actor: int) -> tuple[PoolResult, bool]:
        """The outcome of ``ref``, and whether it failed because its actor died."""
        name = f"worker-{actor}"
        try:
            metrics, seconds = ray.get(ref)
            return PoolResult(index, metrics, None, name, self.devices[actor], seconds), False
        except (RayTaskError, RayActorError) as exc:
            cause = getattr(exc, "cause", None) or exc
            error = f"{type(cause).__name__}: {cause}"
            return PoolResult(index, None, error, name, self.devices[actor], 0.0), isinstance(exc, RayActorError)

    def _expire(self, running: dict[Any, tuple[int, int, float]], idle: list[int]) -> Iterator[PoolResult]:
        now = time.monotonic()
        for ref, (index, actor, started) in list(running.items()):
            if now - started > self.settings.eval_timeout_s:
                del running[ref]
                ray.kill(self.actors[actor], no_restart=False)
                idle.append(actor)
                message = f"timed out after {self.settings.eval_timeout_s:g} s"
                yield PoolResult(index, None, message, f"worker-{actor}", self.devices[actor], now - started)

    def close(self) -> None:
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        ray.kill(self.lease, no_restart=True)
        self.actors = []


def _gpu_share(settings: PoolSettings) -> float:
    cluster_gpus = ray.cluster_resources().get("GPU", 0.0)
    share = settings.gpus_per_worker if settings.gpus_per_worker is not None else (0.25 if cluster_gpus else 0.0)
    if share < 0:
        raise WorkerError(f"{share:g} is not valid; valid: a number ≥ 0", field="gpus_per_worker")
    largest = _largest_node_gpus()
    if share > largest:
        raise WorkerError(
            f"{share:g} is more than any node of the cluster has ({largest:g} GPUs); valid: 0 to {largest:g}",
            field="gpus_per_worker",
        )
    return share


def _largest_node_gpus() -> float:
    return max((node["Resources"].get("GPU", 0.0) for node in ray.nodes() if node["Alive"]), default=0.0)


def _default_workers(cpus_per_worker: float, gpus_per_worker: float) -> int:
    have = ray.cluster_resources()
    by_cpu = int(have.get("CPU", 1) // max(cpus_per_worker, 1e-9))
    if gpus_per_worker > 0:
        return max(1, min(by_cpu, int(have.get("GPU", 0) / gpus_per_worker)))
    return max(1, by_cpu)
