"""What the dashboard shows, as JSON-ready dicts: built on ops/status.py status_data (so the page,
the API and `--status --json` report the same numbers) plus the store's dashboard queries.

Nothing here returns a token, a checkpoint (resumable upload handles can act as credentials)
or a credential: jobs are reduced to the fields an operator reads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from postpilot.config import PostingContext
from postpilot.jobs import Job, utcnow
from postpilot.ops.common import progress_exists
from postpilot.store import JobStore, open_store
from postpilot.store.dashboard import JobPage, JobQuery, SupportsDashboard, page_of
from postpilot.web.cache import Campaigns

log = logging.getLogger("postpilot.web")

#: Days of the schedule projection on the campaign page.
PLAN_DAYS = 7


@contextmanager
def opened(ctx: PostingContext) -> Iterator[JobStore | None]:
    """The campaign's store, or None when it has no progress store yet (never created here)."""
    if not progress_exists(ctx):
        yield None
        return
    store = open_store(ctx)
    try:
        yield store
    finally:
        store.close()


# -- overview ---------------------------------------------------------------------------------
def next_midnight(now: datetime, timezone: str) -> datetime:
    """The start of the next local day in `timezone`."""
    local = now.astimezone(ZoneInfo(timezone))
    start = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(now.tzinfo)


Slots = Mapping[str, list[tuple[str, int]]]


def slots_of(
    campaigns: Campaigns, ctx: PostingContext, status: Mapping[str, Any]
) -> dict[str, list[tuple[str, int]]]:
    """Per account, its waiting jobs per UTC slot hour ("" = unscheduled, due at once)."""
    by_account: dict[str, list[tuple[str, int]]] = {}
    with campaigns.store(ctx) as store:
        if isinstance(store, SupportsDashboard):
            for account, hour, n in store.waiting_by_hour():
                by_account.setdefault(account, []).append((hour, n))
            return by_account
    for account, per in status["per_account"].items():
        waiting = per.get("pending", 0) + per.get("retrying", 0)
        if waiting:
            by_account[account] = [("", waiting)]
    return by_account


def _hour(hour: str) -> datetime:
    return datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC)


def next_slot(status: Mapping[str, Any], now: datetime, slots: Slots) -> dict[str, Any]:
    """When the campaign can publish next and why not sooner: now, a job's scheduled slot, a
    rate window's end, the next local day (daily limits), or never (nothing waiting,
    re-authorization needed, paused)."""
    if status.get("paused"):
        return {"at": None, "reason": "paused"}
    daily = status["daily"]
    limit = int(daily["limit"])
    blocks = {b["account"]: b for b in status["blocked"]}
    candidates: list[tuple[datetime, str]] = []
    for account, hours in slots.items():
        if not hours:
            continue
        block = blocks.get(account)
        if block is not None:
            if block["until"]:
                candidates.append((datetime.fromisoformat(block["until"]), "rate window ends"))
            continue
        full = daily["per_account"].get(account, 0) >= limit
        room_at = next_midnight(now, daily["timezone"]) if full else now
        job_at = max(now, min(_hour(h) if h else now for h, _n in hours))
        if job_at > room_at:
            candidates.append((job_at, "next scheduled slot"))
        elif full:
            candidates.append((room_at, "daily limit reached"))
        else:
            candidates.append((now, "an account has room and a job is due"))
    if not candidates:
        reason = "accounts need attention" if any(slots.values()) else "nothing waiting"
        return {"at": None, "reason": reason}
    at, reason = min(candidates, key=lambda c: c[0])
    return {"at": at.isoformat(), "reason": reason}


