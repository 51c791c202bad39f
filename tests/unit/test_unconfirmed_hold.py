"""Unconfirmed publishes hold their account's daily slot until they are settled (I3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postpilot.jobs import Job, JobStatus
from postpilot.runner.unconfirmed import BLOCK_UNCONFIRMED, hold_if_needed, release_if_settled
from postpilot.store.base import BLOCK_NEEDS_REAUTH, ClaimRequest
from postpilot.store.memory import MemoryJobStore, MemoryLedger

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DAY = "2026-11-28"


def request(limit: int) -> ClaimRequest:
    return ClaimRequest("w", NOW, timedelta(minutes=1), limit, DAY)


def store_with_unconfirmed(limit: int, ledger: MemoryLedger | None = None) -> MemoryJobStore:
    store = MemoryJobStore("c", ledger or MemoryLedger())
    store.insert_jobs(
        [Job("one", "acct", "/v1", "c1", seq=1), Job("two", "acct", "/v2", "c2", seq=2)]
    )
    job = store.claim(request(limit))
    assert job is not None
    assert store.start_publish(job.job_id, job.lease_token, NOW)
    assert store.mark_unconfirmed(job.job_id, job.lease_token, NOW, "answer lost")
    return store


def test_unconfirmed_job_that_could_fill_the_limit_holds_the_account() -> None:
    """With limit 1, an unconfirmed publish blocks the account's other jobs until midnight."""
    store = store_with_unconfirmed(limit=1)
    assert hold_if_needed(store, "acct", now=NOW, timezone="UTC", daily_limit=1)
    state = store.account_states(["acct"])["acct"]
    assert state.block == BLOCK_UNCONFIRMED
    assert state.blocked_until == datetime(2026, 11, 29, tzinfo=UTC)
    assert store.claim(request(1)) is None


def test_room_left_means_no_hold() -> None:
    """With limit 2 and nothing confirmed, one unconfirmed publish leaves room: no hold."""
    store = store_with_unconfirmed(limit=2)
    assert not hold_if_needed(store, "acct", now=NOW, timezone="UTC", daily_limit=2)
    assert store.account_states(["acct"])["acct"].block == ""
    claimed = store.claim(request(2))
    assert claimed is not None
    assert claimed.job_id == "two"


def test_settling_the_job_lifts_the_hold() -> None:
    """Once reconcile or --confirm settles the job, the hold is lifted."""
    store = store_with_unconfirmed(limit=1)
    hold_if_needed(store, "acct", now=NOW, timezone="UTC", daily_limit=1)
    release_if_settled(store, "acct")
    assert store.account_states(["acct"])["acct"].block == BLOCK_UNCONFIRMED
    assert store.resolve_unconfirmed("one", False, NOW, day=DAY)
    release_if_settled(store, "acct")
    assert store.account_states(["acct"])["acct"].block == ""
    settled = store.get("one")
    assert settled is not None
    assert settled.status is JobStatus.PENDING


def test_hold_is_seen_by_other_campaigns_sharing_the_ledger() -> None:
    """The hold lives in the shared ledger, so another campaign cannot use the account either."""
    ledger = MemoryLedger()
    store = store_with_unconfirmed(limit=1, ledger=ledger)
    hold_if_needed(store, "acct", now=NOW, timezone="UTC", daily_limit=1)
    other = MemoryJobStore("other", ledger)
    other.insert_jobs([Job("three", "acct", "/v3", "c3", seq=1)])
    assert other.claim(request(1)) is None


def test_hold_never_replaces_a_reauth_block() -> None:
    """An account that needs re-authorization keeps that block; the hold does not erase it."""
    store = store_with_unconfirmed(limit=1)
    store.block_account("acct", BLOCK_NEEDS_REAUTH, "token revoked")
    assert hold_if_needed(store, "acct", now=NOW, timezone="UTC", daily_limit=1)
    assert store.account_states(["acct"])["acct"].block == BLOCK_NEEDS_REAUTH
    assert store.resolve_unconfirmed("one", True, NOW, day=DAY)
    release_if_settled(store, "acct")
    assert store.account_states(["acct"])["acct"].block == BLOCK_NEEDS_REAUTH
