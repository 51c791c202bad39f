"""What only the PostgreSQL store has to prove: migrations under concurrency, the database's
own enforcement of one lease per account, recovery across "hosts", error translation without
leaking the DSN's password, and the multi-host pieces (orchestrator lock, worker registry).

Every test gets a schema of its own (the `dsn` and `open_store` fixtures of conftest.py); time
is an explicit `now`. Claims racing on real connections are in test_postgres_races.py.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import errors as pg_errors

from postpilot.errors import SchemaVersionError, StoreError, StoreUnavailable
from postpilot.jobs import ErrorCategory, Failure, Job, JobStatus, RetryPolicy
from postpilot.store.base import CoordinatedStore, JobStore
from postpilot.store.postgres import PostgresJobStore, describe_dsn
from postpilot.store.sql import load_queries, migrations, parse_queries
from tests.integration.store.pg_cases import DAY, LEASE, NOW, job, raw, request

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.postgres


# -- SQL files and migrations ------------------------------------------------------------------
def test_query_loader_reads_named_blocks_without_comments() -> None:
    """Blocks are split on `-- name: x --` lines, comment lines dropped, duplicates refused."""
    parsed = parse_queries("header\n-- name: a --\n-- why\nSELECT 1;\n-- name: b --\nSELECT 2;\n")
    assert parsed == {"a": "SELECT 1;", "b": "SELECT 2;"}
    with pytest.raises(ValueError, match="twice"):
        parse_queries("-- name: a --\nSELECT 1;\n-- name: a --\nSELECT 2;\n")
    assert {"claim", "complete", "heartbeat", "recover"} <= set(load_queries())


def test_a_fragment_is_written_once_and_used_where_named() -> None:
    """A `fragment.x` block is no query: it stands in for `{{fragment.x}}` in the queries that
    name it; an unknown or an unused fragment is refused. claim's recovery and recover share
    the expired claim's SET list that way."""
    text = "-- name: fragment.cols --\na, b\n-- name: q --\nSELECT {{fragment.cols}} FROM t;\n"
    assert parse_queries(text) == {"q": "SELECT a, b FROM t;"}
    with pytest.raises(ValueError, match=r"unknown 'fragment\.nope'"):
        parse_queries("-- name: q --\nSELECT {{fragment.nope}};\n")
    with pytest.raises(ValueError, match=r"'fragment\.cols' is used by no query"):
        parse_queries("-- name: fragment.cols --\na\n-- name: q --\nSELECT 1;\n")
    queries = load_queries()
    shared = "lease_token = CASE WHEN r.publish_started_at IS NULL THEN '' ELSE r.lease_token END"
    assert shared in queries["claim"]
    assert shared in queries["recover"]
    assert not any("{{" in sql for sql in queries.values())


def test_copy_columns_follow_the_job_fields() -> None:
    """The COPY column list is the Job dataclass's field order, which insert_jobs relies on."""
    query = load_queries()["copy_jobs"]
    listed = query[query.index("(") + 1 : query.index(")")]
    columns = [c.strip() for c in listed.split(",")]
    assert columns == [f.name for f in dataclasses.fields(Job)]


def test_migrations_are_recorded_once_and_reopening_is_a_no_op(
    dsn: str, open_store: Callable[..., PostgresJobStore]
) -> None:
    """Opening the store twice applies each migration once and keeps the data."""
    first = open_store("alpha")
    first.insert_jobs([job("a")])
    open_store("alpha")
    with raw(dsn) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM postpilot_migrations")]
    assert versions == [m.version for m in migrations()]
    assert first.get("a") is not None


