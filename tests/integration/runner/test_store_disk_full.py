"""The SQLite store's disk fills up mid-run: the campaign folder (which holds progress.db) is a
small tmpfs, a real filesystem returning ENOSPC, and the test fills it while workers publish."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from postpilot.jobs import JobStatus
from postpilot.store import open_store
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

pytestmark = pytest.mark.slow

JOBS = 120
ACCOUNTS = [f"acct{i}" for i in range(12)]
#: Room for the campaign's inputs and its store (its WAL grows to 4 MiB between checkpoints).
TMPFS_SIZE = "16m"


@pytest.fixture
def campaign_on_tmpfs(project_root: Path) -> Iterator[Path]:
    """The campaign folder is a 16 MiB tmpfs (needs root to mount; unmounted after)."""
    folder = project_root / "campaigns" / "full"
    folder.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path) -> Path:
    """Write a file until the disk is full; the file (delete it to free the space)."""
    filler = folder / "filler.bin"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 4096)
    return filler


def test_a_full_store_disk_stops_the_run_cleanly_and_the_next_run_gives_back_its_claims(
    campaign_on_tmpfs: Path, project_root: Path
) -> None:
    """The store's disk fills mid-run: exit 1 with one message naming the store's path, no
    traceback, nothing published twice; once space is freed the next run gives back the
    claims left behind at once (their 600 s lease is not waited out) and finishes."""
    folder = campaign_on_tmpfs
    # A limit of exactly each account's 20 jobs: a post counted twice (the ledger's commit
    # landed, the full campaign file's did not) would leave an account's last job for tomorrow.
    make_campaign(
        project_root, "full", ACCOUNTS, JOBS, daily_limit=20,
        publisher={"prepare_seconds": 0.5},
    )  # fmt: skip
    database = Path(context(folder).progress_file)
    env = {"POSTPILOT_LEASE_SECONDS": "600", "POSTPILOT_SHUTDOWN_TIMEOUT": "5"}
    proc = start_run(project_root, "full", "--workers", "4", **env)
    wait_for(lambda: len(published(project_root)) >= 6, "the first publishes")
    filler = _fill(folder)
    stopped = finish(proc)
    assert "Traceback" not in stopped.err, stopped.err[-3000:]
    assert stopped.code == 1, stopped.err[-3000:]
    results = stopped.results()
    assert results["error"] == "store_full", results
    assert str(database) in results["message"]
    assert stopped.err.count("The disk holding job store") == 1, stopped.err[-3000:]
    journal = published(project_root)
    assert len(journal) == len(set(journal)), "a job was published twice"
    assert len(journal) < JOBS, "the disk never filled: the test proved nothing"

    filler.unlink()
    store = open_store(context(folder))
    try:
        left = [j.job_id for j in store.list_jobs([JobStatus.CLAIMED])]
    finally:
        store.close()
    runs: list[Finished] = []
    since = time.time()
    while len(runs) < 3 and len(published(project_root)) < JOBS:
        runs.append(finish(start_run(project_root, "full", "--workers", "4", **env)))
        assert "Traceback" not in runs[-1].err, runs[-1].err[-3000:]
    assert sum(settled_left_claims(runs[0].err)) == len(left), runs[0].err[-3000:]
    assert runs[-1].code == 0, runs[-1].err[-3000:]
    journal = published(project_root)
    assert len(journal) == len(set(journal)), "a job was published twice"
    assert len(journal) == JOBS
    report(
        "sqlite store disk full",
        claims_left=len(left),
        settled=settled_left_claims(runs[0].err),
        next_run_first_publish_s=first_publish_after(project_root, since),
        lease_s=600,
        duplicates=0,
    )
