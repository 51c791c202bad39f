"""The specification's ctx-taking operations: everything the command line does except the run
itself.

Each operation takes the PostingContext that main() built once (campaign or legacy mode) and
returns a plain result dict: its data for `--json`, and `messages` (lines for a person). The
specification's own names are kept as thin wrappers with the specification's return types
(`seed_progress_file`
-> int, `reset_day` -> (ok, message), `retry_all_failed` -> int, ...).

Rules every operation follows:
- validate first, change files last: a missing progress store is reported, never created, by
  operations that only read or fix an existing store;
- operations that rewrite the store wholesale (seeding, reset-day, import) hold the campaign's
  run lock while they work, so they are refused, naming the holder, while a run is going on;
- every message names the context (ctx.describe()).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from postpilot import output
from postpilot.config import Config, ParallelConfig, PostingContext, RetryConfig
from postpilot.errors import (
    CampaignDisabled,
    CampaignNotFound,
    ConflictError,
    PostpilotError,
)
from postpilot.jobs import ALL_STATUSES, JobStatus, local_day, utcnow
from postpilot.store.base import WorkerRegistry
from postpilot.store.dashboard import SupportsDashboard

if TYPE_CHECKING:
    from postpilot.campaign import CampaignConfig
    from postpilot.runner.orchestrator import RunDisplay
    from postpilot.store.base import JobStore

log = logging.getLogger("postpilot.operations")

#: How many skipped videos or problems are named one by one before "... and N more".
MAX_NAMED = 10


class OperationFailed(PostpilotError):
    """The operation could not be done (the command exits 1)."""


class ProgressNotFound(OperationFailed):
    """The context's progress store does not exist yet."""


# -- the progress store ----------------------------------------------------------------------
def progress_exists(ctx: PostingContext) -> bool:
    """Whether the context's job store exists (a PostgreSQL store always does)."""
    return ctx.store_dsn is not None or Path(ctx.progress_file).exists()


def _require_progress(ctx: PostingContext) -> None:
    if not progress_exists(ctx):
        raise ProgressNotFound(
            f"Progress file not found: {ctx.progress_file}\n"
            "  Run with --seed-only or --run to create it"
        )


@contextlib.contextmanager
def _open(ctx: PostingContext, *, read_only: bool = False) -> Iterator[JobStore]:
    from postpilot.store import open_store

    store = open_store(ctx, read_only=read_only)
    try:
        yield store
    finally:
        store.close()


def _refuse_if_running(ctx: PostingContext, action: str) -> None:
    """Refuse, touching no file, when a run holds the campaign (a probe; the lock is taken
    afterwards for real)."""
    from postpilot.runner.locks import check_for_running_orchestrators

    holders = check_for_running_orchestrators(ctx)
    if holders:
        raise ConflictError(
            f"Cannot {action} for {ctx.describe()} while an orchestrator is running: "
            f"{holders[0].describe()}\n"
            "  Wait for it to finish, or stop it with --stop-all"
        )


