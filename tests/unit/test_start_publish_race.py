"""StoreCheckpoint.start_publish against a job timeout firing while the store records the
start: the publish is either seen as started by the timeout or sends nothing."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from postpilot.jobs import Job, local_day, utcnow
from postpilot.publishers.errors import LeaseLost
from postpilot.runner.worker import StoreCheckpoint
from postpilot.store.base import ClaimRequest
from postpilot.store.memory import MemoryJobStore


class TimeoutDuringStart(MemoryJobStore):
    """A real memory store; the job timeout (setting `lost`) fires while start is recorded."""

    lost: threading.Event

    def start_publish(self, job_id: str, token: str, now: datetime) -> bool:
        recorded = super().start_publish(job_id, token, now)
        self.lost.set()
        return recorded


def claimed(store: MemoryJobStore) -> Job:
    """One job inserted and claimed."""
    store.insert_jobs([Job(job_id="j1", account="a1", video_path="/v.mp4", caption="c")])
    now = utcnow()  # start_publish records the start at the clock's now: the lease must hold
    request = ClaimRequest(
        worker_id="0",
        now=now,
        lease=timedelta(minutes=10),
        daily_limit=5,
        day=local_day(now, "UTC"),
        run_id="r",
    )
    job = store.claim(request)
    assert job is not None
    return job


def test_a_timeout_during_start_publish_stops_the_send_and_counts_as_started() -> None:
    """The timeout fired while the start was being recorded: start_publish raises LeaseLost
    (the publisher sends nothing) and `started` is set, so the timeout's settlement is
    unconfirmed, never a retry of a job whose request might go out."""
    store = TimeoutDuringStart("camp")
    store.lost = threading.Event()
    checkpoint = StoreCheckpoint(store, claimed(store), store.lost)
    with pytest.raises(LeaseLost):
        checkpoint.start_publish()
    assert checkpoint.started.is_set()


def test_start_publish_records_the_start_and_refuses_once_the_lease_is_lost() -> None:
    """Without a timeout the start is recorded in the store and `started` set; with the lease
    already lost it raises LeaseLost and records nothing."""
    store = MemoryJobStore("camp")
    lost = threading.Event()
    checkpoint = StoreCheckpoint(store, claimed(store), lost)
    checkpoint.start_publish()
    assert checkpoint.started.is_set()
    job = store.get("j1")
    assert job is not None
    assert job.publish_started_at is not None
    other = MemoryJobStore("other")
    gone = threading.Event()
    gone.set()
    with pytest.raises(LeaseLost):
        StoreCheckpoint(other, claimed(other), gone).start_publish()
    untouched = other.get("j1")
    assert untouched is not None
    assert untouched.publish_started_at is None