def test_hosts_starting_together_migrate_once(dsn: str, tmp_path: Path) -> None:
    """Four processes opening a fresh database at the same moment all succeed; the advisory
    lock makes one of them apply the schema."""
    go = tmp_path / "go"
    code = (
        "import sys, time, pathlib\n"
        "from postpilot.store.postgres import PostgresJobStore\n"
        "go = pathlib.Path(sys.argv[2])\n"
        "while not go.exists(): time.sleep(0.001)\n"
        "PostgresJobStore(sys.argv[1], 'alpha').close()\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, dsn, str(go)], cwd=REPO) for _ in range(4)
    ]
    go.touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    with raw(dsn) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM postpilot_migrations")]
    assert versions == [m.version for m in migrations()]


def test_a_newer_schema_is_refused(dsn: str, open_store: Callable[..., PostgresJobStore]) -> None:
    """A database migrated by a newer postpilot is not misread: SchemaVersionError."""
    open_store("alpha")
    with raw(dsn) as conn:
        conn.execute("INSERT INTO postpilot_migrations (version, name) VALUES (9999, 'future')")
    with pytest.raises(SchemaVersionError, match="9999"):
        PostgresJobStore(dsn, "alpha")


# -- the database enforces one lease per account ---------------------------------------------
def test_the_database_rejects_a_second_lease_holder_even_from_raw_sql(
    dsn: str, open_store: Callable[..., PostgresJobStore]
) -> None:
    """With one job of acc1 claimed, a raw UPDATE that makes another job (of any campaign) hold
    acc1's lease violates the constraint; a lease without a claim violates the check."""
    alpha, beta = open_store("alpha"), open_store("beta")
    alpha.insert_jobs([job("a1"), job("a2")])
    beta.insert_jobs([job("b1")])
    assert alpha.claim(request()) is not None
    take = (
        "UPDATE jobs SET status = 'claimed', holds_account = true, lease_token = 'x', "
        "lease_expires_at = now() + interval '1 hour' WHERE campaign = %s AND job_id = %s"
    )
    with raw(dsn) as conn:
        for campaign, job_id in (("alpha", "a2"), ("beta", "b1")):
            with pytest.raises(pg_errors.ExclusionViolation):
                conn.execute(take, (campaign, job_id))
        with pytest.raises(pg_errors.CheckViolation):
            conn.execute("UPDATE jobs SET holds_account = true WHERE job_id = 'b1'")


# -- leases across hosts ------------------------------------------------------------------------
def test_an_expired_lease_is_recovered_by_a_claim_from_another_host(
    open_store: Callable[..., PostgresJobStore],
) -> None:
    """Host A claims and dies; after the lease, host B's claim retakes the job with a new
    token, A's late complete is refused, and only B's success is counted."""
    host_a, host_b = open_store("alpha"), open_store("alpha")
    host_a.insert_jobs([job("a", content_sha256="h1")])
    first = host_a.claim(request(worker="a"))
    assert first is not None
    assert host_b.claim(request(NOW + LEASE / 2, worker="b")) is None
    later = NOW + LEASE + timedelta(seconds=1)
    second = host_b.claim(request(later, worker="b"))
    assert second is not None
    assert second.job_id == "a"
    assert second.lease_token != first.lease_token
    assert second.worker_id == "b"
    assert not host_a.complete("a", first.lease_token, later, day=DAY)
    assert host_b.daily_count("acc1", DAY) == 0
    assert host_b.complete("a", second.lease_token, later, day=DAY)
    assert host_a.daily_count("acc1", DAY) == 1
    assert host_a.is_posted("acc1", "h1")


def test_a_started_publish_whose_lease_expired_becomes_unconfirmed_on_another_host(
    open_store: Callable[..., PostgresJobStore],
) -> None:
    """A claim that started publishing and then lost its lease is not retaken: another
    host's claim makes it unconfirmed (with the reason), keeps its account held and moves on
    to another account."""
    host_a, host_b = open_store("alpha"), open_store("alpha")
    host_a.insert_jobs([job("a"), job("b"), job("c", "acc2")])
    first = host_a.claim(request())
    assert first is not None
    assert host_a.start_publish("a", first.lease_token, NOW)
    second = host_b.claim(request(NOW + LEASE))
    assert second is not None
    assert second.job_id == "c"
    stuck = host_b.get("a")
    assert stuck is not None
    assert stuck.status is JobStatus.UNCONFIRMED
    assert "publish started" in stuck.error
    assert host_b.claim(request(NOW + LEASE * 3 / 2)) is None
    assert host_b.account_states(["acc1"])["acc1"].held_by == ("alpha", "a")


