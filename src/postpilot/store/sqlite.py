"""The embedded job store: SQLite in WAL mode, one file per campaign plus the project ledger.

With its parts (sqlite_connection.py: files, set-up, transactions; sqlite_ledger.py: job and
ledger reads and bulk writes; sqlite_rows.py: the Job <-> row mapping; sqlite_schema.py;
sqlite_dashboard.py) the only code of postpilot that imports sqlite3. Semantics are those of
postpilot.store.memory (the reference); this module keeps the claim cycle and the
compare-and-set hooks (postpilot.store.cas) and makes them durable and safe across processes.

Files and connection
    One connection per store object. The project ledger (`.postpilot/ledger.db`: daily_counts,
    posted, account_leases, account_blocks) is the connection's `main` schema and the
    campaign's progress file (jobs, meta) is ATTACHed as `c`, so one `BEGIN IMMEDIATE`
    transaction takes the write lock of both files for claim, complete, fail and the rest.
    WAL mode, synchronous=FULL (a commit survives power loss), busy_timeout 30 s by default
    (POSTPILOT_STORE_BUSY_SECONDS); a lock held past the timeout becomes
    postpilot.errors.StoreUnavailable.

Crash between the two commits
    With WAL, SQLite commits the attached files one after the other, not atomically as a set,
    in schema order: `main` (the ledger) first, then `c` (the jobs). Every operation is written
    so that either prefix is recoverable:
    - claim: the account lease is committed before the job is claimed. A crash in between
      leaves an *orphan* lease: held by this campaign for a job that is not claimed with that
      token. Claims of this campaign treat it as free and recovery deletes it (other
      campaigns wait for it to expire, at most one lease period).
    - complete / resolve_unconfirmed(posted): the ledger (daily count, `posted` row keyed by
      campaign, job_id and the lease token) is committed before the job becomes success,
      (docs/architecture.md, job life). A crash or a full campaign disk in between leaves the
      job claimed with that token; whatever settles that claim next (recovery at lease expiry,
      mark_unconfirmed for a dead worker or a failed run's leftover claims) finds the `posted`
      row with the token and makes the job a success instead of unconfirmed, so nothing is
      counted twice or posted again.
    - fail / release / mark_unconfirmed: the account lease is dropped before the job moves.
      A crash in between leaves the job claimed by a dead worker; it expires like any other.
    - holds: every campaign's unsettled publishes are ledger `account_holds` rows (one that may
      be in flight, postpilot.jobs.may_be_in_flight, holds its account; an unconfirmed one
      counts toward the daily limit), written before the job's publish is marked started and
      deleted before the job is settled. This campaign's own claims read
      its jobs instead of its rows, and recovery re-syncs the rows with the jobs, so a crash
      between the commits at worst keeps other campaigns off the account until this
      campaign's next recovery; it never lets two publishes of one account overlap.

Flushes per claim+complete cycle: 1
    synchronous=FULL everywhere except writes whose loss on power failure is already
    recoverable, so their file is not flushed at that commit (WAL keeps commit order, so the
    next flushed commit of the same file makes them durable too):
    - the claim, both files: a power failure kills every holder, and a lost claim is a job
      back in the queue that nobody published: no publish starts before start_publish, whose
      commit flushes both files (the claim with them). The leases and recoveries a claim
      writes are redone by the next claim or recovery.
    - complete's job row (campaign): the ledger's `posted` row, flushed first, carries the
      lease token, and recovery turns a claimed job with such a row into a success.
    Process crashes (kill -9) lose nothing either way: WAL commits survive them unflushed.
    complete_and_claim (a slot going on after a success) is both in one transaction, flushed
    as complete is: a crash between its two commits leaves the success to recovery as above
    and the new claim as an orphan lease, which this campaign's claims treat as free.

Timestamps
    ISO-8601 UTC text of fixed width (`2024-05-01T08:00:00.000000Z`), so SQL compares them
    as strings. Naive datetimes are taken as UTC.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from postpilot.jobs import Job, JobStatus, apply_expiry, apply_success
from postpilot.store.base import ClaimRequest, Recovery
from postpilot.store.cas import CasStore
from postpilot.store.rules import apply_duplicate, new_token
from postpilot.store.sqlite_batch import BUSY_POLL_MS
from postpilot.store.sqlite_connection import BUSY_TIMEOUT_SECONDS
from postpilot.store.sqlite_dashboard import SqliteDashboardMixin
from postpilot.store.sqlite_ledger import SqliteLedger
from postpilot.store.sqlite_rows import _FIELDS, _SQ, _UPDATE, _column, _to_job, _ts, _update_params
from postpilot.store.sqlite_schema import SCHEMA_VERSION

__all__ = ["BUSY_POLL_MS", "BUSY_TIMEOUT_SECONDS", "SCHEMA_VERSION", "SqliteJobStore"]

#: The claim's candidate query (queries.sql), for every account or for some only.
_CANDIDATE = _SQ["candidate"].replace("{accounts_filter}", "")
_CANDIDATE_IN_ACCOUNTS = _SQ["candidate"].replace(
    "{accounts_filter}", "AND h.account IN (SELECT value FROM json_each(:accounts))"
)


class SqliteJobStore(SqliteDashboardMixin, SqliteLedger, CasStore[sqlite3.Connection]):
    """One campaign's jobs in `progress_path`, sharing the ledger at `ledger_path`.

    Opened by SqliteConnection.__init__ (sqlite_connection.py); reads and bulk writes from
    SqliteLedger, the dashboard from SqliteDashboardMixin, fail / release / mark_unconfirmed /
    save_checkpoint / start_publish / resolve_unconfirmed / rearm_failed from CasStore over
    the hooks below."""

    # -- the claim cycle ------------------------------------------------------------------------
    def claim(self, request: ClaimRequest) -> Job | None:
        """One transaction: recover expired leases, then take the lowest-seq claimable job
        whose account is free, unblocked and under its daily limit."""
        with self._write(unflushed=("main", "c")) as conn:
            return self._claim(conn, request)

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
        """complete() then claim() in one transaction, flushed as complete() is (the claim's
        writes are recoverable either way; the module doc's crash rules hold for each)."""
        with self._write(unflushed=("c",)) as conn:
            done = self._complete(conn, job_id, token, now, day, remote_id, remote_url)
            return done, self._claim(conn, request)

    def _claim(self, conn: sqlite3.Connection, request: ClaimRequest) -> Job | None:
        self._recover(conn, request.now, cleanup=False)
        while True:
            job = self._candidate(conn, request)
            if job is None:
                return None
            if self._posted_by_other(conn, job):
                self._write_job(conn, job, apply_duplicate(job, request.now))
                continue
            token = new_token()
            claimed = job.evolve(
                status=JobStatus.CLAIMED,
                worker_id=request.worker_id,
                claimed_at=request.now,
                run_id=request.run_id,
                lease_token=token,
                lease_expires_at=request.now + request.lease,
                publish_started_at=None,
            )
            # The account lease goes to the ledger (committed first, see module doc).
            conn.execute(
                _SQ["put_lease"],
                (job.account, self.campaign, job.job_id, token, _ts(claimed.lease_expires_at)),
            )
            self._write_job(conn, job, claimed)
            return claimed

    def _candidate(self, conn: sqlite3.Connection, request: ClaimRequest) -> Job | None:
        """The first claimable job in claim order: a walk of the accounts' heads up to now
        (sqlite_schema's module doc), one row per account at most. The accounts that cannot
        take work are read only once a due head is found (as a set, in SQLite)."""
        params: dict[str, Any] = {
            "now": _ts(request.now),
            "day": request.day,
            "limit": request.daily_limit,
            "campaign": self.campaign,
        }
        query = _CANDIDATE
        if request.accounts is not None:
            query = _CANDIDATE_IN_ACCOUNTS
            params["accounts"] = json.dumps(sorted(request.accounts))
        row = conn.execute(query, params).fetchone()
        return None if row is None else _to_job(row)

    def _posted_by_other(self, conn: sqlite3.Connection, job: Job) -> bool:
        if not job.content_sha256:
            return False
        row = conn.execute(
            _SQ["posted_by_other"],
            (job.account, job.content_sha256, self.campaign, job.job_id),
        ).fetchone()
        return row is not None

    def heartbeat(self, job_id: str, token: str, now: datetime, lease: timedelta) -> bool:
        """Extend the job's and its account's lease; False when the token is stale or the
        account lease was taken by another holder meanwhile."""
        with self._write() as conn:
            job = self._held(conn, job_id, token)
            if job is None:
                return False
            current = conn.execute(
                _SQ["lease_of"],
                (job.account,),
            ).fetchone()
            if (
                current is not None
                and tuple(current[:3]) != (self.campaign, job_id, token)
                and current[3] > _ts(now)
                and not self._is_orphan(conn, current[0], current[1], current[2])
            ):
                return False
            expires = now + lease
            conn.execute(
                _SQ["put_lease"],
                (job.account, self.campaign, job_id, token, _ts(expires)),
            )
            self._write_job(conn, job, job.evolve(lease_expires_at=expires))
            return True

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
        """Ledger first (count, posted row), then the job as success; frees the account."""
        with self._write(unflushed=("c",)) as conn:
            return self._complete(conn, job_id, token, now, day, remote_id, remote_url)

    def _complete(
        self,
        conn: sqlite3.Connection,
        job_id: str,
        token: str,
        now: datetime,
        day: str,
        remote_id: str,
        remote_url: str,
    ) -> bool:
        job = self._held(conn, job_id, token, settling=True)
        if job is None:
            return False
        self._record_posted(conn, job, token, day, now, remote_id, remote_url)
        self._drop_lease(conn, job)
        self._unhold(conn, job)
        self._write_job(conn, job, apply_success(job, now, remote_id, remote_url))
        return True

    def recover_expired(self, now: datetime) -> Recovery:
        """Expired claims of this campaign back to the queue, or unconfirmed."""
        with self._write() as conn:
            return self._recover(conn, now)

    # -- internals (inside a transaction) --------------------------------------------------------
    def _held(
        self, conn: sqlite3.Connection, job_id: str, token: str, settling: bool = False
    ) -> Job | None:
        """The claimed job when `token` is its current lease token (I7), else None. With
        `settling`, also an unconfirmed job that kept the token (a stalled holder's answer)."""
        if not token:
            return None
        query = _SQ["held_settling"] if settling else _SQ["held"]
        row = conn.execute(query, (job_id, token)).fetchone()
        return None if row is None else _to_job(row)

    # -- the CasStore hooks (postpilot.store.cas) -----------------------------------------------
    def _cas(
        self,
        action: str,  # noqa: ARG002  CasStore's hook; SQLite's errors need no action word
    ) -> AbstractContextManager[sqlite3.Connection]:
        return self._write()

    def _write_job(self, conn: sqlite3.Connection, old: Job, new: Job) -> bool:
        """Write the columns that changed from `old` to `new` (fewer conversions and bytes)."""
        changed = [name for name in _FIELDS if getattr(old, name) != getattr(new, name)]
        if changed:
            values = [_column(name, getattr(new, name)) for name in changed]
            # The only statement built at run time: its column names are Job's field names.
            assignments = ", ".join(f"{name} = ?" for name in changed)
            update = f"UPDATE c.jobs SET {assignments} WHERE job_id = ?"  # noqa: S608
            conn.execute(update, [*values, old.job_id])
        return True

    def _unconfirmed_job(self, conn: sqlite3.Connection, job_id: str) -> Job | None:
        row = conn.execute(_SQ["unconfirmed_job"], (job_id,)).fetchone()
        return None if row is None else _to_job(row)

    def _record_resolved(
        self,
        conn: sqlite3.Connection,
        job: Job,
        day: str,
        now: datetime,
        remote_id: str,
        remote_url: str,
    ) -> None:
        # Keyed by the unconfirmed episode, so a retry after a crash between the ledger's
        # commit and the job's does not count the post twice.
        key = f"unconfirmed:{_ts(job.completed_at)}"
        self._record_posted(conn, job, key, day, now, remote_id, remote_url)

    def _failed_jobs(self, conn: sqlite3.Connection) -> list[Job]:
        rows = conn.execute(_SQ["failed_jobs"])
        return [_to_job(row) for row in rows.fetchall()]

    def _write_many(self, conn: sqlite3.Connection, pairs: Sequence[tuple[Job, Job]]) -> None:
        conn.executemany(_UPDATE, [_update_params(new) for _, new in pairs])

    def _is_orphan(self, conn: sqlite3.Connection, campaign: str, job_id: str, token: str) -> bool:
        """A lease of this campaign whose job is not claimed with its token (a crash between
        the ledger's commit and the job's); it counts as free."""
        if campaign != self.campaign:
            return False
        row = conn.execute(
            _SQ["lease_job_claimed"],
            (job_id, token),
        ).fetchone()
        return row is None

    def _drop_lease(self, conn: sqlite3.Connection, job: Job) -> None:
        conn.execute(
            _SQ["drop_lease"],
            (job.account, self.campaign, job.job_id, job.lease_token),
        )

    def _record_posted(
        self,
        conn: sqlite3.Connection,
        job: Job,
        key: str,
        day: str,
        now: datetime,
        remote_id: str,
        remote_url: str,
    ) -> None:
        inserted = conn.execute(
            _SQ["record_posted"],
            (
                self.campaign,
                job.job_id,
                key,
                job.account,
                job.content_sha256,
                day,
                remote_id,
                remote_url,
                _ts(now),
            ),
        ).rowcount
        if inserted:
            conn.execute(
                _SQ["count_post"],
                (job.account, day),
            )

    def _settled_by_ledger(self, conn: sqlite3.Connection, job: Job, now: datetime) -> bool:
        """A claim whose complete() committed the ledger (its `posted` row carries this lease
        token) but not the job, as a crash or a full disk between the two commits leaves it:
        make it the success it is. Settling it any other way (unconfirmed, then reconcile's
        "posted") would count the post a second time."""
        done = conn.execute(
            _SQ["posted_under_token"],
            (self.campaign, job.job_id, job.lease_token),
        ).fetchone()
        if done is None:
            return False
        self._drop_lease(conn, job)
        self._unhold(conn, job)
        self._write_job(conn, job, apply_success(job, now, done[0], done[1]))
        return True

    def _recover(self, conn: sqlite3.Connection, now: datetime, cleanup: bool = True) -> Recovery:
        released: list[str] = []
        unconfirmed: list[str] = []
        rows = conn.execute(
            _SQ["expired_claims"],
            (_ts(now),),
        ).fetchall()
        for job in map(_to_job, rows):
            if self._settled_by_ledger(conn, job, now):
                continue
            self._drop_lease(conn, job)
            updated = apply_expiry(job, now)
            if updated.status is JobStatus.UNCONFIRMED:
                self._hold(conn, updated)
            self._write_job(conn, job, updated)
            target = unconfirmed if updated.status is JobStatus.UNCONFIRMED else released
            target.append(job.job_id)
        if cleanup:  # claims skip these writes: their candidate query ignores orphans itself
            conn.execute(
                _SQ["drop_orphan_leases"],
                (self.campaign,),
            )
            self._sync_holds(conn)
        return Recovery(released=tuple(released), unconfirmed=tuple(unconfirmed))
