"""Evaluators: in-process on the supernet's inherited weights, or on the Ray pool."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence

from supernas.search.engine import EvalResult
from supernas.search_space import SubnetConfig
from supernas.workers.measure import SubnetMeasurer
from supernas.workers.pool import EvaluationPool


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
    """Measures configs on an :class:`EvaluationPool`, reporting each result as it completes."""

    def __init__(self, pool: EvaluationPool, metrics: Sequence[str]) -> None:
        self.pool, self.metrics = pool, list(metrics)

    def evaluate(self, configs: Sequence[SubnetConfig], on_result: Callable[[int, EvalResult], None]) -> None:
        for r in self.pool.evaluate([c.to_dict() for c in configs], self.metrics):
            on_result(r.index, EvalResult(r.metrics, r.error, r.worker, r.device, r.seconds))
