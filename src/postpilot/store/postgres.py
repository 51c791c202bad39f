"""The distributed job store: PostgreSQL (psycopg 3 + psycopg_pool), shared by many hosts.

The only module of postpilot that imports psycopg. Semantics are those of
postpilot.store.memory (the reference); the database enforces them across hosts.

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
    One statement (queries.sql `claim`): `FOR UPDATE SKIP LOCKED` on the lowest-seq
    claimable job, recovery of the campaign's expired leases folded in, the daily counter
    and blocks checked, an expired lease of any campaign taken over. Two claimers racing for
    one account make the constraint fail for one of them, which retries.
    Cost: the claim walks the campaign's claimable jobs in seq order until one passes the
    account checks, so jobs of busy, blocked or capped accounts are visited too. Seeding plans
    at most a day's room per account, which keeps that walk short; a queue of very many jobs
    on few capped accounts makes each claim that finds nothing visit them all.

Every other change of a claimed job is a write conditional on its lease token (I7): a single
statement where SQL can say it (complete, heartbeat, start_publish), else a locked
read, a pure transition of postpilot.jobs, and a write that checks status and token again.
complete() writes the ledger and the job's success in one statement, so nothing is
counted without the success or the other way round.

Errors: psycopg errors become postpilot.errors.StoreError / StoreUnavailable; messages name
the database as `postgresql://user@host:port/db`, never with its password.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import ExecStatus
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from postpilot import clock
from postpilot.errors import SchemaVersionError, StoreError, StoreUnavailable
from postpilot.jobs import Job, JobStatus, apply_expiry, apply_release
from postpilot.store.base import (
    AccountState,
    ClaimOutlook,
    ClaimRequest,
    HistoricPost,
    Recovery,
)
from postpilot.store.cas import CasStore
from postpilot.store.postgres_dashboard import PostgresDashboardMixin
from postpilot.store.rules import apply_duplicate, new_token, next_seqs, status_counts
from postpilot.store.sql import load_queries, migrations

__all__ = ["PostgresJobStore", "describe_dsn"]

_Q = load_queries()
_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Job))

#: How often a claim is retried after losing a race (constraint, deadlock) before giving up.
CLAIM_ATTEMPTS = 50
CONNECT_TIMEOUT_SECONDS = 10.0

#: Races a fresh attempt resolves: two claims of one account, lock-order deadlocks.
_RACES = (
    pg_errors.ExclusionViolation,
    pg_errors.UniqueViolation,
    pg_errors.DeadlockDetected,
    pg_errors.SerializationFailure,
)


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


def describe_dsn(dsn: str) -> str:
    """The DSN as `postgresql://user@host:port/dbname`, without password or options."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "(an unparsable PostgreSQL DSN)"
    user = params.get("user")
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    dbname = params.get("dbname") or user or ""
    who = f"{user}@" if user else ""
    return f"postgresql://{who}{host}:{port}/{dbname}"


def _secrets(dsn: str) -> list[str]:
    """Strings that must never appear in a message: the password and the raw DSN."""
    found = [dsn]
    try:
        password = conninfo_to_dict(dsn).get("password")
    except psycopg.Error:
        password = None
    if password:
        found.append(str(password))
    return [s for s in found if s]


def _to_job(row: Mapping[str, Any]) -> Job:
    values = {name: row[name] for name in _FIELDS}
    values["status"] = JobStatus(values["status"])
    values["checkpoint"] = dict(values["checkpoint"] or {})
    return Job(**values)


def _job_params(job: Job) -> dict[str, Any]:
    params = {name: getattr(job, name) for name in _FIELDS}
    params["status"] = str(job.status)
    params["checkpoint"] = Jsonb(dict(job.checkpoint))
    return params


def _save_params(old: Job, new: Job) -> dict[str, Any]:
    """save_job's parameters: `new`, written only over a row that still has `old`'s status
    and token."""
    params = _job_params(new)
    params["holds_account"] = new.status is JobStatus.CLAIMED and bool(new.lease_token)
    params["expect_status"] = str(old.status)
    params["expect_token"] = old.lease_token
    return params


def _configure(conn: psycopg.Connection[Any]) -> None:
    # Timestamps come back in UTC whatever the server's default zone.
    conn.execute("SET TimeZone TO 'UTC'")


class _StaleClaim(Exception):
    """A claim whose account filled its day (or got blocked) while the claim statement ran."""


