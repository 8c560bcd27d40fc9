"""Training chosen subnets of a search further — fine-tuning from the supernet's weights or retraining from
scratch — on Ray workers (one Tune trial per subnet) or in this process, and the trained front.

Contract of :func:`finetune_subnets`:

* everything is checked before anything is written: the settings, the output directory, the search and
  its supernet (whose checkpoint must still have its registered sha256), the selection, and the
  trainings the store already holds for the chosen subnets (same recipe; unfinished ones only with
  ``resume``; their recorded checkpoints present and unchanged);
* the store gets one row per (search, arch_id, init, seed), written by this process only (the driver):
  a retried or resumed trial never adds a second row and a COMPLETE row is never trained or changed
  again, so calling it twice trains nothing the second time;
* every epoch's checkpoint is recorded (path and sha256) as soon as it is reported; a crashed trial
  continues from its last checkpoint, and so does every unfinished training after a killed driver
  when called again with ``resume`` — nothing is trained twice from the start;
* files live under ``directory``/``SEARCH-ID``/``ARCH_ID-INIT-sSEED``/: the last epoch's checkpoint
  (``epoch-NNNN.pt``) and the trained weights (``model.safetensors``); Tune's own files go to
  ``directory``/``SEARCH-ID``/``.tune`` and are never read back.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supernas.api.lease import SearchLease
from supernas.api.reports import completed_members, front_members
from supernas.errors import CheckpointError, SearchError, StorageError, TrainingError, WorkerError
from supernas.store import SearchRecord, Store, TrainingKey, TrainingRecord, TrainingStatus

if TYPE_CHECKING:  # the use case imports torch when it runs; reading trainings never does
    import numpy as np
    import torch

    from supernas.api.evaluation import EvaluationSettings
    from supernas.data import TaskData
    from supernas.supernet.checkpoint import LoadedSupernet
    from supernas.supernet.finetune import EpochReport, FinetuneConfig, FinetuneEpoch, TrainedSubnet, TrainingJob

EpochProgress = Callable[[str, "FinetuneEpoch"], None]  # (training label, the epoch) after every epoch
PlanCallback = Callable[[int, int, int], None]  # (trainings to run, epochs in all, epochs already done)


@dataclass(frozen=True)
class Selection:
    """Which subnets of a search to train: exactly one field is set."""

    front: bool = False  # every member of the measured front
    top: int | None = None  # the N best completed evaluations in the search's first objective
    rank: int | None = None  # one front member, 1-based as `pareto show` lists them
    arch: str | None = None  # one completed evaluation by arch_id
    knee: bool = False  # the knee of the measured front


@dataclass(frozen=True)
class FinetuneSettings:
    """How and where the chosen subnets train; validated when built (nothing is started or written)."""

    epochs: int = 10  # passes over the training split
    init: str = "inherited"  # "inherited": the supernet's weights; "scratch": re-initialised (the control)
    teacher: str = "largest"  # "largest": distil from the supernet's largest subnet; "none": labels only
    seed: int = 0  # seeds shuffling, augmentation and scratch weights; part of a training's identity
    lr: float = 1e-3  # peak AdamW learning rate
    batch_size: int = 64  # examples per step
    kd_weight: float = 0.5  # share of distillation in the loss (with a teacher)
    execution: EvaluationSettings = field(default_factory=lambda: _evaluation_settings())  # where they run
    directory: Path = Path("trainings")  # where checkpoints and trained weights go
    resume: bool = False  # continue trainings a killed or failed run left unfinished

    def __post_init__(self) -> None:
        from supernas.supernet.finetune import INITS, TEACHERS, check_choice

        check_choice("init", self.init, INITS)
        check_choice("teacher", self.teacher, TEACHERS)
        self.recipe()  # epochs, seed, lr, batch size and KD weight in range

    def recipe(self) -> FinetuneConfig:
        """The training hyperparameters (the same recipe for both inits)."""
        from supernas.supernet.finetune import FinetuneConfig

        return FinetuneConfig(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, kd_weight=self.kd_weight, seed=self.seed
        )

    def stored(self) -> dict[str, Any]:
        """What a training row records of these settings (and what a later call must match)."""
        return {**asdict(self.recipe()), "teacher": self.teacher}


def _evaluation_settings() -> EvaluationSettings:
    from supernas.api.evaluation import EvaluationSettings

    return EvaluationSettings()


@dataclass(frozen=True)
class FinetuneReport:
    """What :func:`finetune_subnets` did: the chosen subnets' trainings as stored at the end."""

    search: str  # the search
    init: str  # inherited or scratch
    seed: int  # the trainings' seed
    trainings: list[TrainingRecord]  # one per chosen subnet, in selection order
    already_complete: int  # chosen subnets trained before this call (not trained again)
    seconds: float  # wall time of the call

    @property
    def failed(self) -> list[TrainingRecord]:
        return [t for t in self.trainings if t.status != TrainingStatus.COMPLETE]

    def to_dict(self) -> dict[str, Any]:
        return {
            "search": self.search,
            "init": self.init,
            "seed": self.seed,
            "already_complete": self.already_complete,
            "seconds": self.seconds,
            "trainings": [t.to_dict() for t in self.trainings],
        }


