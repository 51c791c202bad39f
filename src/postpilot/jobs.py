"""Jobs: what a job is, its statuses, the error taxonomy and the pure transition rules.

No I/O here. Every store implements its writes by calling these functions, so the in-memory,
SQLite and PostgreSQL stores cannot disagree about what a failure does to a job.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from postpilot import clock


class JobStatus(StrEnum):
    """Where a job is in its life (docs/architecture.md, "Job life")."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SUCCESS = "success"
    FAILED = "failed"
    RETRYING = "retrying"
    SKIPPED = "skipped"
    #: The publish may have happened; resolved only by reconcile or the operator.
    UNCONFIRMED = "unconfirmed"


#: Statuses no worker will ever move a job out of by itself.
TERMINAL_STATUSES = frozenset({JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.SKIPPED})

#: Every status, in the order reports show them.
ALL_STATUSES: tuple[JobStatus, ...] = tuple(JobStatus)


class ErrorCategory(StrEnum):
    """Coarse error classes; the first four are the prior system's (existing data uses them)."""

    ACCOUNT = "account"
    CONTENT = "content"
    INFRASTRUCTURE = "infrastructure"
    UNKNOWN = "unknown"
    #: A platform quota or rate window: wait for the reset, keep the attempts budget.
    RATE_LIMIT = "rate_limit"
    #: A final refusal that is not about the video or the account (an API project without
    #: access, a forbidden action, a request the platform will never accept).
    PERMANENT = "permanent"


#: Failures of these categories are final: retrying the same request cannot fix them.
NON_RETRYABLE_CATEGORIES = frozenset(
    {ErrorCategory.ACCOUNT, ErrorCategory.CONTENT, ErrorCategory.PERMANENT}
)

#: The prior system's non-retryable error types; rows with an empty category use this list.
NON_RETRYABLE_ERROR_TYPES = frozenset(
    {
        "terminated",
        "suspended",
        "disabled",
        "verification",
        "logged_out",
        "action_blocked",
        "banned",
        "corrupted_video",
        "needs_reauth",
        "duplicate_content",
    }
)

DEFAULT_MAX_ATTEMPTS = 3

#: Checkpoint key of an unconfirmed job imported from the prior system (its value says
#: where from). No publisher of postpilot made that publish, so none can reconcile it: only
#: the operator can (--confirm).
IMPORTED_FROM = "imported_from"


def utcnow() -> datetime:
    """The current time (the clock seam, `postpilot.clock`); pure code takes `now` instead."""
    return clock.now()


def local_day(now: datetime, timezone: str) -> str:
    """The calendar day (YYYY-MM-DD) of `now` in `timezone`: the key of daily counters."""
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


def next_local_midnight(now: datetime, timezone: str) -> datetime:
    """When the current local day ends in `timezone`, as an aware UTC datetime."""
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tz)
    return midnight.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Job:
    """One video with its caption for one account: the unit the workers publish.

    The first seventeen fields are the prior progress CSV's columns; the rest are what
    at-most-once publishing needs (lease, publish phase, remote handle, content hash).
    """

    job_id: str
    account: str
    video_path: str
    caption: str
    status: JobStatus = JobStatus.PENDING
    worker_id: str = ""
    claimed_at: datetime | None = None
    completed_at: datetime | None = None
    error: str = ""
    attempts: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_at: datetime | None = None
    error_type: str = ""
    error_category: str = ""
    pass_number: int | None = None
    run_id: str = ""
    video_id: str = ""
    # -- postpilot additions --
    campaign: str = ""
    #: Seeding order; claims take the lowest first.
    seq: int = 0
    lease_token: str = ""
    lease_expires_at: datetime | None = None
    #: Set (under the lease) just before the publisher's first irreversible step.
    publish_started_at: datetime | None = None
    remote_id: str = ""
    remote_url: str = ""
    #: The publisher's resume handle (session URI, container id, publish_id ...).
    checkpoint: Mapping[str, str] = field(default_factory=dict)
    content_sha256: str = ""
    #: The job's posting slot; not claimable before it. None: due at once.
    scheduled_at: datetime | None = None

    def evolve(self, **changes: object) -> Job:
        """A copy with `changes` applied (the job itself is immutable)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a publish did not succeed, already classified."""

    category: ErrorCategory
    error_type: str
    message: str
    #: Earliest retry (a Retry-After header, a quota reset). None: use backoff.
    retry_at: datetime | None = None

    @property
    def consumes_attempt(self) -> bool:
        """Rate limits wait for their window without spending the attempts budget."""
        return self.category is not ErrorCategory.RATE_LIMIT


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter between attempts of one job."""

    base_seconds: float = 30.0
    cap_seconds: float = 30 * 60.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """Backoff after the `attempts`-th failure: uniform in [base/2, min(cap, base*2^(n-1))]."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        low = min(self.base_seconds / 2, ceiling)
        pick = (rng or random).uniform(low, ceiling)
        return timedelta(seconds=pick)


