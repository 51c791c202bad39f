"""The service's bookkeeping of campaign runs: what each one published, the summary at the end,
and when a campaign runs next, read from what its last run reported and one store probe.

The candidates for the next run (the earliest wins):
- the campaign's next local midnight: the day rolls over and every daily limit frees up;
- the store's next due time (a slot or a retry time after now: `JobStore.next_due_at`);
- the end of every block the run reported with an end (a rate window, another campaign's
  publish on a shared account, an unconfirmed hold);
- a recheck, `recheck_seconds` away, when something may move without a time to wait for: a
  block only an operator lifts (--unblock, --confirm), an unconfirmed publish reconcile may
  settle, a failed run (not one that found nothing to seed), or a run that used all its passes;
- BUSY_RETRY_SECONDS when another process (a --run) held the campaign's run lock.
A run refused for bad input (INVALID_INPUT) waits for midnight or an edit of its files.

Also here: what the service does before and after a campaign's run, as --run does
(`prepare_run`), and the worker spec files it leaves in the campaign's logs folder.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from postpilot.config import PostingContext
from postpilot.errors import ConflictError, PostpilotError
from postpilot.jobs import next_local_midnight
from postpilot.store import open_store

log = logging.getLogger("postpilot.service")

#: Seconds before a campaign whose run lock another process holds (a --run) is tried again.
BUSY_RETRY_SECONDS = 30.0
#: Reasons a due job cannot move (the orchestrator's) that end only at the local midnight or
#: with an edit of the campaign's files, both of which wake the service anyway.
ENDS_AT_MIDNIGHT_OR_ON_EDIT = frozenset(
    {"daily limit reached", "account not in the campaign's accounts"}
)
#: The "error" of a run the service did not start: bad input, or a refusal to seed.
INVALID_INPUT = "invalid_input"
#: Errors that a recheck cannot fix: the next run waits for midnight or an edit.
WAIT_FOR_EDIT = frozenset({"no_jobs", INVALID_INPUT})


def next_run(
    ctx: PostingContext,
    results: dict[str, Any],
    now: datetime,
    *,
    recheck_seconds: float,
    max_passes: int,
) -> datetime:
    """The earliest moment the campaign may have something to do again (module docstring)."""
    if results.get("error") == "orchestrator_conflict":
        return now + timedelta(seconds=BUSY_RETRY_SECONDS)
    candidates = [next_local_midnight(now, ctx.timezone)]
    recheck = now + timedelta(seconds=recheck_seconds)
    error = results.get("error")
    if (error and error not in WAIT_FOR_EDIT) or results.get("unconfirmed"):
        # No jobs (nothing left to seed) waits for midnight or an edit, like a finished day.
        candidates.append(recheck)
    for blocked in results.get("blocked", []):
        until = blocked.get("until")
        if until:
            moment = datetime.fromisoformat(until)
            candidates.append(moment if moment > now else recheck)
        elif blocked.get("reason") not in ENDS_AT_MIDNIGHT_OR_ON_EDIT:
            candidates.append(recheck)
    passes = results.get("retry_summary", {}).get("total_passes", 0)
    if passes >= max_passes:
        candidates.append(recheck)
    try:
        upcoming = _next_due_after(ctx, now)
    except PostpilotError as exc:
        log.warning("%s: cannot read its store: %s", ctx.describe(), exc)
        upcoming = recheck
    if upcoming is not None:
        candidates.append(upcoming)
    return min(candidates)


def prepare_run(ctx: PostingContext, *, check_videos: bool = True) -> None:
    """What --run does before its run (cli.py `_run` and ops/run.py run_posting): the
    preflight, the healing of needs-reauth blocks whose credentials changed, and the refusal
    to seed over prior progress never imported. Raises PostpilotError before anything is
    written when the campaign's input is bad."""
    from postpilot.migration.prior import check_prior_progress
    from postpilot.ops.common import progress_exists
    from postpilot.preflight import heal_reauth_blocks, run_preflight

    run_preflight(ctx, videos=check_videos)
    heal_reauth_blocks(ctx)
    if not progress_exists(ctx):
        check_prior_progress(ctx)  # before the run creates a store it would then seed


def one_line(exc: BaseException) -> str:
    """An error message (the problem, then indented lines with the fix) as one log line."""
    parts = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(parts) or type(exc).__name__


SPEC_GLOB = "run_*.spec.json"


def remove_spec(ctx: PostingContext, run_id: object) -> None:
    """Remove the worker spec file of a run that ended (its workers have exited)."""
    if isinstance(run_id, str) and run_id:
        with contextlib.suppress(OSError):
            (ctx.logs_dir / f"run_{run_id}.spec.json").unlink()


def sweep_stale_specs(ctx: PostingContext) -> int:
    """Remove the spec files runs killed before their end left behind; only while no run of
    the campaign holds its lock (a live --run keeps its spec). Returns how many went."""
    from postpilot.runner.locks import RunLock

    if not ctx.logs_dir.is_dir():
        return 0
    lock = RunLock(ctx)
    try:
        lock.acquire()
    except ConflictError:
        return 0
    removed = 0
    try:
        for path in ctx.logs_dir.glob(SPEC_GLOB):
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    finally:
        lock.release()
    if removed:
        log.info("%s: removed %d spec files left by runs that were killed", ctx.describe(), removed)
    return removed


def _next_due_after(ctx: PostingContext, now: datetime) -> datetime | None:
    """When the next waiting job comes due (its slot or retry time), after `now`: one index
    probe, never a walk over the waiting jobs. A store that does not exist yet is not created
    (a refused run writes nothing)."""
    if ctx.store_dsn is None and not Path(ctx.progress_file).exists():
        return None
    store = open_store(ctx)
    try:
        return store.next_due_at(now)
    finally:
        store.close()


def published_in(results: dict[str, Any]) -> int:
    """How many jobs a run's passes published."""
    summary = results.get("retry_summary") or {}
    passes = summary.get("passes") if isinstance(summary, dict) else None
    if not isinstance(passes, list):
        return 0
    return sum(int(p.get("succeeded", 0)) for p in passes)


def counts_text(results: dict[str, Any]) -> str:
    """`3 success, 1 pending, ...` for the service's log line about a run."""
    if results.get("error") == INVALID_INPUT:
        return "not run: its input was refused (logged above)"
    if "total" not in results:
        return str(results.get("message") or results.get("error") or "no result")
    keys = ("success", "pending", "retrying", "unconfirmed", "failed")
    return ", ".join(f"{results.get(k, 0)} {k}" for k in keys)


@dataclass
class ServiceSummary:
    """What the service did, for the CLI's last words."""

    runs: int = 0
    published: int = 0
    campaigns: list[str] = field(default_factory=list)
    signum: int | None = None

    @property
    def exit_code(self) -> int:
        """128 + the signal that stopped it (130 SIGINT, 143 SIGTERM), 0 otherwise."""
        return 128 + self.signum if self.signum is not None else 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "service": "stopped",
            "runs": self.runs,
            "published": self.published,
            "campaigns": list(self.campaigns),
            "signal": signal.Signals(self.signum).name if self.signum else None,
            "exit_code": self.exit_code,
        }
