"""When the heartbeat renews: each lease one lease/3 after its claim or last renewal, so a job
starting in the process costs the other in-flight jobs no store write, and every in-flight
lease is still renewed."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

from postpilot.jobs import Job, utcnow
from postpilot.runner.worker import Heartbeat, StoreCheckpoint
from postpilot.store.base import ClaimRequest
from postpilot.store.sqlite import SqliteJobStore
from tests.integration.runner.test_heartbeat_settled import _spec


def _store_with_claims(
    root: Path, count: int, lease: timedelta
) -> tuple[SqliteJobStore, list[Job]]:
    store = SqliteJobStore(root / "progress.db", root / "ledger.db", "c")
    store.insert_jobs(
        [
            Job(job_id=f"j{i}", account=f"a{i}", video_path="v.mp4", caption="x")
            for i in range(count)
        ]
    )
    now = utcnow()
    claimed = []
    for i in range(count):
        job = store.claim(
            ClaimRequest(worker_id=str(i), now=now, lease=lease, daily_limit=10, day="2026-12-02")
        )
        assert job is not None
        claimed.append(job)
    return store, claimed


def _expiry(store: SqliteJobStore, job_id: str) -> object:
    return {job.job_id: job.lease_expires_at for job in store.list_jobs()}[job_id]


def _renewed(store: SqliteJobStore, claimed: dict[str, object]) -> set[str]:
    return {job_id for job_id, expiry in claimed.items() if _expiry(store, job_id) != expiry}


def _watch(heartbeat: Heartbeat, store: SqliteJobStore, slot: str, job: Job) -> None:
    lost = threading.Event()
    heartbeat.watch(slot, job, StoreCheckpoint(store, job, lost), lost)


def _unwatch_all(heartbeat: Heartbeat, jobs: list[Job]) -> None:
    for slot, job in enumerate(jobs):
        heartbeat.unwatch(str(slot), job)
    time.sleep(0.1)  # a renewal already under way ends before the store closes


def test_a_job_starting_renews_no_other_lease(tmp_path: Path) -> None:
    """Watching new jobs (the 30 s lease is renewed every 10 s) leaves the lease of a job
    already watched as its claim set it."""
    store, jobs = _store_with_claims(tmp_path, 3, timedelta(seconds=30))
    heartbeat = Heartbeat(_spec(tmp_path, 30.0), store)
    heartbeat.start()
    _watch(heartbeat, store, "0", jobs[0])
    claimed_expiry = _expiry(store, "j0")
    for slot in ("1", "2"):
        _watch(heartbeat, store, slot, jobs[int(slot)])
        time.sleep(0.2)  # the heartbeat thread had time to act on the new job
    assert _expiry(store, "j0") == claimed_expiry
    _unwatch_all(heartbeat, jobs)
    store.close()


def test_every_watched_lease_is_still_renewed(tmp_path: Path) -> None:
    """With a 0.6 s lease (renewed every 0.2 s), every watched job's lease moves past the
    expiry its claim gave it while it stays in flight."""
    store, jobs = _store_with_claims(tmp_path, 3, timedelta(seconds=0.6))
    heartbeat = Heartbeat(_spec(tmp_path, 0.6), store)
    heartbeat.start()
    claimed = {job.job_id: job.lease_expires_at for job in jobs}
    for slot, job in enumerate(jobs):
        _watch(heartbeat, store, str(slot), job)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _renewed(store, claimed) == set(claimed):
            break
        time.sleep(0.05)
    assert {
        job_id for job_id, expiry in claimed.items() if _expiry(store, job_id) != expiry
    } == set(claimed)
    _unwatch_all(heartbeat, jobs)
    store.close()
