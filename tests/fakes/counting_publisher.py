"""A test channel that records every publish it completes, to prove no job is published twice.

Used as `{"type": "custom", "class": "tests.fakes.counting_publisher:CountingPublisher",
"journal": "<file>", ...}`. Unlike the outbox it is deliberately NOT idempotent: calling publish
twice for one job writes two journal lines, so a double publish by the run engine shows up.
Knobs (all optional): prepare_seconds (time between the claim and start_publish, as an
upload before the irreversible step), latency_seconds (time between start_publish and the
journal write: the window in which a kill leaves the outcome unknown), hang_jobs (job ids
whose publish never returns), fail_jobs ({job_id: "transient"|"content"|"unknown"}),
lose_answer_jobs (job ids whose publish is journaled, then fails like a lost network answer),
crash_worker_at_start, wait_for_entries (publish only once the journal holds that many entries
written by other processes: makes "another host published too" a certainty rather than a race).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postpilot.jobs import Job
from postpilot.publishers.base import Account, Checkpoint, Published, Reconciled, ReconcileResult
from postpilot.publishers.errors import ContentError, NetworkError, TransientError


def read_journal(path: Path) -> list[str]:
    """Job ids in the order their publish completed (one per completed publish)."""
    return [entry.job_id for entry in read_entries(path)]


@dataclass(frozen=True)
class Entry:
    """One completed publish: which job, which account, and when it ran."""

    job_id: str
    account: str
    pid: int
    started: float
    finished: float


def read_entries(path: Path) -> list[Entry]:
    """Every completed publish in the journal."""
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        job_id, account, pid, started, finished = line.split("\t")
        entries.append(Entry(job_id, account, int(pid), float(started), float(finished)))
    return entries


class CountingPublisher:
    """See the module docstring."""

    name = "counting"

    def __init__(self, block: Mapping[str, Any]) -> None:
        self.journal = Path(str(block["journal"]))
        self.latency = float(block.get("latency_seconds", 0.0))
        self.prepare = float(block.get("prepare_seconds", 0.0))
        self.hang_jobs = set(block.get("hang_jobs", []))
        self.fail_jobs: dict[str, str] = dict(block.get("fail_jobs", {}))
        self.lose_answer_jobs = set(block.get("lose_answer_jobs", []))
        self.wait_for_entries = int(block.get("wait_for_entries", 0))

    @classmethod
    def from_config(cls, block: Mapping[str, Any], project_root: Path) -> CountingPublisher:
        """Build from the campaign's publisher block."""
        if block.get("crash_worker_at_start") and os.environ.get("POSTPILOT_WORKER_ID"):
            os._exit(1)
        return cls(block)

    def publish(self, job: Job, account: Account, checkpoint: Checkpoint) -> Published:
        """Record the publish in the journal after `latency` seconds."""
        kind = self.fail_jobs.get(job.job_id)
        if kind == "transient":
            raise TransientError("HTTP 503 from the test channel")
        if kind == "content":
            raise ContentError("the test channel refuses this video")
        if kind == "unknown":
            raise RuntimeError("unexpected test channel failure")
        if self.prepare:
            time.sleep(self.prepare)
        checkpoint.start_publish()
        started = time.time()
        if job.job_id in self.hang_jobs:
            while True:
                time.sleep(3600)
        if self.latency:
            time.sleep(self.latency)
        self._wait_for_other_publishers()
        with self.journal.open("a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            line = f"{job.job_id}\t{account.name}\t{os.getpid()}\t{started:.6f}\t{time.time():.6f}"
            handle.write(line + "\n")
            # Flushed to the kernel, not to the disk: a kill -9 cannot lose a write that
            # returned, and no test cuts the power (an fsync per publish, under the lock,
            # made the fake itself the bottleneck of a 64-slot benchmark).
            handle.flush()
        if job.job_id in self.lose_answer_jobs:
            raise NetworkError("the test channel's answer was lost", maybe_delivered=True)
        return Published(remote_id=f"remote-{job.job_id}")

    def _wait_for_other_publishers(self) -> None:
        deadline = time.monotonic() + 120
        while self.wait_for_entries and time.monotonic() < deadline:
            others = [e for e in read_entries(self.journal) if e.pid != os.getpid()]
            if len(others) >= self.wait_for_entries:
                return
            time.sleep(0.05)

    def reconcile(self, job: Job, checkpoint: Mapping[str, str]) -> Reconciled:
        """Posted exactly when the journal has the job."""
        if job.job_id in read_journal(self.journal):
            return Reconciled(ReconcileResult.POSTED, remote_id=f"remote-{job.job_id}")
        return Reconciled(ReconcileResult.NOT_POSTED)

    def close(self) -> None:
        """Nothing to release."""
