"""The JobStore contract (postpilot.store.base), run against every store kind.

Time is always an explicit `now`; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from postpilot.errors import StoreError
from postpilot.jobs import ALL_STATUSES, ErrorCategory, Failure, Job, JobStatus, RetryPolicy
from postpilot.store.base import BLOCK_NEEDS_REAUTH, BLOCK_RATE_LIMIT, ClaimRequest, JobStore

StoreFactory = Callable[[str], JobStore]

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
DAY = "2024-05-01"
NEXT_DAY = "2024-05-02"
LEASE = timedelta(minutes=5)
POLICY = RetryPolicy(base_seconds=60, cap_seconds=600)


def request(
    now: datetime = NOW,
    *,
    worker: str = "w1",
    limit: int = 10,
    day: str = DAY,
    accounts: frozenset[str] | None = None,
) -> ClaimRequest:
    """A claim request with test defaults."""
    return ClaimRequest(
        worker_id=worker,
        now=now,
        lease=LEASE,
        daily_limit=limit,
        day=day,
        run_id="run-1",
        accounts=accounts,
    )


def job(job_id: str, account: str = "acc1", **kw: object) -> Job:
    """A job with test defaults."""
    fields: dict[str, object] = {"video_path": f"{job_id}.mp4", "caption": "c", **kw}
    return Job(job_id=job_id, account=account, **fields)  # type: ignore[arg-type]


def failure(category: ErrorCategory, retry_at: datetime | None = None) -> Failure:
    """A failure of `category`."""
    return Failure(category=category, error_type="t", message="boom", retry_at=retry_at)


def claimed(store: JobStore, req: ClaimRequest | None = None) -> Job:
    """Claim and insist something was claimable."""
    got = store.claim(req or request())
    assert got is not None
    return got


@pytest.fixture
def store(make_store: StoreFactory) -> JobStore:
    """A store for campaign "alpha"."""
    return make_store("alpha")


# -- seeding and reading -------------------------------------------------------------------------
def test_insert_is_if_absent(store: JobStore) -> None:
    """Inserting existing job ids leaves them untouched and counts only new rows."""
    assert store.insert_jobs([job("a"), job("b")]) == 2
    assert store.insert_jobs([job("a", caption="changed"), job("c"), job("c")]) == 1
    a = store.get("a")
    assert a is not None
    assert a.caption == "c"
    assert a.campaign == "alpha"
    assert [j.job_id for j in store.list_jobs()] == ["a", "b", "c"]
    assert store.get("missing") is None


def test_list_jobs_in_seq_order_with_status_filter(store: JobStore) -> None:
    """list_jobs follows seq, not insertion order, and filters by status."""
    store.insert_jobs([job("late", seq=5), job("early", seq=1), job("mid", seq=3)])
    assert [j.job_id for j in store.list_jobs()] == ["early", "mid", "late"]
    claimed(store)
    assert [j.job_id for j in store.list_jobs([JobStatus.CLAIMED])] == ["early"]
    assert [j.job_id for j in store.list_jobs([JobStatus.PENDING])] == ["mid", "late"]


def test_counts_has_every_status(store: JobStore) -> None:
    """counts() carries total and every status, zeros included."""
    assert store.counts() == {"total": 0, **{str(s): 0 for s in ALL_STATUSES}}
    store.insert_jobs([job("a"), job("b", "acc2")])
    claimed(store)
    counts = store.counts()
    assert counts["total"] == 2
    assert counts["claimed"] == 1
    assert counts["pending"] == 1
    assert set(counts) == {"total", *(str(s) for s in ALL_STATUSES)}


# -- claim -----------------------------------------------------------------------------------------
def test_claim_takes_lowest_seq_and_sets_lease(store: JobStore) -> None:
    """The claim takes the lowest seq and records worker, time, run, token and expiry."""
    store.insert_jobs([job("b", "acc2", seq=2), job("a", "acc1", seq=1)])
    got = claimed(store)
    assert got.job_id == "a"
    assert got.status is JobStatus.CLAIMED
    assert got.worker_id == "w1"
    assert got.run_id == "run-1"
    assert got.claimed_at == NOW
    assert got.lease_expires_at == NOW + LEASE
    assert got.lease_token
    assert got.publish_started_at is None
    assert store.get("a") == got
    state = store.account_states(["acc1"])["acc1"]
    assert state.leased_by == ("alpha", "a")
    assert state.lease_expires_at == NOW + LEASE


def test_one_claim_per_account(store: JobStore) -> None:
    """A second job of a leased account is passed over for another account's job."""
    store.insert_jobs([job("a1", "acc1"), job("a2", "acc1"), job("b1", "acc2")])
    assert claimed(store).job_id == "a1"
    assert claimed(store).job_id == "b1"
    assert store.claim(request()) is None


