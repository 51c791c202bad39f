"""SQLite store outages mid-run: another real process holds the campaign's database with
BEGIN EXCLUSIVE past the store's busy timeout (POSTPILOT_STORE_BUSY_SECONDS, here 3 s instead of
the default 30 to keep the suite short), so every write of the run waits, then
fails as StoreUnavailable. The runs are the real CLI with real worker processes and the
non-idempotent counting channel."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from tests.integration.runner.campaigns import context, make_campaign
from tests.integration.runner.outages import (
    Finished,
    finish,
    first_publish_after,
    published,
    report,
    settled_left_claims,
    start_run,
    wait_for,
)

pytestmark = pytest.mark.slow

JOBS = 30
ACCOUNTS = [f"acct{i}" for i in range(10)]
#: The store's busy timeout in these runs (POSTPILOT_STORE_BUSY_SECONDS).
BUSY_SECONDS = 3.0

_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
conn.execute("COMMIT")
"""


@contextmanager
def exclusive_lock(database: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding `database` with BEGIN EXCLUSIVE until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        holder.wait(timeout=60)
        if holder.stdout is not None:
            holder.stdout.close()


def _claims_not_started(database: Path) -> int:
    """Claims in the campaign file whose publish has not started (read-only, beside the run)."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM jobs WHERE status = 'claimed' AND publish_started_at IS NULL"
        ).fetchone()
    return int(row[0]) if row else 0


def _assert_once_each(root: Path, jobs: int) -> None:
    journal = published(root)
    assert len(journal) == len(set(journal)), "a job was published twice"
    assert len(journal) == jobs


def test_a_database_locked_past_its_busy_timeout_is_ridden_out(project_root: Path) -> None:
    """The database stays locked a few seconds past the busy timeout, inside a budget of 30 s:
    the workers ride it out without a restart, the run ends with every job published
    exactly once, exit 0."""
    folder = make_campaign(
        project_root, "lite", ACCOUNTS, JOBS, daily_limit=10,
        publisher={"prepare_seconds": 0.3, "latency_seconds": 0.5},
    )  # fmt: skip
    env = {
        "POSTPILOT_STORE_OUTAGE_SECONDS": "30",
        "POSTPILOT_LEASE_SECONDS": "120",
        "POSTPILOT_STORE_BUSY_SECONDS": f"{BUSY_SECONDS:g}",
    }
    proc = start_run(project_root, "lite", "--workers", "3", **env)
    wait_for(lambda: len(published(project_root)) >= 5, "the first publishes")
    with exclusive_lock(Path(context(folder).progress_file)):
        time.sleep(BUSY_SECONDS + 4)  # the outage itself: past the busy timeout
    run = finish(proc)
    assert "Traceback" not in run.err, run.err[-3000:]
    assert run.code == 0, run.err[-3000:]
    assert run.results()["success"] == JOBS
    _assert_once_each(project_root, JOBS)
    assert "exited with code" not in run.err, "a worker was restarted"
    logs = "".join(p.read_text() for p in sorted(context(folder).logs_dir.glob("worker_*.log")))
    assert "riding it out" in logs, "no worker met the lock: the test proved nothing"
    assert logs.count("riding it out") == logs.count("reachable again")
    assert "Traceback" not in logs
    ridden = [float(x) for x in re.findall(r"reachable again after ([0-9.]+)s", logs)]
    report("sqlite lock ridden out", longest_outage_s=max(ridden), duplicates=0)


def test_a_lock_past_the_budget_stops_cleanly_and_the_next_run_finishes_at_once(
    project_root: Path,
) -> None:
    """Locked past the busy timeout with a budget of 2 s: exit 1 with one message naming the
    database and the fix, no traceback, nothing published twice; the next run gives back the
    claims left behind instead of waiting out their 600 s lease, and finishes the campaign."""
    folder = make_campaign(
        project_root, "lite", ACCOUNTS, JOBS, daily_limit=10,
        publisher={"prepare_seconds": 1.0},
    )  # fmt: skip
    database = Path(context(folder).progress_file)
    env = {
        "POSTPILOT_STORE_OUTAGE_SECONDS": "2",
        "POSTPILOT_LEASE_SECONDS": "600",
        "POSTPILOT_SHUTDOWN_TIMEOUT": "5",
        "POSTPILOT_STORE_BUSY_SECONDS": f"{BUSY_SECONDS:g}",
    }
    proc = start_run(project_root, "lite", "--workers", "3", **env)
    # Lock while a claim sits in its 1 s prepare, so the run has a claim to leave behind.
    wait_for(
        lambda: len(published(project_root)) >= 3 and _claims_not_started(database) >= 1,
        "the first publishes and a claim in its prepare",
    )
    with exclusive_lock(database):
        stopped = finish(proc)  # locked until the run gave up
    assert "Traceback" not in stopped.err, stopped.err[-3000:]
    assert stopped.code == 1, stopped.err[-3000:]
    results = stopped.results()
    assert results["error"] == "store_unavailable"
    assert str(database) in results["message"]
    assert "POSTPILOT_STORE_OUTAGE_SECONDS=2" in results["message"]
    assert stopped.err.count("POSTPILOT_STORE_OUTAGE_SECONDS=2") == 1, stopped.err[-3000:]
    journal = published(project_root)
    assert len(journal) == len(set(journal)), "a job was published twice"
    assert len(journal) < JOBS

    runs: list[Finished] = []
    since = time.time()
    while len(runs) < 3 and len(published(project_root)) < JOBS:
        runs.append(finish(start_run(project_root, "lite", "--workers", "3", **env)))
        assert "Traceback" not in runs[-1].err, runs[-1].err[-3000:]
    assert settled_left_claims(runs[0].err)[0] >= 1, runs[0].err[-3000:]
    assert runs[-1].code == 0, runs[-1].err[-3000:]
    _assert_once_each(project_root, JOBS)
    report(
        "sqlite lock past the budget",
        given_back=settled_left_claims(runs[0].err),
        next_run_first_publish_s=first_publish_after(project_root, since),
        lease_s=600,
        duplicates=0,
    )
