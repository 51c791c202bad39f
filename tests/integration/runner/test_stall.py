"""A worker stalled past its lease (SIGSTOP, as a VM pause or swap storm does) while publishing:
another campaign that wants the same account must wait, and the stalled worker's late result
is recorded truthfully. Real orchestrator and worker processes, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from postpilot.jobs import JobStatus, local_day, utcnow
from postpilot.runner.locks import registry_path
from postpilot.store import open_store
from tests.fakes.counting_publisher import read_entries
from tests.integration.runner.campaigns import context, finish, make_campaign, start_run
from tests.integration.store.pg import require_postgres
from tests.pause import pause_between_transactions

pytestmark = pytest.mark.slow

LEASE_SECONDS = 1
#: How long the worker stays stopped, in leases: long past expiry and every heartbeat.
STALL_LEASES = 4


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Empty for the default SQLite ledger, else a PostgreSQL DSN both campaigns share."""
    if request.param == "sqlite":
        yield ""
        return
    dsn = require_postgres(request)
    monkeypatch.setenv("POSTPILOT_STORE", dsn)
    yield dsn


def _started_worker(folder: Path, deadline: float) -> int:
    """The pid of the worker once its job's publish has started."""
    store = open_store(context(folder))
    try:
        while time.monotonic() < deadline:
            started = [j for j in store.list_jobs([JobStatus.CLAIMED]) if j.publish_started_at]
            try:
                data = json.loads(registry_path(context(folder)).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}  # not written yet, or being replaced
            pids = [int(p) for p in data.get("worker_pids", [])]
            if started and pids:
                return pids[0]
            time.sleep(0.01)
    finally:
        store.close()
    raise AssertionError("the worker never started its publish")


def test_a_worker_stopped_past_its_lease_keeps_the_shared_account(
    project_root: Path, store_env: str
) -> None:
    """Campaign one's worker is SIGSTOPped mid-publish for 4 leases while campaign two runs
    for the same account (limit 1): two posts nothing, one's late success is recorded, the
    account is posted to once and its daily count stays within the limit."""
    env = {"POSTPILOT_LEASE_SECONDS": str(LEASE_SECONDS)}
    if store_env:
        env["POSTPILOT_STORE"] = store_env
    one = make_campaign(project_root, "one", ["shared"], 1, publisher={"latency_seconds": 1.0})
    two = make_campaign(project_root, "two", ["shared"], 1)
    first = start_run(one, 1, passes=1, **env)
    worker = _started_worker(one, time.monotonic() + 60)
    pause_between_transactions([worker], project_root)
    try:
        # The stall is the fault under test: real time passes while the worker is stopped.
        time.sleep(LEASE_SECONDS * STALL_LEASES)
        code_two, results_two = finish(start_run(two, 1, passes=1, **env))
    finally:
        os.kill(worker, signal.SIGCONT)
    code_one, results_one = finish(first)

    entries = read_entries(project_root / "journal.log")
    assert [e.account for e in entries] == ["shared"], entries
    assert results_one["success"] == 1, results_one
    assert code_one == 0, results_one
    # Two may have seeded its job while one's publish was held (then it waits, blocked by the
    # hold) or found the account's day already taken and seeded nothing (on a loaded machine
    # its run can start late): either way it posted nothing and its job is not lost.
    assert results_two.get("success", 0) == 0, (code_two, results_two)
    if results_two.get("pending"):
        assert any("held" in b["reason"] for b in results_two["blocked"]), results_two
    store = open_store(context(two))
    try:
        assert store.daily_count("shared", local_day(utcnow(), context(two).timezone)) == 1
        assert store.account_states(["shared"])["shared"].held_by is None
        assert {j.status for j in store.list_jobs()} <= {JobStatus.PENDING}
    finally:
        store.close()
