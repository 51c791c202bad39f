"""What a PostgreSQL claim costs stays what it costs on a fresh table: its text is converted
once (psycopg's query cache), it is planned with statistics from the first seed on, and a
busy campaign's claims leave neither dead heads nor a longer walk for the next claim.
Counts of pages and buffers, never timings: the machines are shared."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from postpilot.store.base import complete_and_claim
from postpilot.store.postgres import _EXPIRY, PostgresJobStore
from postpilot.store.sql import load_queries
from tests.integration.store.pg_cases import DAY, NOW, job, raw, request

pytestmark = pytest.mark.postgres

_ESTIMATE = "SELECT reltuples FROM pg_class WHERE oid = %s::regclass"


def test_every_query_fits_psycopg_s_query_cache() -> None:
    """psycopg converts a statement's %(name)s placeholders once and caches the result only for
    statements of up to MAX_CACHED_STATEMENT_LENGTH bytes; a longer claim was converted anew on
    every cycle (a third of a millisecond of CPU each)."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH

    too_long = {
        name: len(sql.encode())
        for name, sql in load_queries().items()
        if len(sql.encode()) > MAX_CACHED_STATEMENT_LENGTH
    }
    assert too_long == {}


def test_seeding_a_new_table_leaves_planner_statistics_and_a_small_addition_does_not(
    dsn: str, open_store: Callable[..., PostgresJobStore]
) -> None:
    """The first insert (into a table never analyzed) refreshes the planner's statistics of
    jobs and account_heads at once; an addition under a tenth of the counted rows leaves that
    to autovacuum."""
    store = open_store("alpha")
    with raw(dsn) as conn:
        assert conn.execute(_ESTIMATE, ("jobs",)).fetchone() == (-1,)
        store.insert_jobs([job(f"j{i}", f"acc{i % 20}") for i in range(200)])
        assert conn.execute(_ESTIMATE, ("jobs",)).fetchone() == (200,)
        assert conn.execute(_ESTIMATE, ("account_heads",)).fetchone() == (20,)
        store.insert_jobs([job(f"k{i}", "acc99") for i in range(19)])
        assert conn.execute(_ESTIMATE, ("jobs",)).fetchone() == (200,)
        store.insert_jobs([job(f"m{i}", "acc98") for i in range(22)])
        assert conn.execute(_ESTIMATE, ("jobs",)).fetchone() == (241,)


def _cycle_through(store: PostgresJobStore, cycles: int) -> None:
    """Claim, then record a success with the next claim, `cycles` times (as a slot does)."""
    claimed = store.claim(request(limit=10**6))
    for _ in range(cycles):
        assert claimed is not None
        done, claimed = complete_and_claim(
            store, claimed.job_id, claimed.lease_token, NOW, day=DAY, request=request(limit=10**6)
        )
        assert done


def test_a_busy_campaign_s_heads_stay_one_page(
    dsn: str, open_store: Callable[..., PostgresJobStore]
) -> None:
    """600 claims of 4 accounts rewrite their heads in place (HOT updates, pruned on the page):
    account_heads stays one page, where a delete and an insert per claim grew it by a page
    every hundred or so claims until vacuum came."""
    store = open_store("alpha")
    store.insert_jobs([job(f"j{i:04d}", f"acc{i % 4}") for i in range(700)])
    _cycle_through(store, 600)
    with raw(dsn) as conn:
        pages = conn.execute("SELECT pg_relation_size('account_heads') / 8192").fetchone()
        heads = conn.execute("SELECT count(*) FROM account_heads").fetchone()
    assert heads == (4,)
    assert pages == (1,)


def test_a_claim_late_in_a_campaign_reads_what_an_early_one_reads(
    dsn: str, open_store: Callable[..., PostgresJobStore]
) -> None:
    """With statistics, the planner once joined every head to the campaign's jobs by a merge
    join along the primary key, so a claim read more pages the further the campaign had gone
    (1,400 buffers after 4,000 claims). The heads are sorted first and their jobs looked up one
    by one: after 900 claims a claim reads about what it read after the first."""
    store = open_store("alpha")
    store.insert_jobs([job(f"j{i:04d}", f"acc{i % 10}") for i in range(2000)])

    def buffers() -> int:
        params = {
            "campaign": "alpha",
            "now": NOW,
            "expires": NOW,
            "day": DAY,
            "limit": 10**6,
            "accounts": None,
            "worker_id": "probe",
            "run_id": "",
            "token": "probe",
            **_EXPIRY,
        }
        with raw(dsn) as conn, conn.transaction(force_rollback=True):
            sql = psycopg.ClientCursor(conn).mogrify(load_queries()["claim"], params)
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql).fetchone()
        return int(plan[0][0]["Plan"]["Shared Hit Blocks"])  # type: ignore[index]

    _cycle_through(store, 10)
    early = buffers()
    _cycle_through(store, 900)
    late = buffers()
    assert late <= early + 20, (early, late)
