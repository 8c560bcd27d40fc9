"""Supernet training on Ray Tune: an injected trial crash resumes from its checkpoint, exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from supernas.data import load_task
from supernas.supernet.checkpoint import load_supernet, read_checkpoint
from supernas.supernet.train import TrainConfig, train
from supernas.testing import tiny_space
from supernas.workers.tune import TuneSettings, run_tune

TINY = tiny_space(depth=(1, 2))
CONFIG = TrainConfig(epochs=3, batch_size=64, eval_subnets=2)


@pytest.mark.slow
def test_a_crashed_trial_resumes_from_its_checkpoint_and_matches_a_plain_run(ray_cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "crash-once"
    marker.write_text("")
    out = tmp_path / "tune.pt"
    settings = TuneSettings(device="cpu", crash_marker=str(marker), max_failures=2)
    metrics = run_tune("digits", TINY, CONFIG, out, settings)
    assert not marker.exists()  # the trial did crash once
    loaded = load_supernet(out)
    assert loaded.complete and metrics["score"] > 0
    plain = tmp_path / "plain.pt"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the trial (1 CPU): float reductions depend on the thread count
    try:
        train(load_task("digits"), TINY, CONFIG, plain)
    finally:
        torch.set_num_threads(threads)
    a, b = read_checkpoint(out)["model"], read_checkpoint(plain)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # the resumed trial computed exactly the plain run
    assert read_checkpoint(out)["epoch"] == CONFIG.epochs


@pytest.mark.slow
def test_a_small_sweep_returns_the_best_trial(ray_cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "sweep.pt"
    metrics = run_tune(
        "digits", TINY, TrainConfig(epochs=2, batch_size=64, eval_subnets=1), out, TuneSettings(trials=2, device="cpu")
    )
    assert set(metrics["hyperparameters"]) == {"lr", "weight_decay", "kd_weight", "random_subnets"}
    assert load_supernet(out).complete