@contextlib.contextmanager
def _run_lock(ctx: PostingContext, action: str) -> Iterator[None]:
    """Hold the campaign's run lock for a wholesale change; refuse while a run holds it."""
    from postpilot.runner.locks import RunLock

    lock = RunLock(ctx)
    try:
        lock.acquire()
    except ConflictError as exc:
        holder = str(exc).splitlines()[0]
        raise ConflictError(
            f"Cannot {action} for {ctx.describe()} while an orchestrator is running: {holder}\n"
            "  Wait for it to finish, or stop it with --stop-all"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _base(ctx: PostingContext) -> dict[str, Any]:
    return {"campaign": ctx.campaign_name, "context": ctx.describe()}


def _zero_counts() -> dict[str, int]:
    return {"total": 0, **{str(s): 0 for s in ALL_STATUSES}}


# -- campaigns --------------------------------------------------------------------------------
def _campaign_names(root: Path) -> tuple[list[str], list[str]]:
    from postpilot.campaign import scan_campaigns

    try:
        valid, invalid = scan_campaigns(root)
    except (PostpilotError, OSError):
        return [], []
    return [c.name for c in valid], [Path(folder).name for folder, _error in invalid]


def resolve_campaign_folder(arg: str, root: Path) -> Path:
    """`--campaign` as a name under <root>/campaigns first, then as a path (the specification's
    order)."""
    text = arg.strip()
    if not text:
        raise CampaignNotFound("--campaign needs a campaign name or folder")
    plain_name = "/" not in text and "\\" not in text and text not in {".", ".."}
    if plain_name:
        by_name = root / Config.CAMPAIGNS_DIR / text
        if by_name.is_dir():
            return by_name
    path = Path(text).expanduser()
    if path.is_dir():
        return path.resolve()
    looked = [str(root / Config.CAMPAIGNS_DIR / text)] if plain_name else []
    looked.append(str(path.resolve()))
    valid, invalid = _campaign_names(root)
    lines = [f"Campaign folder not found: {text}", f"  Looked in: {' and '.join(looked)}"]
    if valid or invalid:
        lines.append("Available campaigns:")
        lines += [f"  - {name}" for name in valid]
        lines += [f"  - {name} (invalid: see --list-campaigns)" for name in invalid]
    else:
        lines.append(f"Available campaigns: none in {root / Config.CAMPAIGNS_DIR}")
    raise CampaignNotFound("\n".join(lines))


def load_campaign(arg: str, root: Path | None = None) -> CampaignConfig:
    """The enabled campaign `arg` names; raises CampaignNotFound, CampaignDisabled or
    ConfigError (invalid campaign) with the operator's message."""
    from postpilot.campaign import CampaignConfig

    project = root if root is not None else Config.project_root()
    folder = resolve_campaign_folder(arg, project)
    # A folder under <root>/campaigns/ belongs to that project whatever the current directory
    # (one ledger, outbox and run lock per project, never one per working directory).
    project = Config.root_for_campaign(folder) or project
    campaign = CampaignConfig.from_folder(folder, project_root=project)
    if not campaign.enabled:
        raise CampaignDisabled(
            f"Campaign '{campaign.name}' is disabled\n"
            "Enable it by setting 'enabled: true' in campaign.json\n"
            f"  File: {Path(campaign.base_dir) / Config.CAMPAIGN_JSON}"
        )
    return campaign


def load_campaign_or_exit(campaign_arg: str) -> CampaignConfig:
    """The specification's helper: load the campaign or log why not and exit 1."""
    try:
        return load_campaign(campaign_arg)
    except PostpilotError as exc:
        for line in str(exc).splitlines():
            log.error("%s", line)
        raise SystemExit(1) from None


def list_campaigns_data(root: Path | None = None) -> dict[str, Any]:
    """Every campaign under <root>/campaigns, and the folders that are not valid campaigns."""
    from postpilot.campaign import scan_campaigns

    project = root if root is not None else Config.project_root()
    valid, invalid = scan_campaigns(project)
    campaigns: list[dict[str, Any]] = []
    for c in valid:
        try:
            accounts: int | None = len(c.get_accounts())
        except (PostpilotError, OSError):
            accounts = 0
        campaigns.append(
            {
                "name": c.name,
                "enabled": c.enabled,
                "folder": str(c.base_dir),
                "accounts": accounts,
                "videos_dir": str(c.videos_dir),
                "captions_file": str(c.captions_file),
                "progress_file": str(c.progress_file),
                "daily_limit": c.max_posts_per_account_per_day,
                "timezone": c.timezone,
            }
        )
    return {
        "project_root": str(project),
        "campaigns": campaigns,
        "invalid": [{"folder": str(folder), "error": str(error)} for folder, error in invalid],
    }


def list_campaigns_command(as_json: bool = False) -> dict[str, Any]:
    """The specification's --list-campaigns: print the listing (or how to create a campaign)."""
    data = list_campaigns_data()
    if as_json:
        output.print_json(data)
    else:
        from postpilot import report  # rich: only for the human listing

        report.render_campaigns(data, report.make_console())
    return data


# -- status -----------------------------------------------------------------------------------
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
        **_base(ctx),
        "progress_file": ctx.progress_file,
        "store": "postgresql" if ctx.store_dsn else "sqlite",
        "exists": progress_exists(ctx),
        "accounts": len(accounts),
        "counts": _zero_counts(),
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
    with _open(ctx, read_only=True) as store:
        _schedule_status(ctx, data, store, moment)
        counts = store.counts()
        data["counts"] = {**_zero_counts(), **counts}
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
    from postpilot.rollover import account_next, schedule_summary
    from postpilot.store.memory import MemoryJobStore

    campaign = ctx.campaign_config
    if campaign is None:
        return
    source = store if store is not None else MemoryJobStore(ctx.store_name)
    try:
        summary = schedule_summary(ctx, source, now)
        data["schedule"] = {
            "distribution": campaign.distribution,
            **(campaign.schedule.to_json() if campaign.schedule else {"times": None}),
            "accounts": account_next(ctx, source, now),
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


def show_status(
    ctx: PostingContext, parallel_config: ParallelConfig, *, as_json: bool = False
) -> dict[str, Any]:
    """The specification's show_status: print the status (human or JSON) and return its data."""
    del parallel_config  # the specification passes it; nothing in the status depends on it any more
    data = status_data(ctx)
    if as_json:
        output.print_json(data)
    else:
        from postpilot import status_report  # rich only when stdout is a terminal

        status_report.render_status(data)
    return data


# -- seeding ----------------------------------------------------------------------------------
@dataclass
class SeedOutcome:
    """What --seed-only did."""

    created: int = 0
    refused: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    #: The captions<->videos match counts (campaign mode).
    match: dict[str, int] | None = None


def seed_campaign(ctx: PostingContext, force_reseed: bool = False) -> SeedOutcome:
    """Seed the context's store (campaign captions, or legacy scheduler_state.json).

    Refused while pending or claimed jobs exist unless force_reseed (seeding only ever adds
    jobs whose id is absent), and refused while a run holds the campaign."""
    from postpilot.migration.prior import check_prior_progress
    from postpilot.seeding import seed_store

    desc = ctx.describe()
    _check_seed_sources(ctx)
    check_prior_progress(ctx)
    _refuse_if_running(ctx, "seed")
    created_store = not progress_exists(ctx)
    from postpilot.store import open_store

    # Opened before the lock: a store of another campaign is refused before any file changes.
    store = open_store(ctx)
    closed = False
    try:
        with _run_lock(ctx, "seed"):
            total = 0
            try:
                counts = store.counts()
                total = counts["total"]
                if not force_reseed and (counts["pending"] > 0 or counts["claimed"] > 0):
                    refused = (
                        f"Progress file for {desc} has {counts['pending']} pending and "
                        f"{counts['claimed']} claimed jobs; not seeding\n"
                        "  Run them with --run, or add new jobs anyway with "
                        "--seed-only --force-reseed"
                    )
                    log.warning("%s", refused)
                    return SeedOutcome(refused=refused, counts=counts)
                result = seed_store(ctx, store, utcnow())
                report_ = result.match_report
                outcome = SeedOutcome(
                    created=result.created,
                    skipped=list(result.skipped),
                    problems=[
                        line
                        + (
                            f" ({output.unblock_hint(ctx.campaign_name, [line.split()[1]])})"
                            if line.startswith("account ") and "re-authoriz" in line
                            else ""
                        )
                        for line in output.seed_lines(result)
                        if "videos not seeded:" not in line  # _log_seed names those
                    ],
                    counts=store.counts(),
                    match=report_.counts() if report_ is not None else None,
                )
                total = outcome.counts["total"]
            finally:
                store.close()
                closed = True
                # Still under the lock: no run can have opened the store we created.
                if created_store and total == 0:
                    _remove_empty_store(ctx)
    finally:
        if not closed:
            store.close()
    _log_seed(ctx, outcome)
    return outcome


def _check_seed_sources(ctx: PostingContext) -> None:
    """Preflight what seeding reads (accounts, captions or the legacy state file, credentials)
    before any store or lock file is created, so bad input fails without changing a file."""
    from postpilot.preflight import run_preflight

    run_preflight(ctx)


def _remove_empty_store(ctx: PostingContext) -> None:
    """Seeding created a store and put nothing in it: remove it again (a failed --seed-only
    leaves the folder as it was). Only ever the file this call created."""
    if ctx.store_dsn is not None:
        return
    base = Path(ctx.progress_file)
    for path in (base, *(base.with_name(base.name + s) for s in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _log_seed(ctx: PostingContext, outcome: SeedOutcome) -> None:
    desc = ctx.describe()
    for problem in outcome.problems:
        log.warning("%s: %s", desc, problem)
    if outcome.skipped:
        log.warning("%s: %d videos not seeded:", desc, len(outcome.skipped))
        for line in group_reasons(outcome.skipped):
            log.warning("%s:   %s", desc, line)


#: Examples named per reason in grouped reason lines.
MAX_EXAMPLES = 5


def group_reasons(items: Iterable[tuple[str, str]]) -> list[str]:
    """One line per reason with its count and at most MAX_EXAMPLES examples. A reason's
    detail after ": " (e.g. the missing path) goes with its example, not into the reason."""
    groups: dict[str, list[str]] = {}
    for ident, reason in items:
        head, _, detail = reason.partition(": ")
        groups.setdefault(head, []).append(f"{ident} ({detail})" if detail else ident)
    lines = []
    for head, examples in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        more = len(examples) - MAX_EXAMPLES
        shown = ", ".join(examples[:MAX_EXAMPLES]) + (f" and {more} more" if more > 0 else "")
        lines.append(f"{head}: {len(examples)} (e.g. {shown})")
    return lines


def seed_data(ctx: PostingContext, force_reseed: bool = False) -> dict[str, Any]:
    """--seed-only as a result dict; ok is False when nothing was seeded."""
    outcome = seed_campaign(ctx, force_reseed)
    messages: list[str] = []
    if outcome.refused:
        message = outcome.refused.splitlines()[0]
    elif outcome.created:
        message = f"Seeded {outcome.created} jobs for {ctx.describe()}"
    else:
        message = (
            f"No jobs seeded for {ctx.describe()} "
            f"({outcome.counts.get('total', 0)} jobs already in the store)"
        )
    messages.append(message)
    if not outcome.created and not outcome.refused:
        # Why, one line per reason with its count.
        reasons = Counter(reason for _id, reason in outcome.skipped)
        messages += [f"  {n} videos not seeded: {why}" for why, n in reasons.most_common()]
        messages += [f"  {line}" for line in outcome.problems]
    return {
        **_base(ctx),
        "ok": outcome.created > 0,
        "seeded": outcome.created,
        "refused": bool(outcome.refused),
        "skipped": [{"id": i, "reason": r} for i, r in outcome.skipped],
        "problems": outcome.problems,
        "match": outcome.match,
        "counts": outcome.counts,
        "message": message,
        "messages": messages,
    }


def seed_progress_file(
    ctx: PostingContext, parallel_config: ParallelConfig, force_reseed: bool = False
) -> int:
    """The specification's seed_progress_file: number of jobs seeded (0 when refused or nothing
    new)."""
    del parallel_config  # seeding depends only on the context
    return seed_campaign(ctx, force_reseed).created


# -- reset-day --------------------------------------------------------------------------------
@runtime_checkable
class SupportsSnapshot(Protocol):
    """An optional store ability: write a consistent copy of the job store to `path`."""

    def snapshot(self, path: Path) -> None:
        """Write the copy (e.g. SQLite's VACUUM INTO)."""
        ...


def reset_day_data(ctx: PostingContext, archive_dir: str | Path | None = None) -> dict[str, Any]:
    """Archive the day's jobs, then empty the store, so that --run or --seed-only seeds anew.

    The archive is `<archive>/progress_YYYYMMDD[_n].csv` (the prior 17-column format, for
    spreadsheets) plus a snapshot of the job store next to it (`.db`, SQLite only). The day is
    the local day in the campaign's timezone. Refused while a run holds the campaign, while a
    job is claimed, and while a job is unconfirmed (it may have been posted: archiving it would
    lose the chance to reconcile it)."""
    from postpilot.rollover import archive_and_clear

    desc = ctx.describe()
    _require_progress(ctx)
    target_dir = Path(archive_dir) if archive_dir is not None else ctx.archive_dir
    now = utcnow()
    # The store is opened first: a store of another campaign is refused before any lock file
    # is created.
    with _open(ctx) as store, _run_lock(ctx, "reset the day"):
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
    return {
        **_base(ctx),
        "ok": True,
        "archived": archived,
        "cleared": cleared,
        "archive_csv": str(csv_path),
        "snapshot": str(snapshot) if snapshot else None,
        "counts_before": counts,
        "message": message,
        "messages": messages,
    }


def copy_sqlite(source: Path, dest: Path) -> None:
    """Copy a SQLite file and its WAL (the caller ensures nobody writes meanwhile)."""
    shutil.copy2(source, dest)
    for suffix in ("-wal",):
        extra = source.with_name(source.name + suffix)
        if extra.exists():
            shutil.copy2(extra, dest.with_name(dest.name + suffix))


def reset_day(ctx: PostingContext, archive_dir: str | None = None) -> tuple[bool, str]:
    """The specification's reset_day: (success, message)."""
    try:
        data = reset_day_data(ctx, archive_dir)
    except (PostpilotError, OSError) as exc:
        return False, str(exc)
    return True, str(data["message"])


# -- retry-all-failed -------------------------------------------------------------------------
def retry_failed_data(ctx: PostingContext, include_non_retryable: bool = False) -> dict[str, Any]:
    """Put failed jobs back to retrying (unconfirmed jobs are never touched)."""
    desc = ctx.describe()
    _require_progress(ctx)
    with _open(ctx) as store:
        before = store.counts()
        log.info(
            "Retrying failed jobs for %s (current: %d failed, %d retrying)",
            desc,
            before["failed"],
            before["retrying"],
        )
        count = store.rearm_failed(include_non_retryable)
        after = store.counts()
    if count:
        message = f"Reset {count} failed jobs to retrying for {desc}"
        detail = f"  Now: {after['failed']} failed, {after['retrying']} retrying"
    else:
        message = f"No failed jobs to retry for {desc}"
        left = after["failed"]
        detail = (
            f"  {left} failed jobs are not retryable (account, content or permanent errors); "
            "add --retry-include-non-retryable to retry them too"
            if left and not include_non_retryable
            else ""
        )
    return {
        **_base(ctx),
        "ok": True,
        "rearmed": count,
        "include_non_retryable": include_non_retryable,
        "counts_before": before,
        "counts_after": after,
        "message": message,
        "messages": [message, *([detail] if detail else [])],
    }


def retry_all_failed(ctx: PostingContext, include_non_retryable: bool = False) -> int:
    """The specification's retry_all_failed: how many jobs were reset to retrying."""
    return int(retry_failed_data(ctx, include_non_retryable)["rearmed"])


# -- stop-all ---------------------------------------------------------------------------------
def stop_all_command(ctx: PostingContext, parallel_config: ParallelConfig) -> dict[str, Any]:
    """Stop this context's orchestrator and workers (only those in its run registry), and the
    project's service when it serves this context (`--serve`, runner/service.py)."""
    from postpilot.runner.locks import StopReport, stop_all, stop_service

    timeout = parallel_config.shutdown_timeout + 5.0
    service = stop_service(Path(ctx.project_root), timeout, ctx.campaign_name)
    stopped = stop_all(ctx, timeout=timeout)
    if service.stopped:  # the service was this campaign's orchestrator, or it was idle
        stopped = StopReport(stopped=[*service.stopped, *stopped.stopped])
    else:
        stopped = StopReport(stopped.stopped, [*service.others, *stopped.others])
    lines = [*stopped.stopped, *stopped.others]
    return {
        **_base(ctx),
        "ok": True,
        **stopped.to_json(),
        "message": lines[0] if lines else "",
        "messages": lines,
    }


# -- confirm ----------------------------------------------------------------------------------
def unblock_data(
    ctx: PostingContext, accounts: list[str], *, every: bool = False
) -> dict[str, Any]:
    """Lift accounts' ledger blocks (needs re-auth, rate window, unconfirmed hold) once the
    operator fixed their cause, e.g. after writing fresh tokens to credentials.json. `every`:
    all blocked accounts of the campaign. Refused, changing nothing, when a named account is
    not blocked."""
    from postpilot.credentials import without_mark

    desc = ctx.describe()
    _require_progress(ctx)
    with _open(ctx) as store:
        names = ctx.get_accounts() if every else accounts
        states = store.account_states(names)
        blocked = {a: s for a, s in states.items() if s.block}
        if not every:
            free = [a for a in accounts if a not in blocked]
            if free:
                raise OperationFailed(
                    f"Not blocked in {desc}: {', '.join(free)} (nothing was unblocked)\n"
                    "  --status lists the blocked accounts"
                )
        for account in blocked:
            store.unblock_account(account)
    lifted = [
        {"account": a, "was": s.block, "reason": without_mark(s.block_reason)}
        for a, s in sorted(blocked.items())
    ]
    if lifted:
        message = f"Unblocked {len(lifted)} account(s) of {desc}: " + ", ".join(
            f"{b['account']} (was: {b['was']})" for b in lifted
        )
    else:
        message = f"No blocked accounts in {desc}"
    log.info("%s", message)
    return {
        **_base(ctx),
        "ok": True,
        "unblocked": lifted,
        "account": lifted[0]["account"] if len(lifted) == 1 else None,
        "was": lifted[0]["was"] if len(lifted) == 1 else None,
        "message": message,
        "messages": [message],
    }


def confirm_data(ctx: PostingContext, job_id: str, posted: bool) -> dict[str, Any]:
    """Settle an unconfirmed job by the operator's word: posted -> success (the ledger counts
    it), not posted -> pending (the next run publishes it, resuming from its checkpoint)."""
    desc = ctx.describe()
    _require_progress(ctx)
    now = utcnow()
    with _open(ctx) as store:
        job = store.get(job_id)
        if job is None:
            raise OperationFailed(f"No job '{job_id}' in {desc}")
        if job.status is not JobStatus.UNCONFIRMED:
            raise OperationFailed(
                f"Job '{job_id}' of {desc} is {job.status}, not unconfirmed; "
                "only unconfirmed jobs can be confirmed"
            )
        if not store.resolve_unconfirmed(job_id, posted, now, day=local_day(now, ctx.timezone)):
            raise OperationFailed(f"Job '{job_id}' of {desc} changed meanwhile; try again")
        from postpilot.runner.unconfirmed import release_if_settled

        release_if_settled(store, job.account)
        settled = store.get(job_id)
    status = str(settled.status) if settled else ""
    word = "posted" if posted else "not posted"
    message = f"Job '{job_id}' of {desc} confirmed as {word}: now {status}"
    return {
        **_base(ctx),
        "ok": True,
        "job_id": job_id,
        "posted": posted,
        "status": status,
        "message": message,
        "messages": [message],
    }


def confirm_job(ctx: PostingContext, job_id: str, posted: bool) -> str:
    """Settle an unconfirmed job; returns the message."""
    return str(confirm_data(ctx, job_id, posted)["message"])


# -- export / import --------------------------------------------------------------------------
def _protected_files(ctx: PostingContext) -> dict[Path, str]:
    """Files an export must never replace, even with --force: inputs, stores, credentials."""
    from postpilot.credentials import default_path

    named: dict[Path, str] = {}

    def add(path: str | Path | None, what: str, sidecars: bool = False) -> None:
        if path:
            base = Path(path).resolve()
            named[base] = what
            if sidecars:
                for suffix in ("-wal", "-shm", "-journal"):
                    named[base.with_name(base.name + suffix)] = what

    add(ctx.accounts_file, "the accounts file")
    add(ctx.captions_file, "the captions file")
    add(ctx.state_file, "the scheduler state file")
    add(ctx.progress_file, f"the job store of {ctx.describe()}", sidecars=True)
    add(ctx.ledger_file, "the project ledger", sidecars=True)
    add(default_path(Path(ctx.project_root)), "the credentials file")
    add(ctx.base_dir / Config.CAMPAIGN_JSON, "campaign.json")
    add(Path(ctx.project_root) / Config.PROJECT_JSON, "the project settings")
    return named


def export_data(ctx: PostingContext, path: str | Path, *, force: bool = False) -> dict[str, Any]:
    """Write the jobs as the prior 17-column progress CSV (LF line ends, as the prior files).

    Never over a campaign input, a store, the ledger or credentials; over another existing
    file only with `force`."""
    from postpilot.store.csv_io import export_csv

    desc = ctx.describe()
    target = Path(path).expanduser().resolve()
    _require_progress(ctx)
    if target.is_dir():
        raise OperationFailed(f"--export-csv {path}: is a folder; give a file name")
    if not target.parent.is_dir():
        raise OperationFailed(f"--export-csv {path}: folder {target.parent} does not exist")
    protected = _protected_files(ctx)
    if target in protected:
        raise OperationFailed(
            f"--export-csv {path}: that is {protected[target]}; an export never replaces it\n"
            "  Give a new file name, e.g. progress_export.csv"
        )
    if ctx.videos_dir and target.is_relative_to(Path(ctx.videos_dir).resolve()):
        raise OperationFailed(
            f"--export-csv {path}: inside the campaign's videos folder; write it elsewhere"
        )
    if target.exists() and not force:
        raise OperationFailed(
            f"--export-csv {path}: the file exists\n"
            "  Give a new file name, or add --force to replace it"
        )
    with _open(ctx) as store:
        count = export_csv(store.list_jobs(), target, videos_dir=ctx.videos_dir)
    from postpilot.migration.prior import record_imported

    # Its rows are this store's own: an export next to the campaign never blocks seeding.
    record_imported(Path(ctx.project_root), [target])
    message = f"Exported {count} jobs of {desc} to {target}"
    return {
        **_base(ctx),
        "ok": True,
        "exported": count,
        "path": str(target),
        "message": message,
        "messages": [message],
    }


def export_progress(ctx: PostingContext, path: str | Path) -> int:
    """How many jobs were exported."""
    return int(export_data(ctx, path)["exported"])


def import_data(ctx: PostingContext, path: str | Path) -> dict[str, Any]:
    """Add the jobs of a prior progress CSV (13 to 17 columns) whose ids are not in the store;
    unknown columns and suspicious rows are reported, never silently dropped."""
    from postpilot.store.csv_io import import_csv

    desc = ctx.describe()
    source = Path(path).expanduser()
    if not source.is_file():
        raise OperationFailed(f"--import-progress {path}: file not found")
    from postpilot.migration.prior import record_imported

    # Validates the whole file before any write; naive times are the campaign's local time.
    parsed = import_csv(source, ctx.store_name, timezone=ctx.timezone, videos_dir=ctx.videos_dir)
    try:
        accounts = set(ctx.get_accounts())
    except (PostpilotError, OSError):
        accounts = set()
    foreign = sorted({j.account for j in parsed.jobs if j.account and j.account not in accounts})
    _refuse_if_running(ctx, "import jobs")
    if not parsed.jobs and not progress_exists(ctx):
        created, counts = 0, _zero_counts()  # a header-only file creates no store
    else:
        with _open(ctx) as store, _run_lock(ctx, "import jobs"):
            created = store.insert_jobs(parsed.jobs)
            counts = store.counts()
    record_imported(Path(ctx.project_root), [source])
    existing = len(parsed.jobs) - created
    message = f"Imported {created} jobs into {desc} from {source}"
    messages = [message]
    if existing:
        messages.append(f"  {existing} jobs were already in the store and left unchanged")
    if parsed.unknown_columns:
        messages.append(
            "  Unknown columns (their values were not imported): "
            + ", ".join(parsed.unknown_columns)
        )
    messages += [f"  Warning: {w}" for w in parsed.warnings[:MAX_NAMED]]
    if len(parsed.warnings) > MAX_NAMED:
        messages.append(f"  ... and {len(parsed.warnings) - MAX_NAMED} more warnings (see --json)")
    if foreign:
        messages.append(
            f"  {len(foreign)} accounts are not in {ctx.accounts_file}; their jobs will not "
            f"run: {', '.join(foreign[:MAX_NAMED])}"
        )
    return {
        **_base(ctx),
        "ok": True,
        "imported": created,
        "already_present": existing,
        "rows": len(parsed.jobs),
        "unknown_columns": list(parsed.unknown_columns),
        "warnings": list(parsed.warnings),
        "accounts_not_in_campaign": foreign,
        "counts": counts,
        "message": message,
        "messages": messages,
    }


def import_progress(ctx: PostingContext, path: str | Path) -> dict[str, Any]:
    """Import a prior progress CSV; returns the summary dict."""
    return import_data(ctx, path)


# -- the run ----------------------------------------------------------------------------------
def run_parallel_posting(
    ctx: PostingContext,
    num_workers: int = 3,
    force_reseed: bool = False,
    retry_all_failed: bool = True,
    retry_include_non_retryable: bool = False,
    retry_config: RetryConfig | None = None,
    *,
    display: RunDisplay | None = None,
) -> dict[str, Any]:
    """The specification's run_parallel_posting (postpilot.runner.orchestrator), imported on first
    use
    so that quick commands such as --status never load the runner."""
    from postpilot.migration.prior import check_prior_progress
    from postpilot.runner.orchestrator import run_parallel_posting as run

    if force_reseed or not progress_exists(ctx):
        check_prior_progress(ctx)  # before the run creates a store it would then seed
    return run(
        ctx,
        num_workers=num_workers,
        force_reseed=force_reseed,
        retry_all_failed=retry_all_failed,
        retry_include_non_retryable=retry_include_non_retryable,
        retry_config=retry_config,
        display=display,
    )


#: Exit codes a scheduler can act on (README "Exit codes").
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_JOBS_FAILED = 0, 1, 2, 3


def run_exit_code(ctx: PostingContext, results: dict[str, Any]) -> int:
    """The exit code of a run, and `failed_jobs` added to its results.

    0: everything due was published or waits for a later slot or day; 3: the run finished
    but jobs are failed or unconfirmed (a person must look); 1: the run could not run;
    130/143: interrupted. The orchestrator decides 1 and 130/143; this adds 3."""
    code = results.get("exit_code")
    if not isinstance(code, int):
        code = EXIT_FAILED if results.get("error") else EXIT_OK
    if "total" not in results:
        return code  # the run did not start: there are no jobs to judge
    if "failed_jobs" not in results and progress_exists(ctx):
        with _open(ctx) as store:
            results["failed_jobs"] = [
                {
                    "job_id": j.job_id,
                    "account": j.account,
                    "error_type": j.error_type,
                    "reason": j.error,
                }
                for j in store.list_jobs(statuses=[JobStatus.FAILED])
            ]
    if code == EXIT_OK and (results.get("failed") or results.get("unconfirmed")):
        code = EXIT_JOBS_FAILED
    results["exit_code"] = code
    return code


__all__ = [
    "OperationFailed",
    "ProgressNotFound",
    "confirm_job",
    "export_progress",
    "import_progress",
    "list_campaigns_command",
    "load_campaign_or_exit",
    "reset_day",
    "retry_all_failed",
    "run_parallel_posting",
    "seed_progress_file",
    "show_status",
    "stop_all_command",
]
