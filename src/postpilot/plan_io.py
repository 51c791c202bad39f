"""The I/O edge of the plan: the inputs of a campaign's plan gathered from its folder, its job
store and the project ledger, and the --plan command (its lines for humans). Reads only.

Content hashes are kept per process by (path, size, mtime, inode): a service seeding every day,
or a plan right after a seed, reads each unchanged video once.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postpilot.jobs import local_day
from postpilot.planning import Plan, PlanInputs, PlanVideo, plan_campaign

if TYPE_CHECKING:
    from postpilot.campaign import MatchReport
    from postpilot.config import PostingContext
    from postpilot.store.base import JobStore

_hash_lock = threading.Lock()
#: video path -> ((size, mtime_ns, inode), sha256)
_hash_cache: dict[str, tuple[tuple[int, int, int], str]] = {}


def cached_sha256(path: str) -> str:
    """The video's content hash, read again only when its size, mtime or inode changed."""
    from postpilot.campaign import compute_sha256

    st = os.stat(path)
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
    with _hash_lock:
        known = _hash_cache.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    sha = compute_sha256(path)
    with _hash_lock:
        _hash_cache[path] = (stamp, sha)
    return sha


def plan_inputs(
    ctx: PostingContext,
    store: JobStore,
    now: datetime,
    hash_content: Callable[[str], str] | None = None,
    report: MatchReport | None = None,
) -> PlanInputs:
    """Read the campaign folder (or take its `report`, already matched), the store and the
    ledger into PlanInputs."""
    from postpilot.seeding import account_capacity
    from postpilot.store.base import BLOCK_NEEDS_REAUTH

    campaign = ctx.campaign_config
    if campaign is None:
        raise ValueError("plans exist for campaigns only (legacy mode has no schedule)")
    if report is None:
        report = campaign.match_videos()
    videos = [
        PlanVideo(
            filename=match.filename,
            video_path=match.video_path,
            caption=match.caption,
            sha256="",
            line=match.line,
            publish_at=match.publish_at,
            account=match.account,
        )
        for match in report.matched
    ]
    accounts = ctx.get_accounts()
    existing = store.list_jobs()
    day = local_day(now, ctx.timezone)
    daily = {account: store.daily_count(account, day) for account in accounts}
    room = account_capacity(
        accounts, existing, daily, ctx.max_posts_per_account_per_day, day=day, timezone=ctx.timezone
    )
    excluded = {
        account: "blocked until re-authorized"
        for account, state in store.account_states(accounts).items()
        if state.block == BLOCK_NEEDS_REAUTH
    }
    return PlanInputs(
        campaign=ctx.store_name,
        accounts=accounts,
        videos=videos,
        distribution=campaign.distribution,
        schedule=campaign.schedule,
        timezone=ctx.timezone,
        daily_limit=ctx.max_posts_per_account_per_day,
        campaign_posted=frozenset(store.posted_content()),
        is_posted=store.is_posted,
        existing=existing,
        room_today=room,
        excluded=excluded,
        hash_content=hash_content or cached_sha256,
    )


def plan_for(ctx: PostingContext, store: JobStore, now: datetime, days: int) -> Plan:
    """The campaign's plan for `days` days from `now` (reads; writes nothing)."""
    return plan_campaign(plan_inputs(ctx, store, now), now, days)


def plan_command(ctx: PostingContext, days: int, now: datetime) -> tuple[Plan, list[str]]:
    """--plan: the plan and its human lines. Writes nothing: a campaign never seeded is planned
    against an empty in-memory store instead of creating its progress file."""
    from postpilot.rollover import roll_over_preview

    if ctx.campaign_config is None:
        raise ValueError("--plan needs --campaign (legacy mode has no schedule)")
    with _plan_store(ctx) as store:
        plan = plan_campaign(roll_over_preview(ctx, plan_inputs(ctx, store, now), now), now, days)
    lines = [f"Plan for {ctx.describe()}, {days} day(s) from {local_day(now, ctx.timezone)}"]
    lines += [
        f"  {e.date} {e.time}  {e.account:<20} {e.video}" + ("  (seeded)" if e.existing else "")
        for e in plan.entries
    ]
    if not plan.entries:
        lines.append("  (nothing to post in these days)")
    if plan.unplaced:
        lines.append(f"Not placed ({len(plan.unplaced)}):")
        lines += [f"  {video}: {reason}" for video, reason in plan.unplaced]
    lines += [f"Problem: {p}" for p in plan.problems]
    return plan, lines


@contextlib.contextmanager
def _plan_store(ctx: PostingContext) -> Iterator[JobStore]:
    """The store --plan reads, creating no file in the project: the campaign's own when it
    exists; for a campaign never seeded, an empty job store that still reads the project
    ledger (read-only), so accounts other campaigns filled today, or that already have a
    video, are planned as a seeded campaign would be; in memory when there is no ledger."""
    from postpilot.ops.common import progress_exists
    from postpilot.store import open_store
    from postpilot.store.memory import MemoryJobStore

    store: Any
    if progress_exists(ctx):
        store = open_store(ctx)
    elif not ctx.ledger_file.exists():
        store = MemoryJobStore(ctx.store_name)
    else:
        from postpilot.store.sqlite import SqliteJobStore

        with tempfile.TemporaryDirectory(prefix="postpilot-plan-") as scratch:
            # An empty campaign file of the right schema, outside the project, beside the
            # real ledger opened for reading only.
            empty = Path(scratch) / "progress.db"
            SqliteJobStore(empty, Path(scratch) / "ledger.db", ctx.store_name).close()
            store = SqliteJobStore(empty, ctx.ledger_file, ctx.store_name, read_only=True)
            try:
                yield store
            finally:
                store.close()
        return
    try:
        yield store
    finally:
        store.close()
