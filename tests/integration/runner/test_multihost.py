"""Two "hosts" (separate processes, separate project roots) run one campaign on one PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from postpilot.jobs import Job, JobStatus
from postpilot.runner.locks import registry_path
from postpilot.store import open_store
from tests.fakes.counting_publisher import read_journal
from tests.integration.runner.campaigns import context, finish, make_campaign, start_run
from tests.integration.store.pg import require_postgres

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

JOBS = 40


def two_hosts(tmp_path: Path, latency: float) -> tuple[Path, Path]:
    """The same campaign folder under two project roots (host A and host B)."""
    host_a, host_b = tmp_path / "host-a", tmp_path / "host-b"
    folder_a = make_campaign(
        host_a,
        "shared",
        [f"acct{i}" for i in range(8)],
        JOBS,
        daily_limit=5,
        publisher={"latency_seconds": latency, "journal": str(tmp_path / "journal.log")},
    )
    folder_b = host_b / "campaigns" / "shared"
    shutil.copytree(folder_a, folder_b)
    return folder_a, folder_b


def final_jobs(folder: Path, dsn: str, monkeypatch: pytest.MonkeyPatch) -> list[Job]:
    monkeypatch.setenv("POSTPILOT_STORE", dsn)
    store = open_store(context(folder))
    try:
        return list(store.list_jobs())
    finally:
        store.close()


def test_two_hosts_share_one_campaign(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One host orchestrates, the other joins as a worker pool; every job is published once."""
    dsn = require_postgres(request)
    folder_a, folder_b = two_hosts(tmp_path, 0.1)
    # Host A's publishes wait for one of host B's, so both hosts publish however slowly B starts.
    config_a = folder_a / "campaign.json"
    settings = json.loads(config_a.read_text(encoding="utf-8"))
    settings["publisher"]["wait_for_entries"] = 1
    config_a.write_text(json.dumps(settings), encoding="utf-8")
    # One process per worker, so that the journal's pids tell more than 3 workers published.
    env = {"POSTPILOT_STORE": dsn, "POSTPILOT_WORKER_PROCESSES": "3"}
    run_a = start_run(folder_a, 3, POSTPILOT_HOME=str(folder_a.parents[1]), **env)
    run_b = start_run(folder_b, 3, POSTPILOT_HOME=str(folder_b.parents[1]), **env)
    (code_a, results_a), (code_b, results_b) = finish(run_a), finish(run_b)
    assert (code_a, code_b) == (0, 0), (results_a, results_b)
    assert sorted([results_a["role"], results_b["role"]]) == ["orchestrator", "worker_pool"]
    journal = read_journal(tmp_path / "journal.log")
    assert sorted(journal) == sorted(set(journal))
    assert len(journal) == JOBS
    pids = {line.split("\t")[2] for line in (tmp_path / "journal.log").read_text().splitlines()}
    assert len(pids) > 3, "both hosts' workers should have published"
    jobs = final_jobs(folder_a, dsn, monkeypatch)
    assert all(j.status is JobStatus.SUCCESS for j in jobs)


def test_a_host_killed_mid_run_loses_nothing(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 of one host's orchestrator and workers: the other host and a rerun recover all."""
    dsn = require_postgres(request)
    folder_a, folder_b = two_hosts(tmp_path, 0.3)
    env = {"POSTPILOT_STORE": dsn}
    run_a = start_run(folder_a, 2, POSTPILOT_HOME=str(folder_a.parents[1]), **env)
    time.sleep(1.0)
    run_b = start_run(folder_b, 2, POSTPILOT_HOME=str(folder_b.parents[1]), **env)
    journal = tmp_path / "journal.log"
    deadline = time.monotonic() + 60
    while len(read_journal(journal)) < 8 and time.monotonic() < deadline:
        time.sleep(0.1)
    monkeypatch.setenv("POSTPILOT_HOME", str(folder_b.parents[1]))
    registry = json.loads(registry_path(context(folder_b)).read_text(encoding="utf-8"))
    for pid in [run_b.pid, *registry["worker_pids"]]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    run_b.wait()
    for pipe in (run_b.stdout, run_b.stderr):
        if pipe is not None:
            pipe.close()
    code_a, results_a = finish(run_a)
    assert code_a == 0, results_a
    # Host B never comes back; host A runs again and settles what B left behind.
    monkeypatch.setenv("POSTPILOT_HOME", str(folder_a.parents[1]))
    for _ in range(3):
        code, results = finish(
            start_run(folder_a, 2, POSTPILOT_HOME=str(folder_a.parents[1]), **env)
        )
        if results["pending"] == results["retrying"] == results["unconfirmed"] == 0:
            break
    assert code == 0, results
    published = read_journal(journal)
    assert len(published) == len(set(published)), "a job was published twice"
    jobs = final_jobs(folder_a, dsn, monkeypatch)
    assert len(jobs) == JOBS
    assert {j.job_id for j in jobs if j.status is JobStatus.SUCCESS} == set(published)
    assert len(published) == JOBS
