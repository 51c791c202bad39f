"""The PostgreSQL store's connections: the pool, error translation, named queries, migrations.

The base class of postpilot.store.postgres.PostgresJobStore (its module doc describes the
tables and the claim). Nothing else opens a connection: postgres_ledger.py,
postgres_dashboard.py and postgres.py run their statements through `_query` / `_rows` /
`_transaction` here. Messages name the database as `postgresql://user@host:port/db`, never
with its password.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from postpilot.errors import SchemaVersionError, StoreError, StoreUnavailable
from postpilot.jobs import Job, JobStatus
from postpilot.store.sql import load_queries, migrations

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


#: A connection left in a transaction that _pipelined must roll back.
_IN_TRANSACTION = (TransactionStatus.INTRANS, TransactionStatus.INERROR)


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


class PostgresConnection:
    """A pool of connections to the shared database, for one campaign."""

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

    @contextmanager
    def _pipelined(self) -> Iterator[psycopg.Connection[Any]]:
        """A transaction in one round trip (psycopg's pipeline mode): BEGIN, the statements the
        caller sends (_send) and COMMIT travel together; their results are read (_fetched)
        after the block. A statement that fails makes the server skip the rest, COMMIT with
        it: the error is raised here once the transaction is rolled back."""
        with self._pool.connection() as conn:
            try:
                with conn.pipeline() as pipeline:
                    conn.execute(b"BEGIN")
                    yield conn
                    conn.execute(b"COMMIT")
                    pipeline.sync()
            except BaseException:
                if conn.info.transaction_status in _IN_TRANSACTION:
                    conn.rollback()
                raise

    def _rows(
        self, conn: psycopg.Connection[Any], name: str, params: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Rows of a named statement as dicts. The column names are read once per query (psycopg's
        description objects cost more than the claim's own Python work)."""
        return self._fetched(self._send(conn, name, params), name)

    def _send(
        self, conn: psycopg.Connection[Any], name: str, params: Mapping[str, Any]
    ) -> psycopg.Cursor[Any]:
        """Execute a named statement; in pipeline mode its result is read later (_fetched).
        A statement that fails at once closes its cursor, as _rows always did."""
        cur = conn.cursor()
        try:
            cur.execute(_Q[name], params)
        except BaseException:
            cur.close()
            raise
        return cur

    def _fetched(self, cur: psycopg.Cursor[Any], name: str) -> list[dict[str, Any]]:
        """The rows of a statement _send executed (in pipeline mode: before the last sync), as
        dicts; the cursor is closed."""
        with cur:
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

    _job_of = staticmethod(_to_job)

    @staticmethod
    def _jsonb(value: Mapping[str, Any]) -> Any:
        return Jsonb(dict(value))
