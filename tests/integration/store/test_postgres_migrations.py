"""PostgreSQL's numbered migrations on a real server: a new database records every version, a
database left at the first release's schema is upgraded in place with its rows kept and its
jobs claimable, and a database of a newer version is refused with the version named.

Every test gets a schema of its own (tests.integration.store.pg); time is an explicit `now`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from postpilot.errors import SchemaVersionError
from postpilot.jobs import JobStatus
from postpilot.store.base import ClaimRequest
from postpilot.store.postgres import PostgresJobStore
from postpilot.store.sql import load_queries, migrations

pytestmark = pytest.mark.postgres

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)

#: Ledger rows as the first release wrote them, one statement per table.
_LEDGER_ROWS = (
    "INSERT INTO daily_counts VALUES ('acct_a', '2024-04-30', 2)",
    "INSERT INTO posted VALUES ('acct_a', repeat('ab', 32), 'alpha', 'old', '2024-04-30', "
    "'r1', 'https://x/r1', '2024-04-30T10:00:00Z')",
    "INSERT INTO account_blocks VALUES ('acct_c', 'auth', 'token revoked', NULL)",
)
_TABLES = ("daily_counts", "posted", "account_blocks", "jobs")


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A plain autocommit connection on the test's schema, as an operator's psql would be."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        yield connection


def _versions(conn: psycopg.Connection[tuple[object, ...]]) -> list[object]:
    return [r[0] for r in conn.execute("SELECT version FROM postpilot_migrations ORDER BY 1")]


def _rows(conn: psycopg.Connection[tuple[object, ...]], table: str) -> list[tuple[object, ...]]:
    """A table's rows, sorted; for jobs the columns migration 0001 made (later ones add some)."""
    listed = "campaign, job_id, seq, account, status, attempts" if table == "jobs" else "*"
    return sorted(conn.execute(f"SELECT {listed} FROM {table}").fetchall(), key=repr)  # noqa: S608


def test_a_new_database_records_every_migration(
    dsn: str, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    """The first open applies every migration file, in order, and records each version."""
    PostgresJobStore(dsn, "alpha").close()
    assert _versions(conn) == [m.version for m in migrations()]


def test_a_database_of_the_first_release_is_upgraded_and_keeps_its_rows(
    dsn: str, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    """A database at migration 0001 with ledger rows and a waiting job opens: the later
    migrations are applied and recorded, every row is kept, and the job is claimable."""
    first = migrations()[0]
    queries = load_queries()
    with conn.transaction():
        conn.execute(queries["migration_table"])
        conn.execute(first.sql.encode())
        conn.execute(queries["migration_record"], {"version": first.version, "name": first.name})
        for statement in _LEDGER_ROWS:
            conn.execute(statement.encode())
        conn.execute(
            "INSERT INTO jobs (campaign, job_id, seq, account, video_path, caption, status, "
            "max_attempts) VALUES ('alpha', 'j1', 0, 'acct_b', 'v.mp4', 'c', 'pending', 3)"
        )
    before = {table: _rows(conn, table) for table in _TABLES}
    store = PostgresJobStore(dsn, "alpha")
    try:
        assert _versions(conn) == [m.version for m in migrations()]
        assert {table: _rows(conn, table) for table in _TABLES} == before
        claimed = store.claim(
            ClaimRequest(
                worker_id="w", now=NOW, lease=timedelta(minutes=5), daily_limit=5, day="2024-05-01"
            )
        )
        assert claimed is not None
        assert (claimed.job_id, claimed.status) == ("j1", JobStatus.CLAIMED)
    finally:
        store.close()


def test_a_database_of_a_newer_version_is_refused_unchanged(
    dsn: str, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    """A database migrated by a newer postpilot is refused with both versions named, and no
    migration is applied to it."""
    PostgresJobStore(dsn, "alpha").close()
    newer = migrations()[-1].version + 1
    conn.execute("INSERT INTO postpilot_migrations (version, name) VALUES (%s, 'future')", (newer,))
    with pytest.raises(SchemaVersionError) as caught:
        PostgresJobStore(dsn, "alpha")
    message = str(caught.value)
    assert f"schema version {newer}" in message
    assert f"up to version {migrations()[-1].version}" in message
    assert _versions(conn) == [*(m.version for m in migrations()), newer]
