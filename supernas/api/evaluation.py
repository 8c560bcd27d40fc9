"""Where subnets are measured: one settings dataclass, and the local or Ray evaluator it opens."""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

from supernas.errors import SearchError, WorkerError, choices_text
from supernas.search.engine import EvalResult, Evaluator
from supernas.search_space import SubnetConfig
from supernas.supernet.checkpoint import LoadedSupernet
from supernas.supernet.measure import LatencySettings, SubnetMeasurer, pick_device

EXECUTORS = ("ray", "local")  # where evaluations run: a pool of Ray actors, or this process
MAX_WORKERS = 4096  # more actors than any cluster we know of
MAX_LATENCY_BATCH = 65_536  # examples per timed forward


@dataclass(frozen=True)
class EvaluationSettings:
    """Where and how subnets are measured; validated when built (ranges only, nothing is started)."""

    executor: str = "ray"  # "ray": a pool of actors; "local": in this process
    workers: int = 0  # Ray actors; 0: one per CPU (or per GPU share) of the cluster
    cpus_per_worker: float = 1.0  # CPUs reserved by each actor
    gpus_per_worker: float | None = None  # GPU share per actor; None: 0.25 when the cluster has GPUs
    ray_address: str | None = None  # an existing cluster; None: $RAY_ADDRESS or a local cluster
    device: str = "auto"  # device of the local executor: auto, cpu or cuda
    latency_batch: int = 1  # examples per timed forward

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise SearchError(f"{self.executor!r} is not valid; valid: {choices_text(EXECUTORS)}", field="executor")
        _check_int("workers", self.workers, 0, MAX_WORKERS, "0 (one per CPU) or a positive integer")
        check_number("cpus_per_worker", self.cpus_per_worker, 0.0, exclusive=True)
        if self.gpus_per_worker is not None:
            check_number("gpus_per_worker", self.gpus_per_worker, 0.0, exclusive=False)
        _check_int("latency_batch", self.latency_batch, 1, MAX_LATENCY_BATCH, "an integer")
        pick_device_name(self.device)
        if self.ray_address is not None:
            from supernas.workers.cluster import parse_address

            parse_address(self.ray_address)

    def check_resources(self) -> None:
        """Refuse a GPU share this machine cannot give, before any cluster starts or row is written."""
        if self.executor == "ray" and self.gpus_per_worker is not None:
            from supernas.workers.cluster import check_local_gpus

            check_local_gpus(self.ray_address, self.gpus_per_worker, "gpus_per_worker")

    def to_dict(self) -> dict[str, Any]:
        """What a search stores to be resumed with the same settings (the cluster address is not kept)."""
        stored = asdict(self)
        del stored["ray_address"]
        return stored

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any], **overrides: Any) -> EvaluationSettings:
        """The settings a search was stored with, with ``overrides`` (None values keep the stored ones)."""
        known = {
            k: stored[k]
            for k in ("executor", "workers", "cpus_per_worker", "gpus_per_worker", "device", "latency_batch")
            if k in stored
        }
        return replace(cls(**known), **{k: v for k, v in overrides.items() if v is not None})


def pick_device_name(device: str) -> None:
    """Check a device name without touching the device (``cuda`` needs a GPU, checked when used)."""
    if device not in ("auto", "cpu", "cuda"):
        raise WorkerError(f"{device!r} is not valid; valid: auto, cpu, cuda", field="device")


def _check_int(field: str, value: int, low: int, high: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise WorkerError(f"{value!r} is out of range; valid: {what} in {low}..{high}", field=field)


def check_number(field: str, value: float, low: float, exclusive: bool) -> None:
    """``value`` must be a finite number above ``low`` (or at least ``low`` unless ``exclusive``)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not number or not (value > low if exclusive else value >= low):
        shown = f"{value:g}" if number or isinstance(value, float) else repr(value)
        raise WorkerError(f"{shown} is out of range; valid: a number {'>' if exclusive else '>='} {low:g}", field=field)


class LocalEvaluator:
    """Measures configs one after another in this process."""

    def __init__(self, measurer: SubnetMeasurer, metrics: Sequence[str]) -> None:
        self.measurer, self.metrics = measurer, list(metrics)

    def evaluate(self, configs: Sequence[SubnetConfig], on_result: Callable[[int, EvalResult], None]) -> None:
        device = str(self.measurer.device)
        for index, config in enumerate(configs):
            start = time.perf_counter()
            try:
                metrics = self.measurer.measure(config, self.metrics)
            except Exception as exc:  # a failed evaluation is recorded, not fatal
                error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                on_result(index, EvalResult(None, error, "local", device, time.perf_counter() - start))
                continue
            on_result(index, EvalResult(metrics, None, "local", device, time.perf_counter() - start))


class RayEvaluator:
    """Measures configs on an evaluation pool, reporting each result as it completes."""

    def __init__(self, pool: Any, metrics: Sequence[str]) -> None:
        self.pool, self.metrics = pool, list(metrics)

    def evaluate(self, configs: Sequence[SubnetConfig], on_result: Callable[[int, EvalResult], None]) -> None:
        for r in self.pool.evaluate([c.to_dict() for c in configs], self.metrics):
            on_result(r.index, EvalResult(r.metrics, r.error, r.worker, r.device, r.seconds))


@contextmanager
def open_evaluator(loaded: LoadedSupernet, metrics: Sequence[str], settings: EvaluationSettings) -> Iterator[Evaluator]:
    """An evaluator of ``loaded``'s subnets on its task's validation split, cleaned up on exit.

    The Ray executor joins ``settings.ray_address`` (or starts a local cluster, shut down on exit)
    and runs a pool of actors that each hold the supernet once.
    """
    from supernas.data import load_task

    task = load_task(loaded.task)
    latency = LatencySettings(batch_size=settings.latency_batch)
    val = (task.val.x, task.val.y)
    if settings.executor == "local":
        measurer = SubnetMeasurer(loaded.supernet, val, latency=latency, device=pick_device(settings.device))
        yield LocalEvaluator(measurer, metrics)
        return
    from supernas.workers.cluster import ClusterSettings, RayCluster
    from supernas.workers.pool import EvaluationPool, PoolSettings, make_payload

    pool_settings = PoolSettings(
        workers=settings.workers,
        cpus_per_worker=settings.cpus_per_worker,
        gpus_per_worker=settings.gpus_per_worker,
        latency=latency,
    )
    with RayCluster(ClusterSettings(address=settings.ray_address)):
        pool = EvaluationPool(make_payload(loaded.supernet, val), pool_settings)
        try:
            yield RayEvaluator(pool, metrics)
        finally:
            pool.close()