def finetune_subnets(
    search: str,
    selection: Selection,
    settings: FinetuneSettings | None = None,
    *,
    storage: str | None = None,
    on_plan: PlanCallback | None = None,
    on_epoch: EpochProgress | None = None,
) -> FinetuneReport:
    """Train the subnets of ``search`` picked by ``selection`` (see the module docstring for the contract).

    ``on_plan`` is told how much work remains before it starts; ``on_epoch`` after every finished epoch.
    Returns once every chosen training is COMPLETE or FAILED (``report.failed`` lists the latter).
    """
    from supernas.api.supernets import load_registered_supernet

    settings = settings or FinetuneSettings()
    started = time.perf_counter()
    check_directory(settings.directory)
    with Store.open(storage) as store:
        record = store.get_search(search)
        if record.supernet_name is None:
            raise TrainingError(f"{search!r} has no supernet (a synthetic search); nothing to train", field="search")
        members = choose_members(store, record, selection)
        keys = [TrainingKey(str(m["arch_id"]), settings.init, settings.seed) for m in members]
        existing = {t.key: t for t in store.trainings(search)}
        for key in keys:
            if key in existing:
                check_existing(existing[key], settings)
        loaded = load_registered_supernet(store, record.supernet_name)
        settings.execution.check_resources()
        root = settings.directory.resolve() / f"{_safe(search)}-{record.id}"
        done = sum(1 for k in keys if k in existing and existing[k].status == TrainingStatus.COMPLETE)
        executor: AbstractContextManager[Execute] = (
            _executor(settings.execution, loaded) if done < len(keys) else nullcontext(_nothing)
        )
        with executor as execute, SearchLease(store, search) as lease:
            rows = [
                store.add_training(
                    search,
                    key,
                    dict(m["config"]),
                    settings.teacher,
                    settings.stored(),
                    settings.epochs,
                    (m.get("metrics") or {}).get("accuracy"),
                )
                for key, m in zip(keys, members)
            ]
            jobs = [_job(row, settings, root, loaded.sha256) for row in rows if row.status != TrainingStatus.COMPLETE]
            if on_plan is not None:
                on_plan(len(jobs), settings.epochs * len(jobs), sum(j.start.epoch if j.start else 0 for j in jobs))
            if jobs:
                root.mkdir(parents=True, exist_ok=True)
                execute(jobs, StoreSink(store, search, keys, jobs, lease.check, on_epoch), root)
        final = {t.key: t for t in store.trainings(search)}
    return FinetuneReport(
        search, settings.init, settings.seed, [final[k] for k in keys], done, time.perf_counter() - started
    )


def check_directory(directory: Path) -> None:
    """``directory`` must be a directory this process can write into, or create inside one it can write into."""
    from supernas.atomic import check_path_name, check_writable

    check_path_name(directory, "directory")
    path = Path(directory).resolve()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise TrainingError(f"{str(directory)!r}: {str(existing)!r} is not a directory", field="directory")
    check_writable(existing, "directory")


def choose_members(store: Store, record: SearchRecord, selection: Selection) -> list[Mapping[str, Any]]:
    """The evaluations of ``record`` that ``selection`` picks, as ``FrontMember.to_dict()`` rows."""
    from supernas.export.choose import select

    rows = [m.to_dict() for m in front_members(store, record.name)]
    complete = {a: m.to_dict() for a, m in completed_members(store, record.name).items()}
    s = selection
    return select(
        rows, record.objectives, complete, front=s.front, top=s.top, rank=s.rank, arch=s.arch, use_knee=s.knee
    )


