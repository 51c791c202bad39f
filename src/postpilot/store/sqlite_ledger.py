"""The SQLite store's reads and bulk writes of the jobs and the project ledger.

A base of postpilot.store.sqlite.SqliteJobStore (the claim cycle lives there): seeding,
listing and counting jobs, clear, the ledger's counters, posted content, account states and
blocks, and the `account_holds` rows every campaign's claims read.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from postpilot.errors import StoreError
from postpilot.jobs import Job, JobStatus, may_be_in_flight
from postpilot.store.base import AccountState, ClaimOutlook, ClaimRequest, HistoricPost
from postpilot.store.rules import next_seqs, status_counts
from postpilot.store.sqlite_connection import SqliteConnection
from postpilot.store.sqlite_rows import _INSERT, _SQ, _dt, _to_job, _to_row, _ts


class SqliteLedger(SqliteConnection):
    """Jobs and ledger reads, bulk writes and ledger rows (see the module doc)."""

    # -- seeding and reading ------------------------------------------------------------------
    def insert_jobs(self, jobs: Iterable[Job]) -> int:
        """Insert jobs whose job_id is absent, in one transaction; a job without seq gets the
        next one."""
        try:
            with self._write() as conn:
                existing = {row[0] for row in conn.execute(_SQ["job_ids"])}
                top = conn.execute(_SQ["max_seq"]).fetchone()[0]
                rows = [
                    _to_row(job.evolve(campaign=self.campaign, seq=seq))
                    for job, seq in next_seqs(jobs, existing, top)
                ]
                conn.executemany(_INSERT, rows)
                self._sync_holds(conn)
                return len(rows)
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        with self._read() as conn:
            row = conn.execute(_SQ["get_job"], (job_id,)).fetchone()
            return None if row is None else _to_job(row)

    def list_jobs(self, statuses: Iterable[JobStatus] | None = None) -> list[Job]:
        """Jobs in seq order (ties in insert order), optionally filtered by status."""
        with self._read() as conn:
            if statuses is None:
                rows = conn.execute(_SQ["all_jobs"])
            else:
                wanted = json.dumps(sorted({str(JobStatus(s)) for s in statuses}))
                rows = conn.execute(
                    _SQ["jobs_by_status"],
                    (wanted,),
                )
            return [_to_job(row) for row in rows]

    def waiting_heads(self, now: datetime) -> list[Job]:
        """Each account's first waiting job (store.base.SupportsWaitingHeads), in SQL."""
        with self._read() as conn:
            return [_to_job(row) for row in conn.execute(_SQ["waiting_heads"], (_ts(now),))]

    def counts(self) -> dict[str, int]:
        """{"total": n, <every status>: n}."""
        with self._read() as conn:
            counts = status_counts(())
            for status, n in conn.execute(_SQ["counts"]):
                counts[str(status)] = counts.get(str(status), 0) + int(n)
                counts["total"] += int(n)
            return counts

    def status_breakdown(self) -> list[tuple[str, str, str, int]]:
        """Counts grouped by (account, status, error_type), computed in SQL."""
        with self._read() as conn:
            rows = conn.execute(_SQ["status_breakdown"])
            return [(str(a), str(s), str(e), int(n)) for a, s, e, n in rows]

    def snapshot(self, path: Path) -> None:
        """A consistent copy of the campaign's progress file (VACUUM INTO)."""
        with self._read() as conn:
            conn.execute(_SQ["snapshot"], (str(path),))

    def clear(self) -> int:
        """Delete every job; refuses while one is claimed. The ledger keeps its history."""
        with self._write() as conn:
            claimed = conn.execute(_SQ["claimed_ids"]).fetchall()
            if claimed:
                raise StoreError(
                    f"Cannot clear campaign '{self.campaign}': {len(claimed)} job(s) are "
                    f"claimed by a running worker (first: {claimed[0][0]}); stop the run first"
                )
            conn.execute(_SQ["clear_leases"], (self.campaign,))
            conn.execute(_SQ["clear_holds"], (self.campaign,))
            deleted = int(conn.execute(_SQ["clear_jobs"]).rowcount)
            conn.execute(_SQ["clear_heads"])
            return deleted

    # -- the ledger -------------------------------------------------------------------------------
    def daily_count(self, account: str, day: str) -> int:
        """Successes of the account on the day, across campaigns."""
        with self._read() as conn:
            row = conn.execute(
                _SQ["daily_count"],
                (account, day),
            ).fetchone()
            return 0 if row is None else int(row[0])

    def is_posted(self, account: str, content_sha256: str) -> bool:
        """Whether this content was already posted to this account."""
        if not content_sha256:
            return False
        with self._read() as conn:
            row = conn.execute(
                _SQ["is_posted"],
                (account, content_sha256),
            ).fetchone()
            return row is not None

    def posted_content(self) -> set[tuple[str, str, str]]:
        """(job_id, account, sha256) of every post this campaign made, on any day."""
        with self._read() as conn:
            rows = conn.execute(
                _SQ["posted_content"],
                (self.campaign,),
            )
            return {(str(j), str(a), str(h)) for j, a, h in rows}

    def next_due_at(self, now: datetime) -> datetime | None:
        """The earliest time after `now` a waiting job becomes due by its own state: one
        probe of the due-key index."""
        with self._read() as conn:
            return self._next_due(conn, now)

    @staticmethod
    def _next_due(conn: sqlite3.Connection, now: datetime) -> datetime | None:
        row = conn.execute(
            _SQ["next_due"],
            (_ts(now),),
        ).fetchone()
        return _dt(row[0]) if row and row[0] else None

    def outlook(self, request: ClaimRequest) -> ClaimOutlook:
        """A claim of this campaign running, or a due head's account under a live lease;
        and the next due time. Index probes only."""
        now = _ts(request.now)
        accounts = None if request.accounts is None else json.dumps(sorted(request.accounts))
        with self._read() as conn:
            busy = conn.execute(
                _SQ["outlook"],
                {"now": now, "accounts": accounts},
            ).fetchone()[0]
            return ClaimOutlook(bool(busy), self._next_due(conn, request.now))

    def record_history(self, posts: Iterable[HistoricPost]) -> int:
        """Prior posts into the ledger, each once, in one transaction. The `posted` row's
        token column holds "history:<key>", which no lease token can equal."""
        added = 0
        with self._write() as conn:
            for post in posts:
                inserted = conn.execute(
                    _SQ["record_history"],
                    (
                        post.campaign,
                        post.source,
                        f"history:{post.key}",
                        post.account,
                        post.key,
                        post.day,
                        _ts(post.posted_at),
                    ),
                ).rowcount
                if not inserted:
                    continue
                added += 1
                if post.counts_day and post.day:
                    conn.execute(
                        _SQ["count_post"],
                        (post.account, post.day),
                    )
        return added

    def account_states(self, accounts: Iterable[str]) -> dict[str, AccountState]:
        """The ledger's raw view of each account (expiry left for the caller to judge)."""
        names = list(dict.fromkeys(accounts))
        wanted = json.dumps(names)
        with self._read() as conn:
            leases = {
                row[0]: row
                for row in conn.execute(
                    _SQ["leases_of"],
                    (wanted,),
                )
            }
            blocks = {
                row[0]: row
                for row in conn.execute(
                    _SQ["blocks_of"],
                    (wanted,),
                )
            }
            holders: dict[str, tuple[str, str]] = {}
            waiting: dict[str, int] = {}
            for account, campaign, job_id, status, in_flight in conn.execute(
                _SQ["holds_of"],
                {"campaign": self.campaign, "w": wanted},
            ):
                if in_flight:
                    key = (str(campaign), str(job_id))
                    holders[account] = min(holders.get(account, key), key)
                if status == "unconfirmed":
                    waiting[account] = waiting.get(account, 0) + 1
        states = {}
        for account in names:
            lease, block = leases.get(account), blocks.get(account)
            states[account] = AccountState(
                account=account,
                leased_by=(lease[1], lease[2]) if lease else None,
                lease_expires_at=_dt(lease[3]) if lease else None,
                block=block[1] if block else "",
                blocked_until=_dt(block[3]) if block else None,
                block_reason=block[2] if block else "",
                held_by=holders.get(account),
                unconfirmed=waiting.get(account, 0),
            )
        return states

    def block_account(
        self, account: str, block: str, reason: str, until: datetime | None = None
    ) -> None:
        """Stop claims for the account until `until`, or until cleared."""
        with self._write() as conn:
            conn.execute(
                _SQ["block_account"],
                (account, block, reason, _ts(until)),
            )

    def unblock_account(self, account: str) -> None:
        """Lift any block on the account."""
        with self._write() as conn:
            conn.execute(_SQ["unblock_account"], (account,))

    _job_of = staticmethod(_to_job)

    def _hold(self, conn: sqlite3.Connection, job: Job) -> None:
        """Record `job` (as it is after this write) among the account's unsettled publishes."""
        conn.execute(
            _SQ["hold"],
            (job.account, self.campaign, job.job_id, str(job.status), may_be_in_flight(job)),
        )

    def _unhold(self, conn: sqlite3.Connection, job: Job) -> None:
        conn.execute(
            _SQ["unhold"],
            (job.account, self.campaign, job.job_id),
        )

    def _sync_holds(self, conn: sqlite3.Connection) -> None:
        """Make this campaign's hold rows match its unsettled jobs (imported ones, files
        written before holds existed, a crash between the two commits)."""
        conn.execute(_SQ["clear_holds"], (self.campaign,))
        conn.execute(
            _SQ["sync_holds"],
            (self.campaign,),
        )
