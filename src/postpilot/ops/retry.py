"""`--retry-all-failed`: put failed jobs back to retrying (unconfirmed jobs are never touched)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from postpilot.config import PostingContext
from postpilot.ops.common import OpResult, log, open_ctx, require_progress


@dataclass(frozen=True, kw_only=True)
class RetryResult(OpResult):
    """How many failed jobs were re-armed, and the counts around it."""

    rearmed: int
    include_non_retryable: bool
    counts_before: dict[str, int]
    counts_after: dict[str, int]

    def fields_json(self) -> dict[str, Any]:
        """rearmed, include_non_retryable, counts_before, counts_after."""
        return {
            "rearmed": self.rearmed,
            "include_non_retryable": self.include_non_retryable,
            "counts_before": self.counts_before,
            "counts_after": self.counts_after,
        }


def retry_failed(ctx: PostingContext, include_non_retryable: bool = False) -> RetryResult:
    """Put failed jobs back to retrying; without `include_non_retryable` only those whose error
    is retryable."""
    desc = ctx.describe()
    require_progress(ctx)
    with open_ctx(ctx) as store:
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
    return RetryResult(
        campaign=ctx.campaign_name,
        context=desc,
        rearmed=count,
        include_non_retryable=include_non_retryable,
        counts_before=before,
        counts_after=after,
        message=message,
        messages=[message, *([detail] if detail else [])],
    )
