"""Training one extracted subnet further: from the supernet's weights with distillation, or from scratch.

:class:`SubnetTrainer` trains a :class:`~supernas.supernet.static.StaticSubnet` with AdamW (linear
warmup, then a cosine to zero), label smoothing, the task's augmentation (``supernas.data.augment``, as
supernet training does) and, when a teacher is given, distillation from the teacher's logits on the
same batch. Quantized layers keep their fake quantization (the static subnet's forward rounds with a
straight-through estimator), so the trained module is the one an export ships. Shuffling and
augmentation draw from one ``torch.Generator``; its state, the model, the optimizer and the schedule
are all in every epoch's checkpoint, so a resumed training computes exactly what an uninterrupted one
would, and the same seed gives the same weights. A non-finite loss stops training with
:class:`~supernas.errors.TrainingDivergedError` before anything of that epoch is written: the last
good checkpoint stays.

:func:`run_job` is one whole training as a worker runs it (a Ray trial or the local executor): build the
subnet (inherited or re-initialised) and the teacher, continue from a checkpoint whose sha256 matches,
write a checkpoint per epoch, then the trained weights (safetensors) and their measurements.
Checkpoints are plain data loaded with ``weights_only=True``, and only after their sha256 was checked.
"""

from __future__ import annotations

import math
import os
import pickle
import statistics
import time
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from supernas.atomic import atomic_path
from supernas.data import Split, TaskData
from supernas.data.augment import AUGMENT_MODES, apply, augment_pad, draw, resolve_mode
from supernas.errors import CheckpointError, TrainingDivergedError, TrainingError, choices_text
from supernas.search_space import SubnetConfig, largest
from supernas.supernet.checkpoint import file_sha256
from supernas.supernet.distill import TeacherTargets
from supernas.supernet.measure import LatencySettings, accuracy, latency_ms
from supernas.supernet.model import Supernet
from supernas.supernet.optim import adamw
from supernas.supernet.static import StaticSubnet, extract

FORMAT = "supernas-subnet-training/1"  # bumped when the layout of an epoch checkpoint changes
INITS = ("inherited", "scratch")  # where a training's weights start
TEACHERS = ("largest", "none")  # whose logits it distils from
MAX_EPOCHS = 1000  # epochs of one training
MAX_LR = 10.0  # peak learning rate (as for supernet training)
MAX_GRAD_CLIP = 1e12  # gradient norm clip
MAX_SEED = 2**32 - 1  # seeds are unsigned 32-bit, as everywhere in supernas
WEIGHTS_FILE = "model.safetensors"  # the trained weights in a training's directory


@dataclass(frozen=True)
class FinetuneConfig:
    """Hyperparameters of one subnet training (the same recipe for both inits)."""

    epochs: int = 10  # passes over the training split
    batch_size: int = 64  # examples per step
    lr: float = 1e-3  # peak AdamW learning rate
    weight_decay: float = 0.05  # AdamW decoupled weight decay
    warmup: float = 0.1  # share of all steps spent warming the learning rate up linearly
    label_smoothing: float = 0.1  # of the cross-entropy on labels
    kd_weight: float = 0.5  # share of distillation (vs labels) in the loss when there is a teacher
    grad_clip: float = 1.0  # max global gradient norm
    seed: int = 0  # seeds shuffling and augmentation, and the weights of a scratch init
    augment: str = "auto"  # augmentation mode (data.augment.AUGMENT_MODES); auto: the task's own (as supernets)

    def __post_init__(self) -> None:
        check_choice("augment", self.augment, AUGMENT_MODES)
        _check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        _check_int("batch_size", self.batch_size, 1, 1 << 16)
        _check_int("seed", self.seed, 0, MAX_SEED)
        for name, top in (("lr", MAX_LR), ("grad_clip", MAX_GRAD_CLIP)):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= top):
                raise TrainingError(f"{value!r} is out of range; valid: a number > 0 and <= {top:g}", field=name)
        for name in ("weight_decay", "warmup", "label_smoothing", "kd_weight"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value <= 1):
                raise TrainingError(f"{value!r} is out of range; valid: a number in [0, 1]", field=name)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FinetuneConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(f"unknown fine-tuning setting {unknown[0]!r}; valid: {', '.join(sorted(known))}")
        return cls(**data)


