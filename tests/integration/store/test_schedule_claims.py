"""Posting slots in every store: a job is not claimable before scheduled_at, the next due time
is one store call, and the campaign's posted content survives a cleared store."""

from __future__ import annotations

from datetime import timedelta

from postpilot.jobs import ErrorCategory, JobStatus
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


def test_claims_take_the_earliest_due_job_first_then_seq(make_store: StoreFactory) -> None:
    """Claim order is due time (a job due at once first), then seq; a retry due later waits
    behind a job whose slot came earlier, whatever their seq."""
    store = make_store("alpha")
    store.insert_jobs(
        [
            job("late-slot", "acc1", seq=1, scheduled_at=NOW - timedelta(minutes=1)),
            job("early-slot", "acc2", seq=2, scheduled_at=NOW - timedelta(minutes=10)),
            job("unslotted", "acc3", seq=3),
            job("unslotted-2", "acc4", seq=4),
        ]
    )
    order = []
    while (got := store.claim(request(NOW))) is not None:
        order.append(got.job_id)
    assert order == ["unslotted", "unslotted-2", "early-slot", "late-slot"]


def test_an_account_s_jobs_are_claimed_in_due_order_across_claims(
    make_store: StoreFactory,
) -> None:
    """One account's waiting jobs come out earliest due first, each once its slot has come,
    also after a failure puts one back with a later retry time."""
    store = make_store("alpha")
    store.insert_jobs(
        [
            job("third", "acc1", seq=1, scheduled_at=NOW + timedelta(hours=2)),
            job("first", "acc1", seq=2, scheduled_at=NOW - timedelta(hours=1)),
            job("second", "acc1", seq=3, scheduled_at=NOW + timedelta(hours=1)),
        ]
    )
    got = store.claim(request(NOW))
    assert got is not None
    assert got.job_id == "first"
    retry = NOW + timedelta(hours=3)
    store.fail(got.job_id, got.lease_token, NOW, failure(ErrorCategory.UNKNOWN, retry), POLICY)
    taken = []
    for hours in (1, 2, 3):
        later = store.claim(request(NOW + timedelta(hours=hours)))
        assert later is not None
        taken.append(later.job_id)
        assert store.complete(later.job_id, later.lease_token, NOW, day=DAY)
    assert taken == ["second", "third", "first"]


def test_outlook_says_whether_waiting_can_free_a_job(make_store: StoreFactory) -> None:
    """outlook after an empty claim: in flight while a claim of the campaign runs, or while a
    due job's account is leased by another campaign (not for an account the worker may not
    take); not for a capped account; and it names the next due time."""
    alpha, beta = make_store("alpha"), make_store("beta")
    assert alpha.outlook(request(NOW)).in_flight is False
    alpha.insert_jobs([job("a1", "acc1")])
    mine = alpha.claim(request(NOW))
    assert mine is not None
    assert alpha.outlook(request(NOW)).in_flight is True
    assert alpha.complete(mine.job_id, mine.lease_token, NOW, day=DAY)
    beta.insert_jobs([job("b1", "acc2")])
    theirs = beta.claim(request(NOW))
    assert theirs is not None
    slot = NOW + timedelta(hours=1)
    alpha.insert_jobs([job("a2", "acc2"), job("a3", "acc3", scheduled_at=slot)])
    assert alpha.claim(request(NOW)) is None
    outlook = alpha.outlook(request(NOW))
    assert outlook.in_flight is True
    assert outlook.next_due == slot
    other = alpha.outlook(request(NOW, accounts=frozenset({"acc1", "acc3"})))
    assert other.in_flight is False
    assert beta.complete(theirs.job_id, theirs.lease_token, NOW, day=DAY)
    capped = alpha.outlook(request(NOW, limit=1))
    assert alpha.claim(request(NOW, limit=1)) is None
    assert capped.in_flight is False
    assert capped.next_due == slot