def test_one_claim_per_account_across_campaigns(make_store: StoreFactory) -> None:
    """I2: a campaign cannot claim an account another campaign holds, until it is freed."""
    one, two = make_store("one"), make_store("two")
    one.insert_jobs([job("x", "shared")])
    two.insert_jobs([job("y", "shared")])
    first = claimed(one)
    assert two.claim(request()) is None
    assert one.complete(first.job_id, first.lease_token, NOW, day=DAY)
    assert claimed(two).job_id == "y"


def test_expired_account_lease_counts_as_free(make_store: StoreFactory) -> None:
    """Another campaign may take an account whose lease expired; the old holder's heartbeat
    then fails."""
    one, two = make_store("one"), make_store("two")
    one.insert_jobs([job("x", "shared")])
    two.insert_jobs([job("y", "shared")])
    first = claimed(one)
    later = NOW + LEASE
    assert claimed(two, request(later)).job_id == "y"
    assert not one.heartbeat(first.job_id, first.lease_token, later, LEASE)


def test_accounts_filter(store: JobStore) -> None:
    """Only jobs of the requested accounts are claimed."""
    store.insert_jobs([job("a", "acc1"), job("b", "acc2")])
    assert claimed(store, request(accounts=frozenset({"acc2"}))).job_id == "b"
    assert store.claim(request(accounts=frozenset({"acc2", "acc9"}))) is None


def test_job_without_account_never_claimed(store: JobStore) -> None:
    """A row no account can take is never claimed."""
    store.insert_jobs([job("orphan", "")])
    assert store.claim(request()) is None


# -- compare-and-set on the token -------------------------------------------------------------
def _stale_calls(store: JobStore, job_id: str, token: str) -> list[object]:
    return [
        store.heartbeat(job_id, token, NOW, LEASE),
        store.start_publish(job_id, token, NOW),
        store.save_checkpoint(job_id, token, {"k": "v"}),
        store.complete(job_id, token, NOW, day=DAY),
        store.fail(job_id, token, NOW, failure(ErrorCategory.UNKNOWN), POLICY),
        store.release(job_id, token),
        store.mark_unconfirmed(job_id, token, NOW, "lost"),
    ]


def test_stale_token_changes_nothing(store: JobStore) -> None:
    """Every state change with a wrong token is refused and writes nothing (I7)."""
    store.insert_jobs([job("a")])
    held = claimed(store)
    for token in ("wrong", ""):
        assert _stale_calls(store, "a", token) == [False, False, False, False, None, False, False]
    assert store.get("a") == held
    assert store.daily_count("acc1", DAY) == 0


def test_old_token_dead_after_expiry_and_reclaim(store: JobStore) -> None:
    """After the lease expires and the job is claimed again, the first token is stale."""
    store.insert_jobs([job("a")])
    first = claimed(store)
    second = claimed(store, request(NOW + LEASE, worker="w2"))
    assert second.job_id == "a"
    assert second.lease_token != first.lease_token
    assert not store.complete("a", first.lease_token, NOW + LEASE, day=DAY)
    assert store.complete("a", second.lease_token, NOW + LEASE, day=DAY)
    assert store.daily_count("acc1", DAY) == 1


