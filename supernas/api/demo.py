"""The embedded default end to end: train a supernet on digits, search it, fine-tune the knee, plot the front,
export the knee."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from supernas.api.evaluation import EvaluationSettings
from supernas.api.exports import ExportRequest, ExportResult, export_search
from supernas.api.finetune import EpochProgress, FinetuneReport, FinetuneSettings, Selection, finetune_subnets
from supernas.api.plots import front_plot
from supernas.api.reports import FrontReport
from supernas.api.searches import (
    ProgressCallback,
    SearchRequest,
    StartCallback,
    free_search_name,
    start_search,
)
from supernas.api.supernets import check_continuable, prepare_training, train_supernet
from supernas.atomic import check_writable
from supernas.errors import SupernasError, TrainingError
from supernas.export.artifacts import check_out
from supernas.store import EvaluationStatus, Store
from supernas.supernet.checkpoint import load_supernet
from supernas.supernet.finetune import MAX_EPOCHS
from supernas.supernet.train import EpochCallback, TrainConfig

CHECKPOINT = "digits-demo.pt"  # the demo's supernet, in its directory
SEARCH = "demo"  # the demo search's name (made unique when taken)
OBJECTIVES = "accuracy,latency_ms"
BATCH = 10  # subnets per search iteration
STAGES = 4
FINETUNE_EPOCHS = 5  # fine-tuning epochs of the knee (about 15 s of training on 1 CPU thread)


@dataclass(frozen=True)
class DemoPlan:
    """A checked demo run: where everything goes and how much work it does."""

    directory: Path  # where supernas.db, the checkpoint, front.png and export/ go
    config: TrainConfig  # supernet training (reduced epochs)
    request: SearchRequest  # the linas search
    evaluation: EvaluationSettings  # where subnets are measured
    finetune: FinetuneSettings | None = None  # fine-tuning of the knee; None: the demo only prints the command

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
    directory: str | Path = ".",
    *,
    epochs: int = 30,
    budget: int = 50,
    executor: str = "ray",
    seed: int = 0,
    finetune_epochs: int = FINETUNE_EPOCHS,
) -> DemoPlan:
    """Check every option of the demo, and what its directory already holds, before any work
    (``finetune_epochs`` 0: skip fine-tuning the knee)."""
    directory = Path(directory)
    check_writable(directory, "directory")
    evaluation = EvaluationSettings(executor=executor)
    if isinstance(finetune_epochs, bool) or not 0 <= finetune_epochs <= MAX_EPOCHS:
        raise TrainingError(
            f"{finetune_epochs!r} is out of range; valid: an integer in 0..{MAX_EPOCHS} (0: skip)",
            field="finetune_epochs",
        )
    finetune = None
    if finetune_epochs != 0:
        finetune = FinetuneSettings(
            epochs=finetune_epochs, seed=seed, execution=evaluation, directory=directory / "trainings"
        )
    config = TrainConfig(epochs=epochs, seed=seed)
    request = SearchRequest.parse(OBJECTIVES, [], "linas", budget, BATCH, seed)
    _check_contents(directory, config)
    return DemoPlan(directory, config, request, evaluation, finetune)


def _check_contents(directory: Path, config: TrainConfig) -> None:
    """What the demo reuses or writes in ``directory`` must be usable: a checkpoint (loadable, and one it would
    continue training with ``config``), a database (a supernas one), an export directory (new or empty); errors
    name ``directory``."""
    checkpoint = directory / CHECKPOINT
    try:
        if checkpoint.exists() and not load_supernet(checkpoint).complete:
            plan = prepare_training(checkpoint, task="digits", settings=_settings(config), resume=True)
            try:
                check_continuable(plan)
            except TrainingError:
                raise TrainingError(
                    f"{str(checkpoint)!r} is an unfinished training with other settings than these; valid: the "
                    "settings it was started with, or another directory"
                ) from None
        Store.check_url(f"sqlite:///{(directory / 'supernas.db').resolve()}")
        check_out(directory / "export")
    except SupernasError as exc:
        raise type(exc)(f": {exc.detail.lstrip(':, ')}", field="directory") from None


@dataclass(frozen=True)
class DemoCallbacks:
    """What a display is told while the demo runs (each may be None)."""

    stage: Callable[[int, str], None] | None = None  # (stage number, what it does) when a stage begins
    note: Callable[[str], None] | None = None  # a remark within a stage
    epoch: EpochCallback | None = None  # after every training epoch
    search_start: StartCallback | None = None  # before the search measures
    progress: ProgressCallback | None = None  # after every search iteration
    searched: Callable[[FrontReport], None] | None = None  # the search's measured front
    finetune_epoch: EpochProgress | None = None  # after every fine-tuning epoch of the knee


@dataclass(frozen=True)
class DemoResult:
    """What the demo made."""

    search: str  # the search's name
    front: FrontReport  # its measured front
    export: ExportResult  # the exported knee
    finetuned: FinetuneReport | None  # the knee's fine-tuning (None when skipped)
    seconds: float  # wall time of the whole demo


def run_demo(plan: DemoPlan, callbacks: DemoCallbacks | None = None) -> DemoResult:
    """Train (or reuse) the demo supernet, search it with linas, fine-tune the knee (when planned), plot every
    measured subnet, export the knee (with its trained weights, when it has them)."""
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

    finetuned = None
    if plan.finetune is None:
        stage(3, f"Plotting every measured subnet and the front → {plan.plot}; exporting the knee → {plan.export_dir}")
        if cb.note is not None:
            cb.note(f"fine-tune the knee later with: supernas finetune {name} --knee --storage {plan.storage}")
    else:
        stage(
            3,
            f"Fine-tuning the knee for {plan.finetune.epochs} epochs (distilling from the largest subnet); "
            f"plotting the front → {plan.plot}; exporting the trained knee → {plan.export_dir}",
        )
        finetuned = finetune_subnets(
            name, Selection(knee=True), plan.finetune, storage=plan.storage, on_epoch=cb.finetune_epoch
        )
    with Store.open(plan.storage) as store:
        exported = export_search(store, ExportRequest(name, plan.export_dir, fmt="pt2", knee=True))
        points = [e.metrics for e in store.evaluations(name, EvaluationStatus.COMPLETE) if e.metrics]
    title = f"supernas demo: {len(points)} measured subnets"
    front_plot(points, "latency_ms", "accuracy", plan.plot, title, [exported.metrics["searched"]])
    return DemoResult(name, front, exported, finetuned, time.perf_counter() - start)


def _settings(config: TrainConfig) -> dict[str, int]:
    return {"epochs": config.epochs, "seed": config.seed}
