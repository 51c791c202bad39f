"""Seeding: which new jobs a campaign (or a legacy scheduler_state.json, read by
legacy_state.py) adds to the job store.

`plan_jobs` is pure and deterministic (no shuffle: the prior system's `random.shuffle` made two
seedings of the same folder differ). `seed_store` is the one I/O entry point: it reads the folder,
asks the store, plans, and inserts. Locking and the "refuse while jobs are pending" guard belong
to the caller (ops/seed.py seed_campaign).

Assignment rules (each fixes a way the prior system lost or misassigned videos):
- videos are taken in the given order (sorted by relative path); accounts round-robin in file
  order with one cursor across videos;
- an account's room today = daily_limit - posts it already made today - its open jobs, where
    posts today = max(ledger count for today, this store's successes completed today)
      (the ledger already counts this store's successes of today, across every campaign, so
      the two are not added; the max only guards against a ledger that lost rows), and
    open jobs  = this store's jobs of the account that are pending, claimed, retrying or
      unconfirmed (each may still become a post today).
  Successes from earlier days do not use today's room (the limit is per calendar day, I3);
  failed and skipped jobs never posted, so they do not count either;
- an account with a failed job of category `account` (terminated, suspended, ...) or blocked in
  the ledger for re-authorization gets no new job;
- content already posted to an account (I4), or already planned for it in this seeding, is never
  assigned to it again; prior history migrated without content (the ledger's name keys,
  postpilot.store.base.name_key) protects the video by its file name the same way;
- a video no account can take is skipped with its reason and seeding continues (the prior system
  stopped at the first such video); a job is never created without an account;
- a job id already in the store is skipped (insert-if-absent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, NamedTuple

from postpilot.campaign import MatchReport, compute_sha256
from postpilot.config import Config
from postpilot.errors import ConfigError
from postpilot.jobs import ErrorCategory, Job, JobStatus, local_day
from postpilot.legacy_state import (
    LEGACY_IMPORTED_STATUSES,
    LEGACY_NOT_SEEDED,
    StateJob,
    legacy_video_path,
    load_scheduler_state,
)
from postpilot.store.base import BLOCK_NEEDS_REAUTH, name_key

if TYPE_CHECKING:
    from postpilot.config import PostingContext
    from postpilot.store.base import JobStore

#: Job statuses that may still become a post (they hold a place in the account's daily room).
OPEN_STATUSES = frozenset(
    {JobStatus.PENDING, JobStatus.CLAIMED, JobStatus.RETRYING, JobStatus.UNCONFIRMED}
)

REASON_IN_STORE = "already in the store"
REASON_DUPLICATE_ID = "same job id as an earlier video in this seeding"
REASON_NO_ACCOUNTS = "no account can take new jobs"
REASON_DAILY_LIMIT = "every account reached its daily limit"
REASON_POSTED = "already posted (or planned) to every account with room left today"
REASON_MISSING_VIDEO = "video file not found"
REASON_UNREADABLE = "video file cannot be read"

#: Kept importable from here: the legacy state file's reading is in legacy_state.py.
__all__ = [
    "LEGACY_IMPORTED_STATUSES",
    "LEGACY_NOT_SEEDED",
    "OPEN_STATUSES",
    "REASON_DAILY_LIMIT",
    "REASON_DUPLICATE_ID",
    "REASON_IN_STORE",
    "REASON_MISSING_VIDEO",
    "REASON_NO_ACCOUNTS",
    "REASON_POSTED",
    "REASON_UNREADABLE",
    "SeedPlan",
    "SeedResult",
    "SeedVideo",
    "StateJob",
    "account_capacity",
    "legacy_video_path",
    "load_scheduler_state",
    "plan_jobs",
    "seed_store",
]


class SeedVideo(NamedTuple):
    """A video to seed. An empty content_sha256 is computed on demand (see plan_jobs)."""

    video_path: str
    #: The job id's base: the video's file name (campaign) or the state job's id (legacy).
    filename: str
    caption: str
    content_sha256: str = ""
    #: Retry history carried over from a legacy state job (its failed attempts, last error).
    attempts: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class SeedPlan:
    """New jobs in seeding order, and every video that got none with the reason."""

    jobs: list[Job]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: (account, why) for accounts that get no new job at all.
    excluded_accounts: list[tuple[str, str]] = field(default_factory=list)
    #: Each account's room for new jobs before this plan.
    capacity: dict[str, int] = field(default_factory=dict)


def account_capacity(
    accounts: Sequence[str],
    existing: Sequence[Job],
    daily_counts: Mapping[str, int],
    daily_limit: int,
    *,
    day: str | None = None,
    timezone: str = Config.TIMEZONE,
) -> dict[str, int]:
    """Room for new jobs per account today (the module docstring explains the formula)."""
    open_jobs: dict[str, int] = defaultdict(int)
    success_today: dict[str, int] = defaultdict(int)
    for job in existing:
        if job.status in OPEN_STATUSES:
            open_jobs[job.account] += 1
        elif (
            job.status is JobStatus.SUCCESS
            and day is not None
            and job.completed_at is not None
            and local_day(job.completed_at, timezone) == day
        ):
            success_today[job.account] += 1
    room: dict[str, int] = {}
    for account in accounts:
        posted = max(daily_counts.get(account, 0), success_today[account])
        room[account] = max(0, daily_limit - posted - open_jobs[account])
    return room


def plan_jobs(
    campaign: str,
    accounts: list[str],
    videos: Sequence[SeedVideo],
    *,
    existing: Sequence[Job],
    daily_counts: Mapping[str, int],
    is_posted: Callable[[str, str], bool],
    daily_limit: int,
    max_attempts: int,
    job_id_suffix: str,
    day: str | None = None,
    timezone: str = Config.TIMEZONE,
    excluded: Mapping[str, str] | None = None,
    hash_content: Callable[[SeedVideo], str] | None = None,
) -> SeedPlan:
    """The jobs to add, deterministically (same inputs, same plan).

    `day`/`timezone` let successes already in the store count against today's room (else only
    `daily_counts`, the ledger, does). `excluded` maps accounts to why they get nothing.
    `hash_content` computes a missing content hash only for videos that may be assigned, so a
    campaign whose accounts are all full is not read byte by byte."""
    excluded_accounts = _excluded_accounts(existing, excluded)
    candidates = [a for a in dict.fromkeys(accounts) if a and a not in excluded_accounts]
    room = account_capacity(
        candidates, existing, daily_counts, daily_limit, day=day, timezone=timezone
    )
    initial_room = dict(room)
    existing_ids = {job.job_id for job in existing}
    # Content an account already has in this store (posted or about to be): never twice (I4).
    taken = {
        (job.account, job.content_sha256)
        for job in existing
        if job.content_sha256 and job.status not in (JobStatus.FAILED, JobStatus.SKIPPED)
    }
    posted_cache: dict[tuple[str, str], bool] = {}
    seq = max((job.seq for job in existing), default=0)
    planned_ids: set[str] = set()
    jobs: list[Job] = []
    skipped: list[tuple[str, str]] = []
    cursor = 0
    remaining = sum(room.values())

    def already_has(account: str, sha: str) -> bool:
        if not sha:
            return False
        if (account, sha) in taken:
            return True
        key = (account, sha)
        if key not in posted_cache:
            posted_cache[key] = is_posted(account, sha)
        return posted_cache[key]

    def posted_by_name(account: str, video: SeedVideo) -> bool:
        # Migrated history whose file did not resolve is keyed by the video's file name.
        return already_has(account, name_key(PureWindowsPath(video.video_path).name))

    for video in videos:
        job_id = f"{video.filename}{job_id_suffix}"
        reason = _not_planned(job_id, existing_ids, planned_ids, bool(candidates), remaining)
        if reason is not None:
            skipped.append((job_id, reason))
            continue
        sha = video.content_sha256
        if not sha and hash_content is not None:
            try:
                sha = hash_content(video)
            except OSError as exc:
                skipped.append((job_id, f"{REASON_UNREADABLE}: {exc.strerror or exc}"))
                continue
        chosen = None
        for step in range(len(candidates)):
            account = candidates[(cursor + step) % len(candidates)]
            if (
                room[account] > 0
                and not already_has(account, sha)
                and not posted_by_name(account, video)
            ):
                chosen = account
                cursor = (cursor + step + 1) % len(candidates)
                break
        if chosen is None:
            skipped.append((job_id, REASON_POSTED))
            continue
        room[chosen] -= 1
        remaining -= 1
        seq += 1
        planned_ids.add(job_id)
        if sha:
            taken.add((chosen, sha))
        jobs.append(
            Job(
                job_id=job_id,
                account=chosen,
                video_path=video.video_path,
                caption=video.caption,
                status=JobStatus.PENDING,
                max_attempts=max_attempts,
                campaign=campaign,
                seq=seq,
                content_sha256=sha,
                attempts=video.attempts,
                error=video.error,
            )
        )
    return SeedPlan(
        jobs=jobs,
        skipped=skipped,
        excluded_accounts=[(a, why) for a, why in excluded_accounts.items() if a in accounts],
        capacity=initial_room,
    )


def _excluded_accounts(
    existing: Sequence[Job], excluded: Mapping[str, str] | None
) -> dict[str, str]:
    """`excluded`, plus every account whose job failed with an account error, with why."""
    excluded_accounts: dict[str, str] = dict(excluded or {})
    for job in existing:
        if (
            job.status is JobStatus.FAILED
            and job.error_category == str(ErrorCategory.ACCOUNT)
            and job.account not in excluded_accounts
        ):
            excluded_accounts[job.account] = (
                f"its job {job.job_id} failed with an account error "
                f"({job.error_type or 'account'}); fix the account, then --retry-all-failed"
            )
    return excluded_accounts


def _not_planned(
    job_id: str, existing_ids: set[str], planned_ids: set[str], accounts: bool, remaining: int
) -> str | None:
    """Why a video gets no job before any account is tried (None: try the accounts)."""
    if job_id in existing_ids:
        return REASON_IN_STORE
    if job_id in planned_ids:
        return REASON_DUPLICATE_ID
    if not accounts:
        return REASON_NO_ACCOUNTS
    if remaining <= 0:
        return REASON_DAILY_LIMIT
    return None


# -- the I/O entry point ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SeedResult:
    """What seed_store did."""

    created: int
    skipped: list[tuple[str, str]]
    match_report: MatchReport | None = None
    #: Jobs planned (created may be lower if another process inserted the same ids meanwhile).
    planned: int = 0
    excluded_accounts: list[tuple[str, str]] = field(default_factory=list)
    #: Videos considered (matched videos, or importable state jobs).
    considered: int = 0


def seed_store(ctx: PostingContext, store: JobStore, now: datetime) -> SeedResult:
    """Plan and insert the jobs of ctx's campaign (or legacy state file) into `store`."""
    from postpilot.migration.prior import check_prior_progress

    check_prior_progress(ctx)
    accounts = ctx.get_accounts()
    day = local_day(now, ctx.timezone)
    existing = store.list_jobs()
    daily_counts = {account: store.daily_count(account, day) for account in accounts}
    excluded = {
        account: "blocked until re-authorized"
        for account, state in store.account_states(accounts).items()
        if state.block == BLOCK_NEEDS_REAUTH
    }
    if ctx.campaign_config is not None:
        return _seed_campaign_day(ctx, store, now)
    report: MatchReport | None = None
    pre_skipped: list[tuple[str, str]] = []
    videos: list[SeedVideo] = []
    if ctx.campaign_config is not None:
        report = ctx.campaign_config.match_videos()
        videos = [SeedVideo(m.video_path, m.filename, m.caption) for m in report.matched]
        suffix = f"_{ctx.store_name}"
    else:
        root = Path(ctx.project_root) if ctx.project_root else Config.project_root()
        state_file = Path(ctx.state_file) if ctx.state_file else root / Config.STATE_FILE
        for state_job in load_scheduler_state(state_file, pre_skipped):
            path = legacy_video_path(state_job.video_path, root)
            if not path.is_file():
                pre_skipped.append((state_job.id, f"{REASON_MISSING_VIDEO}: {path}"))
                continue
            videos.append(
                SeedVideo(
                    str(path),
                    state_job.id,
                    state_job.caption,
                    attempts=state_job.attempts,
                    error=state_job.last_error,
                )
            )
        suffix = ""
    plan = plan_jobs(
        ctx.store_name,
        accounts,
        videos,
        existing=existing,
        daily_counts=daily_counts,
        is_posted=store.is_posted,
        daily_limit=ctx.max_posts_per_account_per_day,
        max_attempts=ctx.max_attempts,
        job_id_suffix=suffix,
        day=day,
        timezone=ctx.timezone,
        excluded=excluded,
        hash_content=lambda video: compute_sha256(video.video_path),
    )
    created = store.insert_jobs(plan.jobs) if plan.jobs else 0
    return SeedResult(
        created=created,
        skipped=pre_skipped + plan.skipped,
        match_report=report,
        planned=len(plan.jobs),
        excluded_accounts=plan.excluded_accounts,
        considered=len(videos) + len(pre_skipped),
    )


