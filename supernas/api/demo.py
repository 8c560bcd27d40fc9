"""The embedded default end to end: train a supernet on digits, search it, plot the front, export the knee."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from supernas.api.evaluation import EvaluationSettings
from supernas.api.exports import ExportRequest, ExportResult, export_search
from supernas.api.plots import front_plot
from supernas.api.searches import (
    FrontReport,
    ProgressCallback,
    SearchRequest,
    StartCallback,
    free_search_name,
    start_search,
)
from supernas.api.supernets import prepare_training, train_supernet
from supernas.atomic import check_writable
from supernas.store import EvaluationStatus, Store
from supernas.supernet.checkpoint import load_supernet
from supernas.supernet.train import EpochCallback, TrainConfig

CHECKPOINT = "digits-demo.pt"  # the demo's supernet, in its directory
SEARCH = "demo"  # the demo search's name (made unique when taken)
OBJECTIVES = "accuracy,latency_ms"
BATCH = 10  # subnets per search iteration
STAGES = 4


@dataclass(frozen=True)
class DemoPlan:
    """A checked demo run: where everything goes and how much work it does."""

    directory: Path  # where supernas.db, the checkpoint, front.png and export/ go
    config: TrainConfig  # supernet training (reduced epochs)
    request: SearchRequest  # the linas search
    evaluation: EvaluationSettings  # where subnets are measured

    @property
    def storage(self) -> str:
        return f"sqlite:///{(self.directory / 'supernas.db').resolve()}"

    @property
    def checkpoint(self) -> Path:
        return self.directory / CHECKPOINT

    @property
    def export_dir(self) -> Path:
        return self.directory / "export"

    @property
    def plot(self) -> Path:
        return self.directory / "front.png"


def prepare_demo(
    directory: str | Path = ".", *, epochs: int = 30, budget: int = 50, executor: str = "ray", seed: int = 0
) -> DemoPlan:
    """Check every option of the demo before any work."""
    directory = Path(directory)
    check_writable(directory, "directory")
    return DemoPlan(
        directory,
        TrainConfig(epochs=epochs, seed=seed),
        SearchRequest.parse(OBJECTIVES, [], "linas", budget, BATCH, seed),
        EvaluationSettings(executor=executor),
    )


@dataclass(frozen=True)
class DemoCallbacks:
    """What a display is told while the demo runs (each may be None)."""

    stage: Callable[[int, str], None] | None = None  # (stage number, what it does) when a stage begins
    note: Callable[[str], None] | None = None  # a remark within a stage
    epoch: EpochCallback | None = None  # after every training epoch
    search_start: StartCallback | None = None  # before the search measures
    progress: ProgressCallback | None = None  # after every search iteration
    searched: Callable[[FrontReport], None] | None = None  # the search's measured front


@dataclass(frozen=True)
class DemoResult:
    """What the demo made."""

    search: str  # the search's name
    front: FrontReport  # its measured front
    export: ExportResult  # the exported knee
    seconds: float  # wall time of the whole demo


def run_demo(plan: DemoPlan, callbacks: DemoCallbacks | None = None) -> DemoResult:
    """Train (or reuse) the demo supernet, search it with linas, plot every measured subnet, export the knee."""
    cb = callbacks or DemoCallbacks()
    start = time.perf_counter()

    def stage(number: int, text: str) -> None:
        if cb.stage is not None:
            cb.stage(number, text)

    stage(1, f"Training a five-axis supernet on digits for {plan.config.epochs} epochs → {plan.checkpoint}")
    if plan.checkpoint.exists() and load_supernet(plan.checkpoint).complete:
        if cb.note is not None:
            cb.note(f"{plan.checkpoint} is already trained; reusing it")
    else:
        training = prepare_training(
            plan.checkpoint, task="digits", settings=_settings(plan.config), resume=plan.checkpoint.exists()
        )
        train_supernet(training, on_epoch=cb.epoch)

    stage(2, f"Searching it: linas, objectives accuracy and latency_ms, {plan.request.budget} measured subnets")
    with Store.open(plan.storage, create=True) as store:
        name = free_search_name(store, SEARCH)
    front = start_search(
        str(plan.checkpoint),
        plan.request,
        plan.evaluation,
        name=name,
        storage=plan.storage,
        on_start=cb.search_start,
        on_progress=cb.progress,
    )
    if cb.searched is not None:
        cb.searched(front)

    stage(3, f"Plotting every measured subnet and the front → {plan.plot}; exporting the knee → {plan.export_dir}")
    with Store.open(plan.storage) as store:
        exported = export_search(store, ExportRequest(name, plan.export_dir, fmt="pt2", knee=True))
        points = [e.metrics for e in store.evaluations(name, EvaluationStatus.COMPLETE) if e.metrics]
    title = f"supernas demo: {len(points)} measured subnets"
    front_plot(points, "latency_ms", "accuracy", plan.plot, title, [exported.metrics["searched"]])
    return DemoResult(name, front, exported, time.perf_counter() - start)


def _settings(config: TrainConfig) -> dict[str, int]:
    return {"epochs": config.epochs, "seed": config.seed}
