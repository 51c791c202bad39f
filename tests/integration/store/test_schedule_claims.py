"""Posting slots in every store: a job is not claimable before scheduled_at, the next due time
is one store call, and the campaign's posted content survives a cleared store."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from postpilot.jobs import ErrorCategory, JobStatus
from postpilot.store.base import JobStore
from postpilot.store.sqlite import SCHEMA_VERSION, SqliteJobStore
from tests.integration.store.conftest import StoreFactory
from tests.integration.store.test_contract import (
    DAY,
    NOW,
    POLICY,
    failure,
    job,
    request,
)


def test_a_job_is_claimed_only_once_its_slot_has_come(make_store: StoreFactory) -> None:
    """Before scheduled_at nothing is claimable; at scheduled_at the job is claimed."""
    store = make_store("alpha")
    slot = NOW + timedelta(hours=1)
    store.insert_jobs([job("later", scheduled_at=slot, seq=1)])
    assert store.claim(request(NOW)) is None
    assert store.claim(request(slot - timedelta(microseconds=1))) is None
    got = store.claim(request(slot))
    assert got is not None
    assert got.job_id == "later"
    assert got.scheduled_at == slot


def test_due_jobs_are_claimed_around_not_yet_due_ones(make_store: StoreFactory) -> None:
    """A not-due job with a lower seq does not hide a due one of another account."""
    store = make_store("alpha")
    store.insert_jobs(
        [
            job("tomorrow", "acc1", seq=1, scheduled_at=NOW + timedelta(days=1)),
            job("now", "acc2", seq=2, scheduled_at=NOW - timedelta(minutes=1)),
            job("unslotted", "acc3", seq=3),
        ]
    )
    first = store.claim(request(NOW))
    second = store.claim(request(NOW))
    assert first is not None
    assert second is not None
    assert {first.job_id, second.job_id} == {"now", "unslotted"}
    assert store.claim(request(NOW)) is None


def test_next_due_at_is_the_earliest_slot_or_retry_after_now(make_store: StoreFactory) -> None:
    """next_due_at: the earliest future slot of a pending job, or a retrying job's retry time."""
    store = make_store("alpha")
    assert store.next_due_at(NOW) is None
    store.insert_jobs(
        [
            job("a", "acc1", seq=1, scheduled_at=NOW + timedelta(hours=5)),
            job("b", "acc2", seq=2, scheduled_at=NOW + timedelta(hours=3)),
            job("c", "acc3", seq=3, scheduled_at=NOW - timedelta(hours=1)),
        ]
    )
    assert store.next_due_at(NOW) == NOW + timedelta(hours=3)
    claimed = store.claim(request(NOW))
    assert claimed is not None
    assert claimed.job_id == "c"
    retry_at = NOW + timedelta(hours=2)
    store.fail(
        claimed.job_id, claimed.lease_token, NOW, failure(ErrorCategory.UNKNOWN, retry_at), POLICY
    )
    assert store.get("c").status is JobStatus.RETRYING  # type: ignore[union-attr]
    assert store.next_due_at(NOW) == retry_at
    assert store.next_due_at(NOW + timedelta(hours=4)) == NOW + timedelta(hours=5)


def test_posted_content_outlives_a_cleared_store(make_store: StoreFactory) -> None:
    """What a campaign posted stays in the ledger after clear(); other campaigns' posts don't
    count."""
    alpha, beta = make_store("alpha"), make_store("beta")
    alpha.insert_jobs([job("a", "acc1", content_sha256="h1")])
    beta.insert_jobs([job("b", "acc2", content_sha256="h2")])
    for store in (alpha, beta):
        got = store.claim(request(NOW))
        assert got is not None
        assert store.complete(got.job_id, got.lease_token, NOW, day=DAY)
    alpha.clear()
    assert alpha.posted_content() == {("a", "acc1", "h1")}
    assert beta.posted_content() == {("b", "acc2", "h2")}


def _store(tmp_path: Path) -> JobStore:
    return SqliteJobStore(tmp_path / "c" / "progress.db", tmp_path / "ledger.db", "alpha")


def test_a_version_1_sqlite_file_gains_scheduled_at_and_keeps_its_jobs(tmp_path: Path) -> None:
    """Opening a schema-1 progress file adds the scheduled_at column and bumps the version;
    its jobs stay and are due at once."""
    store = _store(tmp_path)
    store.insert_jobs([job("old", "acc1")])
    store.close()
    conn = sqlite3.connect(tmp_path / "c" / "progress.db")
    conn.execute("DROP INDEX jobs_due")
    conn.execute("ALTER TABLE jobs DROP COLUMN scheduled_at")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    store = _store(tmp_path)
    try:
        got = store.claim(request(NOW))
        assert got is not None
        assert got.job_id == "old"
        assert got.scheduled_at is None
    finally:
        store.close()
    conn = sqlite3.connect(tmp_path / "c" / "progress.db")
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    conn.close()
    assert version == (str(SCHEMA_VERSION),)
