"""The start of a run settles the unconfirmed jobs earlier runs left: it asks the publisher
whether each publish happened (runner/orchestrator.py runs it before any pass)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from postpilot.config import PostingContext
from postpilot.errors import PostpilotError
from postpilot.jobs import IMPORTED_FROM, Job, JobStatus, local_day, utcnow
from postpilot.publishers.base import Publisher, ReconcileResult
from postpilot.runner.display import RunDisplay
from postpilot.runner.unconfirmed import release_if_settled
from postpilot.store.base import JobStore
from postpilot.video_paths import VideoPathError, locate

log = logging.getLogger("postpilot.runner")


def reconcile(
    ctx: PostingContext,
    store: JobStore,
    publisher: Publisher,
    display: RunDisplay,
    hold: Callable[[JobStore, str, datetime], None],
) -> dict[str, int]:
    """Reconcile every unconfirmed job; the tally of the publisher's answers. `hold(store,
    account, now)` keeps (or gives) a hold to an account still unsettled."""
    tally: Counter[str] = Counter()
    unconfirmed = store.list_jobs([JobStatus.UNCONFIRMED])
    try:
        _reconcile_jobs(ctx, store, publisher, unconfirmed, tally)
    finally:
        # Settled accounts get their daily slot back; the rest keep (or get) a hold.
        now = utcnow()
        for account in sorted({job.account for job in unconfirmed}):
            release_if_settled(store, account)
            hold(store, account, now)
    if tally:
        display.event(f"{ctx.describe()}: reconciled unconfirmed jobs: {dict(tally)}")
    return dict(tally)


def _reconcile_jobs(
    ctx: PostingContext,
    store: JobStore,
    publisher: Publisher,
    unconfirmed: list[Job],
    tally: Counter[str],
) -> None:
    for job in unconfirmed:
        if job.checkpoint.get(IMPORTED_FROM):
            # The prior system made this publish, not our publisher: --confirm settles it.
            tally["needs_confirm"] += 1
            continue
        try:
            located = locate(job, ctx.videos_dir)
        except VideoPathError:
            located = job  # the publisher probes its saved session, not the file
        try:
            answer = publisher.reconcile(located, job.checkpoint)
        except PostpilotError as exc:
            log.warning("%s: reconcile of %s failed: %s", ctx.describe(), job.job_id, exc)
            tally["unknown"] += 1
            continue
        now = utcnow()
        day = local_day(now, ctx.timezone)
        if answer.result is ReconcileResult.POSTED:
            store.resolve_unconfirmed(
                job.job_id,
                True,
                now,
                day=day,
                remote_id=answer.remote_id,
                remote_url=answer.url,
            )
        elif answer.result is ReconcileResult.NOT_POSTED:
            store.resolve_unconfirmed(job.job_id, False, now, day=day)
        tally[str(answer.result)] += 1
