"""Claims an ended run could not give back, given back by the next run at once.

A run that stops because its store failed (unreachable past POSTPILOT_STORE_OUTAGE_SECONDS, a
full disk) cannot release the claims its workers held: they would block their jobs until their
lease expires (POSTPILOT_LEASE_SECONDS, 60 by default). So every run notes its id in
`<runtime_dir>/runs-with-claims.json` when it starts and drops it once none of its claims is
left; the next run of the campaign on this project holds the run lock (runner/locks.py), so
every run listed there is over, and it gives back their claims whose publish had not started.

Giving such a claim back is safe even if a worker of the old run still lives: its next write
(start_publish) is a compare-and-set on the lease token and fails, so nothing is sent. A claim
whose publish started is settled as the orchestrator settles a dead worker's: unconfirmed, then
reconcile asks the channel (never sent again, docs/never-twice.md), but only once no worker
process of its run is left on this host; while one lives, its lease decides.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from postpilot.config import PostingContext
from postpilot.jobs import JobStatus, utcnow
from postpilot.store.base import JobStore

FILE_NAME = "runs-with-claims.json"


def _path(ctx: PostingContext) -> Path:
    return ctx.runtime_dir / FILE_NAME


def _read(ctx: PostingContext) -> list[str]:
    try:
        data = json.loads(_path(ctx).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(r) for r in data] if isinstance(data, list) else []


def _write(ctx: PostingContext, runs: list[str]) -> None:
    """Best effort: a full disk only costs the next run a lease wait, as before."""
    path = _path(ctx)
    with contextlib.suppress(OSError):
        if not runs:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(runs), encoding="utf-8")
        os.replace(tmp, path)


def note_run(ctx: PostingContext, run_id: str) -> None:
    """The run may take claims from now on."""
    runs = _read(ctx)
    if run_id not in runs:
        _write(ctx, [*runs, run_id])


def give_back(
    ctx: PostingContext, store: JobStore, run_id: str, hold: Callable[[str, datetime], None]
) -> tuple[list[str], list[str], list[str]]:
    """Settle the claims of the ended runs listed (never `run_id`'s): (released job ids, job
    ids now unconfirmed, job ids the store found already posted). The last are claims whose
    success the store recorded only in part, as a full disk between the SQLite store's two
    commits leaves them (store/sqlite.py): they become successes, counted once.
    `hold(account, now)` holds an account for an unconfirmed job. Call it holding the
    campaign's run lock."""
    ended = {r for r in _read(ctx) if r != run_id}
    if not ended:
        return [], [], []
    released: list[str] = []
    unconfirmed: list[str] = []
    posted: list[str] = []
    still = set()
    alive: dict[str, bool] = {}
    for job in store.list_jobs([JobStatus.CLAIMED]):
        if job.run_id not in ended:
            continue
        if job.publish_started_at is None:
            if store.release(job.job_id, job.lease_token):
                released.append(job.job_id)
            continue
        if job.run_id not in alive:
            alive[job.run_id] = _workers_alive(ctx, job.run_id)
        now = utcnow()
        reason = f"run {job.run_id} ended while publishing (its store failed)"
        if alive[job.run_id]:
            still.add(job.run_id)  # a worker of it lives: its lease decides
            continue
        if store.mark_unconfirmed(job.job_id, job.lease_token, now, reason):
            hold(job.account, now)
            unconfirmed.append(job.job_id)
            continue
        settled = store.get(job.job_id)
        if settled is not None and settled.status is JobStatus.SUCCESS:
            posted.append(job.job_id)
        else:
            still.add(job.run_id)
    _write(ctx, [r for r in _read(ctx) if r not in ended or r in still])
    return released, unconfirmed, posted


def _workers_alive(ctx: PostingContext, run_id: str) -> bool:
    """Whether a worker process of the run lives on this host: its command line names the
    run's spec file (runner/supervisor.py). Without /proc: assume it does."""
    spec = str(ctx.logs_dir / f"run_{run_id}.spec.json").encode()
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                if spec in (entry / "cmdline").read_bytes():
                    return True
            except OSError:
                continue  # gone meanwhile, or not ours to read
    return False


def forget_run(ctx: PostingContext, store: JobStore, run_id: str) -> None:
    """The run is over: drop its note when the store holds no claim of it."""
    if not any(j.run_id == run_id for j in store.list_jobs([JobStatus.CLAIMED])):
        _write(ctx, [r for r in _read(ctx) if r != run_id])
