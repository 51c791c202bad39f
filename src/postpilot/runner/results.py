"""What a campaign run reports: the typed `RunResult` of a run that did its passes, and the
smaller results of a run that could not (a conflicting run, no jobs, a store that stopped it).

`to_json()` gives the dict the CLI prints and the service logs (runner/orchestrator.py,
runner/service.py): its keys, their order and the exit code are the run's public output.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from postpilot.jobs import TERMINAL_STATUSES, Job, JobStatus
from postpilot.runner.outage import Outage
from postpilot.store.base import JobStore
from postpilot.store.dashboard import is_paused


@dataclass(frozen=True, slots=True)
class Blocked:
    """A job that cannot move in this run, and why."""

    job_id: str
    account: str
    reason: str
    until: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "job_id": self.job_id,
            "account": self.account,
            "reason": self.reason,
            "until": self.until.isoformat() if self.until else None,
        }


@dataclass(frozen=True, slots=True)
class PassSummary:
    """One pass: what it moved, what it left waiting, how long it took."""

    pass_number: int
    succeeded: int
    failed: int
    retrying: int
    unconfirmed: int
    duration_seconds: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "pass_number": self.pass_number,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "retrying": self.retrying,
            "unconfirmed": self.unconfirmed,
            "duration_seconds": self.duration_seconds,
        }


@dataclass(frozen=True, slots=True)
class RunResult:
    """The results of a run that got to its passes (or found nothing due today)."""

    campaign: str | None
    context: str
    run_id: str
    role: str
    #: store.counts(): "total" and every job status.
    counts: dict[str, int]
    seeded: int
    rearmed: int
    recovered_released: int
    recovered_unconfirmed: int
    reconciled: dict[str, int]
    max_passes: int
    retry_delay_seconds: float
    passes: list[PassSummary]
    failed_by_category: dict[str, int]
    failed_by_type: dict[str, int]
    blocked: list[Blocked]
    unconfirmed_jobs: list[dict[str, Any]]
    retrying_jobs: list[dict[str, Any]]
    complete: bool
    schedule: dict[str, Any] | None
    interrupted: bool
    paused: bool
    errors: list[str]
    exit_code: int
    store_outages: dict[str, Any]
    #: "workers_failed", or the store fault's kind ("store_unavailable", ...).
    error: str | None = None
    #: Set with a store fault: its message.
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The results dict, keys in the order the CLI prints them."""
        results: dict[str, Any] = {
            "campaign": self.campaign,
            "context": self.context,
            "run_id": self.run_id,
            "role": self.role,
            **self.counts,
            "seeded": self.seeded,
            "rearmed": self.rearmed,
            "recovered": {
                "released": self.recovered_released,
                "unconfirmed": self.recovered_unconfirmed,
            },
            "reconciled": self.reconciled,
            "retry_summary": {
                "total_passes": len(self.passes),
                "config": {
                    "max_passes": self.max_passes,
                    "retry_delay_seconds": self.retry_delay_seconds,
                },
                "passes": [p.to_json() for p in self.passes],
            },
            "failure_breakdown": {
                "by_category": dict(self.failed_by_category),
                "by_type": dict(self.failed_by_type),
            },
            "blocked": [b.to_json() for b in self.blocked],
            "unconfirmed_jobs": self.unconfirmed_jobs,
            "retrying_jobs": self.retrying_jobs,
            "complete": self.complete,
            "schedule": self.schedule,
            "interrupted": self.interrupted,
            "paused": self.paused,
            "errors": list(self.errors),
            "exit_code": self.exit_code,
            "store_outages": self.store_outages,
        }
        if self.error is not None:
            results["error"] = self.error
        if self.message is not None:
            results["message"] = self.message
        return results


def exit_code(signum: int | None, errors: list[str]) -> int:
    """128 + the signal of an interrupted run (130 SIGINT, 143 SIGTERM), 1 when it failed."""
    if signum is not None:
        return 128 + int(signum or signal.SIGTERM)
    return 1 if errors else 0


