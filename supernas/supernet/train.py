"""Supernet training: the sandwich rule with in-place knowledge distillation.

Every step trains the largest subnet on the labels, then the smallest and
``random_subnets`` random subnets on a mix of the labels and the largest
subnet's (detached) predictions, accumulating gradients into one AdamW step.
The learning rate warms up linearly, then follows a cosine to zero.

All randomness comes from one ``numpy.random.Generator`` (subnet sampling) and
one ``torch.Generator`` (shuffling, augmentation), both stored in every epoch's
checkpoint: a resumed run computes exactly what an uninterrupted run would.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from supernas.data import Split, TaskData, augment
from supernas.errors import TrainingError
from supernas.search_space import SearchSpace, SubnetConfig, largest, sample, smallest
from supernas.supernet.checkpoint import read_checkpoint, save_checkpoint
from supernas.supernet.model import Supernet


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
    seed: int = 0  # seeds weights, shuffling, augmentation and subnet sampling
    eval_subnets: int = 10  # random subnets in the final evaluation table

    def __post_init__(self) -> None:
        for name, low in (("epochs", 1), ("batch_size", 1), ("random_subnets", 0), ("eval_subnets", 0)):
            if getattr(self, name) < low:
                raise TrainingError(f"{name} {getattr(self, name)} is out of range; valid: an integer >= {low}")
        for name in ("lr", "grad_clip"):
            if not getattr(self, name) > 0:
                raise TrainingError(f"{name} {getattr(self, name)} is out of range; valid: a number > 0")
        for name in ("weight_decay", "warmup", "kd_weight", "label_smoothing", "student_weight"):
            if not 0 <= getattr(self, name) <= 1:
                raise TrainingError(f"{name} {getattr(self, name)} is out of range; valid: a number in [0, 1]")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(f"unknown training setting {unknown[0]!r}; valid: {', '.join(sorted(known))}")
        return cls(**data)


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


class Trainer:
    """Owns one training run: supernet, optimizer, schedule and random state."""

    def __init__(self, task: TaskData, space: SearchSpace, config: TrainConfig, device: torch.device) -> None:
        space.check_input(task.spec)
        self.task, self.space, self.config, self.device = task, space, config, device
        weights_gen = torch.Generator().manual_seed(config.seed)
        self.supernet = Supernet(space, task.spec, weights_gen).to(device)
        self.optimizer = torch.optim.AdamW(self.supernet.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.steps_per_epoch = math.ceil(len(task.train) / config.batch_size)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.rng = np.random.default_rng([config.seed, 1])  # subnet sampling
        self.generator = torch.Generator().manual_seed(config.seed + 1)  # shuffling and augmentation
        self.epoch = 0
        self.history: list[EpochRecord] = []
        self.train_x, self.train_y = task.train.x.to(device), task.train.y.to(device)

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

    def run_epoch(self, on_step: StepCallback | None = None) -> EpochRecord:
        """One pass over the shuffled, augmented training split."""
        self.supernet.train()
        order = torch.randperm(len(self.train_y), generator=self.generator).to(self.device)
        losses = []
        for step in range(self.steps_per_epoch):
            rows = order[step * self.config.batch_size : (step + 1) * self.config.batch_size]
            x = augment(self.train_x[rows], self.task.spec.kind, self.generator)  # (B, ...)
            losses.append(self._step(x, self.train_y[rows]))
            if on_step is not None:
                on_step(self.epoch + 1, step + 1, self.steps_per_epoch)
        self.epoch += 1
        record = EpochRecord(
            epoch=self.epoch,
            loss=statistics.fmean(losses),
            val_largest=self.accuracy(largest(self.space), self.task.val),
            val_smallest=self.accuracy(smallest(self.space), self.task.val),
            lr=float(self.scheduler.get_last_lr()[0]),
        )
        self.history.append(record)
        return record

    def _step(self, x: Tensor, y: Tensor) -> float:
        """One sandwich-rule step; returns the largest subnet's loss."""
        cfg = self.config
        self.optimizer.zero_grad(set_to_none=True)
        students = [smallest(self.space)] + [sample(self.space, self.rng) for _ in range(cfg.random_subnets)]
        with self._autocast():
            teacher_logits = self.supernet(x, largest(self.space))  # (B, K)
            loss = F.cross_entropy(teacher_logits.float(), y, label_smoothing=cfg.label_smoothing)
        loss.backward()
        soft_targets = teacher_logits.detach().float().softmax(dim=-1)  # (B, K)
        for config in students:
            with self._autocast():
                logits = self.supernet(x, config).float()  # (B, K)
                hard = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
                soft = F.kl_div(logits.log_softmax(dim=-1), soft_targets, reduction="batchmean")
                student_loss = (1 - cfg.kd_weight) * hard + cfg.kd_weight * soft
            (cfg.student_weight * student_loss).backward()
        torch.nn.utils.clip_grad_norm_(self.supernet.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        return loss.item()

    @torch.no_grad()
    def accuracy(self, config: SubnetConfig, split: Split, batch_size: int = 512) -> float:
        """Accuracy of subnet ``config`` (through the supernet) on ``split``."""
        self.supernet.eval()
        correct = 0
        for start in range(0, len(split), batch_size):
            x = split.x[start : start + batch_size].to(self.device)
            with self._autocast():
                logits = self.supernet(x, config)  # (B, K)
            correct += int((logits.argmax(-1).cpu() == split.y[start : start + batch_size]).sum())
        return correct / len(split)

    def final_metrics(self) -> dict[str, Any]:
        """Validation accuracy of the largest, smallest and ``eval_subnets`` fixed random subnets."""
        rng = np.random.default_rng([self.config.seed, 2])  # the same table for every run of a seed
        named = [("largest", largest(self.space)), ("smallest", smallest(self.space))]
        named += [(f"random {i + 1}", sample(self.space, rng)) for i in range(self.config.eval_subnets)]
        rows: list[dict[str, Any]] = [
            {"name": name, "arch_id": c.arch_id, "val_accuracy": self.accuracy(c, self.task.val)} for name, c in named
        ]
        for row, (_, c) in zip(rows[:2], named):
            row["test_accuracy"] = self.accuracy(c, self.task.test)
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
            "model": {k: v.detach().cpu() for k, v in self.supernet.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "numpy_rng": self.rng.bit_generator.state,
            "torch_rng": self.generator.get_state(),
            "space": self.space.to_dict(),
            "spec": self.task.spec.to_dict(),
            "task": self.task.name,
            "class_names": list(self.task.class_names),
            "train_config": asdict(self.config),
            "epoch": self.epoch,
            "history": [asdict(r) for r in self.history],
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
) -> TrainResult:
    """Train a supernet on ``task`` and write its checkpoint to ``out`` after every epoch.

    With ``resume`` an existing ``out`` is continued (its task, space and settings
    win; they must match those given); without it an existing ``out`` is an error.
    """
    out = Path(out)
    device = device or torch.device("cpu")
    trainer = Trainer(task, space, config, device)
    if out.exists():
        if not resume:
            raise TrainingError(
                f"{str(out)!r} already exists; pass `resume` to continue it or choose another file", field="out"
            )
        state = read_checkpoint(out)
        _check_compatible(state, trainer, out)
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


def _check_compatible(state: dict[str, Any], trainer: Trainer, out: Path) -> None:
    """A checkpoint continues only the run it came from."""
    theirs = {"task": state["task"], "space": state["space"], "train settings": state["train_config"]}
    ours = {"task": trainer.task.name, "space": trainer.space.to_dict(), "train settings": asdict(trainer.config)}
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