MAX_ERROR_LENGTH = 500


def apply_failure(
    job: Job,
    failure: Failure,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random | None = None,
) -> Job:
    """The job after `failure`: retrying with a retry time, or failed when final.

    Account, content and permanent errors are final at once; other errors retry until the attempts
    budget is spent; a rate limit waits for its window and keeps the budget.
    """
    attempts = job.attempts + (1 if failure.consumes_attempt else 0)
    final = failure.category in NON_RETRYABLE_CATEGORIES or (
        failure.consumes_attempt and attempts >= job.max_attempts
    )
    if final:
        status, retry_at = JobStatus.FAILED, None
    else:
        status = JobStatus.RETRYING
        retry_at = failure.retry_at or now + policy.delay(attempts, rng)
    return job.evolve(
        status=status,
        attempts=attempts,
        retry_at=retry_at,
        completed_at=now,
        error=failure.message[:MAX_ERROR_LENGTH],
        error_type=failure.error_type,
        error_category=str(failure.category),
        **_released(),
    )


def apply_success(job: Job, now: datetime, remote_id: str, remote_url: str) -> Job:
    """The job after a confirmed publish."""
    return job.evolve(
        status=JobStatus.SUCCESS,
        completed_at=now,
        error="",
        error_type="",
        error_category="",
        retry_at=None,
        remote_id=remote_id,
        remote_url=remote_url,
        video_id=remote_id,
        **_released(),
    )


def apply_release(job: Job) -> Job:
    """Back to the queue: the lease ended before any publish step started."""
    status = JobStatus.RETRYING if job.retry_at is not None else JobStatus.PENDING
    return job.evolve(status=status, claimed_at=None, publish_started_at=None, **_released())


def apply_unconfirmed(job: Job, now: datetime, reason: str) -> Job:
    """The lease ended after the publish started: the post may exist; nobody may retry it."""
    return job.evolve(
        status=JobStatus.UNCONFIRMED,
        completed_at=now,
        error=reason[:MAX_ERROR_LENGTH],
        error_type="unconfirmed",
        error_category=str(ErrorCategory.INFRASTRUCTURE),
        **_released(),
    )


#: The reason of a job whose lease expired after its publish started.
EXPIRED_AFTER_START = "lease expired after the publish started"


def apply_expiry(job: Job, now: datetime) -> Job:
    """What a claim whose lease expired becomes (the holder is presumed dead).

    After the publish started the job becomes unconfirmed but keeps its lease token: the
    holder may only be stalled (a paused VM, a swap storm), and its late answer is the truth
    about the post, so complete() or fail() with that token still settles the job.
    """
    if job.publish_started_at is None:
        return apply_release(job)
    return apply_unconfirmed(job, now, EXPIRED_AFTER_START).evolve(lease_token=job.lease_token)


def may_be_in_flight(job: Job) -> bool:
    """Whether a started publish of this job may still be running somewhere: claimed with its
    publish started, whatever its lease says (the holder may be stalled, not dead), or made
    unconfirmed by lease expiry (it kept its token: the holder may still answer). Such a job
    holds its account in every campaign, so no second publish overlaps it (I2), until its
    holder, reconcile or --confirm settles it. (Any unconfirmed job also counts toward its
    account's daily limit at claim time, I3.)"""
    if job.status is JobStatus.CLAIMED:
        return job.publish_started_at is not None
    return job.status is JobStatus.UNCONFIRMED and bool(job.lease_token)


def _released() -> dict[str, object]:
    return {"lease_token": "", "lease_expires_at": None}


