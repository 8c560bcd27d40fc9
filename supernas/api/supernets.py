"""Supernets: train one (in this process or on Ray Tune), register it, find it again by path or name.

Training is two steps so that nothing is written before everything is checked:
:func:`prepare_training` resolves the task, the space and the settings (those of the
checkpoint being resumed, overridden by what is given) and checks the output file;
:func:`train_supernet` or :func:`train_supernet_on_ray` then runs the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supernas.api.evaluation import check_number
from supernas.atomic import check_writable
from supernas.data import TaskData, load_task
from supernas.errors import CheckpointError, TrainingError, WorkerError
from supernas.search_space import SearchSpace, default_space
from supernas.store import Store, SupernetRecord
from supernas.supernet.checkpoint import LoadedSupernet, load_supernet, read_checkpoint
from supernas.supernet.measure import pick_device
from supernas.supernet.train import EpochCallback, StepCallback, TrainConfig, TrainResult, train

MAX_TRIALS = 1000  # Ray Tune trials of one sweep


@dataclass(frozen=True)
class TrainingPlan:
    """A checked training run: what will be trained, how, and where it goes. Building one writes nothing."""

    out: Path  # the checkpoint file, rewritten atomically after every epoch
    task: TaskData  # the task's splits
    space: SearchSpace  # the space the supernet spans
    config: TrainConfig  # hyperparameters
    resume: bool  # continue ``out`` when it exists
    done_epochs: int  # epochs already in ``out`` (0 for a new run)


def prepare_training(
    out: str | Path,
    *,
    task: str | None = None,
    space: SearchSpace | str | Path | None = None,
    settings: Mapping[str, Any] | None = None,
    resume: bool = False,
) -> TrainingPlan:
    """Check a training run before anything is written.

    ``task`` defaults to the resumed checkpoint's task, else ``digits``; ``space`` (a space, or a
    ``.toml``/``.json`` file) to the checkpoint's, else the task's built-in space; ``settings``
    (TrainConfig fields) override the checkpoint's. Without ``resume`` an existing ``out`` is an error.
    """
    out = Path(out)
    if out.exists() and not resume:
        raise TrainingError(
            f"{str(out)!r} already exists; pass `resume` to continue it or choose another file", field="out"
        )
    if not out.parent.is_dir():
        raise TrainingError(f"{str(out)!r}: directory {str(out.parent)!r} does not exist", field="out")
    check_writable(out.parent, "out")
    stored = read_checkpoint(out) if resume and out.exists() else None
    config = TrainConfig.from_dict({**(stored["train_config"] if stored else {}), **(settings or {})})
    task_data = load_task(task or (stored["task"] if stored else "digits"))
    if isinstance(space, SearchSpace):
        chosen = space
    elif space is not None:
        chosen = SearchSpace.load(space)
    elif stored is not None:
        chosen = SearchSpace.from_dict(stored["space"], source=f"checkpoint {out}")
    else:
        chosen = default_space(task_data.spec)
    chosen.check_input(task_data.spec)
    return TrainingPlan(out, task_data, chosen, config, resume, int(stored["epoch"]) if stored else 0)


def train_supernet(
    plan: TrainingPlan,
    *,
    device: str = "auto",
    on_step: StepCallback | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Run ``plan`` in this process (CUDA with bf16 autocast when ``device`` resolves to it)."""
    return train(
        plan.task,
        plan.space,
        plan.config,
        plan.out,
        resume=plan.resume,
        device=pick_device(device),
        on_step=on_step,
        on_epoch=on_epoch,
    )


@dataclass(frozen=True)
class RayTrainSettings:
    """How training runs on Ray Tune."""

    trials: int = 1  # 1: train with the given settings; more: sweep hyperparameters (Optuna + ASHA)
    cpus_per_trial: float = 1.0  # CPUs reserved per trial
    gpus_per_trial: float | None = None  # GPU share per trial; None: 1 when the cluster has GPUs
    ray_address: str | None = None  # an existing cluster; None: $RAY_ADDRESS or a local cluster
    device: str = "auto"  # device inside each trial

    def __post_init__(self) -> None:
        trials = self.trials
        if isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= MAX_TRIALS:
            raise WorkerError(f"{trials!r} is out of range; valid: an integer in 1..{MAX_TRIALS}", field="trials")
        check_number("cpus_per_trial", self.cpus_per_trial, 0.0, exclusive=True)
        if self.gpus_per_trial is not None:
            check_number("gpus_per_trial", self.gpus_per_trial, 0.0, exclusive=False)