def summary(status: Mapping[str, Any], now: datetime, slots: Slots) -> dict[str, Any]:
    """One overview row, every number taken from the status."""
    counts = status["counts"]
    return {
        "name": status["campaign"],
        "exists": status["exists"],
        "accounts": status["accounts"],
        "counts": counts,
        "success_rate": status["success_rate"],
        "today": {
            "day": status["daily"]["day"],
            "posted": status["daily"]["total"],
            "limit_per_account": status["daily"]["limit"],
            "capacity": status["daily"]["limit"] * status["accounts"],
        },
        "unconfirmed": counts.get("unconfirmed", 0),
        "blocked": status["blocked"],
        "running": bool(status["running"]) or bool(status["hosts"]),
        "served": status.get("service") is not None,
        "paused": status.get("paused"),
        "next_slot": next_slot(status, now, slots),
        "problems": status["problems"],
    }


def overview(campaigns: Campaigns) -> dict[str, Any]:
    """Every campaign of the project, plus the folders that are not valid campaigns."""
    now = utcnow()
    valid, invalid = campaigns.scan()
    rows = []
    for campaign in valid:
        ctx = campaigns.context_of(campaign)
        version = campaigns.version(ctx)
        status = campaigns.status(ctx, version=version)
        slots = campaigns.view("slots", ctx, partial(slots_of, campaigns, ctx, status), version)
        rows.append({**summary(status, now, slots), "enabled": campaign.enabled})
    return {
        "project_root": str(campaigns.root),
        "generated_at": now.isoformat(),
        "campaigns": rows,
        "invalid": [{"folder": folder, "error": error} for folder, error in invalid],
    }


# -- campaign page ------------------------------------------------------------------------------
def job_view(job: Job) -> dict[str, Any]:
    """The fields of a job an operator reads (no lease token, no checkpoint)."""
    return {
        "job_id": job.job_id,
        "account": job.account,
        "video": Path(job.video_path).name,
        "caption": job.caption[:200],
        "status": str(job.status),
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "error": job.error,
        "error_type": job.error_type,
        "error_category": job.error_category,
        "claimed_at": job.claimed_at.isoformat() if job.claimed_at else None,
        "completed_at": job.completed_at.isoformat() if job.completed_at else None,
        "retry_at": job.retry_at.isoformat() if job.retry_at else None,
        "scheduled_at": job.scheduled_at.isoformat() if job.scheduled_at else None,
        "remote_url": job.remote_url,
    }


def jobs_page(campaigns: Campaigns, ctx: PostingContext, query: JobQuery) -> dict[str, Any]:
    """One page of the jobs table (a search reads every job: kept until the campaign
    changes)."""
    page: dict[str, Any] = campaigns.page(ctx, query, lambda: _jobs_page(campaigns, ctx, query))
    return page


def _jobs_page(campaigns: Campaigns, ctx: PostingContext, query: JobQuery) -> dict[str, Any]:
    with campaigns.store(ctx) as store:
        if store is None:
            page = JobPage(0, [])
        elif isinstance(store, SupportsDashboard):
            page = store.job_page(query)
        else:
            page = page_of(store.list_jobs(), query)
    return {
        "total": page.total,
        "offset": query.offset,
        "limit": query.limit,
        "jobs": [job_view(job) for job in page.jobs],
    }


def plan(status: Mapping[str, Any], slots: Slots, days: int = PLAN_DAYS) -> list[dict[str, Any]]:
    """The next days: the jobs whose slot falls on each local day, and a projection of the
    posts, each account posting up to its daily limit from the jobs due by then (today only
    what today's count leaves; accounts needing re-authorization post nothing). Rate windows
    and retry times are not modelled, so posts are an upper bound."""
    daily = status["daily"]
    limit = int(daily["limit"])
    zone = ZoneInfo(daily["timezone"])
    reauth = {b["account"] for b in status["blocked"] if not b["until"]}
    first = datetime.fromisoformat(daily["day"]).date()
    scheduled = [0] * days
    posts: list[dict[str, int]] = [{} for _ in range(days)]
    for account, hours in slots.items():
        due = [0] * days
        for hour, n in hours:
            offset = max(0, (_hour(hour).astimezone(zone).date() - first).days) if hour else 0
            if offset < days:
                due[offset] += n
                if hour:
                    scheduled[offset] += n
        if account in reauth:
            continue
        backlog = 0
        for offset in range(days):
            backlog += due[offset]
            room = limit - daily["per_account"].get(account, 0) if offset == 0 else limit
            take = max(0, min(backlog, room))
            if take:
                posts[offset][account] = take
                backlog -= take
    return [
        {
            "day": (first + timedelta(days=offset)).isoformat(),
            "scheduled": scheduled[offset],
            "posts": sum(posts[offset].values()),
            "per_account": posts[offset],
        }
        for offset in range(days)
    ]