def check_existing(training: TrainingRecord, settings: FinetuneSettings) -> None:
    """A training already stored may be asked for again only with the recipe it started with; an unfinished
    one only with ``resume``, and only while its recorded checkpoint is unchanged."""
    from supernas.supernet.checkpoint import file_sha256

    stored, wanted = training.settings, settings.stored()
    for name in wanted:
        if stored.get(name) != wanted[name]:
            raise TrainingError(
                f"{wanted[name]!r} differs from the {stored.get(name)!r} that training {training.key.label!r} "
                f"was started with; valid: {stored.get(name)!r}, or another `seed`",
                field=name,
            )
    if training.status == TrainingStatus.COMPLETE:
        return
    if not settings.resume:
        raise TrainingError(
            f"training {training.key.label!r} of search {training.search!r} was started before "
            f"({training.status}, {len(training.curve)} of {training.epochs} epochs); pass `resume` to continue it"
        )
    if training.checkpoint_path is not None:
        path = Path(training.checkpoint_path)
        if not path.is_file() or file_sha256(path) != training.checkpoint_sha256:
            raise CheckpointError(
                f"training {training.key.label!r}: its checkpoint {str(path)!r} is missing or changed since it was "
                "recorded; refusing to continue from it"
            )


def _job(row: TrainingRecord, settings: FinetuneSettings, root: Path, supernet_sha256: str) -> TrainingJob:
    from supernas.supernet.finetune import CheckpointRef, TrainingJob

    start = None
    if row.checkpoint_path is not None and row.checkpoint_sha256 is not None and row.curve:
        start = CheckpointRef(row.checkpoint_path, row.checkpoint_sha256, int(row.curve[-1]["epoch"]))
    return TrainingJob(
        label=row.key.label,
        config=row.config,
        init=row.init,
        teacher=row.teacher,
        settings=settings.recipe(),
        directory=str(root / row.key.label),
        supernet_sha256=supernet_sha256,
        start=start,
    )


