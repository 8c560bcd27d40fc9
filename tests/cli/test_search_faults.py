"""Faults around ``supernas search`` in real subprocesses: two writers, two registrations, SIGTERM, a deleted
database, and where a started Ray cluster listens (issue 13)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from supernas.store import Store
from supernas.testing import completed_evaluations, run_cli, start_cli

QUICK = [
    "--objectives",
    "accuracy,params",
    "--budget",
    "16",
    "--batch",
    "4",
    "--executor",
    "local",
    "--strategy",
    "random",
]


def owner(db: Path, search: str) -> str:
    """The lease owner of ``search`` as the store records it ('' when free), read with plain sqlite3."""
    with sqlite3.connect(db) as connection:
        row = connection.execute("SELECT owner FROM searches WHERE name = ?", (search,)).fetchone()
    return (row[0] or "") if row else ""


def wait_for(predicate: Callable[[], bool], proc: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_two_concurrent_resumes_one_is_refused_and_nothing_is_measured_twice(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'two.db'}"
    first = start_cli(
        "search", "--supernet", str(tiny_checkpoint), *QUICK, "--name", "k", "--storage", url, cwd=tmp_path
    )
    wait_for(lambda: completed_evaluations(url, "k") >= 4, first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    a = start_cli("resume", "k", "--storage", url, cwd=tmp_path)
    wait_for(lambda: owner(tmp_path / "two.db", "k").split(":")[1:2] == [str(a.pid)], a)  # a holds the lease
    a.send_signal(signal.SIGSTOP)  # a live owner that is in the middle of its work
    try:
        b = run_cli("resume", "k", "--storage", url, cwd=tmp_path)
    finally:
        a.send_signal(signal.SIGCONT)
    _, err_a = a.communicate(timeout=300)
    assert a.returncode == 0, err_a
    assert b.returncode == 2 and b.stdout == "", b.stderr
    assert b.stderr.startswith("Error: search 'k' is being run by ") and f":{a.pid}:" in b.stderr, b.stderr
    assert b.stderr.count("\n") == 1 and "last heartbeat" in b.stderr, b.stderr
    with Store.open(url) as store:
        assert store.get_search("k").status == "COMPLETE"
        assert store.count_evaluations("k") == {"PENDING": 0, "RUNNING": 0, "COMPLETE": 16, "FAILED": 0}
        assert max(e.attempts for e in store.evaluations("k")) <= 2  # at most the one the kill interrupted, again


@pytest.mark.slow
def test_two_concurrent_first_searches_register_the_checkpoint_once(tmp_path: Path, tiny_checkpoint: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    args = ["search", "--supernet", str(tiny_checkpoint), *QUICK[:2], "--budget", "4", "--batch", "4"]
    procs = [
        start_cli(*args, "--executor", "local", "--name", name, "--storage", url, cwd=tmp_path) for name in ("a", "b")
    ]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.communicate()[1]
    with Store.open(url) as store:
        assert [s.name for s in store.list_supernets()] == ["tiny"]
        assert {s.supernet_name for s in store.list_searches()} == {"tiny"}


@pytest.mark.slow
def test_sigterm_interrupts_a_search_and_resume_ends_like_an_uninterrupted_run(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    common = ["--supernet", str(tiny_checkpoint), *QUICK]
    reference = run_cli("search", *common, "--name", "ref", "--storage", "sqlite:///ref.db", "--json", cwd=tmp_path)
    assert reference.returncode == 0, reference.stderr
    url = f"sqlite:///{tmp_path / 'term.db'}"
    proc = start_cli("search", *common, "--name", "t", "--storage", url, cwd=tmp_path)
    wait_for(lambda: completed_evaluations(url, "t") >= 4, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and err.strip().splitlines()[-1].startswith("Error: interrupted by SIGTERM"), err
    with Store.open(url) as store:
        assert store.get_search("t").status == "INTERRUPTED"
    resumed = run_cli("resume", "t", "--storage", url, "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    got, expected = json.loads(resumed.stdout), json.loads(reference.stdout)
    assert [(r["arch_id"], r["metrics"]) for r in got["front"]] == [
        (r["arch_id"], r["metrics"]) for r in expected["front"]
    ]


@pytest.mark.slow
def test_a_database_deleted_mid_search_stops_it_with_exit_1(tmp_path: Path, tiny_checkpoint: Path) -> None:
    db = tmp_path / "gone.db"
    proc = start_cli(
        "search",
        "--supernet",
        str(tiny_checkpoint),
        *QUICK,
        "--name",
        "g",
        "--storage",
        f"sqlite:///{db}",
        cwd=tmp_path,
    )
    wait_for(lambda: completed_evaluations(f"sqlite:///{db}", "g") >= 4, proc)
    for path in tmp_path.glob("gone.db*"):
        path.unlink()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert err.strip().splitlines()[-1] == (
        f"Error: database '{db}' was deleted or replaced while in use; nothing more is written to it"
    )
    assert out == ""


@pytest.mark.slow
def test_a_started_ray_cluster_listens_on_localhost_only(ray_cluster) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed")
    listening = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True, check=True).stdout.splitlines()
    ours = _descendants(os.getpid())  # this session's cluster only, not the processes of other tests running now
    ray_lines = [
        line
        for line in listening
        if any(k in line for k in ("gcs_server", "raylet", "ray::"))
        and any(int(pid) in ours for pid in re.findall(r"pid=(\d+)", line))
    ]
    assert ray_lines, listening
    for line in ray_lines:
        local = line.split()[3]
        assert local.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")), line


def _descendants(root: int) -> set[int]:
    """Process ids of ``root``'s children, their children and so on (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        except OSError:
            continue  # the process ended meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found
