"""What the dashboard asks of a store beyond the job contract: a page of jobs filtered in the
store (fast at 100k jobs), the campaign's posts per day, the operator's action log with its
idempotency keys, and the campaign's pause switch.

Optional like SupportsStatusBreakdown: every store of postpilot implements it, and
`is_paused` treats a store without it as never paused, so a run never depends on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from postpilot.jobs import Job, JobStatus

#: Largest page of jobs one request may ask for.
MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class JobQuery:
    """One page of jobs: optional filters, then `limit` rows from `offset` in seeding order."""

    status: JobStatus | None = None
    account: str | None = None
    #: Case-insensitive substring of the job id, video path or caption.
    search: str = ""
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class JobPage:
    """The rows of a page and how many jobs match the filters in all."""

    total: int
    jobs: Sequence[Job]


@dataclass(frozen=True, slots=True)
class OperatorAction:
    """One action taken from the dashboard, kept with who took it and when."""

    key: str
    action: str
    target: str
    actor: str
    at: datetime
    result: Mapping[str, Any]


@runtime_checkable
class SupportsDashboard(Protocol):
    """The store side of the dashboard."""

    def job_page(self, query: JobQuery) -> JobPage:
        """Jobs matching the query's filters, paged in seq order."""
        ...

    def outcomes_per_day(self) -> list[tuple[str, str, str, int]]:
        """(UTC day, account, "success" | "failed", count) for this campaign: the held jobs
        by completion day, plus the ledger's posts from before the held jobs (the days that
        --reset-day archived; stores without such a ledger record only count held jobs)."""
        ...

    def waiting_by_hour(self) -> list[tuple[str, str, int]]:
        """(account, UTC hour of the slot "YYYY-MM-DDTHH" or "" when unscheduled, count) of
        the waiting (pending or retrying) jobs: the plan of the next days."""
        ...

    def last_errors(self) -> dict[str, Job]:
        """Per account, its latest job that recorded an error (the platform's raw message and
        hint are in the job's error text)."""
        ...

    def record_action(self, action: OperatorAction) -> OperatorAction:
        """Keep the action under its key; when the key is taken, keep nothing and return the
        action recorded first (the idempotent replay)."""
        ...

    def find_action(self, key: str) -> OperatorAction | None:
        """The action recorded under `key`, or None."""
        ...

    def recent_actions(self, limit: int) -> list[OperatorAction]:
        """The latest actions first."""
        ...

    def pause_state(self) -> Mapping[str, str] | None:
        """{"by": actor, "at": iso time} while the campaign is paused, else None."""
        ...

    def set_paused(self, paused: bool, actor: str, at: datetime) -> None:
        """Pause (claims nothing) or resume the campaign."""
        ...


@runtime_checkable
class SupportsDataVersion(Protocol):
    """A cheap change detector: the dashboard reuses what it computed from a store as long as
    the store's data_version() is unchanged on the same open store."""

    def data_version(self) -> tuple[int | str, ...]:
        """A value that changes whenever another connection committed a change to the store
        (it may also change without one: a needless recomputation, never a stale answer)."""
        ...


def is_paused(store: object) -> bool:
    """Whether the campaign of `store` is paused (a store without the switch never is)."""
    return isinstance(store, SupportsDashboard) and store.pause_state() is not None


def matches(job: Job, query: JobQuery) -> bool:
    """The filter of a JobQuery, for stores that filter in Python (the memory store)."""
    if query.status is not None and job.status is not query.status:
        return False
    if query.account is not None and job.account != query.account:
        return False
    if query.search:
        needle = query.search.lower()
        return any(needle in text.lower() for text in (job.job_id, job.video_path, job.caption))
    return True


def page_of(jobs: Iterable[Job], query: JobQuery) -> JobPage:
    """Filter and page jobs already in seq order."""
    found = [job for job in jobs if matches(job, query)]
    return JobPage(len(found), found[query.offset : query.offset + query.limit])


def hours_of(jobs: Iterable[Job]) -> list[tuple[str, str, int]]:
    """waiting_by_hour for stores that count in Python (the memory store)."""
    counted: dict[tuple[str, str], int] = {}
    for job in jobs:
        if job.status in (JobStatus.PENDING, JobStatus.RETRYING):
            at = job.scheduled_at
            hour = at.astimezone(UTC).strftime("%Y-%m-%dT%H") if at is not None else ""
            counted[(job.account, hour)] = counted.get((job.account, hour), 0) + 1
    return sorted((a, h, n) for (a, h), n in counted.items())


def like_pattern(search: str) -> str:
    """A LIKE pattern matching `search` literally as a substring (escape character '\\')."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
