"""The embedded job store: SQLite in WAL mode, one file per campaign plus the project ledger.

The only module of postpilot that imports sqlite3. Semantics are those of
postpilot.store.memory (the reference); this module only makes them durable and safe across
processes.

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

Timestamps
    ISO-8601 UTC text of fixed width (`2024-05-01T08:00:00.000000Z`), so SQL compares them
    as strings. Naive datetimes are taken as UTC.
"""

# SQL here is built only from this module's constant column and schema names, never from input
# (every value is a bound parameter), so the string-built-query rule does not apply.
# ruff: noqa: S608

from __future__ import annotations

import dataclasses
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from postpilot.errors import (
    SchemaVersionError,
    StoreError,
    StoreFull,
    StoreUnavailable,
    WrongCampaignStore,
)
from postpilot.jobs import (
    Job,
    JobStatus,
    apply_expiry,
    apply_success,
    may_be_in_flight,
)
from postpilot.store.base import (
    AccountState,
    ClaimOutlook,
    ClaimRequest,
    HistoricPost,
    Recovery,
)
from postpilot.store.cas import CasStore
from postpilot.store.rules import apply_duplicate, new_token, next_seqs, status_counts
from postpilot.store.sqlite_dashboard import DASHBOARD_SCHEMA, SqliteDashboardMixin
from postpilot.store.sqlite_schema import (
    LEDGER_SCHEMA,
    SCHEMA_VERSION,
    create_campaign_schema,
    job_columns,
    upgrade_campaign_file,
)

BUSY_TIMEOUT_SECONDS = 30.0
#: SQLite's own wait for the write lock before this module polls again (milliseconds).
BUSY_POLL_MS = 2

_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Job))
_TIME_FIELDS = frozenset(
    {
        "claimed_at",
        "completed_at",
        "retry_at",
        "lease_expires_at",
        "publish_started_at",
        "scheduled_at",
    }
)
_COLUMNS = ", ".join(_FIELDS)
_INSERT = f"INSERT INTO c.jobs ({_COLUMNS}) VALUES ({', '.join('?' * len(_FIELDS))})"
_UPDATE = (
    "UPDATE c.jobs SET "
    + ", ".join(f"{name} = ?" for name in _FIELDS if name != "job_id")
    + " WHERE job_id = ?"
)
_SELECT = f"SELECT {_COLUMNS} FROM c.jobs"
_HEAD_COLUMNS = ", ".join(f"j.{name}" for name in _FIELDS)
#: The job an account lease row names is claimed with that lease's token (else: an orphan).
_LEASE_JOB_IS_CLAIMED = (
    "SELECT 1 FROM c.jobs j WHERE j.job_id = account_leases.job_id "
    "AND j.status = 'claimed' AND j.lease_token = account_leases.token"
)
#: This campaign's jobs whose started publish is unsettled (unconfirmed, or still claimed).
_UNSETTLED = "(status = 'unconfirmed' OR (status = 'claimed' AND publish_started_at IS NOT NULL))"
#: ...and those of them that may still be in flight (postpilot.jobs.may_be_in_flight).
_IN_FLIGHT = (
    "((status = 'claimed' AND publish_started_at IS NOT NULL) "
    "OR (status = 'unconfirmed' AND lease_token != ''))"
)


#: Accounts that cannot take a job now (parameters now, day, limit, campaign): leased by a
#: live claim (an orphan lease of this campaign counts as free), blocked, held by a publish
#: that may be in flight, or at the daily limit with today's successes plus the unconfirmed
#: jobs of every campaign.
_UNAVAILABLE = (
    "SELECT account FROM main.account_leases WHERE expires_at > :now "
    f"AND (campaign != :campaign OR EXISTS ({_LEASE_JOB_IS_CLAIMED})) "
    "UNION ALL SELECT account FROM main.account_blocks WHERE block != '' "
    "AND (blocked_until IS NULL OR blocked_until > :now) "
    "UNION ALL SELECT account FROM main.account_holds WHERE campaign != :campaign "
    f"AND in_flight UNION ALL SELECT account FROM c.jobs WHERE {_IN_FLIGHT} "
    # at the limit by successes alone: one range of daily_counts_day, no sort
    "UNION ALL SELECT account FROM main.daily_counts WHERE day = :day AND count >= :limit "
    # ...or with the (few) accounts' unconfirmed jobs added
    "UNION ALL SELECT u.account FROM (SELECT account, SUM(n) AS n FROM ("
    "SELECT account, COUNT(*) AS n FROM main.account_holds "
    "WHERE campaign != :campaign AND status = 'unconfirmed' GROUP BY account "
    "UNION ALL SELECT account, COUNT(*) FROM c.jobs WHERE status = 'unconfirmed' "
    "GROUP BY account) GROUP BY account) AS u WHERE u.n + coalesce((SELECT d.count "
    "FROM main.daily_counts AS d WHERE d.account = u.account AND d.day = :day), 0) >= :limit"
)


