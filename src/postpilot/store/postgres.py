"""The distributed job store: PostgreSQL (psycopg 3 + psycopg_pool), shared by many hosts.

With its parts (postgres_connection.py: pool, errors, queries, migrations; postgres_ledger.py:
job and ledger reads, bulk writes, several hosts; postgres_dashboard.py) the only code of
postpilot that imports psycopg. Semantics are those of postpilot.store.memory (the
reference); the database enforces them across hosts. This module keeps the claim cycle and
the compare-and-set hooks (postpilot.store.cas).

Tables (migrations in postpilot/store/sql/NNNN_*.sql, queries in sql/queries.sql)
    jobs            every campaign's jobs, keyed by (campaign, job_id)
    daily_counts    successes per (account, local day), across campaigns (I3)
    posted          content posted per account (I4)
    account_blocks  needs re-auth / rate windows
    workers         the worker pools of every host, for --status

One publish per account (I2)
    An account's publish lease is the job row that has `holds_account` set; a partial
    exclusion constraint (a partial unique index checked at the end of each statement) lets
    at most one row per account hold it, whatever the campaign, even for a raw UPDATE.
    A job that loses its lease to a claim of another campaign (after its lease expired)
    stays claimed, exactly as in the in-memory reference, until its own campaign recovers it.
    A publish that may still be in flight (claimed with its publish started, whatever its
    lease says, or unconfirmed by such an expiry) holds its account too, and unconfirmed jobs
    count toward the daily limit: the claim finds both through the `jobs_unsettled` index,
    so no campaign or host starts a second publish on the account meanwhile.

The claim
    One statement (queries.sql `claim`): the campaign's account heads (each account's first
    waiting job, migrations 0004 and 0008) due by now, in claim order, without the accounts
    the ledger rules out; the first head's job that `FOR UPDATE SKIP LOCKED` can lock is
    taken; recovery of the campaign's expired leases folded in, an expired lease of any
    campaign taken over. Two claimers racing for one account make the constraint fail for
    one of them, which retries.
    Cost: one row per account with waiting jobs, whatever the number of jobs. Heads are
    updated in place (HOT), so claims since the last vacuum leave nothing to step over.
    insert_jobs refreshes the planner's statistics after a large seed
    (_refresh_planner_stats), so the first minute of a campaign is planned like the rest.
    Round trips: one per attempt. In psycopg's pipeline mode BEGIN, the claim (and, for
    complete_and_claim, the complete before it, whose writes the claim sees: the server runs
    a pipeline in order), the recheck of the claimed account's day and COMMIT travel
    together. A lost race, or a recheck that finds the account filled or blocked meanwhile
    (it raises: migration 0007), makes the server skip COMMIT; the whole transaction, the
    complete with it, is rolled back before the next attempt.

Every other change of a claimed job is a write conditional on its lease token (I7): a single
statement where SQL can say it (complete, heartbeat, start_publish), else a locked
read, a pure transition of postpilot.jobs, and a write that checks status and token again.
complete() writes the ledger and the job's success in one statement, so nothing is
counted without the success or the other way round.

Errors: psycopg errors become postpilot.errors.StoreError / StoreUnavailable; messages name
the database as `postgresql://user@host:port/db`, never with its password.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb

from postpilot.jobs import Job, JobStatus, apply_expiry, apply_release
from postpilot.store.base import ClaimRequest, Recovery
from postpilot.store.cas import CasStore
from postpilot.store.postgres_connection import (
    _Q,
    _RACES,
    CLAIM_ATTEMPTS,
    CONNECT_TIMEOUT_SECONDS,
    _save_params,
    _to_job,
    describe_dsn,
)
from postpilot.store.postgres_dashboard import PostgresDashboardMixin
from postpilot.store.postgres_ledger import PostgresLedger
from postpilot.store.rules import apply_duplicate, new_token

__all__ = ["CLAIM_ATTEMPTS", "CONNECT_TIMEOUT_SECONDS", "PostgresJobStore", "describe_dsn"]


def _expiry_fields() -> dict[str, str]:
    """What apply_expiry writes on a claim that expired after its publish started, so the
    SQL recovery uses postpilot.jobs' wording rather than a copy of it."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    probe = Job(
        job_id="",
        account="",
        video_path="",
        caption="",
        status=JobStatus.CLAIMED,
        publish_started_at=epoch,
    )
    expired = apply_expiry(probe, epoch)
    return {
        "expired_error": expired.error,
        "expired_error_type": expired.error_type,
        "expired_error_category": expired.error_category,
    }


_EXPIRY = _expiry_fields()
#: A holder may settle its job while claimed, or late, once expiry made it unconfirmed.
_SETTLING = (JobStatus.CLAIMED, JobStatus.UNCONFIRMED)