class PostgresJobStore(PostgresDashboardMixin, CasStore[psycopg.Connection[Any]]):
    """One campaign's jobs in a PostgreSQL database that every campaign and host shares.

    `dsn` is a libpq connection string or `postgresql://` URL; the tables live in the first
    schema of its search_path (options=-csearch_path=x selects another). Migrations are
    applied on first use. `pool_size` connections at most: a worker's claim loop plus its
    heartbeat thread need two.
    """

    def __init__(
        self,
        dsn: str,
        campaign: str,
        *,
        pool_size: int = 2,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self.campaign = campaign
        self._dsn = dsn
        self._where = describe_dsn(dsn)
        self._secrets = _secrets(dsn)
        self._connect_timeout = connect_timeout
        self._rng = rng
        self._orchestrator: psycopg.Connection[Any] | None = None
        self._orchestrator_lock = threading.Lock()
        self._closed = False
        self._columns: dict[str, tuple[str, ...]] = {}
        with self._errors("open the job store"):
            self._migrate()
            self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
                dsn,
                min_size=1,
                max_size=max(1, pool_size),
                open=False,
                kwargs={"autocommit": True, "connect_timeout": max(1, int(connect_timeout))},
                configure=_configure,
                name=f"postpilot-{campaign}",
            )
            try:
                self._pool.open(wait=True, timeout=connect_timeout)
            except BaseException:
                self._pool.close()
                raise

    def __repr__(self) -> str:
        return f"PostgresJobStore({self._where!r}, campaign={self.campaign!r})"

    # -- plumbing ---------------------------------------------------------------------------
    def _scrub(self, exc: BaseException) -> str:
        text = str(exc).strip()
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Translate driver errors into postpilot's (no psycopg exception escapes)."""
        try:
            yield
        except StoreError:
            raise
        except psycopg.OperationalError as exc:  # includes the pool's timeouts
            raise StoreUnavailable(
                f"PostgreSQL store {self._where} is unavailable (while trying to {action}): "
                f"{self._scrub(exc)}. Check that the server is running and reachable."
            ) from None
        except psycopg.Error as exc:
            raise StoreError(
                f"PostgreSQL store {self._where} failed to {action}: {self._scrub(exc)}"
            ) from None

    def _connect(self) -> psycopg.Connection[Any]:
        """A connection outside the pool (migrations, the orchestrator's lock)."""
        return psycopg.connect(
            self._dsn, autocommit=True, connect_timeout=max(1, int(self._connect_timeout))
        )

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    def _rows(
        self, conn: psycopg.Connection[Any], name: str, params: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Rows of a named statement as dicts. The column names are read once per query (psycopg's
        description objects cost more than the claim's own Python work)."""
        with conn.cursor() as cur:
            cur.execute(_Q[name], params)
            result = cur.pgresult
            if result is None or result.status != ExecStatus.TUPLES_OK:
                return []
            names = self._columns.get(name)
            if names is None:
                names = tuple((result.fname(i) or b"").decode() for i in range(result.nfields))
                self._columns[name] = names
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _query(self, name: str, params: Mapping[str, Any], action: str) -> list[dict[str, Any]]:
        """Run one named statement on a pooled connection (it commits by itself). A statement
        the server aborted in a race (a deadlock with a claim while checking the one-lease
        constraint) wrote nothing, so it is run again."""
        with self._errors(action):
            for attempt in range(1, CLAIM_ATTEMPTS + 1):
                try:
                    with self._pool.connection() as conn:
                        return self._rows(conn, name, params)
                except _RACES:
                    if attempt >= CLAIM_ATTEMPTS:
                        raise
                    time.sleep(random.uniform(0, 0.002 * attempt))
            raise AssertionError("unreachable")  # pragma: no cover

    def _migrate(self) -> None:
        known = migrations()
        wanted = {m.version for m in known}
        with self._connect() as conn:
            present, schema = conn.execute(_Q["migration_probe"]).fetchone() or (False, None)
            if schema is None:
                raise StoreError(
                    f"PostgreSQL store {self._where}: no schema of the search_path exists to "
                    "hold postpilot's tables. Create it, or fix search_path in the DSN."
                )
            if present:
                applied = {r[0] for r in conn.execute(_Q["migration_versions"])}
                self._check_version(applied, known[-1].version)
                if wanted <= applied:
                    return
            with conn.transaction():
                conn.execute(_Q["migration_lock"])
                conn.execute(_Q["migration_table"])
                applied = {r[0] for r in conn.execute(_Q["migration_versions"])}
                self._check_version(applied, known[-1].version)
                for migration in known:
                    if migration.version in applied:
                        continue
                    conn.execute(migration.sql.encode())  # several statements, no parameters
                    conn.execute(
                        _Q["migration_record"],
                        {"version": migration.version, "name": migration.name},
                    )

    def _check_version(self, applied: set[int], latest: int) -> None:
        newest = max(applied, default=0)
        if newest > latest:
            raise SchemaVersionError(
                f"PostgreSQL store {self._where} has schema version {newest}, but this "
                f"postpilot understands up to version {latest}. Upgrade postpilot on this host."
            )

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
            return len(new)

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

    # -- the claim cycle ----------------------------------------------------------------------
    def claim(self, request: ClaimRequest) -> Job | None:
        """One statement per attempt (see the module doc); retried when it loses a race."""
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
        lost = 0
        with self._errors("claim a job"):
            while True:
                params["token"] = new_token()
                try:
                    with self._transaction() as conn:
                        rows = self._rows(conn, "claim", params)
                        if rows and not rows[0]["duplicate"]:
                            recheck = {**params, "account": rows[0]["account"]}
                            if self._rows(conn, "claim_recheck", recheck)[0]["stale"]:
                                raise _StaleClaim
                except _StaleClaim:
                    # Rolled back: the account reached its limit (or was blocked) while the
                    # claim ran. The next attempt's snapshot sees it and passes the account by.
                    continue
                except _RACES:
                    lost += 1
                    if lost >= CLAIM_ATTEMPTS:
                        raise
                    # Spread the retries of claimers that collided.
                    time.sleep(random.uniform(0, 0.002 * lost))
                    continue
                if not rows:
                    return None
                job = _to_job(rows[0])
                if not rows[0]["duplicate"]:
                    return job
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
        params = {
            "campaign": self.campaign,
            "job_id": job_id,
            "token": token,
            "now": now,
            "day": day,
            "remote_id": remote_id,
            "remote_url": remote_url,
        }
        rows = self._query("complete", params, "record a completed publish")
        return bool(rows and rows[0]["n"])

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

    _job_of = staticmethod(_to_job)

    @staticmethod
    def _jsonb(value: Mapping[str, Any]) -> Any:
        return Jsonb(dict(value))

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
