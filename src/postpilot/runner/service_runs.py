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
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from postpilot.config import PostingContext
from postpilot.errors import PostpilotError
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
    if (error and error != "no_jobs") or results.get("unconfirmed"):
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


def _next_due_after(ctx: PostingContext, now: datetime) -> datetime | None:
    """When the next waiting job comes due (its slot or retry time), after `now`: one index
    probe, never a walk over the waiting jobs."""
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
