"""``api/evaluation.py``: evaluation settings (validation, storage, overrides) and the local evaluator."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from supernas.api.evaluation import EvaluationSettings, LocalEvaluator
from supernas.errors import SearchError, SupernasError, WorkerError
from supernas.search import EvalResult
from supernas.search_space import SubnetConfig, largest, smallest
from supernas.supernet.checkpoint import load_supernet
from supernas.supernet.measure import SubnetMeasurer


@pytest.mark.parametrize(
    ("fields", "error", "field", "needle"),
    [
        ({"executor": "slurm"}, SearchError, "executor", "'slurm' is not valid; valid: ray, local"),
        ({"workers": -1}, WorkerError, "workers", "-1 is out of range; valid: 0 (one per CPU) or a positive integer"),
        ({"workers": 4097}, WorkerError, "workers", "4097 is out of range"),
        ({"workers": True}, WorkerError, "workers", "True is out of range"),
        ({"cpus_per_worker": 0.0}, WorkerError, "cpus_per_worker", "0 is out of range; valid: a number > 0"),
        ({"cpus_per_worker": math.nan}, WorkerError, "cpus_per_worker", "nan is out of range"),
        ({"cpus_per_worker": math.inf}, WorkerError, "cpus_per_worker", "inf is out of range"),
        ({"gpus_per_worker": -0.5}, WorkerError, "gpus_per_worker", "-0.5 is out of range; valid: a number >= 0"),
        ({"latency_batch": 0}, WorkerError, "latency_batch", "0 is out of range; valid: an integer in 1..65536"),
        ({"device": "tpu"}, WorkerError, "device", "'tpu' is not valid; valid: auto, cpu, cuda"),
    ],
)
def test_invalid_settings_name_the_field(
    fields: dict[str, object], error: type[SupernasError], field: str, needle: str
) -> None:
    with pytest.raises(error, match=re.escape(needle)) as info:
        EvaluationSettings(**fields)  # type: ignore[arg-type]
    assert info.value.field == field and str(info.value).startswith(f"{field} ")


def test_edge_values_are_accepted() -> None:
    s = EvaluationSettings(
        executor="local", workers=4096, cpus_per_worker=0.25, gpus_per_worker=0.0, latency_batch=65536
    )
    assert (s.workers, s.gpus_per_worker, s.latency_batch) == (4096, 0.0, 65536)


def test_stored_settings_round_trip_without_the_cluster_address() -> None:
    s = EvaluationSettings(
        workers=3, cpus_per_worker=0.5, gpus_per_worker=0.25, ray_address="10.0.0.1:6379", latency_batch=8
    )
    stored = s.to_dict()
    assert "ray_address" not in stored
    assert stored == {
        "executor": "ray",
        "workers": 3,
        "cpus_per_worker": 0.5,
        "gpus_per_worker": 0.25,
        "device": "auto",
        "latency_batch": 8,
    }
    assert EvaluationSettings.from_stored(stored) == replace(s, ray_address=None)
    searched = {**stored, "strategy_options": {"sampler": "tpe"}}  # what a search stores next to them
    assert EvaluationSettings.from_stored(searched) == replace(s, ray_address=None)


def test_overrides_replace_stored_values_and_none_keeps_them() -> None:
    stored = EvaluationSettings(workers=3, latency_batch=8).to_dict()
    s = EvaluationSettings.from_stored(stored, executor="local", workers=None, ray_address="10.0.0.2:6379")
    assert (s.executor, s.workers, s.latency_batch, s.ray_address) == ("local", 3, 8, "10.0.0.2:6379")
    with pytest.raises(WorkerError, match=r"^workers -2 is out of range"):
        EvaluationSettings.from_stored(stored, workers=-2)  # overrides are validated too
    assert EvaluationSettings.from_stored({}) == EvaluationSettings()


def test_check_resources_refuses_a_gpu_share_this_machine_lacks() -> None:
    have = torch.cuda.device_count()
    with pytest.raises(
        WorkerError, match=rf"^gpus_per_worker {have + 1} is more than this machine has \({have} GPUs\)"
    ):
        EvaluationSettings(gpus_per_worker=float(have + 1)).check_resources()
    EvaluationSettings(executor="local", gpus_per_worker=float(have + 1)).check_resources()  # local: no Ray share
    EvaluationSettings(gpus_per_worker=0.0).check_resources()


def test_the_local_evaluator_records_a_failing_config_and_keeps_going(tiny_checkpoint: Path) -> None:
    loaded = load_supernet(tiny_checkpoint)
    space = loaded.supernet.space
    generator = torch.Generator().manual_seed(0)
    val = (torch.randn(16, 1, 8, 8, generator=generator), torch.randint(0, 10, (16,), generator=generator))
    evaluator = LocalEvaluator(SubnetMeasurer(loaded.supernet, val), ["accuracy", "params"])
    too_deep = SubnetConfig.from_dict({**largest(space).to_dict(), "depth": max(space.depth) + 1})
    configs = [smallest(space), too_deep, largest(space)]
    results: list[tuple[int, EvalResult]] = []
    evaluator.evaluate(configs, lambda i, r: results.append((i, r)))
    assert [i for i, _ in results] == [0, 1, 2]
    ok, failed, last = (r for _, r in results)
    assert failed.metrics is None and failed.error is not None and "SearchSpaceError: " in failed.error
    assert "depth" in failed.error and failed.worker == "local" and failed.device == "cpu"
    for r in (ok, last):
        assert r.error is None and r.metrics is not None and set(r.metrics) == {"accuracy", "params"}
        assert 0.0 <= r.metrics["accuracy"] <= 1.0 and r.seconds > 0
    assert ok.metrics["params"] < last.metrics["params"]  # type: ignore[index]


@pytest.mark.parametrize("fields", [{"cpus_per_worker": "2"}, {"gpus_per_worker": "0.5"}])
def test_a_value_that_is_not_a_number_is_refused_naming_the_field(fields: dict[str, object]) -> None:
    with pytest.raises(WorkerError, match="is out of range; valid: a number") as info:
        EvaluationSettings(**fields)  # type: ignore[arg-type]
    assert info.value.field == next(iter(fields))
