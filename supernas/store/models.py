"""The database schema: typed SQLAlchemy 2.0 ORM tables."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10 only

    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return str(self.value)


class EvaluationStatus(StrEnum):
    """Where one architecture of a search stands: PENDING → RUNNING → COMPLETE or FAILED."""

    PENDING = "PENDING"  # queued by a strategy, not started
    RUNNING = "RUNNING"  # handed to an evaluator (requeued as PENDING when a killed search resumes)
    COMPLETE = "COMPLETE"  # measured; never measured again
    FAILED = "FAILED"  # the evaluation raised or timed out

    @property
    def finished(self) -> bool:
        return self in (EvaluationStatus.COMPLETE, EvaluationStatus.FAILED)


class SearchStatus(StrEnum):
    """Where a search stands."""

    RUNNING = "RUNNING"  # a process is (or was, if it was killed) measuring
    COMPLETE = "COMPLETE"  # the budget is measured
    FAILED = "FAILED"  # stopped by an error
    INTERRUPTED = "INTERRUPTED"  # stopped by SIGINT/SIGTERM; `supernas resume` continues it


class TrainingStatus(StrEnum):
    """Where one subnet training stands: PENDING → RUNNING → COMPLETE or FAILED."""

    PENDING = "PENDING"  # recorded, not started
    RUNNING = "RUNNING"  # training, or its driver was killed (`resume` continues from its last checkpoint)
    COMPLETE = "COMPLETE"  # trained and measured; never trained or overwritten again
    FAILED = "FAILED"  # raised, diverged or ran out of restarts (`resume` retries from its last checkpoint)

    @property
    def finished(self) -> bool:
        return self in (TrainingStatus.COMPLETE, TrainingStatus.FAILED)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class SupernetRow(Base):
    """A trained supernet checkpoint searches can use."""

    __tablename__ = "supernets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    task: Mapped[str] = mapped_column(String(500))
    space: Mapped[dict[str, Any]]
    spec: Mapped[dict[str, Any]]
    class_names: Mapped[list[Any]]
    checkpoint_path: Mapped[str] = mapped_column(Text)
    checkpoint_sha256: Mapped[str] = mapped_column(String(64), index=True, unique=True)
    train_metrics: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SearchRow(Base):
    """One multi-objective search and its fixed settings."""

    __tablename__ = "searches"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    supernet_id: Mapped[int | None] = mapped_column(ForeignKey("supernets.id"))
    strategy: Mapped[str] = mapped_column(String(50))
    objectives: Mapped[list[Any]]
    constraints: Mapped[list[Any]]
    budget: Mapped[int] = mapped_column(Integer)
    batch_size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    hv_reference: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    settings: Mapped[dict[str, Any]]
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the process holding the lease
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # its last sign
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class EvaluationRow(Base):
    """One architecture of one search: queued, running, measured or failed."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("search_id", "arch_id", name="uq_evaluation_search_arch"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"), index=True)
    arch_id: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20))
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    predictions: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    iteration: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    device: Mapped[str | None] = mapped_column(String(100), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class FrontRow(Base):
    """The measured Pareto front after one iteration."""

    __tablename__ = "fronts"
    __table_args__ = (UniqueConstraint("search_id", "iteration", name="uq_front_search_iteration"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"), index=True)
    iteration: Mapped[int] = mapped_column(Integer)
    members: Mapped[list[Any]]
    hypervolume: Mapped[float] = mapped_column(Float)
    n_evaluated: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PredictorFitRow(Base):
    """Quality of the predictor chosen for one objective at one iteration."""

    __tablename__ = "predictor_fits"
    __table_args__ = (UniqueConstraint("search_id", "iteration", "objective", name="uq_fit_search_iter_obj"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"), index=True)
    iteration: Mapped[int] = mapped_column(Integer)
    objective: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(50))
    kendall_tau: Mapped[float | None] = mapped_column(Float, nullable=True)
    mape: Mapped[float | None] = mapped_column(Float, nullable=True)
    n_train: Mapped[int] = mapped_column(Integer)
    scores: Mapped[dict[str, Any]]


class ExportRow(Base):
    """A subnet written out by ``supernas export``."""

    __tablename__ = "exports"
    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"), index=True)
    arch_id: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(50))
    path: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrainingRow(Base):
    """One subnet of a search trained further: one row per (search, arch_id, init, seed)."""

    __tablename__ = "trainings"
    __table_args__ = (
        UniqueConstraint("search_id", "arch_id", "init", "seed", name="uq_training_search_arch_init_seed"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"), index=True)
    arch_id: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]]  # SubnetConfig.to_dict()
    init: Mapped[str] = mapped_column(String(20))  # "inherited" or "scratch"
    seed: Mapped[int] = mapped_column(BigInteger)  # seeds shuffling, augmentation (and scratch weights)
    teacher: Mapped[str] = mapped_column(String(20))  # "largest" or "none"
    settings: Mapped[dict[str, Any]]  # the FinetuneConfig it trains with
    status: Mapped[str] = mapped_column(String(20))
    epochs: Mapped[int] = mapped_column(Integer)  # epochs it trains for
    curve: Mapped[list[Any]]  # one {epoch, loss, val_accuracy, lr, seconds} per finished epoch
    starts: Mapped[list[Any]]  # one {from_epoch, worker, device, at} per (re)start
    inherited_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)  # the search's measurement
    val_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)  # after training
    test_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)  # after training
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)  # of the trained module, on its worker
    checkpoint_path: Mapped[str | None] = mapped_column(Text, nullable=True)  # the last epoch's checkpoint
    checkpoint_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    weights_path: Mapped[str | None] = mapped_column(Text, nullable=True)  # the trained weights (safetensors)
    weights_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)  # training time, summed over epochs
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    device: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