def test_heartbeat_extends_both_leases(store: JobStore) -> None:
    """A heartbeat keeps the job claimed past its first expiry."""
    store.insert_jobs([job("a")])
    held = claimed(store)
    assert store.heartbeat("a", held.lease_token, NOW + timedelta(minutes=4), LEASE)
    assert store.recover_expired(NOW + LEASE).released == ()
    again = store.get("a")
    assert again is not None
    assert again.lease_expires_at == NOW + timedelta(minutes=9)
    state = store.account_states(["acc1"])["acc1"]
    assert state.lease_expires_at == NOW + timedelta(minutes=9)


def test_start_publish_refused_once_lease_expired(store: JobStore) -> None:
    """The irreversible step may not start on an expired lease."""
    store.insert_jobs([job("a")])
    held = claimed(store)
    assert not store.start_publish("a", held.lease_token, NOW + LEASE)
    assert store.start_publish("a", held.lease_token, NOW + timedelta(minutes=1))
    got = store.get("a")
    assert got is not None
    assert got.publish_started_at == NOW + timedelta(minutes=1)


def test_checkpoint_is_saved_and_replaced(store: JobStore) -> None:
    """save_checkpoint replaces the publisher's resume handle."""
    store.insert_jobs([job("a")])
    held = claimed(store)
    assert store.save_checkpoint("a", held.lease_token, {"session": "s1", "part": "2"})
    assert store.save_checkpoint("a", held.lease_token, {"session": "s2"})
    got = store.get("a")
    assert got is not None
    assert dict(got.checkpoint) == {"session": "s2"}


# -- complete and the ledger -------------------------------------------------------------------
def test_complete_writes_ledger_and_frees_account(store: JobStore) -> None:
    """complete counts the day, records the content hash and releases the account."""
    store.insert_jobs([job("a", content_sha256="f" * 64)])
    held = claimed(store)
    assert store.complete("a", held.lease_token, NOW, day=DAY, remote_id="r1", remote_url="u")
    got = store.get("a")
    assert got is not None
    assert got.status is JobStatus.SUCCESS
    assert (got.remote_id, got.remote_url, got.lease_token) == ("r1", "u", "")
    assert store.daily_count("acc1", DAY) == 1
    assert store.daily_count("acc1", NEXT_DAY) == 0
    assert store.is_posted("acc1", "f" * 64)
    assert not store.is_posted("acc2", "f" * 64)
    assert store.account_states(["acc1"])["acc1"].leased_by is None


def test_daily_limit_across_campaigns_and_days(make_store: StoreFactory) -> None:
    """I3: successes of one account count across campaigns; a new day frees the account."""
    one, two = make_store("one"), make_store("two")
    one.insert_jobs([job("x", "shared")])
    two.insert_jobs([job("y", "shared")])
    first = claimed(one, request(limit=1))
    assert one.complete(first.job_id, first.lease_token, NOW, day=DAY)
    assert two.claim(request(limit=1)) is None
    assert two.daily_count("shared", DAY) == 1
    assert claimed(two, request(limit=2)).job_id == "y"


def test_new_day_frees_a_capped_account(store: JobStore) -> None:
    """The daily counter is per day: tomorrow the account may post again."""
    store.insert_jobs([job("a"), job("b")])
    held = claimed(store, request(limit=1))
    store.complete("a", held.lease_token, NOW, day=DAY)
    assert store.claim(request(limit=1)) is None
    tomorrow = NOW + timedelta(days=1)
    assert claimed(store, request(tomorrow, limit=1, day=NEXT_DAY)).job_id == "b"


def test_duplicate_content_is_skipped(make_store: StoreFactory) -> None:
    """I4: a job whose content was already posted to its account becomes skipped."""
    one, two = make_store("one"), make_store("two")
    sha = "a" * 64
    one.insert_jobs([job("x", content_sha256=sha)])
    two.insert_jobs([job("dup", content_sha256=sha), job("other", "acc2", content_sha256=sha)])
    held = claimed(one)
    one.complete("x", held.lease_token, NOW, day=DAY)
    assert claimed(two).job_id == "other"
    dup = two.get("dup")
    assert dup is not None
    assert dup.status is JobStatus.SKIPPED
    assert dup.error_type == "duplicate_content"


