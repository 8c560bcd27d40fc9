"""Supernet training: the sandwich rule with in-place knowledge distillation.

Every step trains the largest subnet on the labels, then the smallest and
``random_subnets`` random subnets on a mix of the labels and the largest
subnet's (detached) predictions, accumulating gradients into one AdamW step.
The learning rate warms up linearly, then follows a cosine to zero. With
``grad_projection`` the other subnets' summed gradient loses its component
against the largest subnet's gradient when the two conflict (NASViT), so they
never undo the largest subnet's own step. With ``largest_every`` n > 1 the
largest subnet trains on steps 1, 1 + n, ... of each epoch only: the steps
between are cheaper and the other subnets learn faster per second, at a cost
to the largest subnet (docs/benchmarks.md); they distil from the teacher or
from the largest subnet's predictions without gradient, and project against
the epoch's last largest-subnet gradient.

All randomness comes from one ``numpy.random.Generator`` (subnet sampling) and
one ``torch.Generator`` (shuffling, augmentation), both stored in every epoch's
checkpoint: a resumed run computes exactly what an uninterrupted run would.
Both are drawn in the training process; loader worker processes only read
examples, so the number of workers never changes a result.

A run may span several processes (:class:`World`, e.g. Ray Train workers): each
holds the same weights and generators, draws the same subnets, permutation and
augmentation, runs its contiguous share of every global batch, and the gradients
are summed across processes, weighted by share, before clipping — exactly the
gradient of the global batch. Validation is sharded the same way.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from supernas.data import Split, TaskData, check_loader_workers, default_loader_workers
from supernas.data.augment import apply, augment_pad, draw, resolve_mode
from supernas.errors import TrainingDivergedError, TrainingError
from supernas.search_space import SearchSpace, SubnetConfig, largest, sample, smallest
from supernas.supernet.checkpoint import read_checkpoint, save_checkpoint
from supernas.supernet.distill import TeacherTargets
from supernas.supernet.model import Supernet
from supernas.supernet.optim import adamw


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one supernet training run."""

    epochs: int = 120  # passes over the training split
    batch_size: int = 32  # examples per step
    lr: float = 3e-3  # peak AdamW learning rate
    weight_decay: float = 0.05  # AdamW decoupled weight decay
    warmup: float = 0.05  # share of all steps spent warming the learning rate up linearly
    random_subnets: int = 1  # random subnets per step besides the largest and the smallest
    kd_weight: float = 0.5  # share of distillation (vs labels) in the loss of non-largest subnets
    student_weight: float = 0.5  # weight of each non-largest subnet's loss relative to the largest's
    label_smoothing: float = 0.1  # of the cross-entropy on labels
    grad_clip: float = 1.0  # max global gradient norm
    adam_eps: float = 1e-8  # AdamW epsilon: larger damps steps of weights with small gradients (a pretrained start)
    grad_projection: bool = False  # drop the part of the other subnets' gradient that opposes the largest's
    largest_every: int = 1  # train the largest subnet on steps 1, 1 + n, 1 + 2n, ... of each epoch only
    seed: int = 0  # seeds weights, shuffling, augmentation and subnet sampling
    eval_subnets: int = 10  # random subnets in the final evaluation table

    def __post_init__(self) -> None:
        for name, (low, high) in INT_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise TrainingError(f"{value!r} is out of range; valid: an integer >= {low} and <= {high}", field=name)
        for name, (bottom, top) in NUMBER_RANGES.items():
            real = getattr(self, name)
            number = isinstance(real, (int, float)) and not isinstance(real, bool) and math.isfinite(real)
            open_low = name in OPEN_BELOW
            if not number or not (bottom < real <= top if open_low else bottom <= real <= top):
                valid = f"a number > {bottom:g} and <= {top:g}" if open_low else "a number in [0, 1]"
                raise TrainingError(f"{real!r} is out of range; valid: {valid}", field=name)
        if not isinstance(self.grad_projection, bool):
            raise TrainingError(
                f"{self.grad_projection!r} is not a boolean; valid: true, false", field="grad_projection"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(f"unknown training setting {unknown[0]!r}; valid: {', '.join(sorted(known))}")
        return cls(**data)


INT_RANGES = {  # valid range of each integer setting
    "epochs": (1, 100_000),
    "batch_size": (1, 65_536),
    "random_subnets": (0, 64),
    "largest_every": (1, 1_000),
    "eval_subnets": (0, 10_000),
    "seed": (0, 2**32 - 1),
}
NUMBER_RANGES = {  # valid range of each real setting (those in OPEN_BELOW exclude their lower end)
    "lr": (0.0, 10.0),
    "grad_clip": (0.0, 1e12),
    "adam_eps": (0.0, 1.0),
    "weight_decay": (0.0, 1.0),
    "warmup": (0.0, 1.0),
    "kd_weight": (0.0, 1.0),
    "label_smoothing": (0.0, 1.0),
    "student_weight": (0.0, 1.0),
}
OPEN_BELOW = ("lr", "grad_clip", "adam_eps")  # settings that must be above the lower end of their range
PRETRAINED_START: dict[str, int | float | bool] = {  # what a pretrained start defaults to (docs/benchmarks.md)
    "epochs": 55,
    "lr": 8e-3,
    "adam_eps": 1e-3,
    "largest_every": 4,  # the largest subnet starts as the source: it needs few steps, the small ones many
}


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch did."""

    epoch: int  # 1-based
    loss: float  # mean loss of the largest subnet over the epoch's steps
    val_largest: float  # validation accuracy of the largest subnet after the epoch
    val_smallest: float  # validation accuracy of the smallest subnet after the epoch
    lr: float  # learning rate at the end of the epoch


StepCallback = Callable[[int, int, int], None]  # (epoch, step within epoch, steps per epoch)
EpochCallback = Callable[[EpochRecord], None]
LEGACY_AUGMENT = "shift"  # what checkpoints written before the ``augment`` setting existed trained with


@dataclass(frozen=True)
class World:
    """The processes of one data-parallel training run; the default is this process alone."""

    rank: int = 0  # this process's index, 0 .. size - 1
    size: int = 1  # processes; each runs its contiguous share of every global batch

    def share(self, n: int) -> tuple[int, int]:
        """Rows ``[start, stop)`` of a batch of ``n`` rows that this process handles."""
        return n * self.rank // self.size, n * (self.rank + 1) // self.size

    def all_sum(self, tensor: Tensor) -> None:
        """Sum ``tensor`` over every process, in place (torch.distributed's default process group)."""
        if self.size > 1:
            torch.distributed.all_reduce(tensor)


class Trainer:
    """Owns one training run: supernet, optimizer, schedule and random state.

    ``augment`` is an augmentation mode (``data.augment.AUGMENT_MODES``; ``auto`` follows the data);
    ``loader_workers`` processes read streamed examples (None: ``default_loader_workers()``);
    ``world`` makes this process one of several that train together.
    """

    def __init__(
        self,
        task: TaskData,
        space: SearchSpace,
        config: TrainConfig,
        device: torch.device,
        *,
        augment: str = "auto",
        loader_workers: int | None = None,
        world: World | None = None,
    ) -> None:
        space.check_input(task.spec)
        self.task, self.space, self.config, self.device = task, space, config, device
        self.augment = augment
        self.augment_mode = resolve_mode(augment, task.spec)
        self.augment_pad = augment_pad(self.augment_mode, task.spec)  # AugmentDraw.pad of every draw
        self.loader_workers = (
            default_loader_workers() if loader_workers is None else check_loader_workers(loader_workers)
        )
        self.world = world or World()
        weights_gen = torch.Generator().manual_seed(config.seed)
        self.supernet = Supernet(space, task.spec, weights_gen).to(device)
        self.teacher: Supernet | None = None  # a frozen source model every subnet distils from (pretrained init)
        self.teacher_targets: TeacherTargets | None = None  # its probabilities for each step (a table when it pays)
        self.init: dict[str, Any] | None = None  # where a pretrained start came from (provenance, kept in checkpoints)
        self._reference: Tensor | None = None  # (P,) the epoch's last largest-subnet gradient (grad_projection)
        self.optimizer = adamw(
            self.supernet.parameters(), device, lr=config.lr, weight_decay=config.weight_decay, eps=config.adam_eps
        )
        self.steps_per_epoch = math.ceil(len(task.train) / config.batch_size)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.rng = np.random.default_rng([config.seed, 1])  # subnet sampling
        self.generator = torch.Generator().manual_seed(config.seed + 1)  # shuffling and augmentation
        self.epoch = 0
        self.history: list[EpochRecord] = []

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

    def start_from(self, weights: dict[str, Tensor], teacher: bool, provenance: dict[str, Any]) -> None:
        """Start from imported ``weights`` (e.g. a pretrained model, described by ``provenance``); with
        ``teacher`` every subnet distils from the largest subnet of these weights, kept frozen, instead of
        the largest subnet in training."""
        self.supernet.load_state_dict(weights)
        self.init = dict(provenance)
        self.teacher, self.teacher_targets = None, None
        if teacher:
            self._set_teacher(weights)

    def run_epoch(self, on_step: StepCallback | None = None) -> EpochRecord:
        """One pass over the shuffled, augmented training split (this process's share of every batch)."""
        self.supernet.train()
        train, spec, size = self.task.train, self.task.spec, self.config.batch_size
        order = torch.randperm(len(train), generator=self.generator)
        batches = [order[step * size : (step + 1) * size] for step in range(self.steps_per_epoch)]
        shares = [self.world.share(len(rows)) for rows in batches]
        inputs = train.batches(
            [rows[a:b] for rows, (a, b) in zip(batches, shares)], self.loader_workers, self.device.type == "cuda"
        )
        if self.teacher_targets is not None:
            self.teacher_targets.prepare((self.config.epochs - self.epoch) / self.world.size)  # passes per example
        losses = []
        self._reference = None
        for step, (rows, (a, b), x) in enumerate(zip(batches, shares, inputs)):
            choices = draw(self.augment_mode, len(rows), spec.shape, spec.kind, self.generator, pad=self.augment_pad)
            x = apply(x.to(self.device, non_blocking=True), spec.kind, choices.rows(a, b))  # (b - a, ...)
            targets = self.teacher_targets
            teacher_probs = targets.probs(x, rows[a:b], choices.rows(a, b)) if targets and len(x) else None  # (b-a, K)
            y = train.y[rows[a:b]].to(self.device)
            loss = self._step(x, y, teacher_probs, (b - a) / len(rows), step + 1)
            if loss is not None:
                losses.append(loss)
            if on_step is not None:
                on_step(self.epoch + 1, step + 1, self.steps_per_epoch)
        self.epoch += 1
        val_largest, val_smallest = self.accuracies([largest(self.space), smallest(self.space)], self.task.val)
        record = EpochRecord(
            epoch=self.epoch,
            loss=statistics.fmean(losses),
            val_largest=val_largest,
            val_smallest=val_smallest,
            lr=float(self.scheduler.get_last_lr()[0]),
        )
        self.history.append(record)
        return record

    def _step(self, x: Tensor, y: Tensor, teacher_probs: Tensor | None, share: float, step: int) -> float | None:
        """One sandwich-rule step on this process's ``share`` of the batch; returns the largest subnet's loss
        (None on a step that does not train it, see ``largest_every``).

        With a frozen ``teacher`` (pretrained init; its probabilities ``teacher_probs``) the largest subnet
        distils from it too, and so do the others; without one, the others distil from the largest subnet
        (in-place distillation; on a step that does not train it, from its predictions without gradient).
        """
        cfg = self.config
        self.optimizer.zero_grad(set_to_none=True)
        students = [smallest(self.space)] + [sample(self.space, self.rng) for _ in range(cfg.random_subnets)]
        train_largest = (step - 1) % cfg.largest_every == 0
        loss = torch.zeros((), device=self.device)
        largest_grad: Tensor | None = None  # (P,) the largest subnet's gradient, kept for grad_projection
        if len(x):  # a process may get no rows of a batch smaller than the world
            soft_targets = teacher_probs
            if train_largest:
                with self._autocast():
                    largest_logits = self.supernet(x, largest(self.space)).float()  # (B, K)
                    loss = F.cross_entropy(largest_logits, y, label_smoothing=cfg.label_smoothing)
                    if teacher_probs is not None:
                        loss = self._mixed(loss, largest_logits, teacher_probs)
                loss.backward()
                if cfg.grad_projection:
                    largest_grad = self._flat_grad()
                if soft_targets is None:
                    soft_targets = largest_logits.detach().softmax(dim=-1)
            elif soft_targets is None:
                with torch.no_grad(), self._autocast():
                    soft_targets = self.supernet(x, largest(self.space)).float().softmax(dim=-1)  # (B, K)
            for config in students:
                with self._autocast():
                    logits = self.supernet(x, config).float()  # (B, K)
                    hard = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
                    student_loss = self._mixed(hard, logits, soft_targets)
                (cfg.student_weight * student_loss).backward()
        if self.world.size > 1:
            loss = self._average_gradients(loss.detach(), share)
        if cfg.grad_projection:
            self._project_students(largest_grad, share, train_largest)
        norm = torch.nn.utils.clip_grad_norm_(self.supernet.parameters(), cfg.grad_clip)
        if not (torch.isfinite(loss) and torch.isfinite(norm)):  # every rank sees the same global values
            kept = f"the checkpoint of epoch {self.epoch} is kept" if self.epoch else "no checkpoint was written"
            raise TrainingDivergedError(
                f"training diverged at epoch {self.epoch + 1}, step {step}: loss {loss.item():g}, gradient norm "
                f"{norm.item():g}; {kept}; lower `lr` or check the data for extreme values"
            )
        self.optimizer.step()
        self.scheduler.step()
        return loss.item() if train_largest else None

    def _flat_grad(self) -> Tensor:
        """Every parameter's gradient in one vector, zeros where there is none."""
        params = self.supernet.parameters()
        return torch.cat([(torch.zeros_like(p) if p.grad is None else p.grad).reshape(-1) for p in params])

    @torch.no_grad()
    def _project_students(self, largest_grad: Tensor | None, share: float, trained_largest: bool) -> None:
        """Remove from the accumulated gradient the other subnets' component against the largest subnet's.

        On a step that ``trained_largest``, ``largest_grad`` is this process's gradient of it (None: it had
        no rows); across processes it is averaged like the total, so every process projects the same global
        gradients, and it stays the reference of the epoch's next steps that do not train the largest subnet
        (``largest_every``): their whole gradient is projected against it, on the weights they use.
        """
        total = self._flat_grad()  # (P,)
        used = [p.grad is not None for p in self.supernet.parameters()]
        if trained_largest:
            reference = torch.zeros_like(total) if largest_grad is None else largest_grad
            if self.world.size > 1:
                reference = reference * share
                self.world.all_sum(reference)
            self._reference = reference
            combined = total - opposing_component(total - reference, reference)
        else:
            assert self._reference is not None  # step 1 of every epoch trains the largest subnet
            sizes = [p.numel() for p in self.supernet.parameters()]
            parts = self._reference.split(sizes)
            reference = torch.cat([part if has_grad else torch.zeros_like(part) for part, has_grad in zip(parts, used)])
            combined = total - opposing_component(total, reference)
        self._write_grads(combined, used)

    def _write_grads(self, flat: Tensor, used: Sequence[bool]) -> None:
        """Each parameter's gradient becomes its slice of ``flat`` (parameter order), or None where not ``used``."""
        offset = 0
        for param, has_grad in zip(self.supernet.parameters(), used):
            param.grad = flat[offset : offset + param.numel()].view_as(param) if has_grad else None
            offset += param.numel()

    def _mixed(self, hard: Tensor, logits: Tensor, soft_targets: Tensor) -> Tensor:
        """``kd_weight`` of distillation towards ``soft_targets`` (probabilities), the rest on the labels."""
        soft = F.kl_div(logits.log_softmax(dim=-1), soft_targets, reduction="batchmean")
        return (1 - self.config.kd_weight) * hard + self.config.kd_weight * soft

    def _set_teacher(self, weights: dict[str, Tensor]) -> None:
        """A frozen supernet of ``weights`` whose largest subnet every subnet distils from."""
        teacher = Supernet(self.space, self.task.spec).to(self.device).eval().requires_grad_(False)
        teacher.load_state_dict(weights)
        self.teacher = teacher
        self.teacher_targets = TeacherTargets(
            lambda x: teacher(x, largest(self.space)),
            self.task.train,
            self.task.spec,
            self.augment_mode,
            self.augment_pad,
            self.device,
            self._autocast,
        )

    def _average_gradients(self, loss: Tensor, share: float) -> Tensor:
        """Make every gradient the global batch's (one all-reduce); returns the global batch's loss.

        This process's gradients are of its shard's mean loss: weighted by the shard's share of the
        global batch and summed over the world they are the gradient of the global mean loss. A
        parameter keeps no gradient (AdamW skips it) only if no process computed one.
        """
        used = [float(p.grad is not None) for p in self.supernet.parameters()]
        flat = torch.cat(
            [self._flat_grad() * share, torch.tensor(used, device=self.device), (loss.float() * share).reshape(1)]
        )
        self.world.all_sum(flat)
        self._write_grads(flat, [count > 0 for count in flat[-1 - len(used) : -1].tolist()])
        return flat[-1]

    @torch.no_grad()
    def accuracies(self, configs: Sequence[SubnetConfig], split: Split, batch_size: int = 512) -> list[float]:
        """Accuracy of each subnet ``configs`` (through the supernet) on ``split``, reading it once."""
        self.supernet.eval()
        start, stop = self.world.share(len(split))
        positions = [torch.arange(s, min(s + batch_size, stop)) for s in range(start, stop, batch_size)]
        correct = torch.zeros(len(configs), dtype=torch.int64, device=self.device)
        pin = self.device.type == "cuda"
        for rows, x in zip(positions, split.batches(positions, self.loader_workers, pin)):
            x, y = x.to(self.device, non_blocking=True), split.y[rows].to(self.device)
            for k, config in enumerate(configs):
                with self._autocast():
                    logits = self.supernet(x, config)  # (B, K)
                correct[k] += (logits.argmax(-1) == y).sum()
        self.world.all_sum(correct)
        return [count / len(split) for count in correct.tolist()]

    def accuracy(self, config: SubnetConfig, split: Split, batch_size: int = 512) -> float:
        """Accuracy of subnet ``config`` (through the supernet) on ``split``."""
        return self.accuracies([config], split, batch_size)[0]

    def final_metrics(self) -> dict[str, Any]:
        """Validation accuracy of the largest, smallest and ``eval_subnets`` fixed random subnets."""
        rng = np.random.default_rng([self.config.seed, 2])  # the same table for every run of a seed
        named = [("largest", largest(self.space)), ("smallest", smallest(self.space))]
        named += [(f"random {i + 1}", sample(self.space, rng)) for i in range(self.config.eval_subnets)]
        val = self.accuracies([c for _, c in named], self.task.val)
        test = self.accuracies([c for _, c in named[:2]], self.task.test)
        rows: list[dict[str, Any]] = [
            {"name": name, "arch_id": c.arch_id, "val_accuracy": acc} for (name, c), acc in zip(named, val)
        ]
        for row, acc in zip(rows, test):
            row["test_accuracy"] = acc
        random_acc: list[float] = [row["val_accuracy"] for row in rows[2:]]
        return {
            "subnets": rows,
            "val_largest": rows[0]["val_accuracy"],
            "val_smallest": rows[1]["val_accuracy"],
            "test_largest": rows[0]["test_accuracy"],
            "test_smallest": rows[1]["test_accuracy"],
            "val_random_median": statistics.median(random_acc) if random_acc else None,
        }

    def state(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly (plain data for ``weights_only`` loading)."""
        return {
            "model": _cpu(self.supernet.state_dict()),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "numpy_rng": self.rng.bit_generator.state,
            "torch_rng": self.generator.get_state(),
            "space": self.space.to_dict(),
            "spec": self.task.spec.to_dict(),
            "task": self.task.name,
            "class_names": list(self.task.class_names),
            "train_config": asdict(self.config),
            "augment": self.augment,
            "epoch": self.epoch,
            "history": [asdict(r) for r in self.history],
            **({} if self.teacher is None else {"teacher_model": _cpu(self.teacher.state_dict())}),
            **({} if self.init is None else {"init": self.init}),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state` of an earlier run with the same task, space and config."""
        self.supernet.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.rng.bit_generator.state = state["numpy_rng"]
        self.generator.set_state(state["torch_rng"])
        self.epoch = int(state["epoch"])
        self.history = [EpochRecord(**r) for r in state["history"]]
        self.init = state.get("init")
        if "teacher_model" in state:
            self._set_teacher(state["teacher_model"])


@dataclass(frozen=True)
class TrainResult:
    """The outcome of :func:`train`."""

    path: Path  # the final checkpoint
    metrics: dict[str, Any]  # see Trainer.final_metrics
    history: tuple[EpochRecord, ...]  # one record per epoch
    resumed_from: int  # epochs already done when this call started


def train(
    task: TaskData,
    space: SearchSpace,
    config: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    device: torch.device | None = None,
    on_step: StepCallback | None = None,
    on_epoch: EpochCallback | None = None,
    augment: str | None = None,
    loader_workers: int | None = None,
) -> TrainResult:
    """Train a supernet on ``task`` and write its checkpoint to ``out`` after every epoch.

    With ``resume`` an existing ``out`` is continued (its task, space and settings
    win; they must match those given); without it an existing ``out`` is an error.
    ``augment`` defaults to the resumed checkpoint's, else ``auto``; ``loader_workers``
    processes read streamed examples (they never change the result).
    """
    out = Path(out)
    device = device or torch.device("cpu")
    state = None
    if out.exists():
        if not resume:
            raise TrainingError(
                f"{str(out)!r} already exists; pass `resume` to continue it or choose another file", field="out"
            )
        state = read_checkpoint(out)
        augment = augment or checkpoint_augment(state)
        check_resumable(state, task.name, space, config, augment, out)
    trainer = Trainer(task, space, config, device, augment=augment or "auto", loader_workers=loader_workers)
    if state is not None:
        trainer.restore(state)
        if state.get("complete"):
            return TrainResult(out, dict(state["metrics"]), tuple(trainer.history), trainer.epoch)
    resumed_from = trainer.epoch
    while trainer.epoch < config.epochs:
        record = trainer.run_epoch(on_step)
        save_checkpoint(out, trainer.state())
        if on_epoch is not None:
            on_epoch(record)
    metrics = trainer.final_metrics()
    save_checkpoint(out, {**trainer.state(), "metrics": metrics, "complete": True})
    return TrainResult(out, metrics, tuple(trainer.history), resumed_from)


def opposing_component(gradient: Tensor, reference: Tensor) -> Tensor:
    """The component of ``gradient`` along ``reference`` when the two point against each other (negative dot
    product), else zeros (also when ``reference`` is zero). Both are flat vectors."""
    dot = torch.dot(gradient, reference).clamp(max=0)  # no host sync: a zero factor gives exact zeros
    return dot / torch.dot(reference, reference).clamp_min(torch.finfo(reference.dtype).tiny) * reference


def _cpu(weights: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().cpu() for k, v in weights.items()}


def checkpoint_augment(state: dict[str, Any]) -> str:
    """The augmentation mode a checkpoint was trained with."""
    return str(state.get("augment", LEGACY_AUGMENT))


def check_resumable(
    state: dict[str, Any], task: str, space: SearchSpace, config: TrainConfig, augment: str, out: Path
) -> None:
    """A checkpoint continues only the run it came from (settings it lacks count as their defaults)."""
    stored = {**asdict(TrainConfig.from_dict(state["train_config"])), "augment": checkpoint_augment(state)}
    stored_space = SearchSpace.from_dict(state["space"]).to_dict()  # fields added since count as their defaults
    theirs = {"task": state["task"], "space": stored_space, "train settings": stored}
    ours = {"task": task, "space": space.to_dict(), "train settings": {**asdict(config), "augment": augment}}
    for what in theirs:
        if theirs[what] != ours[what]:
            raise TrainingError(
                f": {str(out)!r} was trained with another {what} ({_diff(theirs[what], ours[what])}); "
                "resume with the original options or choose another `out`",
                field="resume",
            )


def _diff(theirs: Any, ours: Any) -> str:
    if isinstance(theirs, dict) and isinstance(ours, dict):
        keys = [k for k in sorted(set(theirs) | set(ours)) if theirs.get(k) != ours.get(k)]
        return ", ".join(f"{k}: {theirs.get(k)!r} in the checkpoint, {ours.get(k)!r} now" for k in keys[:3])
    return f"{theirs!r} in the checkpoint, {ours!r} now"
