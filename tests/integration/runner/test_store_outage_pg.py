"""PostgreSQL outages mid-run, through a real TCP proxy that cuts every connection and refuses
new ones (tests/fakes/tcp_proxy.py); the shared server itself is never restarted. The runs are
the real CLI with real worker processes and the non-idempotent counting channel."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from postpilot.store.postgres import describe_dsn
from tests.fakes.tcp_proxy import TcpProxy
from tests.integration.runner.campaigns import context, make_campaign
from tests.integration.runner.outages import (
    Finished,
    finish,
    first_publish_after,
    published,
    report,
    settled_left_claims,
    start_run,
    wait_for,
)
from tests.integration.store.pg import require_postgres

pytestmark = pytest.mark.slow

JOBS = 40
ACCOUNTS = [f"acct{i}" for i in range(10)]
#: How long the proxy is down in the ride-out test (within the default budget of 30 s).
OUTAGE_SECONDS = 3.0


def _proxy(dsn: str) -> TcpProxy:
    params = conninfo_to_dict(dsn)
    return TcpProxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))


def _through(dsn: str, proxy: TcpProxy) -> str:
    return make_conninfo(dsn, host=proxy.host, port=str(proxy.port))


def _claims_not_started(dsn: str) -> int:
    """Claims held in the store whose publish has not started (read directly, not via the proxy)."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
        row = conn.execute(
            "SELECT count(*) FROM jobs WHERE status = 'claimed' AND publish_started_at IS NULL"
        ).fetchone()
    return int(row[0]) if row else 0


def _assert_once_each(root: Path, jobs: int) -> None:
    journal = published(root)
    assert len(journal) == len(set(journal)), "a job was published twice"
    assert len(journal) == jobs


def test_a_short_postgres_outage_mid_run_is_ridden_out(
    request: pytest.FixtureRequest, project_root: Path
) -> None:
    """The store is cut for a few seconds while publishes are in flight: the run keeps its
    workers, logs the outage once when it starts and once when it ends, records the in-flight
    results when the store is back and ends with every job published exactly once, exit 0."""
    dsn = require_postgres(request)
    folder = make_campaign(
        project_root, "pg", ACCOUNTS, JOBS, daily_limit=10,
        publisher={"prepare_seconds": 0.3, "latency_seconds": 0.7},
    )  # fmt: skip
    with _proxy(dsn).start() as proxy:
        env = {"POSTPILOT_STORE": _through(dsn, proxy), "POSTPILOT_LEASE_SECONDS": "30"}
        proc = start_run(project_root, "pg", "--workers", "4", **env)
        wait_for(lambda: len(published(project_root)) >= 8, "the first publishes")
        proxy.down()
        time.sleep(OUTAGE_SECONDS)  # the outage itself
        proxy.up()
        run = finish(proc)
    assert "Traceback" not in run.err, run.err[-3000:]
    assert run.code == 0, run.err[-3000:]
    results = run.results()
    assert results["success"] == JOBS
    _assert_once_each(project_root, JOBS)
    outages = results["store_outages"]["count"]
    assert outages >= 1, "the outage never reached the orchestrator: the test proved nothing"
    assert run.err.count("riding it out") == run.err.count("reachable again") == outages
    assert "exited with code" not in run.err, "a worker was restarted"
    logs = "".join(p.read_text() for p in sorted(context(folder).logs_dir.glob("worker_*.log")))
    assert "riding it out" in logs, "no worker met the outage: the test proved nothing"
    assert "lease lost" not in logs
    assert "Traceback" not in logs
    report(
        "pg outage ridden out",
        proxy_down_s=OUTAGE_SECONDS,
        longest_outage_s=results["store_outages"]["longest_seconds"],
        duplicates=0,
    )


def test_an_outage_past_the_budget_stops_cleanly_and_the_next_run_finishes_at_once(
    request: pytest.FixtureRequest, project_root: Path
) -> None:
    """The store stays down past POSTPILOT_STORE_OUTAGE_SECONDS: exit 1 with one message naming
    the store and the fix, no traceback, nothing published twice; the next run (store back)
    gives back the claims left behind instead of waiting out their 600 s lease, and finishes."""
    dsn = require_postgres(request)
    make_campaign(
        project_root, "pg", ACCOUNTS, JOBS, daily_limit=10,
        publisher={"prepare_seconds": 1.0},
    )  # fmt: skip
    with _proxy(dsn).start() as proxy:
        store = _through(dsn, proxy)
        env = {
            "POSTPILOT_STORE": store,
            "POSTPILOT_LEASE_SECONDS": "600",
            "POSTPILOT_STORE_OUTAGE_SECONDS": "2",
            "POSTPILOT_SHUTDOWN_TIMEOUT": "5",
        }
        proc = start_run(project_root, "pg", "--workers", "4", **env)
        # Cut while claims sit in their 1 s prepare: the run must leave them behind. Waiting on
        # the journal alone raced on a busy machine (the cut fell between a completion and the
        # next claim, so nothing was left to give back).
        wait_for(
            lambda: len(published(project_root)) >= 4 and _claims_not_started(dsn) >= 1,
            "the first publishes and a claim in its prepare",
        )
        proxy.down()
        stopped = finish(proc)  # down until the run gave up
        proxy.up()
        assert "Traceback" not in stopped.err, stopped.err[-3000:]
        assert stopped.code == 1, stopped.err[-3000:]
        results = stopped.results()
        assert results["error"] == "store_unavailable"
        assert describe_dsn(store) in results["message"]
        assert "POSTPILOT_STORE_OUTAGE_SECONDS=2" in results["message"]
        assert stopped.err.count("POSTPILOT_STORE_OUTAGE_SECONDS=2") == 1, stopped.err[-3000:]
        journal = published(project_root)
        assert len(journal) == len(set(journal)), "a job was published twice"
        assert len(journal) < JOBS

        runs: list[Finished] = []
        since = time.time()
        while len(runs) < 3 and len(published(project_root)) < JOBS:
            runs.append(finish(start_run(project_root, "pg", "--workers", "4", **env)))
            assert "Traceback" not in runs[-1].err, runs[-1].err[-3000:]
    assert settled_left_claims(runs[0].err)[0] >= 1, runs[0].err[-3000:]
    assert runs[-1].code == 0, runs[-1].err[-3000:]
    _assert_once_each(project_root, JOBS)
    report(
        "pg outage past the budget",
        given_back=settled_left_claims(runs[0].err),
        next_run_first_publish_s=first_publish_after(project_root, since),
        lease_s=600,
        duplicates=0,
    )
