"""Pure rules every job store applies the same way: the duplicate skip, the "not posted"
answer, the claim order, lease tokens and status counts.

No store state and no I/O here; postpilot.store.memory (the reference), postpilot.store.sqlite
and postpilot.store.postgres import these rather than one another.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from postpilot.jobs import ALL_STATUSES, ErrorCategory, Job, JobStatus, due_at

#: error_type of a job skipped because its content was already posted to its account (I4).
DUPLICATE_CONTENT = "duplicate_content"

_EARLIEST = datetime.min.replace(tzinfo=UTC)


def apply_duplicate(job: Job, now: datetime) -> Job:
    """The job skipped at claim time because its content is already posted to its account."""
    return job.evolve(
        status=JobStatus.SKIPPED,
        completed_at=now,
        error=f"content already posted to account {job.account}",
        error_type=DUPLICATE_CONTENT,
        error_category=str(ErrorCategory.CONTENT),
        lease_token="",
        lease_expires_at=None,
    )


def apply_not_posted(job: Job) -> Job:
    """An unconfirmed job found not posted: back to pending, checkpoint kept for resuming."""
    return job.evolve(
        status=JobStatus.PENDING,
        claimed_at=None,
        completed_at=None,
        publish_started_at=None,
        retry_at=None,
        lease_token="",
        lease_expires_at=None,
    )


def claim_order(job: Job) -> tuple[datetime, int]:
    """The order claims take waiting jobs in: by due time (postpilot.jobs.due_at; a job with
    none, due at once, first), then seq; ties in insert order (sorted() is stable). A store
    can then keep each account's first waiting job as an index entry that stays valid as time
    passes, so a claim reads one entry per account instead of every due job."""
    return (due_at(job) or _EARLIEST, job.seq)


def new_token() -> str:
    """A fresh, unguessable lease token."""
    import uuid  # here: uuid imports platform; --status, which never claims, starts without them

    return uuid.uuid4().hex


def next_seqs(jobs: Iterable[Job], existing: set[str], top: int) -> list[tuple[Job, int]]:
    """The jobs of an insert_jobs call that are new (job_id not in `existing`, which grows),
    each with its seq: its own when set, else one past the highest so far (`top` to start)."""
    new: list[tuple[Job, int]] = []
    for job in jobs:
        if job.job_id in existing:
            continue
        existing.add(job.job_id)
        seq = job.seq if job.seq > 0 else top + 1
        top = max(top, seq)
        new.append((job, seq))
    return new


def status_counts(statuses: Iterable[str]) -> dict[str, int]:
    """counts() of a store from its jobs' statuses: total plus every status, zeros included."""
    counts = {"total": 0, **{str(s): 0 for s in ALL_STATUSES}}
    for status in statuses:
        counts["total"] += 1
        counts[str(status)] += 1
    return counts
