"""kill -9 at random moments, orchestrator and workers alike: nothing is published twice or lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from postpilot.jobs import JobStatus
from postpilot.runner.locks import registry_path
from postpilot.store import open_store
from tests.fakes.counting_publisher import read_journal
from tests.integration.runner.campaigns import context, finish, make_campaign, start_run

pytestmark = pytest.mark.slow

KILLS = 24
JOBS = 200


def _worker_pids(folder: Path) -> list[int]:
    try:
        data = json.loads(registry_path(context(folder)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [int(p) for p in data.get("worker_pids", [])]


def _wait_for_workers(folder: Path, run: subprocess.Popen[str], limit: float = 20.0) -> list[int]:
    """The run's registered worker pids, waiting up to `limit` seconds while it still runs."""
    deadline = time.monotonic() + limit
    while run.poll() is None and time.monotonic() < deadline:
        workers = _worker_pids(folder)
        if workers:
            return workers
        time.sleep(0.05)
    return []


def test_kill9_storm_publishes_every_job_at_most_once(project_root: Path) -> None:
    """24 kill -9s across a 200-job run: afterwards each job is success or explained, none twice."""
    accounts = [f"acct{i:02d}" for i in range(20)]
    folder = make_campaign(
        project_root, "storm", accounts, JOBS, daily_limit=10, publisher={"latency_seconds": 0.05}
    )
    rng = random.Random(20261128)
    kills = {"orchestrator": 0, "worker": 0}
    while sum(kills.values()) < KILLS:
        run = start_run(folder, 4)
        for _ in range(rng.randint(1, 3)):
            time.sleep(rng.uniform(0.2, 1.2))
            if run.poll() is not None:
                break
            # Workers start after recovery and seeding, later on a busy machine: wait for them
            # rather than guessing a delay, so every storm really kills workers.
            workers = _wait_for_workers(folder, run) if rng.random() < 0.7 else []
            if workers:
                victim, kind = rng.choice(workers), "worker"
            else:
                victim, kind = run.pid, "orchestrator"
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                continue
            kills[kind] += 1
            if kind == "orchestrator":
                break
        if run.poll() is None and kills["orchestrator"] < KILLS // 3:
            os.kill(run.pid, signal.SIGKILL)
            kills["orchestrator"] += 1
        run.wait(timeout=120)
        if run.stdout is not None:
            run.stdout.close()
        if run.stderr is not None:
            run.stderr.close()
    assert kills["orchestrator"] >= 1
    assert kills["worker"] >= 1

    # Recovery runs: orphaned workers finish, expired leases are settled, reconcile runs.
    for _ in range(4):
        code, results = finish(start_run(folder, 4, passes=5), timeout=300)
        if results["pending"] == results["retrying"] == results["unconfirmed"] == 0:
            break
    assert code == 0, results

    journal = read_journal(project_root / "journal.log")
    assert len(journal) == len(set(journal)), "a job was published twice"
    store = open_store(context(folder))
    try:
        jobs = store.list_jobs()
    finally:
        store.close()
    assert len(jobs) == JOBS
    success = {j.job_id for j in jobs if j.status is JobStatus.SUCCESS}
    assert success == set(journal)
    for job in jobs:
        if job.status is not JobStatus.SUCCESS:
            assert job.status in (JobStatus.FAILED, JobStatus.UNCONFIRMED)
            assert job.error, f"{job.job_id} is {job.status} without a reason"
