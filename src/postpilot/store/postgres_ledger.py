"""The PostgreSQL store's reads and bulk writes of the jobs and the ledger, and the
coordination of several hosts (the orchestrator role, the worker registry).

A base of postpilot.store.postgres.PostgresJobStore (the claim cycle lives there).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import psycopg

from postpilot import clock
from postpilot.errors import StoreError
from postpilot.jobs import Job, JobStatus
from postpilot.store.base import AccountState, ClaimOutlook, ClaimRequest, HistoricPost
from postpilot.store.postgres_connection import (
    _FIELDS,
    _Q,
    PostgresConnection,
    _job_params,
    _to_job,
)
from postpilot.store.rules import next_seqs, status_counts


class PostgresLedger(PostgresConnection):
    """Jobs and ledger reads, bulk writes, and CoordinatedStore (see the module doc)."""

    # -- seeding and reading ------------------------------------------------------------------
    def insert_jobs(self, jobs: Iterable[Job]) -> int:
        """Insert jobs whose job_id is absent (COPY, one transaction); a job without seq gets
        the next one."""
        batch = list(jobs)
        if not batch:
            return 0
        key = {"campaign": self.campaign}
        with self._errors("insert jobs"), self._transaction() as conn:
            conn.execute(_Q["insert_lock"], key)
            ids = sorted({job.job_id for job in batch})
            existing = {
                r[0] for r in conn.execute(_Q["existing_ids"], {**key, "ids": ids}).fetchall()
            }
            row = conn.execute(_Q["max_seq"], key).fetchone()
            top = int(row[0]) if row else 0
            new = [
                job.evolve(campaign=self.campaign, seq=seq)
                for job, seq in next_seqs(batch, existing, top)
            ]
            with conn.cursor() as cur, cur.copy(_Q["copy_jobs"]) as copy:
                for job in new:
                    params = _job_params(job)
                    copy.write_row([params[name] for name in _FIELDS])
        if new:
            self._refresh_planner_stats(len(new))
        return len(new)

    def _refresh_planner_stats(self, added: int) -> None:
        """ANALYZE jobs and account_heads when `added` rows are a tenth or more of what the
        planner last counted (or it never counted): autovacuum would do the same, but up to a
        minute later, and the claim planned without statistics reads the whole jobs table for
        the live lease holders instead of their partial index (about 1.5 ms a claim at 5,000
        jobs, growing with the table). The rows are committed already, so a failure here is
        left to the next statement to report."""
        try:
            with self._pool.connection() as conn:
                row = conn.execute(_Q["planner_row_estimate"]).fetchone()
                if row is None or row[0] < 0 or added * 10 >= row[0]:
                    conn.execute(_Q["refresh_planner_stats"])
        except psycopg.Error:
            pass

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        rows = self._query("get_job", {"campaign": self.campaign, "job_id": job_id}, "read a job")
        return _to_job(rows[0]) if rows else None

    def list_jobs(self, statuses: Iterable[JobStatus] | None = None) -> list[Job]:
        """Jobs in seq order (ties in insert order), optionally filtered by status."""
        wanted = None if statuses is None else sorted({str(JobStatus(s)) for s in statuses})
        rows = self._query(
            "list_jobs", {"campaign": self.campaign, "statuses": wanted}, "list jobs"
        )
        return [_to_job(row) for row in rows]

    def waiting_heads(self, now: datetime) -> list[Job]:
        """Each account's first waiting job (store.base.SupportsWaitingHeads), in SQL."""
        params = {"campaign": self.campaign, "now": now}
        rows = self._query("waiting_heads", params, "find each account's next job")
        return [_to_job(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """{"total": n, <every status>: n}."""
        counts = status_counts(())
        for row in self._query("counts", {"campaign": self.campaign}, "count jobs"):
            counts[str(row["status"])] = counts.get(str(row["status"]), 0) + int(row["n"])
            counts["total"] += int(row["n"])
        return counts

    def status_breakdown(self) -> list[tuple[str, str, str, int]]:
        """Counts grouped by (account, status, error_type), computed in SQL."""
        rows = self._query("status_breakdown", {"campaign": self.campaign}, "count jobs")
        return [(r["account"], r["status"], r["error_type"], int(r["n"])) for r in rows]

    def clear(self) -> int:
        """Delete every job of this campaign; refuses while one is claimed. The ledger keeps
        its history."""
        with self._errors("clear the campaign's jobs"), self._transaction() as conn:
            claimed = self._rows(conn, "first_claimed", {"campaign": self.campaign})
            if claimed:
                raise StoreError(
                    f"Cannot clear campaign '{self.campaign}': {claimed[0]['n']} job(s) are "
                    f"claimed by a running worker (first: {claimed[0]['job_id']}); stop the run "
                    "first"
                )
            return conn.execute(_Q["delete_jobs"], {"campaign": self.campaign}).rowcount

    # -- the ledger ---------------------------------------------------------------------------
    def daily_count(self, account: str, day: str) -> int:
        """Successes of the account on the day, across campaigns."""
        rows = self._query("daily_count", {"account": account, "day": day}, "read a counter")
        return int(rows[0]["count"]) if rows else 0

    def is_posted(self, account: str, content_sha256: str) -> bool:
        """Whether this content was already posted to this account."""
        if not content_sha256:
            return False
        rows = self._query(
            "is_posted", {"account": account, "sha256": content_sha256}, "read the ledger"
        )
        return bool(rows and rows[0]["posted"])

    def posted_content(self) -> set[tuple[str, str, str]]:
        """(job_id, account, sha256) of every post this campaign made, on any day."""
        rows = self._query("posted_content", {"campaign": self.campaign}, "read the ledger")
        return {(row["job_id"], row["account"], row["sha256"]) for row in rows}

    def next_due_at(self, now: datetime) -> datetime | None:
        """The earliest time after `now` a waiting job becomes due by its own state."""
        rows = self._query("next_due", {"campaign": self.campaign, "now": now}, "read due times")
        due = rows[0]["due"] if rows else None
        return due if isinstance(due, datetime) else None

    def outlook(self, request: ClaimRequest) -> ClaimOutlook:
        """One statement: a claim of the campaign running or a due head's account leased;
        and the next due time."""
        params = {
            "campaign": self.campaign,
            "now": request.now,
            "accounts": None if request.accounts is None else sorted(request.accounts),
        }
        rows = self._query("outlook", params, "read the queue")
        due = rows[0]["due"] if rows else None
        return ClaimOutlook(
            bool(rows and rows[0]["in_flight"]), due if isinstance(due, datetime) else None
        )

    def record_history(self, posts: Iterable[HistoricPost]) -> int:
        """Prior posts into the ledger, each once, in one transaction."""
        added = 0
        with self._errors("record prior history"), self._transaction() as conn:
            for post in posts:
                params = {
                    "account": post.account,
                    "key": post.key,
                    "campaign": post.campaign,
                    "source": post.source,
                    "day": post.day,
                    "posted_at": post.posted_at,
                    "counts_day": bool(post.counts_day and post.day),
                }
                rows = self._rows(conn, "record_history", params)
                added += int(rows[0]["n"]) if rows else 0
        return added

    def account_states(self, accounts: Iterable[str]) -> dict[str, AccountState]:
        """The ledger's raw view of each account (expiry left for the caller to judge)."""
        names = list(dict.fromkeys(accounts))
        rows = self._query("account_states", {"accounts": names}, "read account states")
        found = {row["account"]: row for row in rows}
        states = {}
        for account in names:
            row = found.get(account, {})
            leased = row.get("lease_campaign")
            states[account] = AccountState(
                account=account,
                leased_by=(leased, row["lease_job_id"]) if leased is not None else None,
                lease_expires_at=row.get("lease_expires_at") if leased is not None else None,
                block=row.get("block") or "",
                blocked_until=row.get("blocked_until"),
                block_reason=row.get("reason") or "",
                held_by=(row["held_campaign"], row["held_job_id"])
                if row.get("held_campaign") is not None
                else None,
                unconfirmed=int(row.get("unconfirmed") or 0),
            )
        return states

    def block_account(
        self, account: str, block: str, reason: str, until: datetime | None = None
    ) -> None:
        """Stop claims for the account until `until`, or until cleared."""
        params = {"account": account, "block": block, "reason": reason, "until": until}
        self._query("block_account", params, "block an account")

    def unblock_account(self, account: str) -> None:
        """Lift any block on the account."""
        self._query("unblock_account", {"account": account}, "unblock an account")

    def close(self) -> None:
        """Give up the orchestrator role and close every connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.release_orchestrator()
        finally:
            self._pool.close()

    # -- several hosts (CoordinatedStore) -------------------------------------------------------
    def try_acquire_orchestrator(self) -> bool:
        """Take the campaign's orchestrator role: a session-level advisory lock held on a
        dedicated connection until release_orchestrator/close, or until this process dies
        (the server then drops the session and the lock). False if another session holds it.
        Idempotent while held."""
        with self._orchestrator_lock, self._errors("take the orchestrator role"):
            if self._orchestrator is not None:
                return True
            conn = self._connect()
            try:
                row = conn.execute(_Q["orchestrator_try_lock"], {"campaign": self.campaign})
                acquired = bool((row.fetchone() or (False,))[0])
            except BaseException:
                conn.close()
                raise
            if not acquired:
                conn.close()
                return False
            self._orchestrator = conn
            return True

    def holds_orchestrator(self) -> bool:
        """Whether this store object holds the orchestrator role."""
        return self._orchestrator is not None

    def release_orchestrator(self) -> None:
        """Give the role up (nothing happens when it is not held)."""
        with self._orchestrator_lock:
            conn, self._orchestrator = self._orchestrator, None
            if conn is None:
                return
            try:
                conn.execute(_Q["orchestrator_unlock"], {"campaign": self.campaign})
            except psycopg.Error:
                pass  # closing the session below releases the lock anyway
            finally:
                conn.close()

    def register_worker(self, host: str, pid: int, worker_id: str, now: datetime) -> None:
        """Record a worker of `host` (process `pid`) in the registry --status reads."""
        params = {
            "campaign": self.campaign,
            "host": host,
            "worker_id": worker_id,
            "pid": pid,
            "now": now,
        }
        self._query("register_worker", params, "register a worker")

    def worker_heartbeat(self, host: str, worker_id: str, now: datetime) -> bool:
        """Refresh a registered worker's last heartbeat; False if it is not registered."""
        params = {"campaign": self.campaign, "host": host, "worker_id": worker_id, "now": now}
        return bool(self._query("worker_heartbeat", params, "record a worker heartbeat"))

    def unregister_worker(self, host: str, worker_id: str) -> None:
        """Remove a worker that exits cleanly (a killed one just goes stale)."""
        params = {"campaign": self.campaign, "host": host, "worker_id": worker_id}
        self._query("unregister_worker", params, "unregister a worker")

    def list_workers(
        self, stale_after: timedelta, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """The campaign's live worker pools, one dict per host (sorted by host):
        {"host", "workers" (count), "worker_ids", "pids", "last_heartbeat" (the newest)}.
        A worker whose heartbeat is older than `stale_after` is left out."""
        since = (now or clock.now()) - stale_after
        rows = self._query(
            "list_workers", {"campaign": self.campaign, "since": since}, "list workers"
        )
        hosts: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = hosts.setdefault(
                row["host"],
                {
                    "host": row["host"],
                    "workers": 0,
                    "worker_ids": [],
                    "pids": [],
                    "last_heartbeat": row["last_heartbeat"],
                },
            )
            entry["workers"] += 1
            entry["worker_ids"].append(row["worker_id"])
            entry["pids"].append(row["pid"])
            entry["last_heartbeat"] = max(entry["last_heartbeat"], row["last_heartbeat"])
        return [hosts[h] for h in sorted(hosts)]