@dataclass(frozen=True)
class RayTrainResult:
    """The outcome of :func:`train_supernet_on_ray`."""

    path: Path  # the checkpoint of the best trial
    metrics: dict[str, Any]  # final evaluation, Tune score and the winning hyperparameters
    supernet: SupernetRecord  # as registered in the store
    store_url: str  # where it is registered


def train_supernet_on_ray(
    plan: TrainingPlan,
    settings: RayTrainSettings,
    storage: str | None = None,
    on_start: Callable[[float], None] | None = None,
) -> RayTrainResult:
    """Run ``plan`` as Ray Tune trials, write the best supernet to ``plan.out`` and register it in ``storage``.

    ``on_start(gpu_share)`` is called once the cluster is up, before training.
    """
    from supernas.workers.cluster import ClusterSettings, RayCluster, check_local_gpus
    from supernas.workers.tune import TuneSettings, run_tune

    Store.check_url(storage)
    if settings.gpus_per_trial is not None:
        check_local_gpus(settings.ray_address, settings.gpus_per_trial, "gpus_per_trial")
    with RayCluster(ClusterSettings(address=settings.ray_address)):
        import ray

        have = ray.cluster_resources().get("GPU", 0.0)
        share = (1.0 if have else 0.0) if settings.gpus_per_trial is None else settings.gpus_per_trial
        if share > have:
            raise WorkerError(f"{share:g} is more than the cluster has ({have:g} GPUs)", field="gpus_per_trial")
        tune = TuneSettings(
            trials=settings.trials, cpus_per_trial=settings.cpus_per_trial, gpus_per_trial=share, device=settings.device
        )
        if on_start is not None:
            on_start(share)
        metrics = run_tune(plan.task.name, plan.space, plan.config, plan.out, tune, resume=plan.resume)
    loaded = load_supernet(plan.out)
    with Store.open(storage, create=True) as store:
        record = register_supernet(store, loaded, plan.out.stem, metrics)
    return RayTrainResult(plan.out, metrics, record, store.url)


def register_supernet(
    store: Store, loaded: LoadedSupernet, name: str, metrics: Mapping[str, Any] | None = None
) -> SupernetRecord:
    """Register a loaded checkpoint (idempotent by sha256); ``name``, made unique if another checkpoint has it."""
    existing = store.find_supernet_by_sha(loaded.sha256)
    if existing is not None:
        return existing
    taken = {s.name for s in store.list_supernets()}
    return store.add_supernet(
        name=f"{name}-{loaded.sha256[:8]}" if name in taken else name,
        task=loaded.task,
        space=loaded.supernet.space.to_dict(),
        spec=loaded.supernet.spec.to_dict(),
        class_names=list(loaded.class_names),
        checkpoint_path=str(loaded.path.resolve()),
        checkpoint_sha256=loaded.sha256,
        train_metrics=dict(metrics if metrics is not None else loaded.metrics),
    )


def load_registered_supernet(store: Store, name: str) -> LoadedSupernet:
    """The registered supernet ``name``, refusing a checkpoint that changed since registration."""
    record = store.get_supernet(name)
    loaded = load_supernet(record.checkpoint_path)
    if loaded.sha256 != record.checkpoint_sha256:
        raise CheckpointError(f"supernet {name!r}: {record.checkpoint_path!r} changed since it was registered")
    return loaded


def resolve_supernet(supernet: str, storage: str | None = None) -> LoadedSupernet:
    """A checkpoint path, or the name of a supernet registered in the store at ``storage``."""
    if Path(supernet).is_file():
        return load_supernet(supernet)
    if supernet.endswith((".pt", ".ckpt")) or "/" in supernet:
        raise CheckpointError(f"{supernet!r}: no such checkpoint file (or registered supernet name)", field="supernet")
    with Store.open(storage) as store:
        return load_registered_supernet(store, supernet)


def supernet_name_hint(supernet: str) -> str:
    """The name a checkpoint given as ``supernet`` registers under: its file stem, or the name itself."""
    return Path(supernet).stem if Path(supernet).is_file() else supernet
