"""The persistent store of supernets, searches, evaluations, fronts and predictor fits."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, func, inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from supernas.atomic import check_path_name, check_writable
from supernas.errors import LeaseLostError, SearchBusyError, StorageError, StorageLostError
from supernas.store import migrations
from supernas.store.models import (
    Base,
    EvaluationRow,
    EvaluationStatus,
    ExportRow,
    FrontRow,
    PredictorFitRow,
    SearchRow,
    SearchStatus,
    SupernetRow,
    TrainingRow,
    TrainingStatus,
    utcnow,
)

DEFAULT_URL = "sqlite:///supernas.db"
URL_HELP = "sqlite:///PATH or any SQLAlchemy URL"
BUSY_TIMEOUT_MS = 30_000
CREATION_WAIT_S = 10.0  # how long to wait for another process creating the same new database
CREATION_POLL_S = 0.05  # how often to look again meanwhile


@dataclass(frozen=True)
class SupernetRecord:
    """A registered supernet."""

    name: str  # unique
    task: str  # "digits" or "npz:PATH"
    space: dict[str, Any]  # SearchSpace.to_dict()
    spec: dict[str, Any]  # InputSpec.to_dict()
    class_names: list[str]  # one per label
    checkpoint_path: str  # where the checkpoint was when registered
    checkpoint_sha256: str  # of the checkpoint file
    train_metrics: dict[str, Any]  # final training evaluation


@dataclass(frozen=True)
class SearchRecord:
    """A search and its fixed settings."""

    id: int  # database id
    name: str  # unique
    supernet_name: str | None  # None for synthetic searches
    strategy: str  # linas, nsga2, random or optuna
    objectives: list[dict[str, str]]  # [{"name": ..., "direction": "max"|"min"}]
    constraints: list[str]  # e.g. ["latency_ms<=2.5"]
    budget: int  # distinct architectures to measure
    batch_size: int  # architectures per iteration
    seed: int  # seeds the strategy
    status: SearchStatus
    hv_reference: list[float] | None  # fixed hypervolume reference point (minimisation form)
    settings: dict[str, Any]  # strategy and executor options
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EvaluationRecord:
    """One architecture of a search."""

    arch_id: str
    config: dict[str, Any]  # SubnetConfig.to_dict()
    status: EvaluationStatus
    metrics: dict[str, Any] | None  # measured values when COMPLETE
    predictions: dict[str, Any] | None  # what the predictors expected, when they chose it
    iteration: int  # the iteration that asked for it
    worker: str | None
    device: str | None
    seconds: float | None  # evaluation wall time
    error: str | None  # why it FAILED
    attempts: int  # times it was started


@dataclass(frozen=True)
class FrontRecord:
    """The measured front after an iteration."""

    iteration: int
    members: list[str]  # arch_ids
    hypervolume: float
    n_evaluated: int


@dataclass(frozen=True)
class PredictorFitRecord:
    """Quality of one objective's predictor at one iteration."""

    iteration: int
    objective: str
    kind: str
    kendall_tau: float | None
    mape: float | None
    n_train: int
    scores: dict[str, Any]


@dataclass(frozen=True)
class ExportRecord:
    """A written export."""

    arch_id: str
    format: str
    path: str
    metrics: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class TrainingKey:
    """One subnet training of a search: which subnet, from which weights, with which seed."""

    arch_id: str  # the subnet
    init: str  # "inherited" (the supernet's weights) or "scratch" (re-initialised)
    seed: int  # seeds shuffling, augmentation and scratch weights

    @property
    def label(self) -> str:
        """``ARCH_ID-INIT-sSEED``: names the training's directory and its Ray trial."""
        return f"{self.arch_id}-{self.init}-s{self.seed}"