def _ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    # isoformat is several times faster than strftime and gives the same fixed width.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _column(name: str, value: Any) -> Any:
    """A Job field's value as stored in its column."""
    if name in _TIME_FIELDS:
        return _ts(value)
    if name == "checkpoint":
        return json.dumps(dict(value), sort_keys=True)
    if name == "status":
        return str(value)
    return value


def _to_row(job: Job) -> list[Any]:
    return [_column(name, getattr(job, name)) for name in _FIELDS]


def _to_job(row: Sequence[Any]) -> Job:
    values = dict(zip(_FIELDS, row, strict=True))
    for name in _TIME_FIELDS:
        values[name] = _dt(values[name])
    values["status"] = JobStatus(values["status"])
    text = values["checkpoint"]
    values["checkpoint"] = {} if text == "{}" else json.loads(text)
    return Job(**values)


def _read_only_uri(path: Path) -> str:
    """A URI for reading `path` without creating or changing a file. In a writable folder a
    plain connection (the only writes are SQLite's -wal/-shm side files, removed again at
    close; a `mode=ro` connection would leave them behind). In a read-only folder `mode=ro`
    when the WAL index (-shm) exists, else `immutable=1`: nothing on this host can write that
    folder, and SQLite then reads the file without index or lock files."""
    path = path.resolve()
    if os.access(path.parent, os.W_OK):
        return path.as_uri()
    shm = Path(f"{path}-shm")
    usable = shm.is_file() and os.access(shm, os.R_OK)
    return f"{path.as_uri()}?{'mode=ro' if usable else 'immutable=1'}"


