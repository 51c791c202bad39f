"""`--seed-only`: put the campaign's due videos (or the legacy state file's) into its store."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postpilot import output
from postpilot.config import PostingContext
from postpilot.jobs import utcnow
from postpilot.ops.common import OpResult, log, progress_exists, refuse_if_running, run_lock


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
    refuse_if_running(ctx, "seed")
    created_store = not progress_exists(ctx)
    from postpilot.store import open_store

    # Opened before the lock: a store of another campaign is refused before any file changes.
    store = open_store(ctx)
    closed = False
    try:
        with run_lock(ctx, "seed"):
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


@dataclass(frozen=True, kw_only=True)
class SeedResult(OpResult):
    """--seed-only's result; ok is False when nothing was seeded."""

    outcome: SeedOutcome

    def fields_json(self) -> dict[str, Any]:
        """seeded, refused, skipped, problems, match, counts."""
        outcome = self.outcome
        return {
            "seeded": outcome.created,
            "refused": bool(outcome.refused),
            "skipped": [{"id": i, "reason": r} for i, r in outcome.skipped],
            "problems": outcome.problems,
            "match": outcome.match,
            "counts": outcome.counts,
        }


def seed(ctx: PostingContext, force_reseed: bool = False) -> SeedResult:
    """--seed-only: seed_campaign with the lines for a person."""
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
    return SeedResult(
        campaign=ctx.campaign_name,
        context=ctx.describe(),
        ok=outcome.created > 0,
        outcome=outcome,
        message=message,
        messages=messages,
    )
