"""A disk that fills up mid-run: the campaign's logs folder is a tiny tmpfs (a real filesystem
returning ENOSPC), so the orchestrator's log-pump thread hits a full disk while workers publish.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from postpilot.jobs import JobStatus
from postpilot.store import open_store
from tests.acceptance.helpers import run_postpilot
from tests.fakes.counting_publisher import read_journal
from tests.integration.runner.campaigns import context, make_campaign

pytestmark = pytest.mark.slow


def run_env_overrides() -> dict[str, str]:
    """Fast leases and backoff, the test channel importable (as the runner tests use)."""
    return {"POSTPILOT_LEASE_SECONDS": "2", "POSTPILOT_BACKOFF_SECONDS": "0"}


#: Room for the run's spec file and a few pages of one worker log.
TMPFS_SIZE = "16k"
#: Far more than 16 KiB of worker log can record, so the disk fills mid-run on any machine.
JOBS = 300


@pytest.fixture
def full_logs(project_root: Path) -> Iterator[Path]:
    """The campaign folder, its logs folder a 16 KiB tmpfs (needs root to mount; unmounted
    after)."""
    accounts = [f"acct{i}" for i in range(8)]
    folder = make_campaign(project_root, "full", accounts, JOBS, daily_limit=40)
    logs = context(folder).logs_dir
    logs.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(logs)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(logs)], check=False)


def test_a_full_log_disk_stops_the_run_with_one_message_and_no_orphaned_claim(
    full_logs: Path, project_root: Path
) -> None:
    """The log pump hits ENOSPC: the run stops cleanly with exit 1 and one message naming the
    log file (no thread traceback), no claim is left behind and nothing is published twice."""
    run = run_postpilot(
        project_root, "--campaign", "full", "--run", "--json", "--workers", "1",
        "--max-passes", "1", **run_env_overrides(),
    )  # fmt: skip
    code, err, results = run.code, run.err, run.json()
    assert "Traceback" not in err, err[-3000:]
    assert err.count("Cannot write the worker log") == 1, err[-3000:]
    messages = [e for e in results["errors"] if "Cannot write the worker log" in e]
    assert code == 1, results
    assert len(messages) == 1, results["errors"]
    assert str(context(full_logs).logs_dir / "worker_0.log") in messages[0]
    assert "No space left on device" in messages[0]
    store = open_store(context(full_logs))
    try:
        jobs = store.list_jobs()
    finally:
        store.close()
    assert [j.job_id for j in jobs if j.status is JobStatus.CLAIMED] == []
    journal = read_journal(project_root / "journal.log")
    assert len(journal) == len(set(journal))
    assert {j.job_id for j in jobs if j.status is JobStatus.SUCCESS} == set(journal)
    assert len(journal) < JOBS, "the disk never filled: the test proved nothing"
