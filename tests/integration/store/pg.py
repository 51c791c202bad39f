"""PostgreSQL for tests: a fresh schema per test, dropped at teardown.

The server is POSTPILOT_TEST_DSN (default postgresql://postgres@127.0.0.1:5432/test). Each
test gets its own schema, selected through the DSN's search_path option, so tests never see
each other's rows, campaigns or advisory locks. When the server is unreachable the helpers
raise PostgresUnavailable; `require_postgres` turns that into a skip with the reason, or a
failure when CI=true (a broken database must not pass silently in CI).
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from postpilot.store.base import JobStore
from postpilot.store.postgres import PostgresJobStore, describe_dsn

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


class PostgresUnavailable(RuntimeError):
    """The test PostgreSQL server cannot be reached."""


def base_dsn() -> str:
    """The server the tests use."""
    return os.environ.get("POSTPILOT_TEST_DSN") or DEFAULT_DSN


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(base_dsn(), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        raise PostgresUnavailable(
            f"PostgreSQL is unreachable at {describe_dsn(base_dsn())} ({exc}). Start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "
            "or set POSTPILOT_TEST_DSN."
        ) from exc


def schema_dsn(schema: str) -> str:
    """The test DSN with `schema` first on the search_path."""
    return make_conninfo(base_dsn(), options=f"-csearch_path={schema}")


def create_schema(prefix: str = "pp_t") -> tuple[str, str]:
    """A new empty schema: (name, DSN that uses it)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    return name, schema_dsn(name)


def drop_schema(name: str) -> None:
    """Drop a schema made by create_schema, with everything in it."""
    with _admin() as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def fresh_schema_dsn(request: pytest.FixtureRequest) -> str:
    """A DSN on a schema of its own for this test, dropped at teardown."""
    name, dsn = create_schema()
    request.addfinalizer(lambda: drop_schema(name))
    return dsn


def require_postgres(request: pytest.FixtureRequest) -> str:
    """fresh_schema_dsn, or skip (fail when CI=true) with the reason."""
    try:
        return fresh_schema_dsn(request)
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unreachable in CI: {exc}")
        pytest.skip(str(exc))


def make_pg_store_factory(request: pytest.FixtureRequest) -> Callable[[str], JobStore]:
    """Stores (one per campaign) sharing one fresh schema; all closed, then the schema
    dropped, at the end of the test. Raises PostgresUnavailable without a server."""
    name, dsn = create_schema()
    opened: list[PostgresJobStore] = []

    def teardown() -> None:
        try:
            for store in opened:
                store.close()
        finally:
            drop_schema(name)

    request.addfinalizer(teardown)

    def make(campaign: str) -> JobStore:
        store = PostgresJobStore(dsn, campaign, rng=random.Random(7))
        opened.append(store)
        return store

    return make
