"""Store fixtures: `store_kind` runs a test against every store, `make_store` opens one store
per campaign, all sharing one project ledger within the test.

PostgreSQL joins through tests.integration.store.pg (make_pg_store_factory). Without that
module, or without a reachable server, its cases skip; in CI (CI=true) an unreachable server
fails instead, so a broken database never passes silently. The PostgreSQL-only tests take
`dsn` (a fresh schema) and `open_store` (stores on it). psycopg is imported only by them.
"""

from __future__ import annotations

import importlib
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from postpilot.store.base import JobStore
from postpilot.store.memory import MemoryJobStore, MemoryLedger
from postpilot.store.sqlite import SqliteJobStore

StoreFactory = Callable[[str], JobStore]
STORE_KINDS = ["memory", "sqlite", "postgres"]


def postgres_factory(request: pytest.FixtureRequest) -> StoreFactory:
    """The PostgreSQL factory of tests.integration.store.pg, or skip (fail in CI) when the
    server is missing."""
    pg = importlib.import_module("tests.integration.store.pg")
    try:
        factory: StoreFactory = pg.make_pg_store_factory(request)
    except Exception as exc:  # the server may be down: skip locally, fail in CI
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    return factory


@pytest.fixture
def dsn(request: pytest.FixtureRequest) -> str:
    """A DSN on a fresh schema (skips without PostgreSQL, fails in CI)."""
    pg = importlib.import_module("tests.integration.store.pg")
    return str(pg.require_postgres(request))


@pytest.fixture
def open_store(dsn: str) -> Iterator[Callable[..., JobStore]]:
    """Opens PostgreSQL stores on the test's schema; closes them all at teardown."""
    from postpilot.store.postgres import PostgresJobStore

    opened: list[JobStore] = []

    def make(campaign: str = "alpha", **kw: object) -> JobStore:
        store = PostgresJobStore(dsn, campaign, **kw)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each store implementation in turn."""
    return str(request.param)


@pytest.fixture
def make_store(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[StoreFactory]:
    """A factory of stores of `store_kind`, one per campaign, sharing one ledger; all closed
    at teardown."""
    opened: list[JobStore] = []
    base = _factory(store_kind, tmp_path, request)

    def make(campaign: str) -> JobStore:
        store = base(campaign)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def _factory(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> StoreFactory:
    if kind == "memory":
        ledger = MemoryLedger()
        return lambda campaign: MemoryJobStore(campaign, ledger, rng=random.Random(7))
    if kind == "sqlite":
        ledger_path = tmp_path / "project" / ".postpilot" / "ledger.db"
        return lambda campaign: SqliteJobStore(
            tmp_path / "campaigns" / campaign / "progress.db",
            ledger_path,
            campaign,
            rng=random.Random(7),
        )
    return postgres_factory(request)
