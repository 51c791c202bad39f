"""The commands a worker process reads on its stdin: `look` only wakes its idle slots (the
orchestrator sends it when another process drains), any other line starts a pass, and the end
of stdin ends the process with its exit code and every line of its output delivered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from postpilot.jobs import JobStatus, utcnow
from postpilot.runner.worker_spec import EXIT_DRAINED, IDLE_LINE, LOOK_COMMAND, WorkerSpec
from postpilot.seeding import seed_store
from postpilot.store import open_store
from tests.fakes.counting_publisher import read_entries
from tests.integration.runner.campaigns import context, make_campaign, run_env

pytestmark = pytest.mark.slow


def _prestarted_worker(root: Path) -> tuple[subprocess.Popen[str], Path]:
    """A campaign of 3 seeded jobs and its worker process, waiting for its first pass."""
    folder = make_campaign(root, "cmds", ["a1", "a2", "a3"], 3)
    ctx = context(folder)
    store = open_store(ctx)
    try:
        assert seed_store(ctx, store, utcnow()).created == 3
    finally:
        store.close()
    spec = root / "run.spec.json"
    WorkerSpec(
        run_id="r", settings=WorkerSpec.settings_of(ctx.settings), store_dsn=None,
        accounts=["a1", "a2", "a3"], lease_seconds=30.0, job_timeout_seconds=600.0,
        idle_poll_seconds=0.05, backoff_base_seconds=0.0, backoff_cap_seconds=0.0,
        extra_sys_path=[p for p in sys.path if p],
    ).write(spec)  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "postpilot.runner.worker", str(spec), "0,1", "--wait"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run_env(),
    )
    return proc, folder


def _statuses(folder: Path) -> list[JobStatus]:
    store = open_store(context(folder))
    try:
        return [job.status for job in store.list_jobs()]
    finally:
        store.close()


def test_look_never_starts_a_pass(project_root: Path) -> None:
    """`look` lines before the end of stdin: no pass runs, nothing is published or claimed."""
    proc, folder = _prestarted_worker(project_root)
    out, err = proc.communicate(f"{LOOK_COMMAND}\n" * 3, timeout=60)
    assert proc.returncode == EXIT_DRAINED, err
    assert IDLE_LINE not in out
    assert read_entries(project_root / "journal.log") == []
    assert _statuses(folder) == [JobStatus.PENDING] * 3


def test_a_pass_after_look_publishes_and_the_exit_delivers_its_output(
    project_root: Path,
) -> None:
    """`look` then a pass command: the pass publishes every job once, says so with its idle
    line, and the process exits drained with its slots' log lines all delivered."""
    proc, folder = _prestarted_worker(project_root)
    out, err = proc.communicate(f"{LOOK_COMMAND}\nnext\n", timeout=60)
    assert proc.returncode == EXIT_DRAINED, err
    assert out.count(IDLE_LINE) == 1
    published = sorted(e.job_id for e in read_entries(project_root / "journal.log"))
    assert published == sorted({*published})
    assert len(published) == 3
    assert _statuses(folder) == [JobStatus.SUCCESS] * 3
    assert err.count(": success ") == 3, err
