"""Test helpers shipped with supernas: a synthetic search problem, the tiny space, fault injection, the CLI.

* **A synthetic problem** over the real genome, small enough to enumerate: its
  "accuracy" rises with capacity (log MACs, bits, kept tokens, LoRA) with
  diminishing returns plus a small deterministic per-architecture perturbation,
  and its "latency_ms" grows with MACs and falls with lower bit widths, so the
  objectives conflict the way real ones do. The exact front comes from
  enumerating every canonical architecture.
* :func:`tiny_space`: the ``tiny`` preset at patch size 2 (8×8 inputs).
* **Fault injection**: :func:`maybe_crash` makes exactly one process exit while a
  marker file exists (the Ray pool and Tune trials call it when their marker is set).
* :func:`start_cli` / :func:`run_cli`: the ``supernas`` command in a real subprocess,
  for tests and benchmarks.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supernas.search_space import InputSpec, SearchSpace, SubnetConfig, costs, token_counts
from supernas.search_space.presets import TINY_FIELDS

if TYPE_CHECKING:
    from supernas.search.engine import EvalResult

CRASH_MARKER_ENV = "SUPERNAS_TEST_CRASH_MARKER"  # a Ray evaluation worker exits once while this file exists


def tiny_space(**overrides: Any) -> SearchSpace:
    """A small space with every axis active (the ``tiny`` preset, patch size 2 for 8×8 images)."""
    return SearchSpace(**{**TINY_FIELDS, "patch_size": 2, **overrides})


def maybe_crash(marker: str | None) -> None:
    """Fault injection: exit the process at once if it is the one that removes ``marker``.

    Exactly one of several racing processes removes the file, so exactly one exits.
    """
    if not marker:
        return
    try:
        os.remove(marker)
    except FileNotFoundError:
        return
    os._exit(1)


def start_cli(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, new_session: bool = False, quiet: bool = False
) -> subprocess.Popen[str]:
    """``supernas ARGS`` in a new process (one intra-op thread, no colours), pipes for stdout and stderr.

    ``new_session`` makes it a process group of its own (kill it with the processes it starts, e.g.
    Ray's, via ``os.killpg``); ``quiet`` discards its output instead of piping it.
    """
    full_env = {**os.environ, "NO_COLOR": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    output = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen(
        [sys.executable, "-m", "supernas.cli.main", *args],
        cwd=cwd,
        env=full_env,
        text=True,
        stdout=output,
        stderr=output,
        start_new_session=new_session,
    )


def run_cli(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``supernas ARGS`` to completion; stdout and stderr captured as text."""
    proc = start_cli(*args, cwd=cwd, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def completed_evaluations(url: str, search: str) -> int:
    """COMPLETE evaluations of ``search`` in the store at ``url``; 0 while the store or search does not exist yet
    (for polling a search another process runs)."""
    from sqlalchemy.exc import SQLAlchemyError

    from supernas.errors import SupernasError
    from supernas.store import EvaluationStatus, Store

    try:
        with Store.open(url) as store:
            return store.count_evaluations(search)[EvaluationStatus.COMPLETE]
    except (SupernasError, SQLAlchemyError):  # not created yet, or busy mid-write
        return 0


SYNTHETIC_SPACE = SearchSpace(
    depth=(1, 2, 3),
    embed_dim=(16, 24, 32),
    heads=(1, 2),
    head_dim=8,
    mlp_ratio=(1.0, 2.0),
    loops=(1, 2),
    lora_rank=(0, 4),
    weight_bits=(4, 8, 32),
    act_bits=(32,),
    reduction_layers=(2,),
    keep_ratio=(0.5, 1.0),
    patch_size=2,
)
SYNTHETIC_SPEC = InputSpec("image", (1, 8, 8), 10)  # 32,004 architectures


def synthetic_metrics(space: SearchSpace, spec: InputSpec, config: SubnetConfig) -> dict[str, float]:
    """Deterministic accuracy, latency and analytic costs of ``config``."""
    c = costs(space, config, spec)
    d = config.depth
    bits = sum(min(w, 8) / 8 + min(a, 16) / 16 for w, a in zip(config.weight_bits[:d], config.act_bits[:d])) / (2 * d)
    tokens = sum(token_counts(space, config, spec)[:d]) / (d * token_counts(space, config, spec)[0])
    lora = sum(config.lora_rank[:d]) / (d * max(space.lora_rank)) if config.unique_blocks < d else 0.0
    capacity = 0.55 * math.log(c.macs) + 0.4 * math.log(c.params) + 1.2 * bits + 0.6 * tokens + 0.3 * lora
    noise = int(hashlib.sha256(config.arch_id.encode()).hexdigest()[:8], 16) / 16**8 - 0.5
    accuracy = 1.0 / (1.0 + math.exp(-(capacity - 12.0) / 1.5)) + 0.004 * noise
    speed = sum(0.6 + 0.4 * w / 32 for w in config.weight_bits[:d]) / d
    latency = 0.05 + 1e-5 * c.macs * speed + 0.02 * d
    return {
        "accuracy": accuracy,
        "latency_ms": latency,
        "params": float(c.params),
        "macs": float(c.macs),
        "model_bytes": float(c.model_bytes),
        "peak_memory": float(c.model_bytes + 4 * c.macs / max(1, d)),
    }


class SyntheticEvaluator:
    """An :class:`~supernas.search.engine.Evaluator` computing :func:`synthetic_metrics`."""

    def __init__(self, space: SearchSpace = SYNTHETIC_SPACE, spec: InputSpec = SYNTHETIC_SPEC) -> None:
        self.space, self.spec = space, spec
        self.calls = 0  # configs evaluated, for tests

    def evaluate(self, configs: Sequence[SubnetConfig], on_result: Callable[[int, EvalResult], None]) -> None:
        from supernas.search.engine import EvalResult

        for i, config in enumerate(configs):
            self.calls += 1
            on_result(i, EvalResult(synthetic_metrics(self.space, self.spec, config), worker="synthetic"))
