"""Width: --workers N publishing slots served by few worker processes that live for the run."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from postpilot.config import RetryConfig
from postpilot.jobs import JobStatus
from postpilot.runner.locks import registry_path
from postpilot.runner.orchestrator import run_parallel_posting
from postpilot.store import open_store
from tests.fakes.counting_publisher import read_entries
from tests.integration.runner.campaigns import context, finish, make_campaign, start_run

pytestmark = pytest.mark.slow

STARTED = re.compile(r"worker (\d+) started for .* pid (\d+)\)")


@pytest.fixture(autouse=True)
def _fast_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short leases so a test does not wait for them."""
    monkeypatch.setenv("POSTPILOT_LEASE_SECONDS", "2")
    monkeypatch.setenv("POSTPILOT_BACKOFF_SECONDS", "0")
    monkeypatch.setenv("POSTPILOT_SHUTDOWN_TIMEOUT", "20")


def worker_pids(folder: Path) -> list[int]:
    """The worker process pids the running orchestrator has published in its registry."""
    try:
        data = json.loads(registry_path(context(folder)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [int(p) for p in data.get("worker_pids", [])]


def slot_starts(folder: Path) -> dict[str, list[int]]:
    """Per worker log: the pid of every start of its slot (one per pass)."""
    starts: dict[str, list[int]] = {}
    for log in sorted(context(folder).logs_dir.glob("worker_*.log")):
        for match in STARTED.finditer(log.read_text()):
            assert log.name == f"worker_{match.group(1)}.log", "a line in another slot's log"
            starts.setdefault(match.group(1), []).append(int(match.group(2)))
    return starts


def test_many_slots_share_few_processes_and_each_slot_keeps_its_own_log(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--workers 8 over 2 processes: 8 concurrent publishes, 2 pids, one log per slot."""
    monkeypatch.setenv("POSTPILOT_WORKER_PROCESSES", "2")
    accounts = [f"w{i}" for i in range(8)]
    folder = make_campaign(
        project_root, "wide", accounts, 16, daily_limit=2, publisher={"latency_seconds": 0.5}
    )
    results = run_parallel_posting(context(folder), num_workers=8, retry_config=RetryConfig(1, 0))
    assert results["success"] == 16, results
    entries = read_entries(project_root / "journal.log")
    assert sorted(e.job_id for e in entries) == sorted({e.job_id for e in entries})
    assert len({e.pid for e in entries}) <= 2
    starts = slot_starts(folder)
    assert sorted(starts, key=int) == [str(i) for i in range(8)]
    assert len({pid for pids in starts.values() for pid in pids}) == 2
    # The width is real: some moment had more publishes running than there are processes.
    overlap = max(sum(1 for o in entries if o.started <= e.started < o.finished) for e in entries)
    assert overlap > 2


def test_worker_processes_live_for_the_whole_run(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run of several passes starts each worker process once; its slots run every pass."""
    folder = make_campaign(
        project_root,
        "passes",
        ["p1", "p2"],
        2,
        max_attempts=2,
        publisher={"fail_jobs": {"passes-0000.mp4_passes": "transient"}},
    )
    monkeypatch.setenv("POSTPILOT_BACKOFF_SECONDS", "1")  # the retry waits for the next pass
    results = run_parallel_posting(context(folder), num_workers=2, retry_config=RetryConfig(3, 0))
    passes = results["retry_summary"]["total_passes"]
    assert passes >= 2, results["retry_summary"]
    starts = slot_starts(folder)
    assert all(len(pids) == passes for pids in starts.values()), starts
    assert all(len(set(pids)) == 1 for pids in starts.values()), starts


def test_a_timed_out_publish_leaves_the_other_slots_of_its_process_running(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One process, two slots: the hung publish becomes unconfirmed at the job timeout while
    the other slot keeps publishing in the same process, which is never restarted."""
    monkeypatch.setenv("POSTPILOT_WORKER_PROCESSES", "1")
    monkeypatch.setenv("POSTPILOT_JOB_TIMEOUT", "2")
    folder = make_campaign(
        project_root,
        "hang",
        ["h1", "h2", "h3"],
        6,
        daily_limit=2,
        publisher={"hang_jobs": ["hang-0000.mp4_hang"], "latency_seconds": 0.6},
    )
    results = run_parallel_posting(context(folder), num_workers=2, retry_config=RetryConfig(1, 0))
    assert results["unconfirmed"] == 1
    assert results["success"] == 5
    [unconfirmed] = results["unconfirmed_jobs"]
    assert "job timeout" in unconfirmed["reason"]
    entries = read_entries(project_root / "journal.log")
    assert len({e.pid for e in entries}) == 1
    pids = {pid for starts in slot_starts(folder).values() for pid in starts}
    assert len(pids) == 1


def test_kill9_of_one_process_loses_only_its_own_publishes(project_root: Path) -> None:
    """kill -9 of one of two worker processes: only its slots' started publishes become
    unconfirmed; the other process's publishes complete and nothing is published twice."""
    folder = make_campaign(
        project_root,
        "kill",
        [f"k{i}" for i in range(4)],
        4,
        publisher={"latency_seconds": 3},
    )
    run = start_run(folder, 4, passes=1, POSTPILOT_WORKER_PROCESSES="2")

    def claimed() -> int:
        store = open_store(context(folder))
        try:
            return len([j for j in store.list_jobs([JobStatus.CLAIMED]) if j.publish_started_at])
        finally:
            store.close()

    deadline = time.monotonic() + 60
    while (claimed() < 4 or len(worker_pids(folder)) < 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    victim = worker_pids(folder)[0]
    os.kill(victim, signal.SIGKILL)
    _code, results = finish(run, timeout=120)
    entries = read_entries(project_root / "journal.log")
    assert victim not in {e.pid for e in entries}
    assert len(entries) == len({e.job_id for e in entries}) == results["success"] == 2
    assert results["unconfirmed"] == 2
    assert all("exited" in j["reason"] for j in results["unconfirmed_jobs"])
