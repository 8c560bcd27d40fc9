"""Crash safety: SIGKILL a running search at random moments, resume each time.

Trains a tiny supernet (or uses ``--checkpoint``), runs one uninterrupted search as
the reference, then runs the same search killed ``--kills`` times with SIGKILL at
random moments and resumed with ``supernas resume`` after each kill. Checks that the
number of COMPLETE evaluations never decreases across kills, no row is duplicated
or left RUNNING, and the final front equals the uninterrupted one.

Run: ``.venv/bin/python benchmarks/crash.py [--kills 20] [--budget 200] [--quick]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import signal
import tempfile
import time
from pathlib import Path

import numpy as np

from supernas.data import load_task
from supernas.store import Store
from supernas.supernet.train import TrainConfig, train
from supernas.testing import start_cli, tiny_space

TINY = tiny_space()


def created(url: str, name: str) -> bool:
    """Whether the search exists yet (a kill during start-up may come before it does)."""
    try:
        with Store.open(url) as store:
            store.get_search(name)
            return True
    except Exception:
        return False


def complete(url: str, name: str) -> int:
    try:
        with Store.open(url) as store:
            return store.count_evaluations(name)["COMPLETE"]
    except Exception:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--checkpoint")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="2 kills of a 16-evaluation search: check it runs")
    args = parser.parse_args()
    if args.quick:
        args.kills, args.budget = 2, 16
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        checkpoint = Path(args.checkpoint) if args.checkpoint else work / "tiny.pt"
        if not args.checkpoint:
            train(load_task("digits"), TINY, TrainConfig(epochs=3, eval_subnets=2), checkpoint)
        search = [
            "--supernet",
            str(checkpoint),
            "--objectives",
            "accuracy,params",
            "--budget",
            str(args.budget),
            "--batch",
            "4",
            "--executor",
            "local",
        ]
        ref = start_cli("search", *search, "--name", "ref", "--storage", f"sqlite:///{work}/ref.db", "--json", cwd=work)
        expected = json.loads(ref.communicate()[0])
        url = f"sqlite:///{work}/killed.db"
        rng = np.random.default_rng(args.seed)
        counts, kills, start = [], 0, time.perf_counter()
        while kills < args.kills:
            proc = (
                start_cli("search", *search, "--name", "k", "--storage", url, cwd=work)
                if not created(url, "k")
                else start_cli("resume", "k", "--storage", url, cwd=work)
            )
            time.sleep(float(rng.uniform(3.0, 15.0)))  # startup, replay and some new evaluations
            if proc.poll() is not None:
                proc.communicate()
                break
            proc.send_signal(signal.SIGKILL)
            proc.communicate()  # reaps it and closes its pipes
            kills += 1
            counts.append(complete(url, "k"))
        final = (
            start_cli("resume", "k", "--storage", url, "--json", cwd=work)
            if created(url, "k")
            else start_cli("search", *search, "--name", "k", "--storage", url, "--json", cwd=work)
        )
        out, err = final.communicate()
        if final.returncode != 0:
            raise SystemExit(f"the final resume failed: {err.strip()}")
        got = json.loads(out)
        with Store.open(url) as store:
            rows = store.evaluations("k")
    result = {
        "kills": kills,
        "complete_after_each_kill": counts,
        "complete_never_decreased": all(b >= a for a, b in itertools.pairwise(counts)),
        "final_counts": {s: sum(r.status == s for r in rows) for s in ("PENDING", "RUNNING", "COMPLETE", "FAILED")},
        "duplicates": len(rows) - len({r.arch_id for r in rows}),
        "restarted_evaluations": sum(r.attempts > 1 for r in rows),
        "front_equals_uninterrupted": [r["arch_id"] for r in got["front"]] == [r["arch_id"] for r in expected["front"]],
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
