"""The heartbeat's verdict on a renewal the store refused: a job the slot settled meanwhile (a
renewal that waited out a store outage) is not "lost"; a job still in flight is."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from postpilot.config import ContextSettings
from postpilot.jobs import Job, utcnow
from postpilot.runner.worker import Heartbeat, StoreCheckpoint, WorkerSpec
from postpilot.store.base import ClaimRequest
from postpilot.store.sqlite import SqliteJobStore

LEASE = timedelta(seconds=30)


def _spec(root: Path, lease_seconds: float = 30.0) -> WorkerSpec:
    """A worker spec for one slot on the SQLite store under `root`."""
    settings = ContextSettings(
        progress_file=str(root / "progress.db"), accounts_file="", name="c",
        project_root=str(root), timezone="UTC", max_posts_per_account_per_day=10,
    )  # fmt: skip
    return WorkerSpec(
        run_id="r", settings=WorkerSpec.settings_of(settings), store_dsn=None,
        accounts=[], lease_seconds=lease_seconds, job_timeout_seconds=600.0,
        idle_poll_seconds=0.1, backoff_base_seconds=0.0, backoff_cap_seconds=0.0,
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> SqliteJobStore:
    """A real SQLite store holding one claimable job."""
    opened = SqliteJobStore(tmp_path / "progress.db", tmp_path / "ledger.db", "c")
    opened.insert_jobs([Job(job_id="j1", account="a", video_path="v.mp4", caption="x")])
    return opened


def _watched(store: SqliteJobStore, tmp_path: Path) -> tuple[Heartbeat, Job, threading.Event]:
    now = utcnow()
    day = now.date().isoformat()
    job = store.claim(ClaimRequest(worker_id="0", now=now, lease=LEASE, daily_limit=10, day=day))
    assert job is not None
    heartbeat = Heartbeat(_spec(tmp_path), store)
    lost = threading.Event()
    heartbeat.watch("0", job, StoreCheckpoint(store, job, lost), lost)
    return heartbeat, job, lost


def test_a_job_settled_while_its_renewal_waited_is_not_reported_lost(
    store: SqliteJobStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The slot completes its job and unwatches it while a renewal snapshot is pending: the
    refused renewal logs nothing and flags nothing."""
    heartbeat, job, lost = _watched(store, tmp_path)
    pending = heartbeat._watches["0"]  # what the heartbeat loop had taken before the outage
    store.start_publish(job.job_id, job.lease_token, utcnow())
    assert store.complete(job.job_id, job.lease_token, utcnow(), day=utcnow().date().isoformat())
    heartbeat.unwatch("0", job)
    with caplog.at_level(logging.INFO, logger="postpilot.worker"):
        heartbeat._beat("0", pending, LEASE)
    assert "lease lost" not in caplog.text
    assert not lost.is_set()
    store.close()


def test_a_job_whose_token_was_taken_while_watched_is_reported_lost(
    store: SqliteJobStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Still watched, but its token no longer holds (released behind the slot's back): the
    renewal is refused, the heartbeat says the lease is lost and flags the publish."""
    heartbeat, job, lost = _watched(store, tmp_path)
    assert store.release(job.job_id, job.lease_token)
    with caplog.at_level(logging.INFO, logger="postpilot.worker"):
        heartbeat._beat("0", heartbeat._watches["0"], LEASE)
    assert "lease lost for job j1" in caplog.text
    assert lost.is_set()
    store.close()
