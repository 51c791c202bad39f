"""The in-memory store's side of the dashboard (postpilot.store.dashboard.SupportsDashboard).

A mixin of postpilot.store.memory.MemoryJobStore, kept apart so the reference store's module
stays about the claim cycle; filtering, paging and counting happen in Python over its jobs.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime

from postpilot.jobs import Job, JobStatus
from postpilot.store.dashboard import JobPage, JobQuery, OperatorAction, hours_of, page_of


class MemoryDashboardMixin:
    """SupportsDashboard over MemoryJobStore's jobs."""

    _lock: threading.RLock
    _jobs: dict[str, Job]
    _actions: dict[str, OperatorAction]
    _paused: dict[str, str] | None

    def _sorted(self) -> list[Job]:
        # sorted() is stable and dicts keep insertion order: ties in seq go in insert order.
        return sorted(self._jobs.values(), key=lambda j: j.seq)

    # -- the dashboard (postpilot.store.dashboard) ---------------------------------------------
    def job_page(self, query: JobQuery) -> JobPage:
        """Filter and page in Python."""
        with self._lock:
            return page_of(self._sorted(), query)

    def outcomes_per_day(self) -> list[tuple[str, str, str, int]]:
        """Successes and failures per (UTC completion day, account) of the held jobs."""
        counted: dict[tuple[str, str, str], int] = {}
        with self._lock:
            for job in self._jobs.values():
                kind = {JobStatus.SUCCESS: "success", JobStatus.FAILED: "failed"}.get(job.status)
                if kind and job.completed_at is not None:
                    key = (job.completed_at.date().isoformat(), job.account, kind)
                    counted[key] = counted.get(key, 0) + 1
        return sorted((d, a, k, n) for (d, a, k), n in counted.items())

    def waiting_by_hour(self) -> list[tuple[str, str, int]]:
        """Waiting jobs per account and slot hour."""
        with self._lock:
            return hours_of(list(self._jobs.values()))

    def last_errors(self) -> dict[str, Job]:
        """Per account, its latest job with an error."""
        latest: dict[str, Job] = {}
        with self._lock:
            for job in self._sorted():
                if not job.error:
                    continue
                when = job.completed_at or job.claimed_at
                held = latest.get(job.account)
                held_when = held.completed_at or held.claimed_at if held else None
                if held is None or (when and (held_when is None or when >= held_when)):
                    latest[job.account] = job
        return latest

    def record_action(self, action: OperatorAction) -> OperatorAction:
        """Keep the first action per key."""
        with self._lock:
            return self._actions.setdefault(action.key, action)

    def find_action(self, key: str) -> OperatorAction | None:
        """The action kept under `key`."""
        with self._lock:
            return self._actions.get(key)

    def recent_actions(self, limit: int) -> list[OperatorAction]:
        """Latest first."""
        with self._lock:
            ordered = sorted(self._actions.values(), key=lambda a: (a.at, a.key), reverse=True)
        return ordered[:limit]

    def pause_state(self) -> Mapping[str, str] | None:
        """The pause record, or None."""
        with self._lock:
            return None if self._paused is None else dict(self._paused)

    def set_paused(self, paused: bool, actor: str, at: datetime) -> None:
        """Pause or resume."""
        with self._lock:
            self._paused = {"by": actor, "at": at.isoformat()} if paused else None
