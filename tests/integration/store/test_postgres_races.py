"""PostgreSQL claims racing on real connections: SKIP LOCKED never hands one job to two
claimers, the losers of a same-account race retry and pass the account by, and a claim that
raced the account's last success of the day takes nothing.

complete_and_claim sends its complete and its claim in one pipeline: a race the claim loses
rolls the complete back with it, and the retry records the success exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from postpilot.jobs import Job, JobStatus
from postpilot.store.base import complete_and_claim
from postpilot.store.postgres import PostgresJobStore
from tests.integration.store.pg_cases import DAY, LEASE, NOW, job, raw, request

pytestmark = pytest.mark.postgres

#: Whether a backend of the server waits on the lock another backend (the holder) has.
_WAITING = "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE %s = ANY (pg_blocking_pids(pid)))"


def _until_blocked_by(dsn: str, holder: psycopg.Connection[tuple[object, ...]]) -> None:
    """Return once some backend waits on `holder`'s transaction (at most 60 s)."""
    with raw(dsn) as probe:
        deadline = time.monotonic() + 60
        while not probe.execute(_WAITING, (holder.info.backend_pid,)).fetchone()[0]:  # type: ignore[index]
            assert time.monotonic() < deadline, "nothing ever waited on the holder"
            time.sleep(0.01)


def test_racing_claimers_never_share_a_job(open_store: Callable[..., PostgresJobStore]) -> None:
    """Six threads, each with its own store (connection), claim 120 jobs of 120 accounts at
    once: every job is claimed exactly once (FOR UPDATE SKIP LOCKED)."""
    seeder = open_store("alpha")
    seeder.insert_jobs([job(f"j{i}", f"acc{i}") for i in range(120)])
    stores = [open_store("alpha") for _ in range(6)]
    got: list[list[str]] = [[] for _ in stores]
    barrier = threading.Barrier(len(stores))

    def run(index: int) -> None:
        barrier.wait()
        while (claimed := stores[index].claim(request(worker=f"w{index}"))) is not None:
            got[index].append(claimed.job_id)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [job_id for ids in got for job_id in ids]
    assert sorted(every) == sorted(f"j{i}" for i in range(120))
    assert seeder.counts()["claimed"] == 120


def test_racing_claimers_of_few_accounts_take_one_job_per_account(
    open_store: Callable[..., PostgresJobStore],
) -> None:
    """Eight threads racing over 40 jobs of 3 accounts end with exactly one claim per account
    (whichever job of it): the losers of a same-account race retry and find the account taken."""
    seeder = open_store("alpha")
    seeder.insert_jobs([job(f"j{i}", f"acc{i % 3}") for i in range(40)])
    stores = [open_store("alpha") for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    got: list[Job] = []
    lock = threading.Lock()

    def run(store: PostgresJobStore) -> None:
        barrier.wait()
        while (claimed := store.claim(request())) is not None:
            with lock:
                got.append(claimed)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # SKIP LOCKED promises no order, so which job of an account wins is not asserted.
    assert sorted(j.account for j in got) == ["acc0", "acc1", "acc2"]
    assert all(j.account == f"acc{int(j.job_id[1:]) % 3}" for j in got)
    assert len({j.job_id for j in got}) == 3
    assert seeder.counts()["claimed"] == 3


def test_a_claim_racing_the_account_s_last_success_of_the_day_claims_nothing(
    dsn: str, open_store: Callable[..., PostgresJobStore]
) -> None:
    """A claim whose statement started before another campaign's holder of the account recorded
    the day's last allowed success (limit 1) is rolled back and retried: it never takes a
    second job."""
    alpha, beta = open_store("alpha"), open_store("beta")
    alpha.insert_jobs([job("a2")])
    beta.insert_jobs([job("b1")])
    holder = psycopg.connect(dsn)  # a transaction, as another host's claim->complete would be
    try:
        # Another host holds acc1 for beta (uncommitted): the claim below does not see it, picks
        # a2 and waits on the one-lease-per-account constraint until this transaction ends.
        holder.execute(
            "UPDATE jobs SET status = 'claimed', holds_account = true, lease_token = 'x', "
            "lease_expires_at = %s WHERE campaign = 'beta' AND job_id = 'b1'",
            (NOW + LEASE,),
        )
        result: list[Job | None] = []
        claimer = threading.Thread(target=lambda: result.append(alpha.claim(request(limit=1))))
        claimer.start()
        _until_blocked_by(dsn, holder)
        # The holder's publish succeeds: the day's one success is counted, the lease released.
        holder.execute(
            "UPDATE jobs SET status = 'success', holds_account = false, lease_token = '' "
            "WHERE campaign = 'beta' AND job_id = 'b1'"
        )
        holder.execute(
            "INSERT INTO daily_counts (account, day, count) VALUES ('acc1', %s, 1)", (DAY,)
        )
        holder.commit()
        claimer.join(timeout=60)
    finally:
        holder.close()
    assert result == [None]
    assert alpha.counts()["claimed"] == 0
    assert alpha.daily_count("acc1", DAY) == 1


def test_a_success_whose_claim_loses_a_race_is_recorded_once_and_the_claim_passes_by(
    dsn: str, open_store: Callable[..., PostgresJobStore]
) -> None:
    """complete_and_claim's claim picks acc2's job while another host takes acc2 (uncommitted):
    it waits, loses on the one-lease constraint, and the whole transaction (the complete with
    it) is rolled back and tried again; the success counts once and acc2 is passed by."""
    alpha, beta = open_store("alpha"), open_store("beta")
    alpha.insert_jobs([job("a1", "acc1", content_sha256="h1"), job("a2", "acc2")])
    beta.insert_jobs([job("b2", "acc2")])
    first = alpha.claim(request())
    assert first is not None
    assert first.job_id == "a1"
    holder = psycopg.connect(dsn)  # another host's claim of acc2, not committed yet
    try:
        holder.execute(
            "UPDATE jobs SET status = 'claimed', holds_account = true, lease_token = 'x', "
            "lease_expires_at = %s WHERE campaign = 'beta' AND job_id = 'b2'",
            (NOW + LEASE,),
        )
        result: list[tuple[bool, Job | None]] = []
        recorder = threading.Thread(
            target=lambda: result.append(
                complete_and_claim(alpha, "a1", first.lease_token, NOW, day=DAY, request=request())
            )
        )
        recorder.start()
        _until_blocked_by(dsn, holder)
        holder.commit()  # the other host's lease of acc2 stands
        recorder.join(timeout=60)
    finally:
        holder.close()
    assert result == [(True, None)]
    assert alpha.get("a1").status == JobStatus.SUCCESS  # type: ignore[union-attr]
    assert alpha.daily_count("acc1", DAY) == 1
    assert alpha.counts()["claimed"] == 0
    assert [row[0] for row in alpha.posted_content()] == ["a1"]
