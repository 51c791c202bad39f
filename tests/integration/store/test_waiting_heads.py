"""Each account's next waiting job, as --status shows it: every store gives the same answer
as reading all waiting jobs (postpilot.rollover.first_waiting), whatever the store does."""

from __future__ import annotations

import random
from datetime import timedelta

from postpilot.jobs import Job, JobStatus
from postpilot.rollover import first_of_each_account, first_waiting
from tests.integration.store.conftest import StoreFactory
from tests.integration.store.test_contract import NOW, job


def _mixed_jobs(rng: random.Random, count: int) -> list[Job]:
    """Jobs over four accounts and the empty one, with equal seqs, past, future and unset
    slots (unset means due now), and statuses that are not waiting."""
    statuses = [JobStatus.PENDING] * 4 + [JobStatus.RETRYING, JobStatus.SUCCESS, JobStatus.FAILED]
    slots = [None, NOW - timedelta(hours=2), NOW, NOW + timedelta(hours=1), NOW + timedelta(days=1)]
    return [
        job(
            f"j{i:03d}",
            rng.choice(["acc1", "acc2", "acc3", "acc4", ""]),
            seq=rng.randint(1, count // 3),
            scheduled_at=rng.choice(slots),
            status=rng.choice(statuses),
        )
        for i in range(count)
    ]


def test_each_accounts_first_waiting_job_matches_a_full_read(make_store: StoreFactory) -> None:
    """first_waiting equals the first job by (slot or now, seq, insert order) of every account."""
    rng = random.Random(12)
    for round_number in range(4):
        store = make_store(f"c{round_number}")
        store.insert_jobs(_mixed_jobs(rng, 90))
        waiting = store.list_jobs([JobStatus.PENDING, JobStatus.RETRYING])
        expected = first_of_each_account(waiting, NOW)
        got = first_waiting(store, NOW)
        assert {a: j.job_id for a, j in got.items()} == {a: j.job_id for a, j in expected.items()}
        assert got == expected


def test_a_past_slot_comes_before_an_unslotted_job_and_ties_go_by_seq(
    make_store: StoreFactory,
) -> None:
    """An unset slot counts as now: a past slot is first; equal due times go by seq."""
    store = make_store("alpha")
    store.insert_jobs(
        [
            job("unslotted", "acc1", seq=1),
            job("past", "acc1", seq=5, scheduled_at=NOW - timedelta(minutes=1)),
            job("later-seq", "acc2", seq=9, scheduled_at=NOW),
            job("first-seq", "acc2", seq=2),
            job("done", "acc3", seq=1, status=JobStatus.SUCCESS),
            job("tomorrow", "acc3", seq=3, scheduled_at=NOW + timedelta(days=1)),
        ]
    )
    got = first_waiting(store, NOW)
    assert {a: j.job_id for a, j in got.items()} == {
        "acc1": "past",
        "acc2": "first-seq",
        "acc3": "tomorrow",
    }
