"""One "host" of the distributed tests: a process that claims, "publishes" and completes jobs
of one campaign in a PostgreSQL store shared with other hosts (run with `python -m`).

    python -m tests.integration.distributed.host DSN CAMPAIGN HOST PUBLISHED LEASE LIMIT PAUSE

Publishing appends one JSON line (job, campaign, account, host, day, start, end) to the shared
file PUBLISHED under an exclusive flock, between start_publish and complete, so the file is
the ground truth of what was published: a job published twice shows up twice. `start` and
`end` (time.time) bracket the publish inside the claim, for the I2 interval check. PAUSE is
the publish's duration in seconds, LEASE the lease in seconds, LIMIT the daily limit.

The host stops when a claim finds nothing and no account of the campaign has a live lease
(nothing can change any more: every expired claim was recovered by that claim). It prints
one JSON line with what it did.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from postpilot.jobs import local_day, utcnow
from postpilot.store.base import ClaimRequest
from postpilot.store.postgres import PostgresJobStore


def publish(path: Path, record: dict[str, object]) -> None:
    """Append one line to the shared published file under an exclusive lock."""
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def main(argv: list[str]) -> int:
    """Run the host until nothing is left to do; see the module docstring."""
    dsn, campaign, host, published, lease_s, limit, pause = argv
    lease = timedelta(seconds=float(lease_s))
    store = PostgresJobStore(dsn, campaign)
    worker = f"{host}-{os.getpid()}"
    store.register_worker(host, os.getpid(), worker, utcnow())
    accounts = sorted({job.account for job in store.list_jobs()})
    done = lost = 0
    while True:
        now = utcnow()
        day = local_day(now, "UTC")
        job = store.claim(ClaimRequest(worker, now, lease, int(limit), day, run_id=host))
        if job is None:
            states = store.account_states(accounts).values()
            now = utcnow()
            if all(s.leased_by is None or (s.lease_expires_at or now) <= now for s in states):
                break
            time.sleep(0.02)
            continue
        if not store.start_publish(job.job_id, job.lease_token, utcnow()):
            lost += 1
            continue
        start = time.time()
        time.sleep(float(pause))
        end = time.time()
        record = {
            "job": job.job_id,
            "campaign": campaign,
            "account": job.account,
            "host": host,
            "day": day,
            "start": start,
            "end": end,
        }
        publish(Path(published), record)
        if store.complete(job.job_id, job.lease_token, utcnow(), day=day, remote_id=host):
            done += 1
        else:
            lost += 1
    store.unregister_worker(host, worker)
    store.close()
    print(json.dumps({"host": host, "completed": done, "lost": lost}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