# -- failures ----------------------------------------------------------------------------------
def test_retry_at_is_honoured(store: JobStore) -> None:
    """A retrying job waits for its retry_at."""
    store.insert_jobs([job("a")])
    held = claimed(store)
    at = NOW + timedelta(minutes=10)
    got = store.fail("a", held.lease_token, NOW, failure(ErrorCategory.INFRASTRUCTURE, at), POLICY)
    assert got is not None
    assert got.status is JobStatus.RETRYING
    assert got.retry_at == at
    assert got.attempts == 1
    assert got.lease_token == ""
    assert store.claim(request(NOW + timedelta(minutes=9))) is None
    assert claimed(store, request(at)).job_id == "a"


def test_backoff_when_no_retry_at(store: JobStore) -> None:
    """Without a Retry-After, the job waits a jittered backoff within the policy's bounds."""
    store.insert_jobs([job("a")])
    held = claimed(store)
    got = store.fail("a", held.lease_token, NOW, failure(ErrorCategory.UNKNOWN), POLICY)
    assert got is not None
    assert got.retry_at is not None
    assert NOW + timedelta(seconds=30) <= got.retry_at <= NOW + timedelta(seconds=60)


def test_rate_limit_keeps_attempts(store: JobStore) -> None:
    """A rate limit waits for its window without spending the attempts budget."""
    store.insert_jobs([job("a", max_attempts=1)])
    held = claimed(store)
    at = NOW + timedelta(hours=1)
    got = store.fail("a", held.lease_token, NOW, failure(ErrorCategory.RATE_LIMIT, at), POLICY)
    assert got is not None
    assert got.status is JobStatus.RETRYING
    assert got.attempts == 0
    assert got.retry_at == at


@pytest.mark.parametrize("category", [ErrorCategory.ACCOUNT, ErrorCategory.CONTENT])
def test_non_retryable_fails_at_once(store: JobStore, category: ErrorCategory) -> None:
    """Account and content errors are final on the first failure."""
    store.insert_jobs([job("a", max_attempts=5)])
    held = claimed(store)
    got = store.fail("a", held.lease_token, NOW, failure(category), POLICY)
    assert got is not None
    assert got.status is JobStatus.FAILED
    assert got.attempts == 1
    assert store.get("a") == got
    assert store.account_states(["acc1"])["acc1"].leased_by is None


def test_attempts_budget(store: JobStore) -> None:
    """Transient failures retry until max_attempts, then fail."""
    store.insert_jobs([job("a", max_attempts=2)])
    now = NOW
    statuses = []
    for _ in range(2):
        held = claimed(store, request(now))
        got = store.fail(
            "a", held.lease_token, now, failure(ErrorCategory.INFRASTRUCTURE, now), POLICY
        )
        assert got is not None
        statuses.append(got.status)
    assert statuses == [JobStatus.RETRYING, JobStatus.FAILED]
    assert store.claim(request(now + timedelta(days=1))) is None


# -- release, expiry, unconfirmed -------------------------------------------------------------
def test_release_before_publish_only(store: JobStore) -> None:
    """release puts a claim back unless its publish started."""
    store.insert_jobs([job("a"), job("b", "acc2")])
    a = claimed(store)
    assert store.release("a", a.lease_token)
    got = store.get("a")
    assert got is not None
    assert got.status is JobStatus.PENDING
    assert got.lease_token == ""
    b = claimed(store, request(accounts=frozenset({"acc2"})))
    assert store.start_publish("b", b.lease_token, NOW)
    assert not store.release("b", b.lease_token)
    assert store.mark_unconfirmed("b", b.lease_token, NOW, "shutdown mid-publish")
    got = store.get("b")
    assert got is not None
    assert got.status is JobStatus.UNCONFIRMED
    assert store.account_states(["acc2"])["acc2"].leased_by is None


