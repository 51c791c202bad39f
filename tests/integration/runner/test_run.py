"""The run engine end to end: real worker processes, a real SQLite store, the counting channel."""

from __future__ import annotations

import itertools
import json
import signal
import time
from collections import defaultdict
from pathlib import Path

import pytest

from postpilot.config import RetryConfig
from postpilot.jobs import JobStatus, utcnow
from postpilot.runner.locks import check_for_running_orchestrators, stop_all
from postpilot.runner.orchestrator import run_parallel_posting
from postpilot.seeding import seed_store
from postpilot.store import open_store
from tests.fakes.counting_publisher import read_entries, read_journal
from tests.integration.runner.campaigns import context, finish, make_campaign, start_run

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _fast_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short leases and no backoff so retries happen within a test."""
    monkeypatch.setenv("POSTPILOT_LEASE_SECONDS", "2")
    monkeypatch.setenv("POSTPILOT_BACKOFF_SECONDS", "0")
    monkeypatch.setenv("POSTPILOT_SHUTDOWN_TIMEOUT", "20")


def quick(passes: int = 3) -> RetryConfig:
    return RetryConfig(max_passes=passes, retry_delay_seconds=0)


def statuses(folder: Path) -> dict[str, str]:
    store = open_store(context(folder))
    try:
        return {job.job_id: str(job.status) for job in store.list_jobs()}
    finally:
        store.close()


def test_run_publishes_every_job_once_and_a_second_run_nothing(project_root: Path) -> None:
    """Every seeded job is published exactly once; running again publishes nothing new."""
    folder = make_campaign(project_root, "alpha", ["a1", "a2", "a3"], 6, daily_limit=2)
    results = run_parallel_posting(context(folder), num_workers=3, retry_config=quick())
    assert results["exit_code"] == 0, results
    assert results["success"] == 6
    journal = read_journal(project_root / "journal.log")
    assert sorted(journal) == sorted(set(journal))
    assert len(journal) == 6
    again = run_parallel_posting(context(folder), num_workers=3, retry_config=quick())
    assert again["exit_code"] == 0
    assert len(read_journal(project_root / "journal.log")) == 6
    logs = sorted((project_root / "logs" / "alpha").glob("worker_*.log"))
    assert logs
    assert all("[alpha]" in line for log in logs for line in log.read_text().splitlines())


def test_transient_failures_spend_the_attempts_budget_then_fail(project_root: Path) -> None:
    """A job failing transiently is retried up to max_attempts, then failed; the run ends."""
    folder = make_campaign(
        project_root,
        "beta",
        ["b1", "b2"],
        2,
        max_attempts=2,
        publisher={"fail_jobs": {"beta-0000.mp4_beta": "transient"}},
    )
    results = run_parallel_posting(context(folder), num_workers=2, retry_config=quick(5))
    assert results["exit_code"] == 0
    store = open_store(context(folder))
    try:
        job = store.get("beta-0000.mp4_beta")
    finally:
        store.close()
    assert job is not None
    assert (job.status, job.attempts, job.error_category) == (
        JobStatus.FAILED,
        2,
        "infrastructure",
    )
    assert read_journal(project_root / "journal.log") == ["beta-0001.mp4_beta"]


def test_content_error_fails_without_retry(project_root: Path) -> None:
    """A refused video fails at once with category content and is never retried."""
    folder = make_campaign(
        project_root,
        "gamma",
        ["g1"],
        1,
        publisher={"fail_jobs": {"gamma-0000.mp4_gamma": "content"}},
    )
    results = run_parallel_posting(context(folder), num_workers=1, retry_config=quick())
    assert results["failed"] == 1
    assert results["failure_breakdown"]["by_category"] == {"content": 1}
    assert results["retry_summary"]["total_passes"] == 1


def test_daily_limit_holds_across_campaigns(project_root: Path) -> None:
    """Two campaigns sharing an account never exceed its daily limit together (I3)."""
    one = make_campaign(project_root, "one", ["shared"], 1, daily_limit=1)
    two = make_campaign(project_root, "two", ["shared"], 1, daily_limit=1)
    for folder in (one, two):  # both seeded before either publishes
        store = open_store(context(folder))
        try:
            assert seed_store(context(folder), store, utcnow()).created == 1
        finally:
            store.close()
    first = run_parallel_posting(context(one), num_workers=1, retry_config=quick())
    second = run_parallel_posting(context(two), num_workers=1, retry_config=quick())
    assert first["success"] + second["success"] == 1
    blocked = first["blocked"] + second["blocked"]
    assert [b["reason"] for b in blocked] == ["daily limit reached"]
    assert second["exit_code"] == 0


def test_two_campaigns_at_once_never_publish_one_account_concurrently(project_root: Path) -> None:
    """Concurrent campaigns with overlapping accounts keep I2 and I3 and their own logs."""
    accounts = ["s1", "s2", "s3"]
    latency = {"latency_seconds": 0.15}
    one = make_campaign(project_root, "left", accounts, 9, daily_limit=3, publisher=latency)
    two = make_campaign(project_root, "right", accounts, 9, daily_limit=3, publisher=latency)
    runs = [start_run(one, 3), start_run(two, 3)]
    outcomes = [finish(run) for run in runs]
    assert [code for code, _ in outcomes] == [0, 0]
    entries = read_entries(project_root / "journal.log")
    per_account = defaultdict(list)
    for entry in entries:
        per_account[entry.account].append((entry.started, entry.finished))
    for spans in per_account.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, "an account published twice at the same time"
        assert len(spans) <= 3
    assert len({e.job_id for e in entries}) == len(entries)
    for folder, name in ((one, "left"), (two, "right")):
        logs = folder.parents[1] / "logs" / folder.name
        text = "".join(p.read_text() for p in logs.glob("worker_*.log"))
        other = "right" if name == "left" else "left"
        assert f"[{name}]" in text
        assert f"[{other}]" not in text


def test_job_over_the_timeout_becomes_unconfirmed(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publish that hangs past the job timeout is settled as unconfirmed; the run still ends."""
    monkeypatch.setenv("POSTPILOT_JOB_TIMEOUT", "2")
    folder = make_campaign(
        project_root, "hang", ["h1", "h2"], 2, publisher={"hang_jobs": ["hang-0000.mp4_hang"]}
    )
    results = run_parallel_posting(context(folder), num_workers=2, retry_config=quick())
    assert results["unconfirmed"] == 1
    assert results["success"] == 1
    [unconfirmed] = results["unconfirmed_jobs"]
    assert "job timeout" in unconfirmed["reason"]


