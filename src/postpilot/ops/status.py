"""`--status`: everything the status shows, as one JSON-ready dict (never tokens), and who
holds the campaign right now. Rendering is status_report.py's (text) and output.py's (JSON)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from postpilot import output
from postpilot.config import ParallelConfig, PostingContext
from postpilot.errors import PostpilotError
from postpilot.jobs import JobStatus, local_day, utcnow
from postpilot.ops.common import base, open_ctx, progress_exists, zero_counts
from postpilot.store.base import WorkerRegistry
from postpilot.store.dashboard import SupportsDashboard

if TYPE_CHECKING:
    from postpilot.store.base import JobStore


@runtime_checkable
class SupportsStatusBreakdown(Protocol):
    """An optional store aggregate: (account, status, error_type, count) rows.

    Stores that offer it let --status stay fast on very large campaigns; others are read job
    by job."""

    def status_breakdown(self) -> list[tuple[str, str, str, int]]:
        """Counts grouped by account, status and error type."""
        ...


def _breakdown(store: JobStore) -> Iterable[tuple[str, str, str, int]]:
    if isinstance(store, SupportsStatusBreakdown):
        return store.status_breakdown()
    grouped: Counter[tuple[str, str, str]] = Counter(
        (job.account, str(job.status), job.error_type) for job in store.list_jobs()
    )
    return [(a, s, e, n) for (a, s, e), n in grouped.items()]


def status_data(ctx: PostingContext, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything --status shows, as one JSON-ready dict (never tokens)."""
    moment = now or utcnow()
    problems: list[str] = []
    try:
        accounts = ctx.get_accounts()
    except (PostpilotError, OSError) as exc:
        accounts = []
        problems.append(str(exc).splitlines()[0])
    data: dict[str, Any] = {
        **base(ctx),
        "progress_file": ctx.progress_file,
        "store": "postgresql" if ctx.store_dsn else "sqlite",
        "exists": progress_exists(ctx),
        "accounts": len(accounts),
        "counts": zero_counts(),
        "success_rate": None,
        "per_account": {},
        "per_error_type": {},
        "blocked": [],
        "busy": [],
        "daily": {
            "day": local_day(moment, ctx.timezone),
            "timezone": ctx.timezone,
            "limit": ctx.max_posts_per_account_per_day,
            "total": 0,
            "per_account": {},
        },
        "running": _running(ctx),
        "service": _service(ctx),
        "hosts": [],
        "campaign_info": _campaign_info(ctx),
        "paused": None,
        "problems": problems,
    }
    if not data["exists"]:
        _schedule_status(ctx, data, None, moment)
        return data
    # Read-only: --status works on a read-only project and changes no file.
    with open_ctx(ctx, read_only=True) as store:
        _schedule_status(ctx, data, store, moment)
        counts = store.counts()
        data["counts"] = {**zero_counts(), **counts}
        data["success_rate"] = output.success_rate(counts)
        per_account: dict[str, dict[str, int]] = {a: {} for a in accounts}
        per_type: Counter[str] = Counter()
        for account, status, error_type, n in _breakdown(store):
            bucket = per_account.setdefault(account or "(unassigned)", {})
            bucket[status] = bucket.get(status, 0) + n
            if status in (JobStatus.FAILED, JobStatus.RETRYING, JobStatus.UNCONFIRMED):
                per_type[error_type or "unknown"] += n
        data["per_account"] = {a: dict(sorted(b.items())) for a, b in sorted(per_account.items())}
        data["per_error_type"] = dict(sorted(per_type.items(), key=lambda kv: (-kv[1], kv[0])))
        day = data["daily"]["day"]
        daily = {a: store.daily_count(a, day) for a in accounts}
        data["daily"]["per_account"] = daily
        data["daily"]["total"] = sum(daily.values())
        if isinstance(store, SupportsDashboard):
            pause = store.pause_state()
            data["paused"] = dict(pause) if pause is not None else None
        if isinstance(store, WorkerRegistry):
            # Worker pools of every host sharing the store, live within two leases.
            stale = timedelta(seconds=2 * ParallelConfig.from_env().lease_seconds)
            data["hosts"] = store.list_workers(stale, moment)
        for account, state in sorted(store.account_states(accounts).items()):
            active = state.block and (state.blocked_until is None or state.blocked_until > moment)
            if active:
                data["blocked"].append(
                    {
                        "account": account,
                        "block": state.block,
                        "reason": state.block_reason,
                        "until": state.blocked_until.isoformat() if state.blocked_until else None,
                    }
                )
            expires = state.lease_expires_at
            if state.leased_by is not None and (expires is None or expires > moment):
                data["busy"].append(
                    {
                        "account": account,
                        "campaign": state.leased_by[0],
                        "job_id": state.leased_by[1],
                        "lease_expires_at": expires.isoformat() if expires else None,
                    }
                )
    return data


def _schedule_status(
    ctx: PostingContext, data: dict[str, Any], store: JobStore | None, now: datetime
) -> None:
    """Campaigns: `schedule` (times, each account's next slot and video) and `remaining`."""
    from postpilot.rollover import account_next, first_waiting, schedule_summary

    campaign = ctx.campaign_config
    if campaign is None:
        return
    if store is None:  # nothing seeded yet: the plan of an empty store
        from postpilot.store.memory import MemoryJobStore

        store = MemoryJobStore(ctx.store_name)
    source = store
    try:
        first = first_waiting(source, now)  # read once: both parts below need it
        summary = schedule_summary(ctx, source, now, first)
        data["schedule"] = {
            "distribution": campaign.distribution,
            **(campaign.schedule.to_json() if campaign.schedule else {"times": None}),
            "accounts": account_next(ctx, source, now, first),
        }
        data["remaining"] = {
            key: summary[key] for key in ("remaining", "total", "next_slot", "message")
        }
    except (PostpilotError, OSError) as exc:
        data["problems"].append(str(exc).splitlines()[0])


def holders_data(ctx: PostingContext) -> dict[str, Any]:
    """status_data's `running` and `service`: who holds the campaign right now (the dashboard
    looks them up on every request while it reuses the rest of a status)."""
    return {"running": _running(ctx), "service": _service(ctx)}


def _running(ctx: PostingContext) -> list[dict[str, Any]]:
    from postpilot.runner.locks import check_for_running_orchestrators

    try:
        holders = check_for_running_orchestrators(ctx)
    except OSError:
        return []
    return [{**h.to_json(), "describe": h.describe()} for h in holders]


def _service(ctx: PostingContext) -> dict[str, Any] | None:
    """The project's `--serve` service, when it serves this context."""
    from postpilot.runner.locks import service_status

    try:
        return service_status(Path(ctx.project_root), ctx.campaign_name)
    except OSError:
        return None


def _campaign_info(ctx: PostingContext) -> dict[str, Any] | None:
    campaign = ctx.campaign_config
    if campaign is None:
        return None
    return {
        "name": ctx.campaign_name,
        "base_dir": str(campaign.base_dir),
        "videos_dir": ctx.videos_dir,
        "captions_file": ctx.captions_file,
        "accounts_file": ctx.accounts_file,
        "daily_limit": ctx.max_posts_per_account_per_day,
        "timezone": ctx.timezone,
        "max_attempts": ctx.max_attempts,
        "publisher": str(ctx.publisher.get("type", "outbox")),
    }
