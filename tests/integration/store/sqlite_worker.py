"""A worker process for the multi-process SQLite tests (run with `python -m`).

    python -m tests.integration.store.sqlite_worker MODE PROGRESS LEDGER CAMPAIGN BARRIER N

MODE is `claim` (claim until nothing is claimable, never complete), `cycle` (claim and
complete until nothing is left) or `forever` (claim/start/complete or fail in a loop on real
time, for kill -9 tests). Every result is one JSON line on stdout, flushed at once. BARRIER is
a folder: each worker drops a file there and waits until N workers have, so they really race.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

from postpilot.jobs import ErrorCategory, Failure, RetryPolicy, local_day, utcnow
from postpilot.store.base import ClaimRequest
from postpilot.store.sqlite import SqliteJobStore

LEASE = timedelta(hours=1)


def _wait_for_peers(barrier: Path, peers: int) -> None:
    barrier.mkdir(parents=True, exist_ok=True)
    (barrier / f"{time.time_ns()}-{id(barrier)}").touch()
    deadline = time.monotonic() + 30
    while len(list(barrier.iterdir())) < peers and time.monotonic() < deadline:
        time.sleep(0.001)


def _emit(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    """Run one worker; see the module docstring."""
    mode, progress, ledger, campaign, barrier, peers = argv
    store = SqliteJobStore(Path(progress), Path(ledger), campaign)
    _wait_for_peers(Path(barrier), int(peers))
    n = 0
    while True:
        now = utcnow()
        request = ClaimRequest(
            worker_id=f"pid{id(store)}",
            now=now,
            lease=LEASE,
            daily_limit=10**9,
            day=local_day(now, "UTC"),
        )
        job = store.claim(request)
        if job is None:
            if mode == "forever":
                time.sleep(0.001)
                continue
            break
        n += 1
        if mode == "claim":
            _emit(job_id=job.job_id, account=job.account)
            continue
        if mode == "forever" and n % 5 == 0:
            failure = Failure(ErrorCategory.INFRASTRUCTURE, "t", "flaky", retry_at=now)
            store.fail(job.job_id, job.lease_token, now, failure, RetryPolicy())
        else:
            if mode == "forever" and n % 2 == 0:
                store.start_publish(job.job_id, job.lease_token, now)
            ok = store.complete(job.job_id, job.lease_token, now, day=request.day)
            _emit(job_id=job.job_id, completed=ok)
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
