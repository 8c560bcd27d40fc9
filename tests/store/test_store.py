"""The SQL store: pragmas, idempotent writes, migrations, bad URLs, readers during writes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from supernas.errors import StorageError
from supernas.store import Store, TrainingKey, TrainingStatus
from supernas.store.migrations import current_revision, head_revision, upgrade
from supernas.store.models import Base
from supernas.store.store import CREATION_WAIT_S, _being_created

OBJECTIVES = [{"name": "accuracy", "direction": "max"}, {"name": "params", "direction": "min"}]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(f"sqlite:///{tmp_path / 'x.db'}", create=True)
    s.create_search("s", "linas", OBJECTIVES, ["params<=100"], 10, 2, 0)
    return s


def test_sqlite_pragmas_took(store: Store) -> None:
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_schema_is_at_head_and_matches_the_models(store: Store) -> None:
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as c:
        assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []


def test_evaluation_writes_are_idempotent(store: Store) -> None:
    assert store.add_pending("s", 0, [("a", {"d": 1}, None), ("b", {"d": 2}, {"accuracy": 0.5})]) == 2
    assert store.add_pending("s", 1, [("a", {"d": 1}, None), ("c", {}, None)]) == 1
    store.mark_running("s", "a", "w1", "cpu")
    assert store.complete("s", "a", {"accuracy": 0.9}, "w1", "cpu", 0.1)
    assert not store.complete("s", "a", {"accuracy": 0.1})  # a retried write changes nothing
    assert not store.fail("s", "a", "late failure")  # never overwrites COMPLETE
    store.mark_running("s", "b")
    assert store.reset_running("s") == 1
    records = {e.arch_id: e for e in store.evaluations("s")}
    assert records["a"].metrics == {"accuracy": 0.9} and records["a"].attempts == 1
    assert records["b"].status == "PENDING" and records["b"].predictions == {"accuracy": 0.5}
    assert store.count_evaluations("s") == {"PENDING": 2, "RUNNING": 0, "COMPLETE": 1, "FAILED": 0}
    store.update_metrics("s", "a", {"test_accuracy": 0.8})
    assert store.evaluations("s", "COMPLETE")[0].metrics == {"accuracy": 0.9, "test_accuracy": 0.8}


def test_fronts_and_fits_replace_per_iteration(store: Store) -> None:
    store.add_front("s", 0, ["a"], 1.0, 2)
    store.add_front("s", 0, ["a", "b"], 2.0, 2)
    store.add_front("s", 1, ["b"], 3.0, 4)
    assert [(f.iteration, f.members, f.hypervolume) for f in store.fronts("s")] == [
        (0, ["a", "b"], 2.0),
        (1, ["b"], 3.0),
    ]
    store.add_predictor_fit("s", 1, "accuracy", "gp", 0.5, 0.1, 4, {})
    store.add_predictor_fit("s", 1, "accuracy", "ridge", 0.7, 0.1, 4, {})
    assert [(f.kind, f.kendall_tau) for f in store.predictor_fits("s")] == [("ridge", 0.7)]


def test_training_writes_are_idempotent_and_never_overwrite_complete(store: Store) -> None:
    key = TrainingKey("a", "inherited", 2**32 - 1)
    first = store.add_training("s", key, {"d": 1}, "largest", {"epochs": 2}, 2, 0.5)
    again = store.add_training("s", key, {"d": 9}, "none", {"epochs": 9}, 9, 0.1)  # a retried insert changes nothing
    assert first == again and first.status == TrainingStatus.PENDING and first.seed == 2**32 - 1
    assert store.start_training("s", key, "w1", "cpu", 0)
    epoch = {"epoch": 1, "loss": 1.0, "val_accuracy": 0.6, "lr": 1e-3, "seconds": 0.1}
    assert store.record_training_epoch("s", key, epoch, "/c/1.pt", "1" * 64)
    assert store.record_training_epoch("s", key, {**epoch, "epoch": 2}, "/c/2.pt", "2" * 64)
    assert store.start_training("s", key, "w2", "cpu", 1)  # a restart at epoch 1 redoes epoch 2
    assert store.record_training_epoch("s", key, {**epoch, "epoch": 2, "loss": 0.5}, "/c/2.pt", "3" * 64)
    metrics = {"val_accuracy": 0.7, "test_accuracy": 0.65, "latency_ms": 1.5}
    assert store.complete_training("s", key, metrics, "/w.safetensors", "4" * 64, 3.0)
    assert not store.complete_training("s", key, {**metrics, "val_accuracy": 0.1}, "/x", "5" * 64, 1.0)
    assert not store.fail_training("s", key, "late failure")
    assert not store.record_training_epoch("s", key, {**epoch, "epoch": 3}, "/c/3.pt", "6" * 64)
    (row,) = store.trainings("s")
    assert row.status == TrainingStatus.COMPLETE and row.val_accuracy == 0.7 and row.weights_sha256 == "4" * 64
    assert [(e["epoch"], e["loss"]) for e in row.curve] == [(1, 1.0), (2, 0.5)]
    assert [s["from_epoch"] for s in row.starts] == [0, 1] and row.checkpoint_sha256 == "3" * 64
    other = TrainingKey("a", "scratch", 0)
    store.add_training("s", other, {"d": 1}, "none", {}, 2, None)
    assert store.fail_training("s", other, "diverged")
    assert [t.key for t in store.trainings("s", TrainingStatus.FAILED)] == [other]
    assert row.to_dict()["status"] == "COMPLETE" and isinstance(row.to_dict()["created_at"], str)
    with pytest.raises(StorageError, match="has no training 'b-inherited-s0'"):
        store.start_training("s", TrainingKey("b", "inherited", 0), "w", "cpu", 0)


def test_a_0002_database_upgrades_to_the_trainings_schema(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from supernas.store import migrations

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    migrations.upgrade(engine, "0002")
    engine.dispose()
    with pytest.raises(StorageError, match="older than"):
        Store.open(url)
    with Store.open(url, create=True) as store:
        assert current_revision(store.engine) == head_revision() == "0003"
        store.create_search("s", "linas", OBJECTIVES, [], 10, 2, 0)
        assert store.trainings("s") == []


def test_names_statuses_and_supernets(store: Store) -> None:
    with pytest.raises(StorageError, match="search name 's' is taken"):
        store.create_search("s", "linas", OBJECTIVES, [], 10, 2, 0)
    with pytest.raises(StorageError, match="unknown search 'nope'; known: s"):
        store.get_search("nope")
    with pytest.raises(StorageError, match="valid: RUNNING, COMPLETE, FAILED, INTERRUPTED"):
        store.set_search_status("s", "DONE")
    a = store.add_supernet("net", "digits", {}, {}, ["0"], "/x.pt", "sha1", {})
    assert store.add_supernet("net", "digits", {}, {}, ["0"], "/x.pt", "sha1", {}) == a
    with pytest.raises(StorageError, match="taken by another checkpoint"):
        store.add_supernet("net", "digits", {}, {}, ["0"], "/y.pt", "sha2", {})
    assert store.find_supernet_by_sha("sha1") == a and store.get_supernet("net") == a


def test_read_only_open_never_creates(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(StorageError, match="does not exist"):
        Store.open(f"sqlite:///{path}")
    assert not path.exists()


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("nosuchdriver://x", "is not a usable database URL"),
        ("sqlite:////nonexistent/dir/x.db", "does not exist"),
        ("not a url", "is not a usable database URL"),
    ],
)
def test_bad_urls_are_one_line_errors_naming_the_option(url: str, needle: str) -> None:
    with pytest.raises(StorageError, match=needle) as info:
        Store.open(url, create=True)
    assert info.value.field == "storage" and str(info.value).startswith("storage ") and "\n" not in str(info.value)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "text.db"
    path.write_text("hello " * 200)
    with pytest.raises(StorageError, match=r"^storage ") as info:
        Store.open(f"sqlite:///{path}")
    assert info.value.field == "storage"
    assert path.read_text() == "hello " * 200


def test_old_schema_needs_db_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Store.open(f"sqlite:///{path}", create=True).close()
    with sqlite3.connect(path) as c:
        c.execute("UPDATE alembic_version SET version_num = 'zzzz'")
    with pytest.raises(StorageError, match="newer than this supernas knows"):
        Store.open(f"sqlite:///{path}")
    with sqlite3.connect(path) as c:
        c.execute("DELETE FROM alembic_version")
    with pytest.raises(StorageError, match="no schema version"):
        Store.open(f"sqlite:///{path}")


WRITER = textwrap.dedent(
    """
    import sys
    from supernas.store import Store, TrainingKey, TrainingStatus
    store = Store.open(sys.argv[1])
    for i in range(150):
        store.add_pending("s", i, [(f"a{i}", {"i": i}, None)])
        store.mark_running("s", f"a{i}")
        store.complete("s", f"a{i}", {"accuracy": i / 150, "params": i})
    """
)


def test_readers_never_see_locks_or_half_written_rows(store: Store, tmp_path: Path) -> None:
    writer = subprocess.Popen([sys.executable, "-c", WRITER, store.url])
    reader = Store.open(store.url)
    seen = 0
    deadline = time.monotonic() + 120
    while writer.poll() is None and time.monotonic() < deadline:
        rows = reader.evaluations("s")
        assert len(rows) >= seen
        seen = len(rows)
        for row in rows:
            assert row.status in ("PENDING", "RUNNING", "COMPLETE")
            assert (row.metrics is not None) == (row.status == "COMPLETE")
    assert writer.wait(timeout=60) == 0
    assert reader.count_evaluations("s")["COMPLETE"] == 150


def test_openers_racing_to_create_a_new_database_all_succeed(tmp_path: Path) -> None:
    # Openers used to see each other's half-made schema ("holds a database of something else (tables
    # alembic_version)") or run the migrations twice ("table supernets already exists"); now they wait for it.
    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'race-{attempt}.db'}"
        start = threading.Barrier(6)

        def open_and_close(_: int, url: str = url, start: threading.Barrier = start) -> str | None:
            start.wait()
            try:
                Store.open(url, create=True).close()
            except StorageError as exc:
                return str(exc)
            return None

        with ThreadPoolExecutor(6) as pool:
            assert [e for e in pool.map(open_and_close, range(6)) if e] == []
        with Store.open(url) as store:
            assert current_revision(store.engine) == head_revision()


def test_a_database_between_two_migrations_counts_as_being_created(tmp_path: Path) -> None:
    # Another process's migrations commit one revision at a time: an opener that finds revision 0001 must wait
    # for the rest, not call the database foreign (a CI run failed so: "holds a database of something else").
    engine = create_engine(f"sqlite:///{tmp_path / 'midway.db'}")
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001" and _being_created(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (text TEXT)")
    assert not _being_created(engine)  # another program's table: refused at once, as before
    engine.dispose()


def test_checking_a_url_waits_for_another_process_creating_that_database(tmp_path: Path) -> None:
    # `search` checks its --storage before it opens it; a CI run checked while a concurrent first search was
    # creating the database and was told it "holds a database of something else (tables alembic_version, ...)".
    url = f"sqlite:///{tmp_path / 'midway.db'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)  # the creator has committed its tables but not yet its schema version

    def stamp() -> None:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
            connection.exec_driver_sql(f"INSERT INTO alembic_version VALUES ('{head_revision()}')")

    finish = threading.Timer(0.5, stamp)
    started = time.monotonic()
    finish.start()
    try:
        Store.check_url(url)
    finally:
        finish.join()
    assert time.monotonic() - started >= 0.5  # it waited for the creator instead of refusing the database
    engine.dispose()
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (text TEXT)").connection.close()
    started = time.monotonic()
    with pytest.raises(StorageError, match=r"holds a database of something else \(tables notes\)"):
        Store.check_url(f"sqlite:///{other}")
    assert time.monotonic() - started < CREATION_WAIT_S  # another program's database: refused at once


def test_processes_racing_to_create_a_new_database_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    start_at = time.time() + 3  # every process imports first, then all open at the same moment
    code = f"import time; from supernas.store import Store; time.sleep(max(0, {start_at} - time.time())); "
    code += f"Store.open({url!r}, create=True).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    with Store.open(url) as store:
        assert current_revision(store.engine) == head_revision()