def test_worker_crashing_at_start_ends_the_run_with_an_error(project_root: Path) -> None:
    """Workers that die at start are restarted a bounded number of times, then the run fails."""
    folder = make_campaign(
        project_root, "crash", ["c1"], 1, publisher={"crash_worker_at_start": True}
    )
    results = run_parallel_posting(context(folder), num_workers=2, retry_config=quick())
    assert results["exit_code"] == 1
    assert results["error"] == "workers_failed"
    assert results["pending"] == 1


def test_sigint_lets_running_publishes_finish_and_exits_130(project_root: Path) -> None:
    """The first SIGINT stops claiming, lets the running publish finish, and exits 130."""
    folder = make_campaign(
        project_root, "int", ["i1", "i2"], 6, daily_limit=3, publisher={"latency_seconds": 1.5}
    )
    run = start_run(folder, 2)
    journal = project_root / "journal.log"
    _wait_for(lambda: _claimed(folder) > 0)
    run.send_signal(signal.SIGINT)
    code, results = finish(run)
    assert code == 130
    assert results["interrupted"] is True
    assert results["claimed"] == 0
    assert results["unconfirmed"] == 0
    assert results["success"] == len(read_journal(journal)) >= 1
    assert results["pending"] >= 1


def test_second_sigint_stops_at_once_and_marks_interrupted_publishes_unconfirmed(
    project_root: Path,
) -> None:
    """A second SIGINT kills the workers; their started publishes become unconfirmed."""
    folder = make_campaign(project_root, "int2", ["j1", "j2"], 2, publisher={"latency_seconds": 30})
    run = start_run(folder, 2)
    _wait_for(lambda: _claimed(folder) == 2)
    run.send_signal(signal.SIGINT)
    time.sleep(0.5)
    run.send_signal(signal.SIGINT)
    code, results = finish(run, timeout=30)
    assert code == 130
    assert results["unconfirmed"] == 2
    assert read_journal(project_root / "journal.log") == []


def test_second_run_is_refused_and_stop_all_stops_the_first(project_root: Path) -> None:
    """While a run holds the campaign, another is refused naming it; --stop-all stops it (143)."""
    folder = make_campaign(
        project_root, "busy", ["k1"], 3, daily_limit=3, publisher={"latency_seconds": 2}
    )
    run = start_run(folder, 1)
    _wait_for(lambda: _claimed(folder) > 0)
    refused = run_parallel_posting(context(folder), num_workers=1, retry_config=quick())
    assert refused["error"] == "orchestrator_conflict"
    assert f"PID {run.pid}" in refused["message"]
    [holder] = check_for_running_orchestrators(context(folder))
    assert holder.pid == run.pid
    report = stop_all(context(folder), timeout=20)
    assert any(str(run.pid) in line for line in report.stopped)
    code, results = finish(run)
    assert code == 143
    assert results["claimed"] == 0
    assert check_for_running_orchestrators(context(folder)) == []


def _claimed(folder: Path) -> int:
    if not (folder / "progress.db").exists():
        return 0
    store = open_store(context(folder))
    try:
        return store.counts()["claimed"]
    finally:
        store.close()


def _wait_for(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_results_are_json_serialisable(project_root: Path) -> None:
    """The results dict is plain JSON (what --run --json prints)."""
    folder = make_campaign(project_root, "js", ["x"], 1)
    results = run_parallel_posting(context(folder), num_workers=1, retry_config=quick())
    assert json.loads(json.dumps(results)) == results