@dataclass(frozen=True)
class TrainingRecord:
    """One subnet training of a search and where it stands."""

    search: str  # the search's name
    arch_id: str
    config: dict[str, Any]  # SubnetConfig.to_dict()
    init: str  # "inherited" or "scratch"
    seed: int
    teacher: str  # "largest" or "none"
    settings: dict[str, Any]  # the FinetuneConfig it trains with
    status: TrainingStatus
    epochs: int  # epochs it trains for
    curve: list[dict[str, Any]]  # one {epoch, loss, val_accuracy, lr, seconds} per finished epoch
    starts: list[dict[str, Any]]  # one {from_epoch, worker, device, at} per (re)start
    inherited_accuracy: float | None  # validation accuracy the search measured (inherited weights)
    val_accuracy: float | None  # after training
    test_accuracy: float | None  # after training
    latency_ms: float | None  # of the trained module, on its worker
    checkpoint_path: str | None  # the last finished epoch's checkpoint
    checkpoint_sha256: str | None
    weights_path: str | None  # the trained weights, once COMPLETE
    weights_sha256: str | None
    seconds: float | None  # training time summed over epochs
    worker: str | None
    device: str | None
    error: str | None  # why it FAILED
    created_at: datetime
    finished_at: datetime | None

    @property
    def key(self) -> TrainingKey:
        return TrainingKey(self.arch_id, self.init, self.seed)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (timestamps in ISO 8601)."""
        data = {f: getattr(self, f) for f in self.__dataclass_fields__}
        data["created_at"] = self.created_at.isoformat()
        data["finished_at"] = None if self.finished_at is None else self.finished_at.isoformat()
        return data


R = TypeVar("R")


class Store:
    """Persistent state of supernas behind any SQLAlchemy URL.

    Contract:

    * every public method is one transaction, committed before it returns (so a
      killed process loses nothing it was told was stored) and rolled back whole on
      error: readers, in this process or another, only ever see committed rows;
    * writes of evaluations are idempotent: ``UNIQUE(search, arch_id)`` makes a
      retried ``add_pending`` a no-op, ``complete`` never duplicates a row and a
      COMPLETE row is never overwritten by ``fail``;
    * records returned are frozen copies, detached from any session;
    * registration is idempotent under races: one supernet row per checkpoint
      sha256 (a concurrent insert of the same checkpoint returns the row that won);
    * a search has one writer: :meth:`acquire_lease` takes it atomically (compare
      and set on the owner), :meth:`renew_lease` is its heartbeat, and a lease whose
      owner is dead (its process is gone, or its heartbeat is stale) is taken over;
    * a SQLite file deleted or replaced while the store is open is detected before
      the next commit (:class:`StorageLostError`): nothing is ever written to a
      database nobody can read;
    * SQLite is opened in WAL mode with a busy timeout and foreign keys on, so
      readers never see "database is locked" while a search writes;
    * a store is used by one process (any number of threads); open a new one after ``fork()``.
    """

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine, self.url = engine, url
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._file = _sqlite_file(url)  # the SQLite database file (None for other backends)
        self._identity: tuple[int, int] | None = None  # its (device, inode) once open

    @classmethod
    def open(cls, url: str | None = None, *, create: bool = False) -> Store:
        """Open the store at ``url`` (default: ``$SUPERNAS_STORAGE``, else ``sqlite:///supernas.db``).

        ``create=False`` never creates anything: a missing SQLite file or an old
        schema is an error. ``create=True`` creates the database and upgrades it.
        """
        url = _url(url)
        engine = _engine(url, create)
        store = cls(engine, url)
        try:
            _create_or_check(engine, url, create, store._file is not None)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise _unusable(url, exc) from None
        except StorageError:
            engine.dispose()
            raise
        if store._file is not None:
            store._identity = _identity(store._file)
        return store

    @staticmethod
    def check_url(url: str | None = None) -> None:
        """Raise the error ``open(url, create=True)`` would, without creating or changing anything: a malformed
        URL, a server that does not answer, a database of another program or a newer supernas (read only, never
        migrated), or a new SQLite file in a directory this process cannot write."""
        url = _url(url)
        engine = _engine(url, create=True)
        try:
            path = _sqlite_file(url)
            if path is None or path.exists():
                _while_being_created(engine, lambda: _check_schema(engine, url, create=True))
            else:
                check_writable(path.parent, "storage")
        except SQLAlchemyError as exc:
            raise _unusable(url, exc) from None
        finally:
            engine.dispose()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, conflicts: bool = False) -> Iterator[Session]:
        """The one place a session is opened, committed or rolled back.

        With ``conflicts`` a unique-constraint violation raises :class:`_Conflict` (the
        caller looks again) instead of a :class:`StorageError`.
        """
        session = self._sessions()
        try:
            yield session
            self._check_file()
            session.commit()
        except StorageError:
            session.rollback()
            raise
        except IntegrityError as exc:
            session.rollback()
            if conflicts:
                raise _Conflict from None
            raise StorageError(f"storage {self.url!r}: {_first_line(exc)}") from None
        except SQLAlchemyError as exc:
            session.rollback()
            raise StorageError(f"storage {self.url!r}: {_first_line(exc)}") from None
        finally:
            session.close()

    def _check_file(self) -> None:
        """Refuse to commit into a SQLite file that was deleted or replaced since the store opened it."""
        if self._identity is not None and self._file is not None and _identity(self._file) != self._identity:
            raise StorageLostError(
                f"database {str(self._file)!r} was deleted or replaced while in use; nothing more is written to it"
            )

    # supernets

    def add_supernet(
        self,
        name: str,
        task: str,
        space: dict[str, Any],
        spec: dict[str, Any],
        class_names: list[str],
        checkpoint_path: str,
        checkpoint_sha256: str,
        train_metrics: dict[str, Any],
    ) -> SupernetRecord:
        """Register a supernet, once per checkpoint: a checkpoint already registered (under any name, also by a
        concurrent process) returns its existing record; a name taken by another checkpoint is an error."""
        check_name(name, "supernet name")
        for _ in range(3):  # a concurrent insert of the same checkpoint or name makes us look again
            try:
                with self._transaction(conflicts=True) as s:
                    row = s.scalar(select(SupernetRow).where(SupernetRow.checkpoint_sha256 == checkpoint_sha256))
                    if row is not None:
                        return _supernet(row)
                    if s.scalar(select(SupernetRow.id).where(SupernetRow.name == name)) is not None:
                        raise StorageError(
                            f"supernet name {name!r} is taken by another checkpoint; choose another name"
                        )
                    row = SupernetRow(
                        name=name,
                        task=task,
                        space=space,
                        spec=spec,
                        class_names=list(class_names),
                        checkpoint_path=checkpoint_path,
                        checkpoint_sha256=checkpoint_sha256,
                        train_metrics=train_metrics,
                    )
                    s.add(row)
                    s.flush()
                    return _supernet(row)
            except _Conflict:
                continue
        raise StorageError(f"supernet {name!r}: registration kept conflicting with concurrent writers; try again")

    def get_supernet(self, name: str) -> SupernetRecord:
        with self._transaction() as s:
            row = s.scalar(select(SupernetRow).where(SupernetRow.name == name))
            if row is None:
                known = s.scalars(select(SupernetRow.name).order_by(SupernetRow.id)).all()
                raise StorageError(f"unknown supernet {name!r}; known: {', '.join(known) or 'none registered yet'}")
            return _supernet(row)

    def find_supernet_by_sha(self, sha256: str) -> SupernetRecord | None:
        with self._transaction() as s:
            row = s.scalar(select(SupernetRow).where(SupernetRow.checkpoint_sha256 == sha256))
            return None if row is None else _supernet(row)

    def list_supernets(self) -> list[SupernetRecord]:
        with self._transaction() as s:
            return [_supernet(r) for r in s.scalars(select(SupernetRow).order_by(SupernetRow.id))]

    # searches

    def create_search(
        self,
        name: str,
        strategy: str,
        objectives: list[dict[str, str]],
        constraints: list[str],
        budget: int,
        batch_size: int,
        seed: int,
        supernet_name: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> SearchRecord:
        """Create a search in status RUNNING; a taken name is an error (also when a concurrent process takes it)."""
        check_name(name, "search name")
        taken = StorageError(f"search name {name!r} is taken; choose another `name` or `supernas resume {name}`")
        try:
            return self._create_search(
                name, strategy, objectives, constraints, budget, batch_size, seed, supernet_name, settings, taken
            )
        except _Conflict:
            raise taken from None

    def _create_search(
        self,
        name: str,
        strategy: str,
        objectives: list[dict[str, str]],
        constraints: list[str],
        budget: int,
        batch_size: int,
        seed: int,
        supernet_name: str | None,
        settings: dict[str, Any] | None,
        taken: StorageError,
    ) -> SearchRecord:
        with self._transaction(conflicts=True) as s:
            if s.scalar(select(SearchRow.id).where(SearchRow.name == name)) is not None:
                raise taken
            supernet_id = None
            if supernet_name is not None:
                supernet_id = s.scalar(select(SupernetRow.id).where(SupernetRow.name == supernet_name))
                if supernet_id is None:
                    raise StorageError(f"unknown supernet {supernet_name!r}")
            row = SearchRow(
                name=name,
                supernet_id=supernet_id,
                strategy=strategy,
                objectives=objectives,
                constraints=constraints,
                budget=budget,
                batch_size=batch_size,
                seed=seed,
                status=SearchStatus.RUNNING,
                hv_reference=None,
                settings=settings or {},
            )
            s.add(row)
            s.flush()
            return _search(row, supernet_name)

    def get_search(self, name: str) -> SearchRecord:
        with self._transaction() as s:
            return self._search_record(s, self._search_row(s, name))

    def list_searches(self) -> list[SearchRecord]:
        with self._transaction() as s:
            return [self._search_record(s, r) for r in s.scalars(select(SearchRow).order_by(SearchRow.id))]

    def set_search_status(self, name: str, status: SearchStatus | str) -> None:
        if status not in tuple(SearchStatus):
            raise StorageError(f"search status {status!r} is not valid; valid: {', '.join(SearchStatus)}")
        with self._transaction() as s:
            self._search_row(s, name).status = status

    def set_hv_reference(self, name: str, reference: list[float]) -> None:
        with self._transaction() as s:
            self._search_row(s, name).hv_reference = [float(v) for v in reference]

    # the one-writer lease of a search

    def acquire_lease(self, search: str, owner: str, stale_after_s: float) -> None:
        """Make ``owner`` the one writer of ``search``, atomically.

        Succeeds when the search has no owner, is already ``owner``'s, or its owner is
        dead: a process of this host that no longer exists, or a heartbeat older than
        ``stale_after_s``. Otherwise raises :class:`SearchBusyError` naming the owner
        and its last heartbeat. Of two processes racing for a dead owner's lease,
        exactly one wins (compare and set on the owner); the other sees the winner.
        """
        for _ in range(3):
            with self._transaction() as s:
                row = self._search_row(s, search)
                seen, beat, now = row.owner, _aware(row.heartbeat_at), utcnow()
                if seen not in (None, owner) and owner_alive(seen) and beat is not None:
                    age = (now - beat).total_seconds()
                    if age < stale_after_s:
                        raise SearchBusyError(
                            f"search {search!r} is being run by {seen} (last heartbeat {age:.0f} s ago); wait for it "
                            f"to finish, stop it, or resume after its lease goes stale ({stale_after_s:g} s)"
                        )
                same_owner = SearchRow.owner.is_(None) if seen is None else SearchRow.owner == seen
                taken = s.execute(
                    update(SearchRow)
                    .where(SearchRow.id == row.id, same_owner)
                    .values(owner=owner, heartbeat_at=now)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    return
        raise SearchBusyError(f"search {search!r} keeps changing hands between other processes; try again later")

    def renew_lease(self, search: str, owner: str) -> None:
        """The heartbeat of ``owner``'s lease; :class:`LeaseLostError` when another process took it over."""
        with self._transaction() as s:
            renewed = s.execute(
                update(SearchRow)
                .where(SearchRow.name == search, SearchRow.owner == owner)
                .values(heartbeat_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if renewed.rowcount != 1:  # type: ignore[attr-defined]
                raise LeaseLostError(f"search {search!r} was taken over by another process; this one stops")

    def release_lease(self, search: str, owner: str) -> None:
        """Give up ``owner``'s lease (a no-op when it is not the owner)."""
        with self._transaction() as s:
            s.execute(
                update(SearchRow)
                .where(SearchRow.name == search, SearchRow.owner == owner)
                .values(owner=None, heartbeat_at=None)
                .execution_options(synchronize_session=False)
            )

    # evaluations

    def add_pending(
        self, search: str, iteration: int, items: list[tuple[str, dict[str, Any], dict[str, Any] | None]]
    ) -> int:
        """Queue architectures as PENDING; ones the search already has are left alone. Returns how many were new."""
        with self._transaction() as s:
            search_id = self._search_row(s, search).id
            existing = set(s.scalars(select(EvaluationRow.arch_id).where(EvaluationRow.search_id == search_id)))
            added = 0
            for arch_id, config, predictions in items:
                if arch_id in existing:
                    continue
                existing.add(arch_id)
                s.add(
                    EvaluationRow(
                        search_id=search_id,
                        arch_id=arch_id,
                        config=config,
                        status=EvaluationStatus.PENDING,
                        predictions=predictions,
                        iteration=iteration,
                        attempts=0,
                    )
                )
                added += 1
            return added

    def mark_running(self, search: str, arch_id: str, worker: str | None = None, device: str | None = None) -> None:
        with self._transaction() as s:
            row = self._evaluation_row(s, search, arch_id)
            if row.status in (EvaluationStatus.PENDING, EvaluationStatus.RUNNING):
                row.status, row.worker, row.device = EvaluationStatus.RUNNING, worker, device
                row.started_at, row.attempts = utcnow(), row.attempts + 1

    def complete(
        self,
        search: str,
        arch_id: str,
        metrics: dict[str, Any],
        worker: str | None = None,
        device: str | None = None,
        seconds: float | None = None,
        *,
        config: dict[str, Any] | None = None,
        iteration: int = -1,
    ) -> bool:
        """Record measured ``metrics``; a second completion of the same architecture changes nothing."""
        with self._transaction() as s:
            row = self._find_evaluation(s, search, arch_id)
            if row is None:
                if config is None:
                    raise StorageError(f"search {search!r} has no evaluation {arch_id!r}")
                row = EvaluationRow(
                    search_id=self._search_row(s, search).id,
                    arch_id=arch_id,
                    config=config,
                    status=EvaluationStatus.PENDING,
                    iteration=iteration,
                    attempts=1,
                )
                s.add(row)
            if row.status == EvaluationStatus.COMPLETE:
                return False
            row.status, row.metrics, row.error = EvaluationStatus.COMPLETE, dict(metrics), None
            row.worker, row.device, row.seconds, row.finished_at = worker, device, seconds, utcnow()
            return True

    def fail(
        self,
        search: str,
        arch_id: str,
        error: str,
        worker: str | None = None,
        device: str | None = None,
        seconds: float | None = None,
    ) -> bool:
        """Record a failed evaluation; never overwrites a COMPLETE one."""
        with self._transaction() as s:
            row = self._evaluation_row(s, search, arch_id)
            if row.status == EvaluationStatus.COMPLETE:
                return False
            row.status, row.error = EvaluationStatus.FAILED, error
            row.worker, row.device, row.seconds, row.finished_at = worker, device, seconds, utcnow()
            return True

    def update_metrics(self, search: str, arch_id: str, extra: dict[str, Any]) -> None:
        """Merge ``extra`` (e.g. ``test_accuracy``) into a COMPLETE evaluation's metrics."""
        with self._transaction() as s:
            row = self._evaluation_row(s, search, arch_id)
            if row.status != EvaluationStatus.COMPLETE:
                raise StorageError(f"evaluation {arch_id!r} of {search!r} is {row.status}, not COMPLETE")
            row.metrics = {**(row.metrics or {}), **extra}

    def reset_running(self, search: str) -> int:
        """Requeue evaluations left RUNNING by a killed process; returns how many."""
        with self._transaction() as s:
            search_id = self._search_row(s, search).id
            running = EvaluationRow.status == EvaluationStatus.RUNNING
            rows = s.scalars(select(EvaluationRow).where(EvaluationRow.search_id == search_id, running)).all()
            for row in rows:
                row.status = EvaluationStatus.PENDING
            return len(rows)

    def evaluations(self, search: str, status: EvaluationStatus | None = None) -> list[EvaluationRecord]:
        """Evaluations of ``search`` in the order they were queued."""
        with self._transaction() as s:
            query = select(EvaluationRow).where(EvaluationRow.search_id == self._search_row(s, search).id)
            if status is not None:
                query = query.where(EvaluationRow.status == status)
            return [_evaluation(r) for r in s.scalars(query.order_by(EvaluationRow.id))]

    def count_evaluations(self, search: str) -> dict[EvaluationStatus, int]:
        """How many evaluations of ``search`` are in each status (every status present)."""
        with self._transaction() as s:
            search_id = self._search_row(s, search).id
            rows = s.execute(
                select(EvaluationRow.status, func.count())
                .where(EvaluationRow.search_id == search_id)
                .group_by(EvaluationRow.status)
            ).all()
            counts = dict.fromkeys(EvaluationStatus, 0)
            counts.update({EvaluationStatus(status): int(n) for status, n in rows})
            return counts

    # fronts, predictor fits, exports

    def add_front(self, search: str, iteration: int, members: list[str], hypervolume: float, n_evaluated: int) -> None:
        """Store (or replace) the measured front of an iteration."""
        with self._transaction() as s:
            search_id = self._search_row(s, search).id
            row = s.scalar(select(FrontRow).where(FrontRow.search_id == search_id, FrontRow.iteration == iteration))
            if row is None:
                row = FrontRow(search_id=search_id, iteration=iteration)
                s.add(row)
            row.members, row.hypervolume, row.n_evaluated = list(members), float(hypervolume), n_evaluated

    def fronts(self, search: str) -> list[FrontRecord]:
        with self._transaction() as s:
            search_id = self._search_row(s, search).id
            rows = s.scalars(select(FrontRow).where(FrontRow.search_id == search_id).order_by(FrontRow.iteration))
            return [FrontRecord(r.iteration, list(r.members), r.hypervolume, r.n_evaluated) for r in rows]

    def add_predictor_fit(
        self,
        search: str,
        iteration: int,
        objective: str,
        kind: str,
        kendall_tau: float | None,
        mape: float | None,
        n_train: int,
        scores: dict[str, Any],
    ) -> None:
        """Store (or replace) the fit quality of one objective's predictor at an iteration."""
        with self._transaction() as s:
            search_id = self._search_row(s, search).id
            row = s.scalar(
                select(PredictorFitRow).where(
                    PredictorFitRow.search_id == search_id,
                    PredictorFitRow.iteration == iteration,
                    PredictorFitRow.objective == objective,
                )
            )
            if row is None:
                row = PredictorFitRow(search_id=search_id, iteration=iteration, objective=objective)
                s.add(row)
            row.kind, row.kendall_tau, row.mape, row.n_train, row.scores = kind, kendall_tau, mape, n_train, scores

    def predictor_fits(self, search: str) -> list[PredictorFitRecord]:
        with self._transaction() as s:
            search_id = self._search_row(s, search).id
            rows = s.scalars(
                select(PredictorFitRow)
                .where(PredictorFitRow.search_id == search_id)
                .order_by(PredictorFitRow.iteration, PredictorFitRow.objective)
            )
            return [
                PredictorFitRecord(r.iteration, r.objective, r.kind, r.kendall_tau, r.mape, r.n_train, dict(r.scores))
                for r in rows
            ]

    def add_export(self, search: str, arch_id: str, format: str, path: str, metrics: dict[str, Any]) -> ExportRecord:
        with self._transaction() as s:
            row = ExportRow(
                search_id=self._search_row(s, search).id, arch_id=arch_id, format=format, path=path, metrics=metrics
            )
            s.add(row)
            s.flush()
            return ExportRecord(row.arch_id, row.format, row.path, dict(row.metrics), row.created_at)

    def exports(self, search: str) -> list[ExportRecord]:
        with self._transaction() as s:
            rows = s.scalars(
                select(ExportRow).where(ExportRow.search_id == self._search_row(s, search).id).order_by(ExportRow.id)
            )
            return [ExportRecord(r.arch_id, r.format, r.path, dict(r.metrics), r.created_at) for r in rows]

    # subnet trainings

    def add_training(
        self,
        search: str,
        key: TrainingKey,
        config: dict[str, Any],
        teacher: str,
        settings: dict[str, Any],
        epochs: int,
        inherited_accuracy: float | None,
    ) -> TrainingRecord:
        """Record a PENDING training; one that exists (also one a concurrent process just added) is returned as is."""
        for _ in range(3):
            try:
                with self._transaction(conflicts=True) as s:
                    row = self._find_training(s, search, key)
                    if row is None:
                        row = TrainingRow(
                            search_id=self._search_row(s, search).id,
                            arch_id=key.arch_id,
                            config=config,
                            init=key.init,
                            seed=key.seed,
                            teacher=teacher,
                            settings=settings,
                            status=TrainingStatus.PENDING,
                            epochs=epochs,
                            curve=[],
                            starts=[],
                            inherited_accuracy=inherited_accuracy,
                        )
                        s.add(row)
                        s.flush()
                    return _training(row, search)
            except _Conflict:
                continue
        raise StorageError(f"training {key.label!r} of {search!r} kept conflicting with concurrent writers; try again")

    def start_training(self, search: str, key: TrainingKey, worker: str, device: str, from_epoch: int) -> bool:
        """Note a (re)start of a training at ``from_epoch``; a COMPLETE training is left alone (returns False)."""
        with self._transaction() as s:
            row = self._training_row(s, search, key)
            if row.status == TrainingStatus.COMPLETE:
                return False
            start = {"from_epoch": from_epoch, "worker": worker, "device": device, "at": utcnow().isoformat()}
            row.status, row.worker, row.device, row.error = TrainingStatus.RUNNING, worker, device, None
            row.starts = [*row.starts, start]
            return True

    def record_training_epoch(
        self, search: str, key: TrainingKey, entry: dict[str, Any], checkpoint_path: str, checkpoint_sha256: str
    ) -> bool:
        """Add a finished epoch (``entry["epoch"]``, 1-based) and its checkpoint; an epoch recorded before is
        replaced, with every later one (a restart redid it). A COMPLETE training is left alone (returns False)."""
        with self._transaction() as s:
            row = self._training_row(s, search, key)
            if row.status == TrainingStatus.COMPLETE:
                return False
            epoch = int(entry["epoch"])
            row.curve = [e for e in row.curve if int(e["epoch"]) < epoch] + [dict(entry)]
            row.checkpoint_path, row.checkpoint_sha256 = checkpoint_path, checkpoint_sha256
            row.status = TrainingStatus.RUNNING
            return True

    def complete_training(
        self,
        search: str,
        key: TrainingKey,
        metrics: dict[str, float],
        weights_path: str,
        weights_sha256: str,
        seconds: float,
    ) -> bool:
        """Record the trained weights and their ``val_accuracy``, ``test_accuracy`` and ``latency_ms``; a second
        completion changes nothing (returns False)."""
        with self._transaction() as s:
            row = self._training_row(s, search, key)
            if row.status == TrainingStatus.COMPLETE:
                return False
            row.status, row.error, row.finished_at = TrainingStatus.COMPLETE, None, utcnow()
            row.val_accuracy, row.test_accuracy = metrics["val_accuracy"], metrics["test_accuracy"]
            row.latency_ms, row.seconds = metrics["latency_ms"], seconds
            row.weights_path, row.weights_sha256 = weights_path, weights_sha256
            return True

    def fail_training(self, search: str, key: TrainingKey, error: str) -> bool:
        """Record why a training stopped; never overwrites a COMPLETE one (returns False)."""
        with self._transaction() as s:
            row = self._training_row(s, search, key)
            if row.status == TrainingStatus.COMPLETE:
                return False
            row.status, row.error, row.finished_at = TrainingStatus.FAILED, error, utcnow()
            return True

    def trainings(self, search: str, status: TrainingStatus | None = None) -> list[TrainingRecord]:
        """Trainings of ``search`` in the order they were recorded."""
        with self._transaction() as s:
            query = select(TrainingRow).where(TrainingRow.search_id == self._search_row(s, search).id)
            if status is not None:
                query = query.where(TrainingRow.status == status)
            return [_training(r, search) for r in s.scalars(query.order_by(TrainingRow.id))]

    def _find_training(self, s: Session, search: str, key: TrainingKey) -> TrainingRow | None:
        return s.scalar(
            select(TrainingRow).where(
                TrainingRow.search_id == self._search_row(s, search).id,
                TrainingRow.arch_id == key.arch_id,
                TrainingRow.init == key.init,
                TrainingRow.seed == key.seed,
            )
        )

    def _training_row(self, s: Session, search: str, key: TrainingKey) -> TrainingRow:
        row = self._find_training(s, search, key)
        if row is None:
            raise StorageError(f"search {search!r} has no training {key.label!r}")
        return row

    # lookups inside a transaction

    @staticmethod
    def _search_row(s: Session, name: str) -> SearchRow:
        row = s.scalar(select(SearchRow).where(SearchRow.name == name))
        if row is None:
            known = s.scalars(select(SearchRow.name).order_by(SearchRow.id)).all()
            raise StorageError(f"unknown search {name!r}; known: {', '.join(known) or 'no searches yet'}")
        return row

    def _find_evaluation(self, s: Session, search: str, arch_id: str) -> EvaluationRow | None:
        search_id = self._search_row(s, search).id
        return s.scalar(
            select(EvaluationRow).where(EvaluationRow.search_id == search_id, EvaluationRow.arch_id == arch_id)
        )

    def _evaluation_row(self, s: Session, search: str, arch_id: str) -> EvaluationRow:
        row = self._find_evaluation(s, search, arch_id)
        if row is None:
            raise StorageError(f"search {search!r} has no evaluation {arch_id!r}")
        return row

    @staticmethod
    def _search_record(s: Session, row: SearchRow) -> SearchRecord:
        supernet = None if row.supernet_id is None else s.get(SupernetRow, row.supernet_id)
        return _search(row, None if supernet is None else supernet.name)


class _Conflict(Exception):
    """A unique constraint refused an insert that a concurrent writer made first."""


MAX_NAME = 200  # characters of a search or supernet name (the columns' length)


def check_name(name: str, what: str) -> None:
    """A name must fit its column and be printable: 1..MAX_NAME characters, no control characters."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME or not name.isprintable() or name != name.strip():
        shown = name[:40] + "…" if isinstance(name, str) and len(name) > 40 else name
        raise StorageError(
            f"{what} {shown!r} is not valid; valid: 1 to {MAX_NAME} printable characters without surrounding spaces"
        )


def owner_id() -> str:
    """This process as a lease owner: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_alive(owner: str) -> bool:
    """False when ``owner`` is a process of this host that no longer exists; True otherwise (or unknown)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: only its heartbeat tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite returns naive UTC datetimes; make them comparable with ``utcnow()``."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _url(url: str | None) -> str:
    """``url``, else ``$SUPERNAS_STORAGE``, else the default (an empty ``url`` is an error, not a default)."""
    if url is None:
        return os.environ.get("SUPERNAS_STORAGE") or DEFAULT_URL
    if not url.strip():
        raise StorageError(f"{url!r} is empty; valid: {URL_HELP}", field="storage")
    return url


def _sqlite_file(url: str) -> Path | None:
    """The database file behind a SQLite URL (None for other backends)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path``, or None when it does not exist."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino


def _engine(url: str, create: bool) -> Engine:
    """An engine for ``url`` with SQLite pragmas checked; bad URLs are one-line errors."""
    try:
        parsed = make_url(url)
        is_sqlite = parsed.get_backend_name() == "sqlite"
        database = parsed.database or ""
        if is_sqlite and database in ("", ":memory:"):
            raise StorageError(
                f"{url!r} is a database in memory, which keeps nothing after the command; "
                f"valid: sqlite:///PATH or a database server URL",
                field="storage",
            )
        if is_sqlite:
            path = Path(database)
            exists = check_path_name(path, "storage")
            if not path.parent.is_dir():
                raise StorageError(
                    f"{url!r}: directory {str(path.parent)!r} does not exist; expected {URL_HELP}", field="storage"
                )
            if not create and not exists:
                raise StorageError(
                    f": database {str(path)!r} does not exist; run `supernas search` first or give another "
                    f"({URL_HELP})",
                    field="storage",
                )
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000} if is_sqlite else {})
    except StorageError:
        raise
    except (ArgumentError, NoSuchModuleError, ValueError, ImportError) as exc:
        raise StorageError(
            f"{url!r} is not a usable database URL ({_first_line(exc)}); expected {URL_HELP}", field="storage"
        ) from None
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Busy timeout and foreign keys on every new SQLite connection, checked (settings of the connection only:
    nothing is written to the file)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if cursor.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
            raise StorageError("SQLite refused PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _enable_wal(engine: Engine) -> None:
    """Put a SQLite database this process may write in WAL mode (kept in the file), checked."""
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode=WAL").scalar()
    if str(mode).lower() != "wal":
        raise StorageError(f"SQLite refused WAL journal mode (got {mode!r}); is the file on a network disk?")


def _create_or_check(engine: Engine, url: str, create: bool, is_file: bool) -> None:
    """Check the schema and (with ``create``) create or migrate it, waiting for another process that is
    creating the same new database (see ``_while_being_created``)."""

    def attempt() -> None:
        upgrade = _check_schema(engine, url, create)
        if create and is_file:
            _enable_wal(engine)
        if upgrade:
            migrations.upgrade(engine)

    if create:
        _while_being_created(engine, attempt)
    else:
        attempt()


def _while_being_created(engine: Engine, attempt: Callable[[], object]) -> None:
    """Run ``attempt``, again while it fails on a database another process is creating at the same moment: that
    shows a half-made schema of supernas's own tables, or makes a second migration fail on a table it has just
    created. Waits up to ``CREATION_WAIT_S``; any other failure is raised at once."""
    deadline = time.monotonic() + CREATION_WAIT_S
    while True:
        try:
            attempt()
            return
        except (StorageError, SQLAlchemyError):
            if not _being_created(engine) or time.monotonic() > deadline:
                raise
            time.sleep(CREATION_POLL_S)


def _being_created(engine: Engine) -> bool:
    """Whether the database looks like one another process is creating: only supernas's tables (or its schema
    version's), and no schema version yet or one this supernas knows (the migrations pass through each)."""
    tables = set(inspect(engine).get_table_names())
    if not tables or not tables <= {*Base.metadata.tables, "alembic_version"}:
        return False
    return migrations.current_revision(engine) in {None, *migrations.known_revisions()}


def _check_schema(engine: Engine, url: str, create: bool) -> bool:
    """Whether the database needs creating or migrating (only allowed with ``create``); raises for a database
    of another program or of a newer supernas, and (without ``create``) for one that is missing or old."""
    current, head = migrations.current_revision(engine), migrations.head_revision()
    if current == head:
        return False
    if not create or (current is not None and current not in migrations.known_revisions()):
        raise _revision_error(url, current, head)
    if current is None:
        tables = inspect(engine).get_table_names()
        if tables:
            raise StorageError(
                f"{url!r} holds a database of something else (tables {', '.join(tables[:5])}); valid: a new "
                "file or a supernas database",
                field="storage",
            )
    return True


def _unusable(url: str, exc: SQLAlchemyError) -> StorageError:
    return StorageError(f"{url!r} cannot be used ({_first_line(exc)}); expected {URL_HELP}", field="storage")


def _revision_error(url: str, current: str | None, head: str) -> StorageError:
    if current is None:
        return StorageError(
            f"{url!r} is not a supernas database (no schema version); expected {URL_HELP}", field="storage"
        )
    if current not in migrations.known_revisions():
        return StorageError(
            f": database {url!r} has schema {current!r}, newer than this supernas knows ({head!r}); upgrade supernas",
            field="storage",
        )
    return StorageError(
        f": database {url!r} has schema {current!r}, older than {head!r}; run `supernas db upgrade --storage {url}`",
        field="storage",
    )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _supernet(r: SupernetRow) -> SupernetRecord:
    return SupernetRecord(
        r.name,
        r.task,
        dict(r.space),
        dict(r.spec),
        list(r.class_names),
        r.checkpoint_path,
        r.checkpoint_sha256,
        dict(r.train_metrics),
    )


def _search(r: SearchRow, supernet_name: str | None) -> SearchRecord:
    return SearchRecord(
        id=r.id,
        name=r.name,
        supernet_name=supernet_name,
        strategy=r.strategy,
        objectives=list(r.objectives),
        constraints=list(r.constraints),
        budget=r.budget,
        batch_size=r.batch_size,
        seed=r.seed,
        status=SearchStatus(r.status),
        hv_reference=None if r.hv_reference is None else [float(v) for v in r.hv_reference],
        settings=dict(r.settings),
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def _evaluation(r: EvaluationRow) -> EvaluationRecord:
    return EvaluationRecord(
        arch_id=r.arch_id,
        config=dict(r.config),
        status=EvaluationStatus(r.status),
        metrics=None if r.metrics is None else dict(r.metrics),
        predictions=None if r.predictions is None else dict(r.predictions),
        iteration=r.iteration,
        worker=r.worker,
        device=r.device,
        seconds=r.seconds,
        error=r.error,
        attempts=r.attempts,
    )


def _training(r: TrainingRow, search: str) -> TrainingRecord:
    return TrainingRecord(
        search=search,
        arch_id=r.arch_id,
        config=dict(r.config),
        init=r.init,
        seed=int(r.seed),
        teacher=r.teacher,
        settings=dict(r.settings),
        status=TrainingStatus(r.status),
        epochs=r.epochs,
        curve=[dict(e) for e in r.curve],
        starts=[dict(e) for e in r.starts],
        inherited_accuracy=r.inherited_accuracy,
        val_accuracy=r.val_accuracy,
        test_accuracy=r.test_accuracy,
        latency_ms=r.latency_ms,
        checkpoint_path=r.checkpoint_path,
        checkpoint_sha256=r.checkpoint_sha256,
        weights_path=r.weights_path,
        weights_sha256=r.weights_sha256,
        seconds=r.seconds,
        worker=r.worker,
        device=r.device,
        error=r.error,
        created_at=_aware(r.created_at) or r.created_at,
        finished_at=_aware(r.finished_at),
    )