class SqliteJobStore(SqliteDashboardMixin, CasStore[sqlite3.Connection]):
    """One campaign's jobs in `progress_path`, sharing the ledger at `ledger_path`."""

    def __init__(
        self,
        progress_path: Path,
        ledger_path: Path,
        campaign: str,
        *,
        rng: random.Random | None = None,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        read_only: bool = False,
    ) -> None:
        self.campaign = campaign
        self.progress_path = Path(progress_path)
        self.ledger_path = Path(ledger_path)
        self._rng = rng
        self._timeout = busy_timeout
        self._lock = threading.Lock()
        self._sync: dict[str, str] = {}
        #: Opened for reading only (--status): no file or folder is created or changed.
        self.read_only = read_only
        if not read_only:
            self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
            self.progress_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # A project whose ledger was never created (a campaign folder copied in with its
            # store) reads as an empty ledger held in memory: --status creates no file.
            self._ledger_in_memory = read_only and not self.ledger_path.exists()
            if self._ledger_in_memory:
                target = ":memory:"
            elif read_only:
                target = _read_only_uri(self.ledger_path)
            else:
                target = str(self.ledger_path)
            self._conn = sqlite3.connect(
                target,
                timeout=busy_timeout,
                isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock
                uri=read_only,
            )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        try:
            if read_only:
                self._setup_read_only()
            else:
                self._setup()
        except BaseException:
            self._conn.close()
            raise

    # -- set-up -----------------------------------------------------------------------------
    def _setup(self) -> None:
        conn = self._conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("ATTACH DATABASE ? AS c", (str(self.progress_path),))
            for schema in ("main", "c"):
                self._set_wal(schema)
                conn.execute(f"PRAGMA {schema}.synchronous = FULL")
                self._sync[schema] = "FULL"
            conn.execute("PRAGMA foreign_keys = ON")
            with self._write():
                self._check_version("main", self.ledger_path)
                self._check_version("c", self.progress_path)
                self._check_campaign()
                upgrade_campaign_file(conn, self._meta)
                for statement in LEDGER_SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                create_campaign_schema(conn)
                for statement in DASHBOARD_SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                for schema in ("main", "c"):
                    conn.execute(
                        f"INSERT OR IGNORE INTO {schema}.meta VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
                conn.execute(
                    "INSERT OR IGNORE INTO c.meta VALUES ('campaign', ?)", (self.campaign,)
                )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    def _setup_read_only(self) -> None:
        conn = self._conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("ATTACH DATABASE ? AS c", (_read_only_uri(self.progress_path),))
            if self._ledger_in_memory:
                for statement in (LEDGER_SCHEMA + DASHBOARD_SCHEMA).split(";"):
                    if " main." in statement:
                        conn.execute(statement)
            with self._read():
                self._check_version("main", self.ledger_path)
                self._check_version("c", self.progress_path)
                self._check_campaign()
                if "due_key" not in job_columns(conn):
                    raise StoreError(
                        f"{self.progress_path} was written by an older postpilot and must be "
                        "upgraded, which a read-only project does not allow. Run any command "
                        "once with write access."
                    )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    def _set_wal(self, schema: str) -> None:
        # Switching a fresh file to WAL needs a moment alone with it; several workers opening
        # at once may collide, so retry within the busy timeout.
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                mode = self._conn.execute(f"PRAGMA {schema}.journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
                continue
            if str(mode).lower() != "wal":
                raise StoreError(f"Cannot use WAL mode for {self._path_of(schema)}: got {mode}")
            return

    def _path_of(self, schema: str) -> Path:
        return self.ledger_path if schema == "main" else self.progress_path

    def _meta(self, schema: str, key: str) -> str | None:
        exists = self._conn.execute(
            f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if not exists:
            return None
        row = self._conn.execute(f"SELECT value FROM {schema}.meta WHERE key = ?", (key,))
        found = row.fetchone()
        return None if found is None else str(found[0])

    def _check_version(self, schema: str, path: Path) -> None:
        version = self._meta(schema, "schema_version")
        if version is not None and int(version) > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{path} has store schema version {version}, but this postpilot understands "
                f"up to version {SCHEMA_VERSION}. Upgrade postpilot to open it."
            )

    def _check_campaign(self) -> None:
        owner = self._meta("c", "campaign")
        if owner is not None and owner != self.campaign:
            raise WrongCampaignStore(
                f"Progress store {self.progress_path} belongs to campaign '{owner}', not to "
                f"campaign '{self.campaign}'. Check --campaign, or move the file away to "
                f"start '{self.campaign}' afresh."
            )

    # -- transactions -----------------------------------------------------------------------
    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        """Take the write lock, polling every ~1 ms while another process holds it.

        SQLite's own busy handler backs off to sleeps of 25-100 ms, so under contention from
        several workers most of the time went to sleeping past a lock already free (measured:
        pool efficiency 0.77 at 8 workers). The short BUSY_POLL_MS lets this loop poll finely
        instead; the overall wait is still bounded by the busy timeout.
        """
        deadline = time.monotonic() + self._timeout
        conn.execute(f"PRAGMA busy_timeout = {BUSY_POLL_MS}")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    text = str(exc)
                    if ("locked" not in text and "busy" not in text) or (
                        time.monotonic() >= deadline
                    ):
                        raise
                time.sleep(random.uniform(0.0002, 0.0015))
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")

    @contextmanager
    def _write(self, unflushed: tuple[str, ...] = ()) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE transaction over both files (the caller holds no lock).
        `unflushed` names the schemas ("main", "c") whose commit need not be flushed."""
        with self._lock:
            conn = self._conn
            try:
                for schema in ("main", "c"):
                    mode = "NORMAL" if schema in unflushed else "FULL"
                    if self._sync[schema] != mode:
                        conn.execute(f"PRAGMA {schema}.synchronous = {mode}")
                        self._sync[schema] = mode
                self._begin_immediate(conn)
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise self._translate(exc) from exc
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc

    def _translate(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        where = f"{self.progress_path} (ledger {self.ledger_path})"
        if "locked" in text or "busy" in text:
            return StoreUnavailable(
                f"Job store {where} stayed locked for more than {self._timeout:g} s; another "
                "process holds it. Try again, or check for a stuck postpilot process."
            )
        if "unable to open" in text:
            return StoreUnavailable(f"Cannot open job store {where}: {text}")
        if "disk is full" in text:  # SQLITE_FULL: the run stops with this (runner/outage.py)
            return StoreFull(
                f"The disk holding job store {where} is full ({text}): free space on it, "
                "then --run again (it gives back the claims this run left at once)"
            )
        return StoreError(f"Job store {where} failed: {text}")

    # -- seeding and reading ------------------------------------------------------------------
    def insert_jobs(self, jobs: Iterable[Job]) -> int:
        """Insert jobs whose job_id is absent, in one transaction; a job without seq gets the
        next one."""
        try:
            with self._write() as conn:
                existing = {row[0] for row in conn.execute("SELECT job_id FROM c.jobs")}
                top = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM c.jobs").fetchone()[0]
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
            row = conn.execute(f"{_SELECT} WHERE job_id = ?", (job_id,)).fetchone()
            return None if row is None else _to_job(row)

    def list_jobs(self, statuses: Iterable[JobStatus] | None = None) -> list[Job]:
        """Jobs in seq order (ties in insert order), optionally filtered by status."""
        with self._read() as conn:
            if statuses is None:
                rows = conn.execute(f"{_SELECT} ORDER BY seq, rowid")
            else:
                wanted = json.dumps(sorted({str(JobStatus(s)) for s in statuses}))
                rows = conn.execute(
                    f"{_SELECT} WHERE status IN (SELECT value FROM json_each(?)) "
                    "ORDER BY seq, rowid",
                    (wanted,),
                )
            return [_to_job(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """{"total": n, <every status>: n}."""
        with self._read() as conn:
            counts = status_counts(())
            for status, n in conn.execute("SELECT status, COUNT(*) FROM c.jobs GROUP BY status"):
                counts[str(status)] = counts.get(str(status), 0) + int(n)
                counts["total"] += int(n)
            return counts

    def status_breakdown(self) -> list[tuple[str, str, str, int]]:
        """Counts grouped by (account, status, error_type), computed in SQL."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT account, status, error_type, COUNT(*) FROM c.jobs "
                "GROUP BY account, status, error_type ORDER BY 1, 2, 3"
            )
            return [(str(a), str(s), str(e), int(n)) for a, s, e, n in rows]

    def snapshot(self, path: Path) -> None:
        """A consistent copy of the campaign's progress file (VACUUM INTO)."""
        with self._read() as conn:
            conn.execute("VACUUM c INTO ?", (str(path),))

    # -- the claim cycle ------------------------------------------------------------------------
    def claim(self, request: ClaimRequest) -> Job | None:
        """One transaction: recover expired leases, then take the lowest-seq claimable job
        whose account is free, unblocked and under its daily limit."""
        with self._write(unflushed=("main", "c")) as conn:
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
                    "INSERT OR REPLACE INTO main.account_leases VALUES (?, ?, ?, ?, ?)",
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
        filters = ""
        if request.accounts is not None:
            filters = "AND h.account IN (SELECT value FROM json_each(:accounts)) "
            params["accounts"] = json.dumps(sorted(request.accounts))
        row = conn.execute(
            f"SELECT {_HEAD_COLUMNS} FROM c.heads AS h INDEXED BY heads_order "
            "JOIN c.jobs AS j ON j.job_id = h.job_id "
            "WHERE h.due_key <= :now AND j.due_key = h.due_key "
            f"AND h.account NOT IN ({_UNAVAILABLE}) {filters}"
            "ORDER BY h.due_key, h.seq, h.job_rowid LIMIT 1",
            params,
        ).fetchone()
        return None if row is None else _to_job(row)

    def _posted_by_other(self, conn: sqlite3.Connection, job: Job) -> bool:
        if not job.content_sha256:
            return False
        row = conn.execute(
            "SELECT 1 FROM main.posted WHERE account = ? AND sha256 = ? "
            "AND NOT (campaign = ? AND job_id = ?) LIMIT 1",
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
                "SELECT campaign, job_id, token, expires_at FROM main.account_leases "
                "WHERE account = ?",
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
                "INSERT OR REPLACE INTO main.account_leases VALUES (?, ?, ?, ?, ?)",
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

    def clear(self) -> int:
        """Delete every job; refuses while one is claimed. The ledger keeps its history."""
        with self._write() as conn:
            claimed = conn.execute(
                "SELECT job_id FROM c.jobs WHERE status = 'claimed' ORDER BY seq, rowid"
            ).fetchall()
            if claimed:
                raise StoreError(
                    f"Cannot clear campaign '{self.campaign}': {len(claimed)} job(s) are "
                    f"claimed by a running worker (first: {claimed[0][0]}); stop the run first"
                )
            conn.execute("DELETE FROM main.account_leases WHERE campaign = ?", (self.campaign,))
            conn.execute("DELETE FROM main.account_holds WHERE campaign = ?", (self.campaign,))
            deleted = int(conn.execute("DELETE FROM c.jobs").rowcount)
            conn.execute("DELETE FROM c.heads")
            return deleted

    # -- the ledger -------------------------------------------------------------------------------
    def daily_count(self, account: str, day: str) -> int:
        """Successes of the account on the day, across campaigns."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT count FROM main.daily_counts WHERE account = ? AND day = ?",
                (account, day),
            ).fetchone()
            return 0 if row is None else int(row[0])

    def is_posted(self, account: str, content_sha256: str) -> bool:
        """Whether this content was already posted to this account."""
        if not content_sha256:
            return False
        with self._read() as conn:
            row = conn.execute(
                "SELECT 1 FROM main.posted WHERE account = ? AND sha256 = ? LIMIT 1",
                (account, content_sha256),
            ).fetchone()
            return row is not None

    def posted_content(self) -> set[tuple[str, str, str]]:
        """(job_id, account, sha256) of every post this campaign made, on any day."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT DISTINCT job_id, account, sha256 FROM main.posted WHERE campaign = ?",
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
            "SELECT min(due_key) FROM c.jobs INDEXED BY jobs_next_due "
            "WHERE due_key IS NOT NULL AND due_key > ?",
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
                "SELECT EXISTS (SELECT 1 FROM c.jobs WHERE status = 'claimed') OR EXISTS ("
                "SELECT 1 FROM main.account_leases AS l JOIN c.heads AS h "
                "ON h.account = l.account WHERE l.expires_at > :now AND h.due_key <= :now "
                "AND (:accounts IS NULL OR h.account IN (SELECT value FROM json_each(:accounts))))",
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
                    "INSERT OR IGNORE INTO main.posted VALUES (?, ?, ?, ?, ?, ?, '', '', ?)",
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
                        "INSERT INTO main.daily_counts VALUES (?, ?, 1) "
                        "ON CONFLICT (account, day) DO UPDATE SET count = count + 1",
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
                    "SELECT account, campaign, job_id, expires_at FROM main.account_leases "
                    "WHERE account IN (SELECT value FROM json_each(?))",
                    (wanted,),
                )
            }
            blocks = {
                row[0]: row
                for row in conn.execute(
                    "SELECT account, block, reason, blocked_until FROM main.account_blocks "
                    "WHERE account IN (SELECT value FROM json_each(?))",
                    (wanted,),
                )
            }
            holders: dict[str, tuple[str, str]] = {}
            waiting: dict[str, int] = {}
            for account, campaign, job_id, status, in_flight in conn.execute(
                "SELECT account, campaign, job_id, status, in_flight FROM main.account_holds "
                "WHERE campaign != :campaign AND account IN (SELECT value FROM json_each(:w)) "
                f"UNION ALL SELECT account, :campaign, job_id, status, {_IN_FLIGHT} FROM c.jobs "
                f"WHERE {_UNSETTLED} AND account IN (SELECT value FROM json_each(:w))",
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
                "INSERT OR REPLACE INTO main.account_blocks VALUES (?, ?, ?, ?)",
                (account, block, reason, _ts(until)),
            )

    def unblock_account(self, account: str) -> None:
        """Lift any block on the account."""
        with self._write() as conn:
            conn.execute("DELETE FROM main.account_blocks WHERE account = ?", (account,))

    _job_of = staticmethod(_to_job)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()

    # -- internals (inside a transaction) --------------------------------------------------------
    def _held(
        self, conn: sqlite3.Connection, job_id: str, token: str, settling: bool = False
    ) -> Job | None:
        """The claimed job when `token` is its current lease token (I7), else None. With
        `settling`, also an unconfirmed job that kept the token (a stalled holder's answer)."""
        if not token:
            return None
        statuses = "('claimed', 'unconfirmed')" if settling else "('claimed')"
        row = conn.execute(
            f"{_SELECT} WHERE job_id = ? AND status IN {statuses} AND lease_token = ?",
            (job_id, token),
        ).fetchone()
        return None if row is None else _to_job(row)

    @staticmethod
    def _update_params(job: Job) -> list[Any]:
        row = _to_row(job)
        index = _FIELDS.index("job_id")
        return row[:index] + row[index + 1 :] + [job.job_id]

    # -- the CasStore hooks (postpilot.store.cas) -----------------------------------------------
    def _cas(self, action: str) -> AbstractContextManager[sqlite3.Connection]:
        return self._write()

    def _write_job(self, conn: sqlite3.Connection, old: Job, new: Job) -> bool:
        """Write the columns that changed from `old` to `new` (fewer conversions and bytes)."""
        changed = [name for name in _FIELDS if getattr(old, name) != getattr(new, name)]
        if changed:
            values = [_column(name, getattr(new, name)) for name in changed]
            assignments = ", ".join(f"{name} = ?" for name in changed)
            conn.execute(f"UPDATE c.jobs SET {assignments} WHERE job_id = ?", [*values, old.job_id])
        return True

    def _unconfirmed_job(self, conn: sqlite3.Connection, job_id: str) -> Job | None:
        row = conn.execute(
            f"{_SELECT} WHERE job_id = ? AND status = 'unconfirmed'", (job_id,)
        ).fetchone()
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
        rows = conn.execute(f"{_SELECT} WHERE status = 'failed' ORDER BY seq, rowid")
        return [_to_job(row) for row in rows.fetchall()]

    def _write_many(self, conn: sqlite3.Connection, pairs: Sequence[tuple[Job, Job]]) -> None:
        conn.executemany(_UPDATE, [self._update_params(new) for _, new in pairs])

    def _is_orphan(self, conn: sqlite3.Connection, campaign: str, job_id: str, token: str) -> bool:
        """A lease of this campaign whose job is not claimed with its token (a crash between
        the ledger's commit and the job's); it counts as free."""
        if campaign != self.campaign:
            return False
        row = conn.execute(
            "SELECT 1 FROM c.jobs WHERE job_id = ? AND status = 'claimed' AND lease_token = ?",
            (job_id, token),
        ).fetchone()
        return row is None

    def _hold(self, conn: sqlite3.Connection, job: Job) -> None:
        """Record `job` (as it is after this write) among the account's unsettled publishes."""
        conn.execute(
            "INSERT OR REPLACE INTO main.account_holds VALUES (?, ?, ?, ?, ?)",
            (job.account, self.campaign, job.job_id, str(job.status), may_be_in_flight(job)),
        )

    def _unhold(self, conn: sqlite3.Connection, job: Job) -> None:
        conn.execute(
            "DELETE FROM main.account_holds WHERE account = ? AND campaign = ? AND job_id = ?",
            (job.account, self.campaign, job.job_id),
        )

    def _sync_holds(self, conn: sqlite3.Connection) -> None:
        """Make this campaign's hold rows match its unsettled jobs (imported ones, files
        written before holds existed, a crash between the two commits)."""
        conn.execute("DELETE FROM main.account_holds WHERE campaign = ?", (self.campaign,))
        conn.execute(
            "INSERT OR REPLACE INTO main.account_holds SELECT account, ?, job_id, status, "
            f"{_IN_FLIGHT} FROM c.jobs WHERE account != '' AND {_UNSETTLED}",
            (self.campaign,),
        )

    def _drop_lease(self, conn: sqlite3.Connection, job: Job) -> None:
        conn.execute(
            "DELETE FROM main.account_leases WHERE account = ? AND campaign = ? "
            "AND job_id = ? AND token = ?",
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
            "INSERT OR IGNORE INTO main.posted VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                "INSERT INTO main.daily_counts VALUES (?, ?, 1) "
                "ON CONFLICT (account, day) DO UPDATE SET count = count + 1",
                (job.account, day),
            )

    def _settled_by_ledger(self, conn: sqlite3.Connection, job: Job, now: datetime) -> bool:
        """A claim whose complete() committed the ledger (its `posted` row carries this lease
        token) but not the job, as a crash or a full disk between the two commits leaves it:
        make it the success it is. Settling it any other way (unconfirmed, then reconcile's
        "posted") would count the post a second time."""
        done = conn.execute(
            "SELECT remote_id, remote_url FROM main.posted "
            "WHERE campaign = ? AND job_id = ? AND token = ?",
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
            f"{_SELECT} WHERE status = 'claimed' "
            "AND (lease_expires_at IS NULL OR lease_expires_at <= ?) ORDER BY seq, rowid",
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
        if cleanup:  # claims skip these writes: _UNAVAILABLE ignores orphans itself
            conn.execute(
                "DELETE FROM main.account_leases WHERE campaign = ? AND NOT EXISTS ("
                f"{_LEASE_JOB_IS_CLAIMED})",
                (self.campaign,),
            )
            self._sync_holds(conn)
        return Recovery(released=tuple(released), unconfirmed=tuple(unconfirmed))