def test_an_expired_claim_of_another_campaign_does_not_block_the_account(
    open_store: Callable[..., PostgresJobStore],
) -> None:
    """Campaign one's host dies holding acc1; after the lease, campaign two claims acc1 and
    takes the lease. One's job stays claimed (as in the reference) and cannot take it back."""
    one, two = open_store("one"), open_store("two")
    one.insert_jobs([job("x")])
    two.insert_jobs([job("y")])
    dead = one.claim(request())
    assert dead is not None
    assert two.claim(request(NOW + timedelta(minutes=1))) is None
    later = NOW + LEASE + timedelta(seconds=1)
    taken = two.claim(request(later))
    assert taken is not None
    assert taken.job_id == "y"
    assert two.account_states(["acc1"])["acc1"].leased_by == ("two", "y")
    orphan = one.get("x")
    assert orphan is not None
    assert orphan.status is JobStatus.CLAIMED
    assert not one.heartbeat("x", dead.lease_token, later, LEASE)
    assert one.recover_expired(later).released == ("x",)


def test_stale_tokens_write_nothing(open_store: Callable[..., PostgresJobStore]) -> None:
    """complete/fail/heartbeat with a stale token change neither the job nor the ledger."""
    store = open_store("alpha")
    store.insert_jobs([job("a", content_sha256="h")])
    claimed = store.claim(request())
    assert claimed is not None
    before = store.get("a")
    failure = Failure(ErrorCategory.UNKNOWN, "t", "boom")
    assert not store.complete("a", "not-the-token", NOW, day=DAY)
    assert store.fail("a", "not-the-token", NOW, failure, RetryPolicy()) is None
    assert not store.heartbeat("a", "", NOW, LEASE)
    assert store.get("a") == before
    assert store.daily_count("acc1", DAY) == 0
    assert not store.is_posted("acc1", "h")
    assert store.complete("a", claimed.lease_token, NOW, day=DAY)
    assert not store.complete("a", claimed.lease_token, NOW, day=DAY)
    assert store.daily_count("acc1", DAY) == 1


def test_timestamps_come_back_timezone_aware(open_store: Callable[..., PostgresJobStore]) -> None:
    """Every timestamp read back is aware and equal to what was written."""
    store = open_store("alpha")
    store.insert_jobs([job("a")])
    claimed = store.claim(request())
    assert claimed is not None
    assert claimed.claimed_at == NOW
    assert claimed.claimed_at is not None
    assert claimed.claimed_at.tzinfo is not None
    assert claimed.lease_expires_at == NOW + LEASE


# -- errors -------------------------------------------------------------------------------------
def test_an_unreachable_server_is_store_unavailable_without_the_password() -> None:
    """Nothing listens on port 1: StoreUnavailable naming host and database, never the
    password, and no psycopg exception chained to it."""
    dsn = "postgresql://postpilot:s3cret-pw@127.0.0.1:1/jobs"
    with pytest.raises(StoreUnavailable) as caught:
        PostgresJobStore(dsn, "alpha", connect_timeout=2)
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "127.0.0.1:1/jobs" in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_describe_dsn_drops_the_password() -> None:
    """The printable form of a DSN keeps user, host, port and database only."""
    assert (
        describe_dsn("postgresql://u:pw@db.example:6543/campaigns?sslmode=require")
        == "postgresql://u@db.example:6543/campaigns"
    )
    assert "pw" not in describe_dsn("host=h user=u password=pw dbname=d")