def is_rearmable(job: Job, include_non_retryable: bool) -> bool:
    """Whether --retry-all-failed may put this failed job back in the queue."""
    if job.status is not JobStatus.FAILED:
        return False
    if include_non_retryable:
        return True
    if job.error_category in {str(c) for c in NON_RETRYABLE_CATEGORIES}:
        return False
    return job.error_type not in NON_RETRYABLE_ERROR_TYPES


def apply_rearm(job: Job, pass_number: int | None = None) -> Job:
    """A failed job put back for another attempts budget (the prior system's T8)."""
    return job.evolve(
        status=JobStatus.RETRYING,
        attempts=0,
        retry_at=None,
        worker_id="",
        completed_at=None,
        pass_number=pass_number if pass_number is not None else job.pass_number,
    )


def is_due(job: Job, now: datetime) -> bool:
    """Whether the job's posting slot has come (a job without a slot is always due)."""
    return job.scheduled_at is None or job.scheduled_at <= now


def due_at(job: Job) -> datetime | None:
    """When a waiting job becomes claimable by its own state: the later of its slot and its
    retry time (None: it already is, or it is not waiting)."""
    if job.status not in (JobStatus.PENDING, JobStatus.RETRYING):
        return None
    times = [t for t in (job.scheduled_at, job.retry_at) if t is not None]
    if job.status is JobStatus.PENDING:
        times = [job.scheduled_at] if job.scheduled_at is not None else []
    return max(times) if times else None


def is_claimable(job: Job, now: datetime) -> bool:
    """Whether the job's own state lets a worker take it now (account checks are separate)."""
    if not job.account:
        return False
    if not is_due(job, now):
        return False
    if job.status is JobStatus.PENDING:
        return True
    return job.status is JobStatus.RETRYING and (job.retry_at is None or job.retry_at <= now)


# -- Fallback classification of free-text errors -------------------------------------------
# Typed publisher errors carry their category; this is only for messages without one.
# Infrastructure patterns are tried before the generic account ones so that "connection
# timed out, try again later" is not a permanent account failure (prior bug §2.4).
_PATTERNS: tuple[tuple[ErrorCategory, str, tuple[str, ...]], ...] = (
    (
        ErrorCategory.RATE_LIMIT,
        "rate_limited",
        ("rate limit", "quota exceeded", "too many requests"),
    ),
    (
        ErrorCategory.INFRASTRUCTURE,
        "adb_timeout",
        (
            "adb timeout",
            "adb connection",
            "connection timed out",
            "device offline",
            "device not found",
            "adb server",
            "never appeared",
            "device did not appear",
        ),
    ),
    (
        ErrorCategory.INFRASTRUCTURE,
        "connection_dropped",
        (
            "connection dropped",
            "socket hang up",
            "connection reset",
            "broken pipe",
            "connection refused",
            "network error",
        ),
    ),
    (ErrorCategory.INFRASTRUCTURE, "timeout", ("timed out", "timeout")),
    (
        ErrorCategory.ACCOUNT,
        "terminated",
        (
            "we disabled your account",
            "permanently disabled",
            "no longer have access to",
            "permanently deleted",
        ),
    ),
    (ErrorCategory.ACCOUNT, "suspended", ("suspended",)),
    (ErrorCategory.ACCOUNT, "banned", ("banned", "violating our terms")),
    (ErrorCategory.ACCOUNT, "disabled", ("account disabled", "account has been disabled")),
    (
        ErrorCategory.ACCOUNT,
        "verification",
        (
            "verify your identity",
            "verification required",
            "security check",
            "confirm it's you",
            "verify your account",
            "confirm your identity",
        ),
    ),
    (ErrorCategory.ACCOUNT, "logged_out", ("logged out", "session expired", "login required")),
    (ErrorCategory.ACCOUNT, "action_blocked", ("action blocked", "temporarily blocked")),
    (
        ErrorCategory.CONTENT,
        "corrupted_video",
        (
            "video corrupted",
            "moov atom",
            "invalid data",
            "no duration",
            "zero duration",
            "file not found",
        ),
    ),
)


def classify_error(message: str) -> tuple[ErrorCategory, str]:
    """Category and type of a free-text error; unknown errors stay retryable."""
    lowered = message.lower()
    for category, error_type, needles in _PATTERNS:
        if any(needle in lowered for needle in needles):
            return category, error_type
    return ErrorCategory.UNKNOWN, ""
