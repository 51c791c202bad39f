"""`--reset-day`: archive the day's jobs (CSV plus a store snapshot), then empty the store."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from postpilot.config import PostingContext
from postpilot.jobs import local_day, utcnow
from postpilot.ops.common import OperationFailed, OpResult, open_ctx, require_progress, run_lock


@runtime_checkable
class SupportsSnapshot(Protocol):
    """An optional store ability: write a consistent copy of the job store to `path`."""

    def snapshot(self, path: Path) -> None:
        """Write the copy (e.g. SQLite's VACUUM INTO)."""
        ...


@dataclass(frozen=True, kw_only=True)
class ResetResult(OpResult):
    """What --reset-day archived and cleared."""

    archived: int
    cleared: int
    archive_csv: Path
    snapshot: Path | None
    counts_before: dict[str, int]

    def fields_json(self) -> dict[str, Any]:
        """archived, cleared, archive_csv, snapshot, counts_before."""
        return {
            "archived": self.archived,
            "cleared": self.cleared,
            "archive_csv": str(self.archive_csv),
            "snapshot": str(self.snapshot) if self.snapshot else None,
            "counts_before": self.counts_before,
        }


def reset(ctx: PostingContext, archive_dir: str | Path | None = None) -> ResetResult:
    """Archive the day's jobs, then empty the store, so that --run or --seed-only seeds anew.

    The archive is `<archive>/progress_YYYYMMDD[_n].csv` (the prior 17-column format, for
    spreadsheets) plus a snapshot of the job store next to it (`.db`, SQLite only). The day is
    the local day in the campaign's timezone. Refused while a run holds the campaign, while a
    job is claimed, and while a job is unconfirmed (it may have been posted: archiving it would
    lose the chance to reconcile it)."""
    from postpilot.rollover import archive_and_clear

    desc = ctx.describe()
    require_progress(ctx)
    target_dir = Path(archive_dir) if archive_dir is not None else ctx.archive_dir
    now = utcnow()
    # The store is opened first: a store of another campaign is refused before any lock file
    # is created.
    with open_ctx(ctx) as store, run_lock(ctx, "reset the day"):
        store.recover_expired(now)
        counts = store.counts()
        if counts["claimed"]:
            raise OperationFailed(
                f"Cannot reset {desc}: {counts['claimed']} jobs are claimed by live workers"
            )
        if counts["unconfirmed"]:
            raise OperationFailed(
                f"Cannot reset {desc}: {counts['unconfirmed']} jobs are unconfirmed "
                "(they may have been posted)\n"
                "  Resolve them first: --run reconciles them with the publisher, or "
                "--confirm JOB_ID posted|not-posted"
            )
        done = archive_and_clear(ctx, store, local_day(now, ctx.timezone), target_dir)
        archived, cleared, csv_path, snapshot = (
            done.archived,
            done.cleared,
            done.csv_path,
            done.snapshot,
        )
    message = f"Reset complete for {desc}: archived {archived} jobs to {csv_path}"
    messages = [message]
    if snapshot is not None:
        messages.append(f"  Store snapshot: {snapshot}")
    messages.append("  Run with --run (or --seed-only) to seed the new day")
    return ResetResult(
        campaign=ctx.campaign_name,
        context=desc,
        archived=archived,
        cleared=cleared,
        archive_csv=csv_path,
        snapshot=snapshot,
        counts_before=counts,
        message=message,
        messages=messages,
    )


def copy_sqlite(source: Path, dest: Path) -> None:
    """Copy a SQLite file and its WAL (the caller ensures nobody writes meanwhile)."""
    shutil.copy2(source, dest)
    for suffix in ("-wal",):
        extra = source.with_name(source.name + suffix)
        if extra.exists():
            shutil.copy2(extra, dest.with_name(dest.name + suffix))