def test_expiry_before_publish_returns_to_pending(store: JobStore) -> None:
    """A claim whose lease expired before the publish started goes back to the queue."""
    store.insert_jobs([job("a")])
    claimed(store)
    assert store.recover_expired(NOW + LEASE - timedelta(seconds=1)).released == ()
    recovery = store.recover_expired(NOW + LEASE)
    assert list(recovery.released) == ["a"]
    assert list(recovery.unconfirmed) == []
    got = store.get("a")
    assert got is not None
    assert got.status is JobStatus.PENDING
    assert store.account_states(["acc1"])["acc1"].leased_by is None


def test_expiry_after_publish_is_unconfirmed(store: JobStore) -> None:
    """A claim that expired after its publish started is unconfirmed, never re-queued."""
    store.insert_jobs([job("a")])
    held = claimed(store)
    store.start_publish("a", held.lease_token, NOW)
    recovery = store.recover_expired(NOW + LEASE)
    assert list(recovery.unconfirmed) == ["a"]
    assert list(recovery.released) == []
    assert store.claim(request(NOW + 2 * LEASE)) is None
    assert store.rearm_failed(include_non_retryable=True) == 0
    got = store.get("a")
    assert got is not None
    assert got.status is JobStatus.UNCONFIRMED


def test_resolve_unconfirmed_posted_updates_ledger(store: JobStore) -> None:
    """An unconfirmed job found posted becomes success and counts in the ledger."""
    store.insert_jobs([job("a", content_sha256="b" * 64)])
    held = claimed(store)
    store.start_publish("a", held.lease_token, NOW)
    store.mark_unconfirmed("a", held.lease_token, NOW, "crash")
    assert store.resolve_unconfirmed("a", True, NOW, day=DAY, remote_id="r9")
    got = store.get("a")
    assert got is not None
    assert got.status is JobStatus.SUCCESS
    assert got.remote_id == "r9"
    assert store.daily_count("acc1", DAY) == 1
    assert store.is_posted("acc1", "b" * 64)
    assert not store.resolve_unconfirmed("a", True, NOW, day=DAY)
    assert store.daily_count("acc1", DAY) == 1


def test_resolve_unconfirmed_not_posted_requeues_with_checkpoint(store: JobStore) -> None:
    """An unconfirmed job found not posted is pending again, its checkpoint kept."""
    store.insert_jobs([job("a")])
    held = claimed(store)
    store.save_checkpoint("a", held.lease_token, {"session": "s1"})
    store.start_publish("a", held.lease_token, NOW)
    store.recover_expired(NOW + LEASE)
    assert store.resolve_unconfirmed("a", False, NOW + LEASE, day=DAY)
    got = store.get("a")
    assert got is not None
    assert got.status is JobStatus.PENDING
    assert dict(got.checkpoint) == {"session": "s1"}
    assert got.publish_started_at is None
    assert claimed(store, request(NOW + LEASE)).job_id == "a"
    assert store.daily_count("acc1", DAY) == 0


def test_claim_recovers_expired_leases_first(store: JobStore) -> None:
    """A claim finds an expired claim of its campaign and hands the job out again."""
    store.insert_jobs([job("a")])
    first = claimed(store)
    again = claimed(store, request(NOW + LEASE, worker="w2"))
    assert again.job_id == "a"
    assert again.worker_id == "w2"
    assert again.lease_token != first.lease_token


# -- blocks, rearm, clear ----------------------------------------------------------------------
def test_needs_reauth_blocks_until_cleared(store: JobStore) -> None:
    """A needs-reauth block stops claims for the account until it is lifted."""
    store.insert_jobs([job("a")])
    store.block_account("acc1", BLOCK_NEEDS_REAUTH, "token revoked")
    assert store.claim(request(NOW + timedelta(days=30), day="2024-05-31")) is None
    state = store.account_states(["acc1"])["acc1"]
    assert (state.block, state.block_reason, state.blocked_until) == (
        BLOCK_NEEDS_REAUTH,
        "token revoked",
        None,
    )
    store.unblock_account("acc1")
    assert store.account_states(["acc1"])["acc1"].block == ""
    assert claimed(store).job_id == "a"