def outages_json(outage: Outage) -> dict[str, Any]:
    """The store outages the run rode out (or gave up on)."""
    return {
        "count": outage.outages,
        "longest_seconds": round(outage.longest, 3),
        "gave_up": outage.gave_up is not None,
    }


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the orchestrator knows of its run when it reports (the store gives the rest)."""

    campaign: str | None
    context: str
    run_id: str
    role: str
    seeded: int
    rearmed: int
    recovery_counts: tuple[int, int]
    reconciled: dict[str, int]
    max_passes: int
    retry_delay_seconds: float
    passes: list[PassSummary]
    signum: int | None
    errors: list[str]
    store_outages: dict[str, Any]
    #: A store fault line ("<kind> <message>", runner/outage.py) that stopped the run.
    store_fault: str | None


#: The statuses of the jobs the results list or break down.
_REPORTED = (JobStatus.FAILED, JobStatus.RETRYING, JobStatus.UNCONFIRMED)


def collect(
    store: JobStore,
    facts: RunFacts,
    *,
    blocked: Callable[[], list[Blocked]],
    schedule: Callable[[], dict[str, Any]],
) -> RunResult:
    """Read the store for the run's results: counts, failures, blocked, unconfirmed and
    retrying jobs, the schedule (`blocked` and `schedule` read the store when called)."""
    counts = store.counts()
    # Only the jobs the results name (the successes of a big day need not be read).
    jobs = store.list_jobs(_REPORTED)
    by_category = Counter(
        j.error_category or "unknown" for j in jobs if j.status is JobStatus.FAILED
    )
    by_type = Counter(
        j.error_type or "unknown"
        for j in jobs
        if j.status in (JobStatus.FAILED, JobStatus.RETRYING, JobStatus.UNCONFIRMED)
    )
    held = blocked()
    error: str | None = "workers_failed" if facts.errors else None
    message: str | None = None
    if facts.store_fault is not None:
        error, _, message = facts.store_fault.partition(" ")
    return RunResult(
        campaign=facts.campaign,
        context=facts.context,
        run_id=facts.run_id,
        role=facts.role,
        counts=counts,
        seeded=facts.seeded,
        rearmed=facts.rearmed,
        recovered_released=facts.recovery_counts[0],
        recovered_unconfirmed=facts.recovery_counts[1],
        reconciled=facts.reconciled,
        max_passes=facts.max_passes,
        retry_delay_seconds=facts.retry_delay_seconds,
        passes=list(facts.passes),
        failed_by_category=dict(by_category),
        failed_by_type=dict(by_type),
        blocked=held,
        unconfirmed_jobs=[_unconfirmed(j) for j in jobs if j.status is JobStatus.UNCONFIRMED],
        retrying_jobs=[_retrying(j) for j in jobs if j.status is JobStatus.RETRYING],
        complete=not any(counts.get(s, 0) for s in JobStatus if s not in TERMINAL_STATUSES),
        schedule=schedule() or None,
        interrupted=facts.signum is not None,
        paused=is_paused(store),
        errors=list(facts.errors),
        exit_code=exit_code(facts.signum, facts.errors),
        store_outages=facts.store_outages,
        error=error,
        message=message,
    )


def _unconfirmed(job: Job) -> dict[str, Any]:
    return {"job_id": job.job_id, "account": job.account, "reason": job.error}


def _retrying(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "account": job.account,
        "retry_at": job.retry_at.isoformat() if job.retry_at else None,
        "error": job.error,
    }


def no_jobs(campaign: str | None, message: str, role: str | None = None) -> dict[str, Any]:
    """A run with nothing to run: nothing could be seeded, or (a worker pool, `role` given)
    the orchestrator host has not seeded the day."""
    result: dict[str, Any] = {"error": "no_jobs", "exit_code": 1, "campaign": campaign}
    if role is not None:
        result["role"] = role
    result["message"] = message
    return result


def store_failed(
    campaign: str | None, context: str, run_id: str, role: str, fault: str, outages: dict[str, Any]
) -> dict[str, Any]:
    """The result of a run whose store stopped it (no counts: the store cannot give them);
    `fault` is a fault line, "<kind> <message>"."""
    kind, _, message = fault.partition(" ")
    return {
        "error": kind,
        "exit_code": 1,
        "campaign": campaign,
        "context": context,
        "run_id": run_id,
        "role": role,
        "message": message,
        "errors": [message],
        "store_outages": outages,
    }


def conflict(campaign: str | None, message: str) -> dict[str, Any]:
    """Another run holds the campaign's lock: `message` names it."""
    return {
        "error": "orchestrator_conflict",
        "conflicts": [message.splitlines()[0]],
        "message": message,
        "campaign": campaign,
        "exit_code": 1,
    }
