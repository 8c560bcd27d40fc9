"""Measurements of one subnet: accuracy, latency and peak memory.

Shared by the in-process evaluator and the Ray actors so that both report the
same numbers for the same subnet.
"""

from __future__ import annotations

import statistics
import time
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode

from supernas.errors import SearchError, WorkerError
from supernas.search_space import SubnetConfig, costs
from supernas.supernet import Supernet, extract


@dataclass(frozen=True)
class LatencySettings:
    """How latency is measured."""

    batch_size: int = 1  # examples per timed forward
    warmup: int = 5  # untimed forwards first
    repeats: int = 15  # timed forwards; the median is reported
    threads: int = 1  # torch intra-op threads on CPU (fixed for comparable numbers)


def pick_device(requested: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda`` without a GPU raises."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise WorkerError("'cuda' was requested but no CUDA GPU is available; valid: auto, cpu", field="device")
    if requested not in ("cpu", "cuda"):
        raise WorkerError(f"{requested!r} is not valid; valid: auto, cpu, cuda", field="device")
    return torch.device(requested)


@torch.no_grad()
def accuracy(forward: Callable[[Tensor], Tensor], x: Tensor, y: Tensor, batch_size: int = 512) -> float:
    """Share of ``x`` classified as ``y``, evaluated in batches."""
    correct = 0
    for start in range(0, len(x), batch_size):
        logits = forward(x[start : start + batch_size])  # (B, K)
        correct += int((logits.argmax(dim=-1) == y[start : start + batch_size].to(logits.device)).sum())
    return correct / max(1, len(x))


@torch.no_grad()
def latency_ms(module: nn.Module, example: Tensor, settings: LatencySettings) -> tuple[float, list[float]]:
    """Median forward latency in milliseconds, and every timed sample.

    On CPU the intra-op thread count is pinned to ``settings.threads`` for the
    measurement; on CUDA each forward is synchronised before the clock stops.
    """
    module.eval()
    batch = example[:1].expand(settings.batch_size, *example.shape[1:]).contiguous()
    cuda = batch.device.type == "cuda"
    previous_threads = torch.get_num_threads()
    if not cuda:
        torch.set_num_threads(settings.threads)
    try:
        for _ in range(settings.warmup):
            module(batch)
        samples = []
        for _ in range(settings.repeats):
            if cuda:
                torch.cuda.synchronize(batch.device)
            start = time.perf_counter()
            module(batch)
            if cuda:
                torch.cuda.synchronize(batch.device)
            samples.append((time.perf_counter() - start) * 1e3)
    finally:
        torch.set_num_threads(previous_threads)
    return statistics.median(samples), samples


class _LiveBytes(TorchDispatchMode):
    """Tracks the bytes of tensors created during a forward and still alive; keeps the peak."""

    def __init__(self, existing: list[Tensor]) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._seen = {t.untyped_storage().data_ptr() for t in existing}  # views of these cost nothing

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for tensor in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(tensor, Tensor):
                self._track(tensor)
        return out

    def _track(self, tensor: Tensor) -> None:
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key in self._seen or storage.nbytes() == 0:
            return
        self._seen.add(key)
        size = storage.nbytes()
        self.live += size
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self._release, key, size)

    def _release(self, key: int, size: int) -> None:
        self._seen.discard(key)
        self.live -= size


@torch.no_grad()
def peak_memory_bytes(module: nn.Module, example: Tensor) -> int:
    """Peak bytes held during one inference forward: weights plus live activations.

    On CUDA this is the allocator's peak; on CPU, the peak of live tensors
    created during the forward (tracked op by op) plus parameter and buffer bytes.
    """
    module.eval()
    if example.device.type == "cuda":
        torch.cuda.synchronize(example.device)
        torch.cuda.reset_peak_memory_stats(example.device)
        module(example)
        torch.cuda.synchronize(example.device)
        return int(torch.cuda.max_memory_allocated(example.device))
    existing = [*module.parameters(), *module.buffers(), example]
    weights = sum(t.numel() * t.element_size() for t in existing[:-1])
    tracker = _LiveBytes(existing)
    with tracker:
        module(example)
    return weights + tracker.peak


MEASURED = ("accuracy", "test_accuracy", "latency_ms", "peak_memory")  # metrics that need a forward
ANALYTIC = ("params", "macs", "model_bytes")  # metrics computed from the config alone


class SubnetMeasurer:
    """Measures subnets of one supernet on one device.

    ``measure(config, metrics)`` extracts the subnet, then computes the requested
    metrics: accuracy on the validation split (``test_accuracy`` on the test split,
    for final reports only), median latency per forward of ``latency.batch_size``
    examples, peak inference memory for one such batch, and the analytic costs.
    """

    def __init__(
        self,
        supernet: Supernet,
        val: tuple[Tensor, Tensor],
        test: tuple[Tensor, Tensor] | None = None,
        latency: LatencySettings | None = None,
        device: torch.device | None = None,
        batch_size: int = 512,
    ) -> None:
        self.device = device or torch.device("cpu")
        self.supernet = supernet.to(self.device).eval()
        self.val = (val[0].to(self.device), val[1].to(self.device))
        self.test = None if test is None else (test[0].to(self.device), test[1].to(self.device))
        self.latency = latency or LatencySettings()
        self.batch_size = batch_size

    def measure(
        self, config: SubnetConfig, metrics: tuple[str, ...] | list[str], guard: Guard | None = None
    ) -> dict[str, float]:
        """The requested metrics of ``config``.

        ``guard(exclusive)`` wraps each phase: the extraction and accuracy phase is
        entered with ``exclusive=False``, the timed phase (latency, peak memory)
        with ``exclusive=True``. The Ray workers pass their device lease here.
        """
        unknown = sorted(set(metrics) - set(MEASURED) - set(ANALYTIC))
        if unknown:
            raise SearchError(f"unknown metric {unknown[0]!r}; valid: {', '.join(MEASURED + ANALYTIC)}")
        if "test_accuracy" in metrics and self.test is None:
            raise SearchError("test_accuracy was requested but no test split was given")
        guard = guard or _no_guard
        results: dict[str, float] = {}
        with guard(False):
            static = extract(self.supernet, config).eval()
            if "accuracy" in metrics:
                results["accuracy"] = accuracy(static, *self.val, batch_size=self.batch_size)
            if "test_accuracy" in metrics and self.test is not None:
                results["test_accuracy"] = accuracy(static, *self.test, batch_size=self.batch_size)
        example = self.val[0][:1]  # (1, ...): repeated to the latency batch size
        if "latency_ms" in metrics or "peak_memory" in metrics:
            with guard(True):
                if "latency_ms" in metrics:
                    results["latency_ms"] = latency_ms(static, example, self.latency)[0]
                if "peak_memory" in metrics:
                    batch = example.expand(self.latency.batch_size, *example.shape[1:]).contiguous()
                    results["peak_memory"] = float(peak_memory_bytes(static, batch))
        analytic = costs(self.supernet.space, config, self.supernet.spec)
        for name in ANALYTIC:
            if name in metrics:
                results[name] = float(getattr(analytic, name))
        return results


Guard = Callable[[bool], AbstractContextManager[Any]]


def _no_guard(exclusive: bool) -> AbstractContextManager[Any]:
    return nullcontext()
