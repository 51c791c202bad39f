"""Seeding a run's day, as the orchestrator does before its first pass: archive the previous
local day, seed the jobs with the reasons --seed-only gives, and tell a day without slots
apart from one where nothing could be seeded. Split from runner/orchestrator.py, which
decides the passes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from postpilot.config import PostingContext
from postpilot.jobs import utcnow
from postpilot.runner.display import RunDisplay
from postpilot.store.base import JobStore

if TYPE_CHECKING:
    from postpilot.campaign import MatchReport


class DaySeeded(NamedTuple):
    """What seeding the day gave the run."""

    created: int
    #: The day has no jobs but the campaign has some left for a later day (already said).
    later: bool = False
    #: Nothing could be seeded: the run's no-jobs message, with the reasons.
    failure: str | None = None


def roll_over_day(ctx: PostingContext, store: JobStore, display: RunDisplay) -> None:
    """A new local day: archive the previous one (as --reset-day does) before seeding."""
    from postpilot.rollover import Archived, roll_over

    done = roll_over(ctx, store, utcnow())
    if isinstance(done, Archived):
        display.event(
            f"{ctx.describe()}: new day: archived {done.archived} jobs of {done.day} "
            f"to {done.csv_path}"
        )
    elif isinstance(done, str):
        display.event(f"{ctx.describe()}: {done}")


def schedule_summary(
    ctx: PostingContext, store: JobStore, report: MatchReport | None = None
) -> dict[str, Any]:
    """What remains of the campaign and when it goes out (runner/results.py reports it), from
    the videos folder's match `report` when the caller has it."""
    from postpilot.rollover import schedule_summary as summarize

    return summarize(ctx, store, utcnow(), report=report)


def seed_day(ctx: PostingContext, store: JobStore, display: RunDisplay) -> DaySeeded:
    """Seed the store's day and say what was seeded and why the rest was not."""
    from postpilot.output import seed_lines
    from postpilot.seeding import REASON_DAILY_LIMIT, seed_store

    desc = ctx.describe()
    result = seed_store(ctx, store, utcnow())
    display.event(f"{desc}: seeded {result.created} jobs")
    why = seed_lines(result)
    for line in why:  # the same reasons --seed-only gives, names included
        display.event(f"{desc}: {line}")
    summary = schedule_summary(ctx, store, result.match_report)
    waits = all(reason == REASON_DAILY_LIMIT for _, reason in result.skipped)
    later = summary and summary["total"] and (not summary["remaining"] or waits)
    if store.counts()["total"] == 0 and later:
        # A campaign day without slots (weekend, all published, today's slots used):
        # not an error; say what remains and when it goes out.
        display.event(f"{desc}: {summary['message']}")
        return DaySeeded(result.created, later=True)
    if store.counts()["total"] == 0:
        message = "\n".join([f"No jobs to run for {desc}: nothing could be seeded", *why])
        return DaySeeded(result.created, failure=message)
    return DaySeeded(result.created)
