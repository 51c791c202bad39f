"""complete_and_claim: a success and the slot's next claim in one transaction, on every store.

Each store's answer and state must be those of complete() then claim(): the claim sees the
account the success freed and the count it added, a stale token claims all the same, and a
duplicate met on the way is skipped. The memory reference has no combined op and runs the two
calls (store.base.complete_and_claim); the durable stores must run their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from postpilot.errors import StoreUnavailable
from postpilot.jobs import Job, JobStatus
from postpilot.runner.outage import Outage, ride_out
from postpilot.store import JobStore
from postpilot.store.base import SupportsCompleteAndClaim, complete_and_claim
from postpilot.store.sqlite import SqliteJobStore
from tests.integration.store.conftest import StoreFactory
from tests.integration.store.test_contract import DAY, NOW, claimed, job, request


def _finish(store: JobStore, job_id: str, token: str, limit: int = 10) -> tuple[bool, str | None]:
    done, following = complete_and_claim(
        store, job_id, token, NOW, day=DAY, remote_id="r1", request=request(limit=limit)
    )
    return done, None if following is None else following.job_id


def test_durable_stores_run_their_own_combined_op(
    store_kind: str, make_store: StoreFactory
) -> None:
    """SQLite and PostgreSQL do it in one transaction; only the reference falls back."""
    store = make_store("alpha")
    assert isinstance(store, SupportsCompleteAndClaim) == (store_kind != "memory")


def test_the_claim_sees_the_account_the_success_freed(make_store: StoreFactory) -> None:
    """The account's next job is claimed at once: its lease ended with the success."""
    store = make_store("alpha")
    store.insert_jobs([job("a1", "acc1", seq=1), job("a2", "acc1", seq=2)])
    first = claimed(store)
    assert _finish(store, first.job_id, first.lease_token) == (True, "a2")
    done = store.get("a1")
    assert done is not None
    assert done.status is JobStatus.SUCCESS
    assert done.remote_id == "r1"
    following = store.get("a2")
    assert following is not None
    assert following.status is JobStatus.CLAIMED
    assert following.lease_token
    assert following.lease_token != first.lease_token
    assert store.daily_count("acc1", DAY) == 1


def test_the_claim_sees_the_count_the_success_added(make_store: StoreFactory) -> None:
    """At a daily limit of one, the success fills its account's day: another account's job
    is claimed, and with none left nothing is."""
    store = make_store("alpha")
    store.insert_jobs(
        [job("a1", "acc1", seq=1), job("a2", "acc1", seq=2), job("b1", "acc2", seq=3)]
    )
    first = claimed(store, request(limit=1))
    assert _finish(store, first.job_id, first.lease_token, limit=1) == (True, "b1")
    second = store.get("b1")
    assert second is not None
    assert _finish(store, "b1", second.lease_token, limit=1) == (True, None)
    waiting = store.get("a2")
    assert waiting is not None
    assert waiting.status is JobStatus.PENDING


def test_a_stale_token_records_nothing_and_still_claims(make_store: StoreFactory) -> None:
    """The success is refused under a stale token (False), the claim is made all the same."""
    store = make_store("alpha")
    store.insert_jobs([job("a1", "acc1", seq=1), job("b1", "acc2", seq=2)])
    first = claimed(store)
    assert _finish(store, first.job_id, "stale-token") == (False, "b1")
    kept = store.get("a1")
    assert kept is not None
    assert kept.status is JobStatus.CLAIMED
    assert store.daily_count("acc1", DAY) == 0


def test_a_duplicate_met_by_the_claim_is_skipped(make_store: StoreFactory) -> None:
    """The next job carries the content just posted: it is skipped, the one after claimed."""
    store = make_store("alpha")
    store.insert_jobs(
        [
            job("a1", "acc1", seq=1, content_sha256="h1"),
            job("a2", "acc1", seq=2, content_sha256="h1"),
            job("a3", "acc1", seq=3, content_sha256="h2"),
        ]
    )
    first = claimed(store)
    assert _finish(store, first.job_id, first.lease_token) == (True, "a3")
    skipped = store.get("a2")
    assert skipped is not None
    assert skipped.status is JobStatus.SKIPPED
    assert skipped.error_type == "duplicate_content"


class AnswerLostOnce(SqliteJobStore):
    """A real SQLite store whose first complete_and_claim commits, then loses its answer."""

    lost = False

    def complete_and_claim(self, *args: Any, **kwargs: Any) -> tuple[bool, Job | None]:
        answer = super().complete_and_claim(*args, **kwargs)
        if not self.lost:
            self.lost = True
            raise StoreUnavailable("the answer to the commit was lost")
        return answer


def test_a_lost_answer_reads_the_success_back_and_gives_the_lost_claim_back(
    tmp_path: Path,
) -> None:
    """Tried again after a lost answer: the success counts once and reads True, and the claim
    the lost try made (publish not started) is given back, not left to its lease."""
    store = AnswerLostOnce(tmp_path / "c" / "progress.db", tmp_path / "ledger.db", "alpha")
    store.insert_jobs([job("a1", "acc1", seq=1), job("a2", "acc1", seq=2), job("b1", "acc2")])
    first = claimed(store)
    ridden = ride_out(store, Outage(30.0, lambda _line: None))
    done, following = ridden.complete_and_claim(
        first.job_id, first.lease_token, NOW, day=DAY, remote_id="r1", request=request()
    )
    assert store.lost
    assert done is True
    assert following is not None
    assert following.job_id == "b1"
    given_back = store.get("a2")
    assert given_back is not None
    assert given_back.status is JobStatus.PENDING
    assert store.daily_count("acc1", DAY) == 1
    store.close()