def last_errors(campaigns: Campaigns, ctx: PostingContext) -> dict[str, Job]:
    """Per account, its latest job with an error."""
    with campaigns.store(ctx) as store:
        return store.last_errors() if isinstance(store, SupportsDashboard) else {}


def health(status: Mapping[str, Any], errors: Mapping[str, Job]) -> list[dict[str, Any]]:
    """Per account: today's posts vs the limit, its block and reason, its last error."""
    blocks = {b["account"]: b for b in status["blocked"]}
    rows = []
    for account, per_status in status["per_account"].items():
        last = errors.get(account)
        rows.append(
            {
                "account": account,
                "today": status["daily"]["per_account"].get(account, 0),
                "limit": status["daily"]["limit"],
                "jobs": per_status,
                "block": blocks.get(account),
                "last_error": None
                if last is None
                else {
                    "job_id": last.job_id,
                    "error": last.error,
                    "error_type": last.error_type,
                    "at": (last.completed_at or last.claimed_at or utcnow()).isoformat(),
                },
            }
        )
    return rows


def archives(ctx: PostingContext) -> list[dict[str, Any]]:
    """The campaign's --reset-day archives, newest first."""
    folder = ctx.archive_dir
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    files.sort(key=lambda p: p.name, reverse=True)
    return [{"name": p.name, "bytes": p.stat().st_size} for p in files]


def actions_log(campaigns: Campaigns, ctx: PostingContext, limit: int = 20) -> list[dict[str, Any]]:
    """The latest dashboard actions on the campaign, with who and when."""
    with campaigns.store(ctx) as store:
        if not isinstance(store, SupportsDashboard):
            return []
        recent = store.recent_actions(limit)
    return [
        {"action": a.action, "target": a.target, "actor": a.actor, "at": a.at.isoformat()}
        for a in recent
    ]


def outcomes(campaigns: Campaigns, ctx: PostingContext) -> list[dict[str, Any]]:
    """Posts per day and account, success vs failure, over the campaign's life."""
    with campaigns.store(ctx) as store:
        if not isinstance(store, SupportsDashboard):
            return []
        rows = store.outcomes_per_day()
    return [{"day": d, "account": a, "outcome": o, "count": n} for d, a, o, n in rows]


def campaign_detail(campaigns: Campaigns, ctx: PostingContext) -> dict[str, Any]:
    """Everything the campaign page shows besides the jobs table and the chart."""
    version = campaigns.version(ctx)
    status = campaigns.status(ctx, version=version)
    errors = campaigns.view("errors", ctx, lambda: last_errors(campaigns, ctx), version)
    slots = campaigns.view("slots", ctx, lambda: slots_of(campaigns, ctx, status), version)
    now = utcnow()
    return {
        **summary(status, now, slots),
        "enabled": ctx.campaign_config.enabled if ctx.campaign_config else True,
        "timezone": status["daily"]["timezone"],
        "per_error_type": status["per_error_type"],
        "health": health(status, errors),
        "plan": plan(status, slots),
        "archives": archives(ctx),
        "actions": campaigns.view("actions", ctx, lambda: actions_log(campaigns, ctx), version),
        "publisher": (status.get("campaign_info") or {}).get("publisher", ""),
    }