def test_rate_block_ends_at_its_time(store: JobStore) -> None:
    """A rate block stops claims until blocked_until."""
    store.insert_jobs([job("a")])
    until = NOW + timedelta(hours=2)
    store.block_account("acc1", BLOCK_RATE_LIMIT, "quota", until)
    assert store.claim(request(until - timedelta(seconds=1))) is None
    assert store.account_states(["acc1"])["acc1"].blocked_until == until
    assert claimed(store, request(until)).job_id == "a"


def test_rearm_failed(store: JobStore) -> None:
    """Retryable failures are re-armed with a fresh budget; non-retryable ones only when
    asked."""
    store.insert_jobs([job("t", "acc1", max_attempts=1), job("p", "acc2")])
    t, p = claimed(store), claimed(store)
    store.fail("t", t.lease_token, NOW, failure(ErrorCategory.INFRASTRUCTURE, NOW), POLICY)
    store.fail("p", p.lease_token, NOW, failure(ErrorCategory.CONTENT), POLICY)
    assert store.rearm_failed(include_non_retryable=False, pass_number=2) == 1
    got = store.get("t")
    assert got is not None
    assert got.status is JobStatus.RETRYING
    assert got.attempts == 0
    assert got.pass_number == 2
    assert store.rearm_failed(include_non_retryable=True) == 1
    assert store.counts()["failed"] == 0


def test_clear_refuses_while_claimed(store: JobStore) -> None:
    """clear refuses with a claimed job, then empties the store but keeps the ledger."""
    store.insert_jobs([job("a"), job("b", "acc2")])
    held = claimed(store)
    with pytest.raises(StoreError, match="claimed"):
        store.clear()
    assert store.counts()["total"] == 2
    store.complete("a", held.lease_token, NOW, day=DAY)
    assert store.clear() == 2
    assert store.counts()["total"] == 0
    assert store.daily_count("acc1", DAY) == 1
    assert store.insert_jobs([job("a")]) == 1


# -- unsettled publishes hold their account --------------------------------------------------
def test_a_started_publish_holds_its_account_past_its_lease_in_every_campaign(
    make_store: StoreFactory,
) -> None:
    """A holder stalled past its lease after its publish started keeps the account: no claim
    of its own or another campaign takes it, before or after recovery makes it unconfirmed."""
    alpha, beta = make_store("alpha"), make_store("beta")
    alpha.insert_jobs([job("a"), job("a2")])
    beta.insert_jobs([job("b")])
    held = claimed(alpha)
    assert alpha.start_publish("a", held.lease_token, NOW)
    late = NOW + 3 * LEASE
    assert beta.claim(request(late)) is None
    assert alpha.claim(request(late)) is None
    stuck = alpha.get("a")
    assert stuck is not None
    assert stuck.status is JobStatus.UNCONFIRMED
    assert beta.claim(request(late + LEASE)) is None
    assert beta.account_states(["acc1"])["acc1"].held_by == ("alpha", "a")


def test_recovery_inside_a_claim_places_the_hold(make_store: StoreFactory) -> None:
    """The expired started claim a claim of its own campaign recovers keeps holding the
    account for the other campaign (the hold does not depend on who recovered it)."""
    alpha, beta = make_store("alpha"), make_store("beta")
    alpha.insert_jobs([job("a"), job("x", "acc2")])
    beta.insert_jobs([job("b")])
    held = claimed(alpha)
    assert alpha.start_publish("a", held.lease_token, NOW)
    late = NOW + LEASE + timedelta(seconds=1)
    other = claimed(alpha, request(late))
    assert other.job_id == "x"
    got = alpha.get("a")
    assert got is not None
    assert got.status is JobStatus.UNCONFIRMED
    assert beta.claim(request(late)) is None


