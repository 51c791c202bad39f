"""Pausing worker processes as a VM pause does (SIGSTOP), at a moment none of them is inside
an SQLite write transaction.

A worker's heartbeat thread writes the campaign file and the project ledger a few times a
lease, so a SIGSTOP sent at any instant sometimes lands inside one of those transactions. The
paused process then holds the file's write lock, and every other campaign sharing the ledger
waits out its busy timeout: a different fault from the stalled publish the callers test (they
saw campaign two's checks wait until the pause ended). So the pause is retried until it lands
between transactions: stop, wait until the kernel reports the processes stopped, try each
database's write lock briefly, and on a lock still held resume them for a moment and retry.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

#: How long a probe waits for a lock: a running holder commits within it, a stopped one never.
_PROBE_SECONDS = 0.05


def pause_between_transactions(pids: Sequence[int], project: Path, seconds: float = 30) -> None:
    """SIGSTOP `pids` with none of them holding the write lock of an SQLite file under
    `project` (none for a PostgreSQL store); gives up after `seconds`, leaving them stopped."""
    databases = sorted(project.rglob("*.db"))
    deadline = time.monotonic() + seconds
    while True:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        _until_stopped(pids, deadline)
        if not any(_write_locked(db) for db in databases) or time.monotonic() > deadline:
            return
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.005)


def _until_stopped(pids: Sequence[int], deadline: float) -> None:
    """Return once every pid is in the stopped state (or gone)."""
    while time.monotonic() < deadline:
        if all(_state(pid) in ("T", "t", None) for pid in pids):
            return
        time.sleep(0.001)


def _state(pid: int) -> str | None:
    """The process state letter from /proc, None once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    return stat[stat.rindex(")") + 2]


def _write_locked(database: Path) -> bool:
    """Whether another connection holds `database`'s write lock past a short wait."""
    try:
        conn = sqlite3.connect(
            f"file:{database}?mode=rw", uri=True, timeout=_PROBE_SECONDS, isolation_level=None
        )
    except sqlite3.OperationalError:
        return False  # removed meanwhile, or no database: nothing to hold
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()
