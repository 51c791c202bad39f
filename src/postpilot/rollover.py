"""Days roll over by themselves: the first run of a new local day archives the previous day's
jobs (exactly as --reset-day does) so that seeding can plan the next videos; and the one-line
answer to "what remains and when does it go out" that --run and --status print.

A store's day is the local day of its jobs' slots (or, for jobs without a slot, of their last
activity). The store is rolled over only when every job belongs to an earlier day and none is
claimed or unconfirmed (those may still become posts; reconcile or --confirm settles them
first, and the run says so). Nothing is lost by archiving unpublished jobs: the plan of the new
day places every video the campaign has not yet published (the ledger remembers what it did).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postpilot.jobs import Job, JobStatus, local_day
from postpilot.schedule import describe_when

if TYPE_CHECKING:
    from postpilot.campaign import MatchReport
    from postpilot.config import PostingContext
    from postpilot.planning import PlanInputs
    from postpilot.store.base import JobStore


@dataclass(frozen=True, slots=True)
class Archived:
    """What archiving a day wrote."""

    day: str
    archived: int
    cleared: int
    csv_path: Path
    snapshot: Path | None


def store_day(jobs: list[Job], timezone: str) -> str | None:
    """The latest local day the store's jobs belong to; None when a job cannot tell (an
    unslotted job nobody touched yet) or the store is empty."""
    latest: str | None = None
    for job in jobs:
        moment = job.scheduled_at or job.completed_at or job.claimed_at
        if moment is None:
            return None
        day = local_day(moment, timezone)
        latest = day if latest is None or day > latest else latest
    return latest


def archive_and_clear(ctx: PostingContext, store: JobStore, day: str, target: Path) -> Archived:
    """Write `<target>/progress_<day>[_n].csv` plus a store snapshot, then clear the store.
    The caller holds the run lock and checked that no job is claimed or unconfirmed."""
    from postpilot.ops.reset import SupportsSnapshot, copy_sqlite
    from postpilot.store.csv_io import archive_csv_path, export_csv

    target.mkdir(parents=True, exist_ok=True)
    csv_path = archive_csv_path(target, day)
    archived = export_csv(store.list_jobs(), csv_path, videos_dir=ctx.videos_dir)
    snapshot: Path | None = None
    if isinstance(store, SupportsSnapshot):
        snapshot = csv_path.with_suffix(".db")
        store.snapshot(snapshot)
    elif ctx.store_dsn is None:
        # Nobody else writes while the run lock is held: the file plus its WAL is consistent.
        snapshot = csv_path.with_suffix(".db")
        copy_sqlite(Path(ctx.progress_file), snapshot)
    cleared = store.clear()
    return Archived(day, archived, cleared, csv_path, snapshot)


def roll_over(ctx: PostingContext, store: JobStore, now: datetime) -> Archived | str | None:
    """Archive the previous day when the store holds only earlier days' jobs. Returns what was
    archived, a sentence saying why an old day cannot be archived yet, or None (same day)."""
    if ctx.campaign_config is None:
        return None
    jobs = store.list_jobs()
    day = store_day(jobs, ctx.timezone)
    if day is None or day >= local_day(now, ctx.timezone):
        return None
    open_ = [j for j in jobs if j.status in (JobStatus.CLAIMED, JobStatus.UNCONFIRMED)]
    if open_:
        return (
            f"{len(open_)} jobs of {day} are claimed or unconfirmed (first: {open_[0].job_id}); "
            "the new day starts once they are settled (--confirm JOB_ID posted|not-posted)"
        )
    return archive_and_clear(ctx, store, day, ctx.archive_dir)


def schedule_summary(
    ctx: PostingContext,
    store: JobStore,
    now: datetime,
    first: dict[str, Job] | None = None,
    report: MatchReport | None = None,
) -> dict[str, Any]:
    """What remains and when it goes out: remaining/total videos (or account posts under
    every_account), the next slot in the store, and a sentence for humans. Reads no video;
    lists the videos folder unless given its `report` (the one the day was seeded from)."""
    from postpilot.planning import ONCE, PlanVideo, remaining_count

    campaign = ctx.campaign_config
    if campaign is None:
        return {}
    matched = (report or campaign.match_videos()).matched
    videos = [
        PlanVideo(m.filename, m.video_path, m.caption, "", m.line, m.publish_at, m.account)
        for m in matched
    ]
    accounts = ctx.get_accounts()
    posted_ids = {job_id for job_id, _, _ in store.posted_content()}
    remaining = remaining_count(ctx.store_name, campaign.distribution, videos, accounts, posted_ids)
    total = (
        len(videos)
        if campaign.distribution == ONCE
        else sum(1 for v in videos for a in accounts if not v.account or v.account == a)
    )
    if first is None:
        first = first_waiting(store, now)
    due_times = [j.scheduled_at or now for j in first.values()]
    next_slot = min(due_times) if due_times else None
    if next_slot is None and remaining:
        next_slot = _first_slot_after_today(ctx, len(accounts), now)
    unit = "videos" if campaign.distribution == ONCE else "posts"
    if remaining == 0:
        message = f"All {total} {unit} of {ctx.describe()} are published"
    elif next_slot is not None:
        when = describe_when(next_slot, now, ctx.timezone)
        message = f"{remaining} of {total} {unit} remain; next slot {when}"
    else:
        message = f"{remaining} of {total} {unit} remain; no posting day is left in the schedule"
    return {
        "distribution": campaign.distribution,
        "schedule": campaign.schedule.to_json() if campaign.schedule else None,
        "timezone": ctx.timezone,
        "remaining": remaining,
        "total": total,
        "next_slot": next_slot.isoformat() if next_slot else None,
        "message": message,
    }


def first_waiting(store: JobStore, now: datetime) -> dict[str, Job]:
    """Each account's first waiting job (pending or retrying) by due time, then seq order.
    A store that finds them itself (a SQL window over its jobs) is asked; otherwise every
    waiting job is read, which at 100k jobs took --status from a fraction of a second to 4 s."""
    from postpilot.store.base import SupportsWaitingHeads

    if isinstance(store, SupportsWaitingHeads):
        return {job.account: job for job in store.waiting_heads(now)}
    return first_of_each_account(store.list_jobs([JobStatus.PENDING, JobStatus.RETRYING]), now)


def first_of_each_account(waiting: Iterable[Job], now: datetime) -> dict[str, Job]:
    """Of jobs in seq order, each account's first by due time (scheduled_at, else now)."""
    first: dict[str, Job] = {}
    for job in waiting:
        due = job.scheduled_at or now
        held = first.get(job.account)
        if held is None or due < (held.scheduled_at or now):
            first[job.account] = job
    return first