def test_a_stalled_holders_late_success_is_recorded_once_within_the_limit(
    make_store: StoreFactory,
) -> None:
    """The stalled holder's late success settles its unconfirmed job as success, counted
    once; the account then opens again and the daily limit (1) is respected."""
    alpha, beta = make_store("alpha"), make_store("beta")
    alpha.insert_jobs([job("a", content_sha256="h1")])
    beta.insert_jobs([job("b", content_sha256="h2")])
    held = claimed(alpha, request(limit=1))
    assert alpha.start_publish("a", held.lease_token, NOW)
    late = NOW + 2 * LEASE
    assert alpha.recover_expired(late).unconfirmed == ("a",)
    assert not alpha.heartbeat("a", held.lease_token, late, LEASE)
    assert beta.claim(request(late, limit=1)) is None
    assert alpha.complete("a", held.lease_token, late, day=DAY, remote_id="r1")
    done = alpha.get("a")
    assert done is not None
    assert done.status is JobStatus.SUCCESS
    assert beta.daily_count("acc1", DAY) == 1
    assert not alpha.complete("a", held.lease_token, late, day=DAY)
    assert not alpha.resolve_unconfirmed("a", True, late, day=DAY)
    assert beta.account_states(["acc1"])["acc1"].held_by is None
    assert beta.claim(request(late, limit=1)) is None
    assert claimed(beta, request(late, limit=1, day=NEXT_DAY)).job_id == "b"


def test_a_stalled_holders_late_failure_settles_the_job(store: JobStore) -> None:
    """A late definite failure (the platform refused) settles the job under the kept token
    and frees the account; a late 'unknown' leaves it unconfirmed and held."""
    store.insert_jobs([job("a"), job("b")])
    held = claimed(store)
    assert store.start_publish("a", held.lease_token, NOW)
    late = NOW + 2 * LEASE
    store.recover_expired(late)
    assert store.mark_unconfirmed("a", held.lease_token, late, "answer lost")
    assert store.claim(request(late)) is None
    updated = store.fail("a", held.lease_token, late, failure(ErrorCategory.CONTENT), POLICY)
    assert updated is not None
    assert updated.status is JobStatus.FAILED
    assert claimed(store, request(late)).job_id == "b"


def test_an_unconfirmed_job_counts_toward_the_daily_limit_in_every_campaign(
    make_store: StoreFactory,
) -> None:
    """A worker's mark_unconfirmed ends its attempt (the account lease is free) but the job
    counts toward the account's limit in every campaign until reconcile or --confirm settles
    it; a stale holder token cannot settle it afterwards."""
    alpha, beta = make_store("alpha"), make_store("beta")
    alpha.insert_jobs([job("a")])
    beta.insert_jobs([job("b")])
    held = claimed(alpha, request(limit=1))
    assert alpha.start_publish("a", held.lease_token, NOW)
    assert alpha.mark_unconfirmed("a", held.lease_token, NOW, "answer lost")
    state = beta.account_states(["acc1"])["acc1"]
    assert (state.held_by, state.unconfirmed, state.leased_by) == (None, 1, None)
    assert beta.claim(request(limit=1)) is None
    assert claimed(beta, request(limit=2)).job_id == "b"
    assert beta.release("b", beta.get("b").lease_token)  # type: ignore[union-attr]
    assert alpha.resolve_unconfirmed("a", False, NOW, day=DAY)
    assert alpha.fail("a", held.lease_token, NOW, failure(ErrorCategory.UNKNOWN), POLICY) is None
    assert beta.account_states(["acc1"])["acc1"].unconfirmed == 0
    assert claimed(beta, request(limit=1)).job_id == "b"


def test_an_inserted_unconfirmed_job_counts_toward_the_limit(make_store: StoreFactory) -> None:
    """An unconfirmed row that arrives by insert (an import of prior progress) counts toward
    its account's limit for every campaign like one a worker left (it holds no lease)."""
    alpha, beta = make_store("alpha"), make_store("beta")
    alpha.insert_jobs(
        [job("a", status=JobStatus.UNCONFIRMED, error="imported"), job("a2"), job("x", "acc2")]
    )
    beta.insert_jobs([job("b")])
    assert beta.claim(request(limit=1)) is None
    assert claimed(alpha, request(limit=1)).job_id == "x"
    state = alpha.account_states(["acc1"])["acc1"]
    assert (state.held_by, state.unconfirmed) == (None, 1)
