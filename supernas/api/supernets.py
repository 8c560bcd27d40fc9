"""Supernets: train one (in this process, on Ray Tune, or data-parallel on Ray Train), register it, find it again.

Training is two steps so that nothing is written before everything is checked:
:func:`prepare_training` resolves the task, the space, the settings (those of the
checkpoint being resumed, overridden by what is given) and a pretrained start, and
checks the output file; :func:`train_supernet` or :func:`train_supernet_on_ray` then
runs the plan.

A pretrained start (``init="timm:NAME"`` or ``"hf:DIR"``) imports the source model
exactly into a supernet, turns its residual stream to its principal directions and orders
heads, MLP units and channels by importance (the logits stay the same), fits the recursion
adapters, and makes the source model the distillation teacher of every
subnet (when it keeps its classifier); the run begins from a checkpoint of that state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from supernas.api.evaluation import check_number
from supernas.atomic import check_path_name, check_writable
from supernas.data import TaskData, check_loader_workers, load_task
from supernas.data.augment import resolve_mode
from supernas.errors import CheckpointError, TrainingError, WorkerError, about
from supernas.search_space import SearchSpace, default_space, preset_space
from supernas.store import Store, SupernetRecord
from supernas.supernet.checkpoint import (
    LoadedSupernet,
    load_supernet,
    read_checkpoint,
    save_checkpoint,
    supernet_of,
)
from supernas.supernet.measure import pick_device
from supernas.supernet.pretrained import PretrainedViT, import_pretrained, load_pretrained, read_state_dict
from supernas.supernet.train import (
    PRETRAINED_START,
    EpochCallback,
    StepCallback,
    TrainConfig,
    Trainer,
    TrainResult,
    check_resumable,
    checkpoint_augment,
    train,
)

MAX_TRIALS = 1000  # Ray Tune trials of one sweep
CALIBRATION_BATCHES = 4  # training batches that rotate the stream and score importance in a pretrained import
CALIBRATION_BATCH_SIZE = 64


@dataclass(frozen=True)
class PretrainedStart:
    """The supernet a pretrained source becomes: where training starts, and whether it teaches."""

    source: str  # "timm:NAME", "hf:DIR" or the name of a given model
    weights: dict[str, Tensor]  # the imported (rotated, importance-ordered) supernet's state dict
    teacher: bool  # the source model distils into every subnet (False when its classifier was replaced)
    source_gap: float | None  # max |logit| difference of the largest subnet to the source (float noise); None: new head


@dataclass(frozen=True)
class TrainingPlan:
    """A checked training run: what will be trained, how, and where it goes. Building one writes nothing."""

    out: Path  # the checkpoint file, rewritten atomically after every epoch
    task: TaskData  # the task's splits
    space: SearchSpace  # the space the supernet spans
    config: TrainConfig  # hyperparameters
    augment: str  # augmentation mode (data.augment.AUGMENT_MODES)
    resume: bool  # continue ``out`` when it exists
    done_epochs: int  # epochs already in ``out`` (0 for a new run)
    start: PretrainedStart | None = None  # a pretrained start (None: random initialisation, or resuming)


def prepare_training(
    out: str | Path,
    *,
    task: str | None = None,
    space: SearchSpace | str | Path | None = None,
    space_preset: str | None = None,
    settings: Mapping[str, Any] | None = None,
    resume: bool = False,
    image_size: int | None = None,
    channels: int | None = None,
    input_column: str | None = None,
    label_column: str | None = None,
    augment: str | None = None,
    init: str | PretrainedViT | None = None,
    init_weights: str | Path | None = None,
) -> TrainingPlan:
    """Check a training run before anything is written.

    ``task`` defaults to the resumed checkpoint's, else ``digits`` (its reading options: ``image_size``,
    ``channels``, ``input_column``, ``label_column``); ``space`` (a space or a ``.toml``/``.json``
    file) or ``space_preset`` to the checkpoint's, else the pretrained source's, else the task's
    built-in space; ``settings`` (TrainConfig fields) override the checkpoint's, else (with ``init``)
    ``PRETRAINED_START``, else the defaults; ``augment`` to the checkpoint's, else ``auto``. ``init``
    starts from a pretrained model (``timm:NAME`` with optional ``init_weights``, ``hf:DIR``, or a loaded
    :class:`PretrainedViT`). Without ``resume`` an existing ``out`` is an error.
    """
    out = Path(out)
    exists = _check_out(out, resume)
    if space is not None and space_preset is not None:
        raise TrainingError("and `space` are exclusive; give one", field="space_preset")
    stored = None
    if resume and exists:
        with about("out"):
            stored = read_checkpoint(out)
            supernet_of(stored, out)  # its space, input spec and weights are valid before anything runs
    defaults = stored["train_config"] if stored else PRETRAINED_START if init is not None else {}
    config = TrainConfig.from_dict({**defaults, **(settings or {})})
    with about("task" if task is not None else "out"):
        task_data = load_task(
            task if task is not None else (stored["task"] if stored else "digits"),
            image_size=image_size,
            channels=channels,
            input_column=input_column,
            label_column=label_column,
        )
    if augment is None:
        augment = checkpoint_augment(stored) if stored else "auto"
    resolve_mode(augment, task_data.spec)
    given = _space(space, space_preset, task_data)
    fits = about("space" if space is not None else "space_preset" if space_preset is not None else "out")
    if stored is not None:
        _check_same_start(stored, init)
        resumed = given or SearchSpace.from_dict(stored["space"], source=f"{out}")
        with fits:
            resumed.check_input(task_data.spec)
        return TrainingPlan(out, task_data, resumed, config, augment, resume, int(stored["epoch"]))
    if init is not None:
        start, imported = _pretrained_start(init, init_weights, task_data, given, config)
        return TrainingPlan(out, task_data, imported, config, augment, resume, 0, start)
    if init_weights is not None:
        raise CheckpointError("needs `init` (the model the weights belong to)", field="state_dict")
    chosen = given or default_space(task_data.spec)
    with fits:
        chosen.check_input(task_data.spec)
    return TrainingPlan(out, task_data, chosen, config, augment, resume, 0)


def _check_out(out: Path, resume: bool) -> bool:
    """``out`` must be a new file in a writable directory (or, with ``resume``, may exist); whether it exists."""
    exists = check_path_name(out, "out")
    parent = out.parent.is_dir()
    if exists and not resume:
        raise TrainingError(
            f"{str(out)!r} already exists; pass `resume` to continue it or choose another file", field="out"
        )
    if not parent:
        raise TrainingError(f"{str(out)!r}: directory {str(out.parent)!r} does not exist", field="out")
    check_writable(out.parent, "out")
    return exists


def _space(space: SearchSpace | str | Path | None, preset: str | None, task: TaskData) -> SearchSpace | None:
    if isinstance(space, SearchSpace):
        return space
    if space is not None:
        with about("space"):
            return SearchSpace.load(space)
    if preset is None:
        return None
    with about("space_preset"):
        return preset_space(preset, task.spec)


def _check_same_start(stored: dict[str, Any], init: str | PretrainedViT | None) -> None:
    """A resumed run keeps its start: ``init``, if given again, must name the source it began from."""
    began = stored.get("init", {}).get("source")
    if init is not None and _source_name(init) != began:
        raise TrainingError(
            f"{_source_name(init)!r} differs from the start of the run being resumed ({began or 'random'}); "
            "resume without `init` or choose another `out`",
            field="pretrained",
        )


def _source_name(init: str | PretrainedViT) -> str:
    return init if isinstance(init, str) else f"{init.info.framework}:{init.info.name}"


def _pretrained_start(
    init: str | PretrainedViT,
    init_weights: str | Path | None,
    task: TaskData,
    space: SearchSpace | None,
    config: TrainConfig,
) -> tuple[PretrainedStart, SearchSpace]:
    """Import ``init`` for ``task`` (stream rotated on a few training batches), fit recursion, order by importance."""
    from supernas.search_space import largest
    from supernas.supernet.importance import reorder_by_importance
    from supernas.supernet.rotation import source_logits

    with about("pretrained"):  # errors about the source (its files, its architecture) name `init`
        if isinstance(init, str) and init.startswith("timm:"):
            weights = None if init_weights is None else read_state_dict(init_weights)
            head = None if weights is None else weights.get("head.weight")
            source = load_pretrained(
                init,
                state_dict=weights,
                img_size=(task.spec.shape[1], task.spec.shape[2]) if task.spec.kind == "image" else None,
                in_chans=task.spec.channels,
                num_classes=task.spec.num_classes if head is None else head.shape[0],
            )
        elif isinstance(init, str):
            source = load_pretrained(init, state_dict=init_weights)
        else:
            source = init
        calibration = calibration_batches(task, config.seed)
        generator = torch.Generator().manual_seed(config.seed)
        imported = import_pretrained(source, task.spec, space, calibration=calibration, generator=generator)
    reorder_by_importance(imported.supernet, calibration)
    gap = None
    if not imported.fresh_head:  # the start's largest subnet against the source's own forward pass
        with torch.no_grad():
            start_logits = imported.supernet(calibration[0], largest(imported.supernet.space))
        gap = float((start_logits - source_logits(source, calibration[0])).abs().max())
    weights = {k: v.detach().cpu().clone() for k, v in imported.supernet.state_dict().items()}
    start = PretrainedStart(_source_name(init), weights, teacher=not imported.fresh_head, source_gap=gap)
    return start, imported.supernet.space


def calibration_batches(task: TaskData, seed: int) -> list[Tensor]:
    """A few seeded batches of the training split (they rotate the stream and score importance)."""
    order = torch.randperm(len(task.train), generator=torch.Generator().manual_seed(seed))
    size = min(CALIBRATION_BATCH_SIZE, len(order))
    positions = [order[k * size : (k + 1) * size] for k in range(min(CALIBRATION_BATCHES, len(order) // size))]
    return list(task.train.batches(positions))


def write_start(plan: TrainingPlan) -> None:
    """Write the checkpoint a pretrained start begins from (epoch 0: imported weights and the teacher)."""
    if plan.start is None:
        return
    trainer = Trainer(plan.task, plan.space, plan.config, torch.device("cpu"), augment=plan.augment)
    provenance = {"source": plan.start.source, "teacher": plan.start.teacher, "source_gap": plan.start.source_gap}
    trainer.start_from(plan.start.weights, plan.start.teacher, provenance)
    save_checkpoint(plan.out, trainer.state())


def check_continuable(plan: TrainingPlan) -> None:
    """A plan resuming a checkpoint must continue the run it holds: the same task, space and settings
    (refused before anything runs or is written)."""
    if plan.resume and plan.start is None and plan.out.exists():
        state = read_checkpoint(plan.out)
        check_resumable(state, plan.task.name, plan.space, plan.config, plan.augment, plan.out)


def train_supernet(
    plan: TrainingPlan,
    *,
    device: str = "auto",
    loader_workers: int | None = None,
    on_step: StepCallback | None = None,
    on_epoch: EpochCallback | None = None,
    on_start: Callable[[], None] | None = None,
) -> TrainResult:
    """Run ``plan`` in this process (CUDA with bf16 autocast when ``device`` resolves to it).

    Everything is checked first; then ``on_start()`` is called and training begins. A non-finite loss
    stops the run with ``TrainingDivergedError``; the last epoch's checkpoint is kept.
    """
    torch_device = pick_device(device)
    if loader_workers is not None:
        check_loader_workers(loader_workers)
    check_continuable(plan)
    if on_start is not None:
        on_start()
    write_start(plan)
    return train(
        plan.task,
        plan.space,
        plan.config,
        plan.out,
        resume=plan.resume or plan.start is not None,
        device=torch_device,
        on_step=on_step,
        on_epoch=on_epoch,
        augment=plan.augment,
        loader_workers=loader_workers,
    )


@dataclass(frozen=True)
class RayTrainSettings:
    """How training runs on Ray: Tune trials (crash-tolerant, optionally a sweep) or Ray Train workers (DDP)."""

    trials: int = 1  # 1: train with the given settings; more: sweep hyperparameters (seeded draws + ASHA)
    workers: int = 1  # data-parallel Ray Train workers sharing every global batch (1: one Tune trial)
    cpus_per_trial: float = 1.0  # CPUs reserved per trial (or per worker)
    gpus_per_trial: float | None = None  # GPU share per trial or worker; None: 1 when the cluster has GPUs
    ray_address: str | None = None  # an existing cluster; None: $RAY_ADDRESS or a local cluster
    device: str = "auto"  # device inside each trial
    loader_workers: int | None = None  # DataLoader processes per trial or worker; None: the default

    def __post_init__(self) -> None:
        for name, value, high in (("trials", self.trials, MAX_TRIALS), ("workers", self.workers, 256)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise WorkerError(f"{value!r} is out of range; valid: an integer in 1..{high}", field=name)
        if self.trials > 1 and self.workers > 1:
            raise WorkerError(
                "> 1 and `workers` > 1 cannot be combined; valid: a sweep or data parallelism", field="trials"
            )
        check_number("cpus_per_trial", self.cpus_per_trial, 0.0, exclusive=True)
        if self.gpus_per_trial is not None:
            check_number("gpus_per_trial", self.gpus_per_trial, 0.0, exclusive=False)
        if self.loader_workers is not None:
            check_loader_workers(self.loader_workers)
        if self.ray_address is not None:
            from supernas.workers.cluster import parse_address

            parse_address(self.ray_address)


@dataclass(frozen=True)
class RayTrainResult:
    """The outcome of :func:`train_supernet_on_ray`."""

    path: Path  # the checkpoint of the best trial
    metrics: dict[str, Any]  # final evaluation (with Tune: its score and the winning hyperparameters)
    supernet: SupernetRecord  # as registered in the store
    store_url: str  # where it is registered


def train_supernet_on_ray(
    plan: TrainingPlan,
    settings: RayTrainSettings,
    storage: str | None = None,
    on_start: Callable[[float], None] | None = None,
) -> RayTrainResult:
    """Run ``plan`` on Ray, write the supernet to ``plan.out`` and register it in ``storage``.

    One worker: Ray Tune trials (a crashed trial restarts from its last epoch; a sweep with
    ``trials`` > 1). Several workers: Ray Train data parallelism (gloo on CPUs, NCCL on GPUs).
    Either way a killed driver continues with ``resume`` from supernas's own checkpoints.
    ``on_start(gpu_share)`` is called once the cluster is up, before training.
    """
    from supernas.workers.cluster import ClusterSettings, RayCluster, check_local_gpus
    from supernas.workers.ddp import DDPSettings, run_ddp
    from supernas.workers.tune import TuneSettings, run_tune

    Store.check_url(storage)
    if plan.start is not None and settings.trials > 1:
        raise TrainingError("> 1 cannot start from a pretrained model; valid: 1 with `init`", field="trials")
    if settings.gpus_per_trial is not None:
        check_local_gpus(settings.ray_address, settings.gpus_per_trial, "gpus_per_trial")
    check_continuable(plan)
    with RayCluster(ClusterSettings(address=settings.ray_address)):
        import ray

        have = ray.cluster_resources().get("GPU", 0.0)
        share = (1.0 if have else 0.0) if settings.gpus_per_trial is None else settings.gpus_per_trial
        if share > have:
            raise WorkerError(f"{share:g} is more than the cluster has ({have:g} GPUs)", field="gpus_per_trial")
        if on_start is not None:
            on_start(share)
        write_start(plan)
        resume = plan.resume or plan.start is not None
        if settings.workers > 1:
            ddp = DDPSettings(settings.workers, settings.cpus_per_trial, share, settings.loader_workers)
            metrics = run_ddp(
                plan.task.name, plan.space, plan.config, plan.out, ddp, resume=resume, augment=plan.augment
            ).metrics
        else:
            tune = TuneSettings(
                trials=settings.trials,
                cpus_per_trial=settings.cpus_per_trial,
                gpus_per_trial=share,
                device=settings.device,
                augment=plan.augment,
                loader_workers=settings.loader_workers,
            )
            metrics = run_tune(plan.task.name, plan.space, plan.config, plan.out, tune, resume=resume)
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
    """A checkpoint path, or the name of a supernet registered in the store at ``storage``; errors about either
    name the argument ``supernet`` (those of the store, ``storage``)."""
    with about("supernet"):
        if check_path_name(supernet, "supernet") and Path(supernet).is_file():
            return load_supernet(supernet)
        if supernet.endswith((".pt", ".ckpt")) or "/" in supernet:
            raise CheckpointError(
                f"{supernet!r}: no such checkpoint file (or registered supernet name)", field="supernet"
            )
    with Store.open(storage) as store, about("supernet"):
        return load_registered_supernet(store, supernet)


def supernet_name_hint(supernet: str) -> str:
    """The name a checkpoint given as ``supernet`` registers under: its file stem, or the name itself."""
    return Path(supernet).stem if Path(supernet).is_file() else supernet
