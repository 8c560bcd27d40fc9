from __future__ import annotations

import statistics

import pytest
import torch
from torch import nn

from supernas.errors import WorkerError
from supernas.search_space import InputSpec, SearchSpace, largest, smallest
from supernas.supernet import Supernet, extract
from supernas.supernet.measure import LatencySettings, accuracy, latency_ms, peak_memory_bytes, pick_device


def test_accuracy_counts_correct_predictions_across_batches() -> None:
    x = torch.eye(5)
    y = torch.tensor([0, 1, 2, 0, 0])
    assert accuracy(lambda t: t, x, y, batch_size=2) == 3 / 5


def test_latency_reports_the_median_and_restores_threads() -> None:
    threads = torch.get_num_threads()
    median, samples = latency_ms(nn.Linear(8, 8), torch.randn(1, 8), LatencySettings(repeats=11, threads=1))
    assert len(samples) == 11 and median == statistics.median(samples) and median > 0
    assert torch.get_num_threads() == threads


def test_peak_memory_covers_weights_and_grows_with_batch(space: SearchSpace, digits_spec: InputSpec) -> None:
    net = Supernet(space, digits_spec)
    big = extract(net, largest(space))
    weights = sum(p.numel() * 4 for p in big.parameters())
    one = peak_memory_bytes(big, torch.randn(1, 1, 8, 8))
    many = peak_memory_bytes(big, torch.randn(64, 1, 8, 8))
    assert weights < one < many
    assert peak_memory_bytes(extract(net, smallest(space)), torch.randn(64, 1, 8, 8)) < many


def test_device_selection() -> None:
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(WorkerError, match="valid: auto, cpu, cuda"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(WorkerError, match="no CUDA GPU is available"):
            pick_device("cuda")


def test_subnet_measurer_matches_direct_measurements(space: SearchSpace, digits_spec: InputSpec) -> None:
    from supernas.search_space import costs
    from supernas.supernet.measure import SubnetMeasurer

    net = Supernet(space, digits_spec, torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    val = (torch.randn(40, 1, 8, 8, generator=gen), torch.randint(0, 10, (40,), generator=gen))
    measurer = SubnetMeasurer(net, val, latency=LatencySettings(batch_size=4, repeats=3, warmup=1))
    config = smallest(space)
    got = measurer.measure(config, ["accuracy", "latency_ms", "peak_memory", "params", "macs", "model_bytes"])
    assert got["accuracy"] == accuracy(lambda x: net(x, config), *val)
    expected = costs(space, config, digits_spec)
    assert (got["params"], got["macs"], got["model_bytes"]) == (expected.params, expected.macs, expected.model_bytes)
    assert got["latency_ms"] > 0 and got["peak_memory"] > 4 * expected.params
    with pytest.raises(Exception, match="unknown metric 'flops'; valid: accuracy"):
        measurer.measure(config, ["flops"])
    with pytest.raises(Exception, match="no test split"):
        measurer.measure(config, ["test_accuracy"])