def _safe(name: str) -> str:
    """A search name as a directory name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80]


class StoreSink:
    """Writes what trainings report into the store (the driver is the one writer of training rows); drops epoch
    checkpoints once a newer one is recorded."""

    def __init__(
        self,
        store: Store,
        search: str,
        keys: Sequence[TrainingKey],
        jobs: Sequence[TrainingJob],
        guard: Callable[[], None],
        on_epoch: EpochProgress | None,
    ) -> None:
        self.store, self.search, self.guard, self.on_epoch = store, search, guard, on_epoch
        self.keys = {k.label: k for k in keys}  # label -> the training's key
        self.directories = {j.label: j.directory for j in jobs}  # label -> where its files go

    def started(self, label: str, worker: str, device: str, from_epoch: int) -> None:
        self.guard()
        self.store.start_training(self.search, self.keys[label], worker, device, from_epoch)

    def epoch(self, label: str, report: EpochReport) -> None:
        self.guard()
        r, c = report.record, report.checkpoint
        entry = {"epoch": r.epoch, "loss": r.loss, "val_accuracy": r.val_accuracy, "lr": r.lr, "seconds": r.seconds}
        if self.store.record_training_epoch(self.search, self.keys[label], entry, c.path, c.sha256):
            from supernas.supernet.finetune import remove_older_checkpoints

            remove_older_checkpoints(self.directories[label], r.epoch)
        if self.on_epoch is not None:
            self.on_epoch(label, r)

    def complete(self, label: str, result: TrainedSubnet) -> None:
        self.guard()
        metrics = {
            "val_accuracy": result.val_accuracy,
            "test_accuracy": result.test_accuracy,
            "latency_ms": result.latency_ms,
        }
        self.store.complete_training(
            self.search, self.keys[label], metrics, result.weights.path, result.weights.sha256, result.seconds
        )

    def failed(self, label: str, error: str) -> None:
        self.store.fail_training(self.search, self.keys[label], error)


Execute = Callable[[list["TrainingJob"], "StoreSink", Path], None]


def _nothing(jobs: list[TrainingJob], sink: StoreSink, root: Path) -> None:
    """The executor when every chosen training is COMPLETE already (no cluster is started)."""


@contextmanager
def _executor(execution: EvaluationSettings, loaded: LoadedSupernet) -> Iterator[Execute]:
    """Where the jobs run: in this process, or as Tune trials on a joined (or started) Ray cluster.

    The cluster is up, and a GPU share checked against it, before the caller writes anything.
    """
    from supernas.data import load_task

    if execution.executor == "local":
        from supernas.supernet.measure import pick_device

        device = pick_device(execution.device)
        task = load_task(loaded.task)

        def local(jobs: list[TrainingJob], sink: StoreSink, root: Path) -> None:
            for job in jobs:
                _run_local(job, loaded, task, device, sink)

        yield local
        return
    from supernas.workers.cluster import ClusterSettings, RayCluster
    from supernas.workers.finetune import RayFinetuneSettings, make_payload, run_trainings

    with RayCluster(ClusterSettings(address=execution.ray_address)):
        import ray

        have = ray.cluster_resources().get("GPU", 0.0)
        share = (0.25 if have else 0.0) if execution.gpus_per_worker is None else execution.gpus_per_worker
        if share > have:
            raise WorkerError(f"{share:g} is more than the cluster has ({have:g} GPUs)", field="gpus_per_worker")
        ray_settings = RayFinetuneSettings(
            workers=execution.workers,
            cpus_per_worker=execution.cpus_per_worker,
            gpus_per_worker=share,
            device=execution.device,
        )
        payload = make_payload(loaded.supernet, loaded.task)

        def on_ray(jobs: list[TrainingJob], sink: StoreSink, root: Path) -> None:
            run_trainings(jobs, payload, ray_settings, sink, root / ".tune")

        yield on_ray


def _run_local(job: TrainingJob, loaded: LoadedSupernet, task: TaskData, device: torch.device, sink: StoreSink) -> None:
    from supernas.errors import TrainingDivergedError
    from supernas.supernet.finetune import run_job, worker_name

    sink.started(job.label, worker_name(), str(device), job.start.epoch if job.start else 0)
    try:
        result = run_job(job, loaded.supernet, task, device, lambda report: sink.epoch(job.label, report))
    except TrainingDivergedError as exc:
        sink.failed(job.label, str(exc))
        return
    except (StorageError, SearchError):
        raise  # the store went away or another process took the search over: stop
    except Exception as exc:  # a failed training is recorded; the others still run
        sink.failed(job.label, f"{type(exc).__name__}: {exc}")
        return
    sink.complete(job.label, result)


def list_trainings(store: Store, search: str) -> list[TrainingRecord]:
    """Every training of ``search``, in the order they were recorded."""
    return store.trainings(search)


@dataclass(frozen=True)
class TrainedMember:
    """One trained subnet with its inherited and trained accuracy."""

    arch_id: str  # the subnet
    config: dict[str, Any]  # SubnetConfig.to_dict()
    seeds: list[int]  # seeds of its COMPLETE trainings (accuracies are their means)
    metrics: dict[str, Any]  # what the search measured (inherited weights)
    inherited_accuracy: float | None  # the search's validation accuracy
    trained_accuracy: float  # validation accuracy after training
    test_accuracy: float  # test accuracy after training
    latency_ms: float  # of the trained module, measured on its worker
    seconds: float  # training time (mean over seeds)
    on_trained_front: bool  # on the front with trained accuracy in place of inherited
    on_inherited_front: bool  # on the front of the same subnets with inherited accuracy

    @property
    def gain(self) -> float | None:
        return None if self.inherited_accuracy is None else self.trained_accuracy - self.inherited_accuracy

    def to_dict(self) -> dict[str, Any]:
        return {**{f: getattr(self, f) for f in self.__dataclass_fields__}, "gain": self.gain}


@dataclass(frozen=True)
class TrainedFrontReport:
    """Inherited and trained accuracy side by side, and the trained front (``pareto show --trained``)."""

    search: str  # the search
    init: str  # the trainings shown: inherited or scratch
    objectives: list[dict[str, str]]  # the search's objectives
    members: list[TrainedMember]  # every trained subnet, best trained first in the first objective
    hypervolume_inherited: float  # of the trained subnets' front with inherited accuracy
    hypervolume_trained: float  # of their front with trained accuracy (same reference point)
    median_gain: float | None  # median trained - inherited validation accuracy over the trained subnets

    @property
    def front(self) -> list[TrainedMember]:
        return [m for m in self.members if m.on_trained_front]

    def to_dict(self) -> dict[str, Any]:
        return {
            "search": self.search,
            "init": self.init,
            "objectives": self.objectives,
            "hypervolume_inherited": self.hypervolume_inherited,
            "hypervolume_trained": self.hypervolume_trained,
            "median_gain": self.median_gain,
            "front": [m.arch_id for m in self.front],
            "members": [m.to_dict() for m in self.members],
        }


def trained_front(store: Store, search: str, init: str = "inherited") -> TrainedFrontReport:
    """The trained subnets of ``search`` (COMPLETE trainings of ``init``; several seeds are averaged) and their
    front with trained accuracy in place of inherited (the other objectives as the search measured them)."""
    import numpy as np

    from supernas.search.objectives import parse_objectives, to_minimization
    from supernas.search.pareto import nondominated, reference_point

    if init not in SHIP_ORDER:
        raise TrainingError(f"{init!r} is not valid; valid: {', '.join(SHIP_ORDER)}", field="init")
    record = store.get_search(search)
    measured = completed_members(store, search)
    by_arch: dict[str, list[TrainingRecord]] = {}
    for t in store.trainings(search, TrainingStatus.COMPLETE):
        if t.init == init and t.arch_id in measured:
            by_arch.setdefault(t.arch_id, []).append(t)
    objectives = parse_objectives([o["name"] for o in record.objectives])
    arch_ids = list(by_arch)
    inherited = [dict(measured[a].metrics) for a in arch_ids]
    trained = [{**m, **_trained_objectives(by_arch[a])} for a, m in zip(arch_ids, inherited)]
    F_inherited, F_trained = to_minimization(inherited, objectives), to_minimization(trained, objectives)
    reference = (
        np.asarray(record.hv_reference)
        if record.hv_reference is not None
        else reference_point(np.vstack([F_inherited, F_trained]), [m.direction for m in objectives])
        if arch_ids
        else None
    )
    on_trained, on_inherited = set(nondominated(F_trained).tolist()), set(nondominated(F_inherited).tolist())
    members = [
        _member(a, measured[a].config, by_arch[a], inherited[i], i in on_trained, i in on_inherited)
        for i, a in enumerate(arch_ids)
    ]
    first = objectives[0]
    members.sort(key=lambda m: _objective(m, first.name), reverse=first.direction == "max")
    gains = [m.gain for m in members if m.gain is not None]
    return TrainedFrontReport(
        search=search,
        init=init,
        objectives=record.objectives,
        members=members,
        hypervolume_inherited=_front_hv(F_inherited, reference),
        hypervolume_trained=_front_hv(F_trained, reference),
        median_gain=statistics.median(gains) if gains else None,
    )


def _trained_objectives(trainings: Sequence[TrainingRecord]) -> dict[str, float]:
    return {"accuracy": statistics.fmean(float(t.val_accuracy or 0.0) for t in trainings)}


def _member(
    arch_id: str,
    config: dict[str, Any],
    trainings: Sequence[TrainingRecord],
    metrics: dict[str, Any],
    on_trained: bool,
    on_inherited: bool,
) -> TrainedMember:
    return TrainedMember(
        arch_id=arch_id,
        config=config,
        seeds=sorted(t.seed for t in trainings),
        metrics=metrics,
        inherited_accuracy=metrics.get("accuracy"),
        trained_accuracy=statistics.fmean(float(t.val_accuracy or 0.0) for t in trainings),
        test_accuracy=statistics.fmean(float(t.test_accuracy or 0.0) for t in trainings),
        latency_ms=statistics.fmean(float(t.latency_ms or 0.0) for t in trainings),
        seconds=statistics.fmean(float(t.seconds or 0.0) for t in trainings),
        on_trained_front=on_trained,
        on_inherited_front=on_inherited,
    )


def _objective(member: TrainedMember, name: str) -> float:
    return member.trained_accuracy if name == "accuracy" else float(member.metrics[name])


def _front_hv(F: np.ndarray, reference: np.ndarray | None) -> float:
    from supernas.search.pareto import hypervolume, nondominated

    if reference is None or not len(F):
        return 0.0
    return hypervolume(F[nondominated(F)], reference)


def trained_weights(store: Store, search: str, arch_id: str) -> TrainingRecord | None:
    """The COMPLETE training whose weights an export of ``arch_id`` ships: init ``inherited`` first, then
    ``scratch``; among seeds, the best validation accuracy (then the lowest seed). None when it has none."""
    done = [t for t in store.trainings(search, TrainingStatus.COMPLETE) if t.arch_id == arch_id]
    if not done:
        return None
    return min(done, key=lambda t: (SHIP_ORDER.index(t.init), -float(t.val_accuracy or 0.0), t.seed))


SHIP_ORDER = ("inherited", "scratch")  # the inits of trainings, in the order an export prefers their weights
