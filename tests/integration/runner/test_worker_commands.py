"""The commands a worker process reads on its stdin: `look` only wakes its idle slots (the
orchestrator sends it when another process drains), any other line starts a pass, and the end
of stdin ends the process with its exit code and every line of its output delivered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from postpilot.config import PostingContext
from postpilot.jobs import JobStatus
from postpilot.runner.worker_spec import EXIT_DRAINED, IDLE_LINE, LOOK_COMMAND
from postpilot.store import open_store
from tests.fakes.counting_publisher import read_entries
from tests.integration.runner.campaigns import run_env, seeded_spec

pytestmark = pytest.mark.slow


def _prestarted_worker(root: Path) -> tuple[subprocess.Popen[str], PostingContext]:
    """A campaign of 3 seeded jobs and its worker process, waiting for its first pass."""
    spec, ctx = seeded_spec(root, "cmds", ["a1", "a2", "a3"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "postpilot.runner.worker", str(spec), "0,1", "--wait"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run_env(),
    )
    return proc, ctx


def _statuses(ctx: PostingContext) -> list[JobStatus]:
    store = open_store(ctx)
    try:
        return [job.status for job in store.list_jobs()]
    finally:
        store.close()


def test_look_never_starts_a_pass(project_root: Path) -> None:
    """`look` lines before the end of stdin: no pass runs, nothing is published or claimed."""
    proc, ctx = _prestarted_worker(project_root)
    out, err = proc.communicate(f"{LOOK_COMMAND}\n" * 3, timeout=60)
    assert proc.returncode == EXIT_DRAINED, err
    assert IDLE_LINE not in out
    assert read_entries(project_root / "journal.log") == []
    assert _statuses(ctx) == [JobStatus.PENDING] * 3


def test_a_pass_after_look_publishes_and_the_exit_delivers_its_output(
    project_root: Path,
) -> None:
    """`look` then a pass command: the pass publishes every job once, says so with its idle
    line, and the process exits drained with its slots' log lines all delivered."""
    proc, ctx = _prestarted_worker(project_root)
    out, err = proc.communicate(f"{LOOK_COMMAND}\nnext\n", timeout=60)
    assert proc.returncode == EXIT_DRAINED, err
    assert out.count(IDLE_LINE) == 1
    published = sorted(e.job_id for e in read_entries(project_root / "journal.log"))
    assert published == sorted({*published})
    assert len(published) == 3
    assert _statuses(ctx) == [JobStatus.SUCCESS] * 3
    assert err.count(": success ") == 3, err