def _recorded(rows: list[dict[str, Any]]) -> bool:
    """Whether the `complete` statement recorded the success (its row count)."""
    return bool(rows and rows[0]["n"])


class PostgresJobStore(PostgresDashboardMixin, PostgresLedger, CasStore[psycopg.Connection[Any]]):
    """One campaign's jobs in a PostgreSQL database that every campaign and host shares.

    `dsn` is a libpq connection string or `postgresql://` URL; the tables live in the first
    schema of its search_path (options=-csearch_path=x selects another). Migrations are
    applied on first use. `pool_size` connections at most: a worker's claim loop plus its
    heartbeat thread need two.
    """

    # -- the claim cycle ----------------------------------------------------------------------
    def claim(self, request: ClaimRequest) -> Job | None:
        """One statement per attempt (see the module doc); retried when it loses a race."""
        return self._claim(request, None)[1]

    def complete_and_claim(
        self,
        job_id: str,
        token: str,
        now: datetime,
        *,
        day: str,
        remote_id: str = "",
        remote_url: str = "",
        request: ClaimRequest,
    ) -> tuple[bool, Job | None]:
        """complete()'s statement, then the claim's, in one transaction (one commit)."""
        if not token:
            return False, self.claim(request)
        settle = self._completion(job_id, token, now, day, remote_id, remote_url)
        return self._claim(request, settle)

    def _claim(
        self, request: ClaimRequest, settle: dict[str, Any] | None
    ) -> tuple[bool, Job | None]:
        """The claim, after `settle`'s complete in the same transaction when given; (whether
        that complete recorded the success, the claimed job)."""
        now = request.now
        params: dict[str, Any] = {
            "campaign": self.campaign,
            "now": now,
            "expires": now + request.lease,
            "day": request.day,
            "limit": request.daily_limit,
            "accounts": None if request.accounts is None else sorted(request.accounts),
            "worker_id": request.worker_id,
            "run_id": request.run_id,
            **_EXPIRY,
        }
        done = False
        lost = 0
        action = "claim a job" if settle is None else "record a completed publish"
        with self._errors(action):
            while True:
                params["token"] = new_token()
                try:
                    # One round trip: BEGIN, the complete, the claim (which sees the complete's
                    # writes: the server runs them in order), the recheck of the claimed
                    # account's day, COMMIT.
                    with self._pipelined() as conn:
                        completed = None if settle is None else self._send(conn, "complete", settle)
                        claimed = self._send(conn, "claim", params)
                        rechecked = self._send(conn, "claim_recheck", params)
                except pg_errors.RaiseException:
                    # Rolled back: the account reached its limit (or was blocked) while the
                    # claim ran. The next attempt's snapshot sees it and passes the account by.
                    continue
                except _RACES:
                    lost += 1
                    if lost >= CLAIM_ATTEMPTS:
                        if settle is None:
                            raise
                        # The success must not wait for a claim: record it alone.
                        return _recorded(self._query("complete", settle, action)), None
                    # Spread the retries of claimers that collided.
                    time.sleep(random.uniform(0, 0.002 * lost))
                    continue
                if completed is not None:
                    done = _recorded(self._fetched(completed, "complete"))
                rows = self._fetched(claimed, "claim")
                rechecked.close()  # the recheck answers by raising; its row is never read
                settle = None  # committed: later attempts only claim
                if not rows:
                    return done, None
                job = _to_job(rows[0])
                if not rows[0]["duplicate"]:
                    return done, job
                self._skip_duplicate(job, now)

    def _skip_duplicate(self, job: Job, now: datetime) -> None:
        """Mark a picked job skipped: its content is already posted to its account. A
        claim whose lease expired is recovered first, as the reference does."""
        before = job
        if job.status is JobStatus.CLAIMED:
            job = apply_release(job)
        skipped = apply_duplicate(job, now)
        with self._pool.connection() as conn:
            self._write_job(conn, before, skipped)

    # -- the CasStore hooks (postpilot.store.cas) -----------------------------------------------
    @contextmanager
    def _cas(self, action: str) -> Iterator[psycopg.Connection[Any]]:
        with self._errors(action), self._transaction() as conn:
            yield conn

    def _held(
        self, conn: psycopg.Connection[Any], job_id: str, token: str, settling: bool = False
    ) -> Job | None:
        return self._locked(conn, job_id, _SETTLING if settling else JobStatus.CLAIMED, token)

    def _unconfirmed_job(self, conn: psycopg.Connection[Any], job_id: str) -> Job | None:
        return self._locked(conn, job_id, JobStatus.UNCONFIRMED, None)

    def _write_job(self, conn: psycopg.Connection[Any], old: Job, new: Job) -> bool:
        """Write `new` if the row still has `old`'s status and token (the CAS)."""
        cur = conn.execute(_Q["save_job"], _save_params(old, new))
        return cur.rowcount == 1

    def _write_many(self, conn: psycopg.Connection[Any], pairs: Sequence[tuple[Job, Job]]) -> None:
        with conn.cursor() as cur:
            cur.executemany(_Q["save_job"], [_save_params(old, new) for old, new in pairs])

    def _failed_jobs(self, conn: psycopg.Connection[Any]) -> list[Job]:
        return [_to_job(r) for r in self._rows(conn, "lock_failed", {"campaign": self.campaign})]

    def _record_resolved(
        self,
        conn: psycopg.Connection[Any],
        job: Job,
        day: str,
        now: datetime,
        remote_id: str,
        remote_url: str,
    ) -> None:
        params = {
            "account": job.account,
            "sha256": job.content_sha256,
            "campaign": self.campaign,
            "job_id": job.job_id,
            "day": day,
            "remote_id": remote_id,
            "remote_url": remote_url,
            "now": now,
        }
        conn.execute(_Q["record_post"], params)

    def _locked(
        self,
        conn: psycopg.Connection[Any],
        job_id: str,
        status: JobStatus | tuple[JobStatus, ...],
        token: str | None,
    ) -> Job | None:
        """The job when it has this status (or one of these) and token, locked until the
        transaction ends."""
        statuses = status if isinstance(status, tuple) else (status,)
        params = {
            "campaign": self.campaign,
            "job_id": job_id,
            "statuses": [str(s) for s in statuses],
            "token": token,
        }
        rows = self._rows(conn, "lock_job", params)
        return _to_job(rows[0]) if rows else None

    def heartbeat(self, job_id: str, token: str, now: datetime, lease: timedelta) -> bool:
        """Extend the job's and its account's lease; False when the token is stale or another
        job holds the account's lease live."""
        if not token:
            return False
        params = {
            "campaign": self.campaign,
            "job_id": job_id,
            "token": token,
            "now": now,
            "expires": now + lease,
        }
        with self._errors("extend a lease"):
            for attempt in range(CLAIM_ATTEMPTS):
                try:
                    with self._pool.connection() as conn:
                        return bool(self._rows(conn, "heartbeat", params))
                except _RACES:
                    # A claim took the account meanwhile; the next attempt sees it.
                    if attempt + 1 >= CLAIM_ATTEMPTS:
                        raise
            return False  # pragma: no cover - the loop returns or raises

    def start_publish(self, job_id: str, token: str, now: datetime) -> bool:
        """Mark the publish as started; False when stale or the lease expired at `now`."""
        if not token:
            return False
        params = {"campaign": self.campaign, "job_id": job_id, "token": token, "now": now}
        return bool(self._query("start_publish", params, "mark a publish as started"))

    def save_checkpoint(self, job_id: str, token: str, data: Mapping[str, str]) -> bool:
        """Replace the job's checkpoint under the lease."""
        if not token:
            return False
        params = {
            "campaign": self.campaign,
            "job_id": job_id,
            "token": token,
            "checkpoint": Jsonb(dict(data)),
        }
        return bool(self._query("save_checkpoint", params, "save a checkpoint"))

    def complete(
        self,
        job_id: str,
        token: str,
        now: datetime,
        *,
        day: str,
        remote_id: str = "",
        remote_url: str = "",
    ) -> bool:
        """Ledger (count, posted) and the job's success in one statement; frees the account."""
        if not token:
            return False
        params = self._completion(job_id, token, now, day, remote_id, remote_url)
        return _recorded(self._query("complete", params, "record a completed publish"))

    def _completion(
        self, job_id: str, token: str, now: datetime, day: str, remote_id: str, remote_url: str
    ) -> dict[str, Any]:
        """The `complete` statement's parameters."""
        return {
            "campaign": self.campaign,
            "job_id": job_id,
            "token": token,
            "now": now,
            "day": day,
            "remote_id": remote_id,
            "remote_url": remote_url,
        }

    def recover_expired(self, now: datetime) -> Recovery:
        """Expired claims of this campaign back to the queue, or unconfirmed."""
        params = {"campaign": self.campaign, "now": now, **_EXPIRY}
        rows = self._query("recover", params, "recover expired leases")
        rows.sort(key=lambda r: (r["seq"], r["ins"]))
        unconfirmed = str(JobStatus.UNCONFIRMED)
        return Recovery(
            released=tuple(r["job_id"] for r in rows if r["status"] != unconfirmed),
            unconfirmed=tuple(r["job_id"] for r in rows if r["status"] == unconfirmed),
        )