def _check_int(field: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TrainingError(f"{value!r} is out of range; valid: an integer in {low}..{high}", field=field)


def check_choice(field: str, value: str, choices: tuple[str, ...]) -> None:
    """``value`` (the argument ``field``) must be one of ``choices``."""
    if value not in choices:
        raise TrainingError(f"{value!r} is not valid; valid: {choices_text(choices)}", field=field)


@dataclass(frozen=True)
class FinetuneEpoch:
    """What one epoch of a subnet training did."""

    epoch: int  # 1-based
    loss: float  # mean training loss over the epoch's steps
    val_accuracy: float  # validation accuracy after the epoch
    lr: float  # learning rate at the end of the epoch
    seconds: float  # wall time of the epoch (training and validation)


class SubnetTrainer:
    """Owns one subnet training: the module, its optimizer, schedule and random state."""

    def __init__(
        self,
        model: StaticSubnet,
        task: TaskData,
        config: FinetuneConfig,
        device: torch.device,
        teacher: nn.Module | None = None,
    ) -> None:
        self.task, self.config, self.device = task, config, device
        self.model = model.to(device).train()
        self.teacher = None if teacher is None else teacher.to(device).eval()
        self.optimizer = adamw(self.model.parameters(), device, lr=config.lr, weight_decay=config.weight_decay)
        self.steps_per_epoch = math.ceil(len(task.train) / config.batch_size)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.generator = torch.Generator().manual_seed(config.seed)  # shuffling and augmentation
        self.augment_mode = resolve_mode(config.augment, task.spec)
        self.augment_pad = augment_pad(self.augment_mode, task.spec)  # AugmentDraw.pad of every draw
        self.teacher_targets = (  # the teacher's probabilities for each step (a table when it pays)
            None
            if self.teacher is None or config.kd_weight == 0
            else TeacherTargets(
                self.teacher, task.train, task.spec, self.augment_mode, self.augment_pad, device, self._autocast
            )
        )
        self.epoch = 0
        self.history: list[FinetuneEpoch] = []

    def _lr_factor(self, step: int) -> float:
        total = self.config.epochs * self.steps_per_epoch
        warmup = max(1, round(self.config.warmup * total))
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    def _autocast(self) -> AbstractContextManager[Any]:
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def run_epoch(self) -> FinetuneEpoch:
        """One pass over the shuffled, augmented training split; raises on a non-finite loss."""
        start = time.perf_counter()
        self.model.train()
        train, spec, size = self.task.train, self.task.spec, self.config.batch_size
        order = torch.randperm(len(train), generator=self.generator)
        batches = [order[step * size : (step + 1) * size] for step in range(self.steps_per_epoch)]
        if self.teacher_targets is not None:
            self.teacher_targets.prepare(self.config.epochs - self.epoch)  # teacher passes per example left
        losses = []
        for step, (rows, x) in enumerate(zip(batches, train.batches(batches, 0, self.device.type == "cuda"))):
            choices = draw(self.augment_mode, len(rows), spec.shape, spec.kind, self.generator, pad=self.augment_pad)
            x = apply(x.to(self.device, non_blocking=True), spec.kind, choices)  # (B, ...)
            soft_targets = None if self.teacher_targets is None else self.teacher_targets.probs(x, rows, choices)
            losses.append(self._step(x, train.y[rows].to(self.device), soft_targets, step))
        self.epoch += 1
        record = FinetuneEpoch(
            epoch=self.epoch,
            loss=statistics.fmean(losses),
            val_accuracy=self.accuracy(self.task.val),
            lr=float(self.scheduler.get_last_lr()[0]),
            seconds=time.perf_counter() - start,
        )
        self.history.append(record)
        return record

    def _step(self, x: Tensor, y: Tensor, soft_targets: Tensor | None, step: int) -> float:
        cfg = self.config
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            logits = self.model(x).float()  # (B, K)
            loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
            if soft_targets is not None:  # (B, K) the teacher's probabilities
                soft = F.kl_div(logits.log_softmax(dim=-1), soft_targets, reduction="batchmean")
                loss = (1 - cfg.kd_weight) * loss + cfg.kd_weight * soft
        if not torch.isfinite(loss):
            raise TrainingDivergedError(
                f"the loss became {loss.item()} in epoch {self.epoch + 1}, step {step + 1}; the last good "
                f"checkpoint (epoch {self.epoch}) is kept; valid: a smaller `lr`"
            )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        return loss.item()

    @torch.no_grad()
    def accuracy(self, split: Split) -> float:
        """Accuracy of the module on ``split``."""
        self.model.eval()
        with self._autocast():
            return accuracy(self.model, split.x.to(self.device), split.y)

    def state(self) -> dict[str, Any]:
        """Everything needed to continue this training exactly (plain data for ``weights_only`` loading)."""
        return {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "torch_rng": self.generator.get_state(),
            "settings": asdict(self.config),
            "epoch": self.epoch,
            "history": [asdict(r) for r in self.history],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state` of an earlier run of the same training."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["torch_rng"])
        self.epoch = int(state["epoch"])
        self.history = [FinetuneEpoch(**r) for r in state["history"]]


@dataclass(frozen=True)
class CheckpointRef:
    """A checkpoint file and the sha256 it must have (recorded when it was written)."""

    path: str  # absolute path
    sha256: str  # hex digest of the file's bytes
    epoch: int  # epochs it holds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckpointRef:
        return cls(str(data["path"]), str(data["sha256"]), int(data["epoch"]))


@dataclass(frozen=True)
class TrainingJob:
    """One subnet training as plain data (it travels to Ray workers)."""

    label: str  # ARCH_ID-INIT-sSEED, unique within a search
    config: dict[str, Any]  # SubnetConfig.to_dict()
    init: str  # one of INITS
    teacher: str  # one of TEACHERS
    settings: FinetuneConfig  # the recipe
    directory: str  # where its checkpoints and weights go
    supernet_sha256: str  # the supernet it starts from (for provenance and resume checks)
    start: CheckpointRef | None = None  # continue from here; None: from the beginning

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = None if self.start is None else self.start.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingJob:
        start = data.get("start")
        return cls(
            label=str(data["label"]),
            config=dict(data["config"]),
            init=str(data["init"]),
            teacher=str(data["teacher"]),
            settings=FinetuneConfig.from_dict(dict(data["settings"])),
            directory=str(data["directory"]),
            supernet_sha256=str(data["supernet_sha256"]),
            start=None if start is None else CheckpointRef.from_dict(start),
        )

    def identity(self) -> dict[str, Any]:
        """What a checkpoint of this training must match to continue it."""
        return {
            "label": self.label,
            "config": self.config,
            "init": self.init,
            "teacher": self.teacher,
            "settings": asdict(self.settings),
            "supernet_sha256": self.supernet_sha256,
        }


@dataclass(frozen=True)
class EpochReport:
    """A finished epoch and the checkpoint holding it."""

    record: FinetuneEpoch  # what the epoch did
    checkpoint: CheckpointRef  # where it is stored


@dataclass(frozen=True)
class TrainedSubnet:
    """The outcome of :func:`run_job`."""

    val_accuracy: float  # validation accuracy of the trained module
    test_accuracy: float  # test accuracy of the trained module
    latency_ms: float  # median latency of the trained module (batch 1, one thread on CPU)
    weights: CheckpointRef  # the trained weights (safetensors) and their sha256
    seconds: float  # training time summed over the epochs


def initial_model(supernet: Supernet, config: SubnetConfig, init: str, seed: int) -> StaticSubnet:
    """The subnet with the supernet's weights (``inherited``) or freshly initialised ones (``scratch``, by ``seed``)."""
    check_choice("init", init, INITS)
    if init == "inherited":
        return extract(supernet, config)
    fresh = Supernet(supernet.space, supernet.spec, torch.Generator().manual_seed(seed))
    return extract(fresh, config)


def teacher_model(supernet: Supernet, teacher: str) -> StaticSubnet | None:
    """The supernet's largest subnet (``largest``) or no teacher (``none``)."""
    check_choice("teacher", teacher, TEACHERS)
    return extract(supernet, largest(supernet.space)).eval() if teacher == "largest" else None


EpochCallback = Callable[[EpochReport], None]


def run_job(
    job: TrainingJob, supernet: Supernet, task: TaskData, device: torch.device, on_epoch: EpochCallback
) -> TrainedSubnet:
    """Run ``job`` to the end: continue from ``job.start`` if set, checkpoint every epoch, write the weights.

    ``on_epoch`` is called after each epoch's checkpoint is on disk. Checkpoints and weights go to
    ``job.directory``; the caller decides when older epochs' files may go (:func:`remove_older_checkpoints`).
    """
    config = SubnetConfig.from_dict(job.config)
    model = initial_model(supernet, config, job.init, job.settings.seed)
    trainer = SubnetTrainer(model, task, job.settings, device, teacher_model(supernet, job.teacher))
    if job.start is not None:
        trainer.restore(read_training_checkpoint(job.start, job.identity()))
    directory = Path(job.directory)
    directory.mkdir(parents=True, exist_ok=True)
    while trainer.epoch < job.settings.epochs:
        record = trainer.run_epoch()
        ref = write_training_checkpoint(directory / epoch_file(record.epoch), trainer, job.identity())
        on_epoch(EpochReport(record, ref))
    return _finish(trainer, directory)


def epoch_file(epoch: int) -> str:
    """The name of epoch ``epoch``'s checkpoint in a training's directory."""
    return f"epoch-{epoch:04d}.pt"


def write_training_checkpoint(path: Path, trainer: SubnetTrainer, identity: dict[str, Any]) -> CheckpointRef:
    """Write ``trainer``'s state atomically; returns its reference (with the sha256 of the bytes written)."""
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "identity": identity, **trainer.state()}, tmp)
    return CheckpointRef(str(path.resolve()), file_sha256(path), trainer.epoch)


def read_training_checkpoint(ref: CheckpointRef, identity: dict[str, Any]) -> dict[str, Any]:
    """The state in ``ref``, after checking its sha256 (before anything is loaded) and that it belongs to
    the training ``identity`` describes."""
    path = Path(ref.path)
    if not path.is_file():
        raise CheckpointError(f"training checkpoint {ref.path!r} is missing; it was recorded at epoch {ref.epoch}")
    if file_sha256(path) != ref.sha256:
        raise CheckpointError(f"training checkpoint {ref.path!r} changed since it was written; refusing to load it")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"training checkpoint {ref.path!r} is not readable ({reason})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"training checkpoint {ref.path!r} is not a {FORMAT!r} file")
    if state.get("identity") != identity or int(state.get("epoch", -1)) != ref.epoch:
        raise CheckpointError(f"training checkpoint {ref.path!r} belongs to another training or epoch")
    return state


def remove_older_checkpoints(directory: str | Path, keep_epoch: int) -> None:
    """Delete a training's epoch checkpoints older than epoch ``keep_epoch`` (that one and later ones stay)."""
    for path in Path(directory).glob("epoch-*.pt"):
        number = path.stem.removeprefix("epoch-")
        if number.isdigit() and int(number) < keep_epoch:
            path.unlink(missing_ok=True)


def _finish(trainer: SubnetTrainer, directory: Path) -> TrainedSubnet:
    from safetensors.torch import save_file

    model = trainer.model.eval()
    path = directory / WEIGHTS_FILE
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp))
    example = trainer.task.val.x[:1].to(trainer.device)  # (1, ...)
    return TrainedSubnet(
        val_accuracy=trainer.history[-1].val_accuracy if trainer.history else trainer.accuracy(trainer.task.val),
        test_accuracy=trainer.accuracy(trainer.task.test),
        latency_ms=latency_ms(model, example, LatencySettings())[0],
        weights=CheckpointRef(str(path.resolve()), file_sha256(path), trainer.epoch),
        seconds=sum(r.seconds for r in trainer.history),
    )


def load_trained_weights(module: StaticSubnet, path: str | Path, sha256: str) -> StaticSubnet:
    """Load trained weights into ``module`` (the extracted subnet they were trained as), refusing a file
    whose sha256 is not the recorded one."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"trained weights {str(path)!r} are missing", field="weights")
    if file_sha256(path) != sha256:
        raise CheckpointError(f"trained weights {str(path)!r} changed since they were recorded", field="weights")
    try:
        module.load_state_dict(load_file(str(path)), strict=True)
    except (RuntimeError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"trained weights {str(path)!r} do not fit the subnet ({reason})") from None
    return module


def worker_name() -> str:
    """This process as a worker: ``host:pid``."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"