def test_database_errors_become_store_errors(
    dsn: str, open_store: Callable[..., PostgresJobStore]
) -> None:
    """A database error under a live store (its table dropped) is a StoreError, not psycopg's."""
    store = open_store("alpha")
    with raw(dsn) as conn:
        conn.execute("DROP TABLE jobs CASCADE")
    with pytest.raises(StoreError) as caught:
        store.get("a")
    assert not isinstance(caught.value, psycopg.Error)
    assert "jobs" in str(caught.value)


def test_a_missing_schema_is_explained(dsn: str) -> None:
    """A search_path naming no existing schema is reported as such."""
    broken = dsn.replace("search_path=", "search_path=no_such_schema_")
    with pytest.raises(StoreError, match="search_path"):
        PostgresJobStore(broken, "alpha")


# -- several hosts ------------------------------------------------------------------------------
def test_one_orchestrator_per_campaign(open_store: Callable[..., PostgresJobStore]) -> None:
    """The advisory lock admits one orchestrator per campaign, independently per campaign,
    and passes on when released."""
    first, second, other = open_store("alpha"), open_store("alpha"), open_store("beta")
    assert isinstance(first, CoordinatedStore)
    assert first.try_acquire_orchestrator()
    assert first.try_acquire_orchestrator()  # idempotent while held
    assert not second.try_acquire_orchestrator()
    assert other.try_acquire_orchestrator()
    first.release_orchestrator()
    assert second.try_acquire_orchestrator()
    assert second.holds_orchestrator()
    assert not first.holds_orchestrator()


def test_a_killed_orchestrator_hands_the_role_on(
    dsn: str, open_store: Callable[..., PostgresJobStore]
) -> None:
    """kill -9 of the orchestrator's process ends its session and frees the role."""
    code = (
        "import sys, time\n"
        "from postpilot.store.postgres import PostgresJobStore\n"
        "store = PostgresJobStore(sys.argv[1], 'alpha')\n"
        "assert store.try_acquire_orchestrator()\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, dsn], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        store = open_store("alpha")
        assert not store.try_acquire_orchestrator()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    # The server notices the closed socket promptly; poll rather than assume a delay.
    deadline = time.monotonic() + 30
    while not store.try_acquire_orchestrator():
        assert time.monotonic() < deadline, "the killed session's lock was never released"
        time.sleep(0.05)


def test_worker_registry_groups_live_workers_by_host(
    open_store: Callable[..., PostgresJobStore],
) -> None:
    """--status sees each host's live workers and newest heartbeat; stale and unregistered
    workers drop out; another campaign's workers are not listed."""
    store, other = open_store("alpha"), open_store("beta")
    store.register_worker("host-a", 101, "w0", NOW)
    store.register_worker("host-a", 102, "w1", NOW)
    store.register_worker("host-b", 201, "w0", NOW - timedelta(minutes=10))
    store.register_worker("host-c", 301, "w0", NOW)
    other.register_worker("host-z", 901, "w0", NOW)
    assert store.worker_heartbeat("host-a", "w1", NOW + timedelta(seconds=20))
    assert not store.worker_heartbeat("host-x", "w9", NOW)
    store.unregister_worker("host-c", "w0")
    hosts = store.list_workers(timedelta(minutes=1), now=NOW + timedelta(seconds=30))
    assert hosts == [
        {
            "host": "host-a",
            "workers": 2,
            "worker_ids": ["w0", "w1"],
            "pids": [101, 102],
            "last_heartbeat": NOW + timedelta(seconds=20),
        }
    ]


def test_store_satisfies_the_protocols(open_store: Callable[..., PostgresJobStore]) -> None:
    """The store is a JobStore and a CoordinatedStore, and its repr hides the DSN."""
    store = open_store("alpha")
    assert isinstance(store, JobStore)
    assert isinstance(store, CoordinatedStore)
    assert "search_path" not in repr(store)
    store.close()
    store.close()  # idempotent