def _seed_campaign_day(ctx: PostingContext, store: JobStore, now: datetime) -> SeedResult:
    """A campaign's jobs of today: the first day of its plan (postpilot.planning), each job
    carrying its slot. Videos published on earlier days are never planned again."""
    from postpilot.plan_io import plan_inputs
    from postpilot.planning import REASON_BEYOND, plan_campaign
    from postpilot.video_paths import to_stored

    campaign = ctx.campaign_config
    assert campaign is not None  # the caller checked
    report = campaign.match_videos()
    inputs = plan_inputs(ctx, store, now, report=report)
    plan = plan_campaign(inputs, now, days=1)
    if plan.problems:
        raise ConfigError(f"{campaign.captions_file}: " + "\n  ".join(plan.problems))
    seq = max((job.seq for job in inputs.existing), default=0)
    jobs: list[Job] = []
    for entry in plan.entries:
        if entry.existing:
            continue
        seq += 1
        jobs.append(
            Job(
                job_id=entry.job_id,
                account=entry.account,
                # Relative to the videos folder: hosts may mount the campaign anywhere.
                video_path=to_stored(entry.video_path, campaign.videos_dir),
                caption=entry.caption,
                status=JobStatus.PENDING,
                max_attempts=ctx.max_attempts,
                campaign=ctx.store_name,
                seq=seq,
                content_sha256=entry.sha256,
                scheduled_at=entry.scheduled_at,
            )
        )
    in_store = {job.job_id for job in inputs.existing}
    skipped = [
        (job_id, REASON_IN_STORE)
        for video in inputs.videos
        for job_id in [f"{video.filename}_{ctx.store_name}"]
        if job_id in in_store
    ]
    skipped += [
        (f"{video}_{ctx.store_name}", REASON_DAILY_LIMIT if why == REASON_BEYOND else why)
        for video, why in plan.unplaced
    ]
    created = store.insert_jobs(jobs) if jobs else 0
    return SeedResult(
        created=created,
        skipped=skipped,
        match_report=report,
        planned=len(jobs),
        excluded_accounts=[(a, why) for a, why in inputs.excluded.items()],
        considered=len(inputs.videos),
    )
