"""``supernas/testing.py``: the synthetic search problem, the tiny space, fault injection, the CLI helpers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from supernas.search import EvalResult
from supernas.search_space import canonical, count_architectures, largest, smallest
from supernas.search_space.enumerate import enumerate_configs
from supernas.search_space.presets import TINY_FIELDS
from supernas.testing import (
    SYNTHETIC_SPACE,
    SYNTHETIC_SPEC,
    SyntheticEvaluator,
    completed_evaluations,
    maybe_crash,
    run_cli,
    start_cli,
    synthetic_metrics,
    tiny_space,
)


def test_the_exact_front_is_enumerable() -> None:
    configs = list(enumerate_configs(SYNTHETIC_SPACE))
    assert len(configs) == count_architectures(SYNTHETIC_SPACE) == len({c.arch_id for c in configs})


def test_synthetic_objectives_are_deterministic_and_conflict() -> None:
    small, big = smallest(SYNTHETIC_SPACE), largest(SYNTHETIC_SPACE)
    a, b = (
        synthetic_metrics(SYNTHETIC_SPACE, SYNTHETIC_SPEC, small),
        synthetic_metrics(SYNTHETIC_SPACE, SYNTHETIC_SPEC, big),
    )
    assert a == synthetic_metrics(SYNTHETIC_SPACE, SYNTHETIC_SPEC, small)
    assert set(a) == {"accuracy", "latency_ms", "params", "macs", "model_bytes", "peak_memory"}
    assert b["accuracy"] > a["accuracy"] and b["latency_ms"] > a["latency_ms"]  # capacity costs time
    assert 0.0 < a["accuracy"] < b["accuracy"] < 1.0
    assert b["params"] > a["params"] and b["macs"] > a["macs"]


def test_synthetic_evaluator_reports_each_config_once_and_counts_calls() -> None:
    configs = [smallest(SYNTHETIC_SPACE), largest(SYNTHETIC_SPACE)]
    got: list[tuple[int, EvalResult]] = []
    evaluator = SyntheticEvaluator()
    evaluator.evaluate(configs, lambda i, r: got.append((i, r)))
    assert [i for i, _ in got] == [0, 1] and evaluator.calls == 2
    assert got[1][1].metrics == synthetic_metrics(SYNTHETIC_SPACE, SYNTHETIC_SPEC, configs[1])
    assert got[0][1].worker == "synthetic" and got[0][1].error is None


def test_tiny_space_is_the_tiny_preset_at_patch_size_two_with_overrides() -> None:
    space = tiny_space()
    assert space.patch_size == 2 and space.depth == TINY_FIELDS["depth"]
    narrowed = tiny_space(depth=(1, 2))
    assert narrowed.depth == (1, 2) and narrowed.embed_dim == space.embed_dim
    assert canonical(narrowed, smallest(narrowed)).depth == 1


def test_maybe_crash_returns_without_a_marker(tmp_path: Path) -> None:
    maybe_crash(None)
    maybe_crash("")
    maybe_crash(str(tmp_path / "absent"))  # another process removed it first: nothing happens


def test_maybe_crash_exits_exactly_the_process_that_removes_the_marker(tmp_path: Path) -> None:
    marker = tmp_path / "crash"
    marker.touch()
    code = f"from supernas.testing import maybe_crash; maybe_crash({str(marker)!r}); print('survived')"
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert first.returncode == 1 and first.stdout == "" and not marker.exists()
    assert second.returncode == 0 and second.stdout.strip() == "survived"


def test_run_cli_captures_output_and_exit_status(tmp_path: Path) -> None:
    done = run_cli("--help", cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and "Usage" in done.stdout and "\x1b[" not in done.stdout


def test_start_cli_passes_the_environment(tmp_path: Path) -> None:
    proc = start_cli("db", "info", cwd=tmp_path, env={"SUPERNAS_STORAGE": f"sqlite:///{tmp_path / 'none.db'}"})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and out == "" and "none.db" in err and not (tmp_path / "none.db").exists()
    with pytest.raises(subprocess.TimeoutExpired):
        run_cli("--help", cwd=tmp_path, timeout=0.001)


def test_completed_evaluations_counts_completes_and_is_0_before_the_store_or_search_exists(tmp_path: Path) -> None:
    from supernas.search_space import sample
    from supernas.store import Store

    url = f"sqlite:///{tmp_path / 'poll.db'}"
    assert completed_evaluations(url, "s") == 0  # no database yet
    configs = [sample(SYNTHETIC_SPACE, np.random.default_rng(seed)) for seed in range(3)]
    with Store.open(url, create=True) as store:
        assert completed_evaluations(url, "s") == 0  # no search yet
        store.create_search("s", "random", [{"name": "accuracy", "direction": "max"}], [], 3, 3, 0)
        store.add_pending("s", 0, [(c.arch_id, c.to_dict(), None) for c in configs])
        for c in configs[:2]:
            store.complete("s", c.arch_id, synthetic_metrics(SYNTHETIC_SPACE, SYNTHETIC_SPEC, c))
    assert completed_evaluations(url, "s") == 2