def _first_slot_after_today(ctx: PostingContext, accounts: int, now: datetime) -> datetime | None:
    """The earliest slot of any account on the coming days (a year at most): when the next
    day's run seeds and publishes. None when the schedule has ended."""
    from postpilot.schedule import account_times, local_date, slot_instant

    campaign = ctx.campaign_config
    assert campaign is not None
    schedule, limit = campaign.schedule, ctx.max_posts_per_account_per_day
    day = local_date(now, ctx.timezone)
    for _ in range(366):
        day += timedelta(days=1)
        if schedule is not None and schedule.end is not None and day > schedule.end:
            return None
        times = {t for i in range(accounts) for t in account_times(schedule, day, i, limit)}
        if times:
            return slot_instant(day, min(times), ctx.timezone)
    return None


def roll_over_preview(ctx: PostingContext, inputs: PlanInputs, now: datetime) -> PlanInputs:
    """The inputs as the next run will see them: a store of an earlier day is archived first,
    so its jobs neither occupy today's slots nor show as upcoming (--plan writes nothing)."""
    day = store_day(list(inputs.existing), ctx.timezone)
    settled = not any(
        j.status in (JobStatus.CLAIMED, JobStatus.UNCONFIRMED) for j in inputs.existing
    )
    if day is not None and day < local_day(now, ctx.timezone) and settled:
        room = {a: ctx.max_posts_per_account_per_day for a in inputs.accounts}
        return dataclasses.replace(inputs, existing=(), room_today=room)
    return inputs


def account_next(
    ctx: PostingContext,
    store: JobStore,
    now: datetime,
    first: dict[str, Job] | None = None,
) -> list[dict[str, Any]]:
    """Per account: its next slot and what it will post (from the seeded jobs; an account
    with nothing seeded shows its next slot on the coming days and no video yet)."""
    from postpilot.planning import _filename
    from postpilot.schedule import account_times, local_date, slot_instant

    campaign = ctx.campaign_config
    if campaign is None:
        return []
    accounts = ctx.get_accounts()
    if first is None:
        first = first_waiting(store, now)
    rows: list[dict[str, Any]] = []
    today = local_date(now, ctx.timezone)
    for index, account in enumerate(accounts):
        seeded = first.get(account)
        if seeded is not None:
            at = seeded.scheduled_at or now
            rows.append(
                {
                    "account": account,
                    "next_slot": at.isoformat(),
                    "when": describe_when(at, now, ctx.timezone),
                    "video": _filename(seeded),
                    "job_id": seeded.job_id,
                }
            )
            continue
        upcoming = None
        for ahead in range(1, 367):
            day = today + timedelta(days=ahead)
            times = account_times(campaign.schedule, day, index, ctx.max_posts_per_account_per_day)
            if times:
                upcoming = slot_instant(day, times[0], ctx.timezone)
                break
        rows.append(
            {
                "account": account,
                "next_slot": upcoming.isoformat() if upcoming else None,
                "when": describe_when(upcoming, now, ctx.timezone) if upcoming else None,
                "video": None,
                "job_id": None,
            }
        )
    return rows
