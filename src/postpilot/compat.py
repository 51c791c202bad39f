"""The specification's operation names, with the specification's return types, delegating to
the command modules of postpilot/ops/ (`seed_progress_file` -> int, `reset_day` ->
(ok, message), `retry_all_failed` -> int, ...), and the result-dict names (`seed_data`,
`reset_day_data`, ...) that callers used before the results became typed.

show_status and list_campaigns_command print (JSON, or the rendered text), as the
specification's functions do; the command modules themselves never print.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postpilot import output
from postpilot.config import ParallelConfig, PostingContext, RetryConfig
from postpilot.errors import PostpilotError
from postpilot.ops import confirm, reset, retry, seed, stop, transfer
from postpilot.ops.campaigns import list_campaigns_data, load_campaign
from postpilot.ops.run import run_posting
from postpilot.ops.status import status_data

if TYPE_CHECKING:
    from postpilot.campaign import CampaignConfig
    from postpilot.runner.orchestrator import RunDisplay

log = logging.getLogger("postpilot.operations")


# -- the specification's names ----------------------------------------------------------------
def load_campaign_or_exit(campaign_arg: str) -> CampaignConfig:
    """The specification's helper: load the campaign or log why not and exit 1."""
    try:
        return load_campaign(campaign_arg)
    except PostpilotError as exc:
        for line in str(exc).splitlines():
            log.error("%s", line)
        raise SystemExit(1) from None


def list_campaigns_command(as_json: bool = False) -> dict[str, Any]:
    """The specification's --list-campaigns: print the listing (or how to create a campaign)."""
    data = list_campaigns_data()
    if as_json:
        output.print_json(data)
    else:
        from postpilot import report  # rich: only for the human listing

        report.render_campaigns(data, report.make_console())
    return data


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


def seed_progress_file(
    ctx: PostingContext, parallel_config: ParallelConfig, force_reseed: bool = False
) -> int:
    """The specification's seed_progress_file: number of jobs seeded (0 when refused or nothing
    new)."""
    del parallel_config  # seeding depends only on the context
    return seed.seed_campaign(ctx, force_reseed).created


def reset_day(ctx: PostingContext, archive_dir: str | None = None) -> tuple[bool, str]:
    """The specification's reset_day: (success, message)."""
    try:
        result = reset.reset(ctx, archive_dir)
    except (PostpilotError, OSError) as exc:
        return False, str(exc)
    return True, result.message


def retry_all_failed(ctx: PostingContext, include_non_retryable: bool = False) -> int:
    """The specification's retry_all_failed: how many jobs were reset to retrying."""
    return retry.retry_failed(ctx, include_non_retryable).rearmed


def stop_all_command(ctx: PostingContext, parallel_config: ParallelConfig) -> dict[str, Any]:
    """The specification's --stop-all: what was stopped, as a result dict."""
    return stop.stop(ctx, parallel_config).to_json()


def confirm_job(ctx: PostingContext, job_id: str, posted: bool) -> str:
    """Settle an unconfirmed job; returns the message."""
    return confirm.confirm(ctx, job_id, posted).message


def export_progress(ctx: PostingContext, path: str | Path) -> int:
    """How many jobs were exported."""
    return transfer.export_jobs(ctx, path).exported


def import_progress(ctx: PostingContext, path: str | Path) -> dict[str, Any]:
    """Import a prior progress CSV; returns the summary dict."""
    return transfer.import_jobs(ctx, path).to_json()


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
    """The specification's run_parallel_posting (postpilot.runner.orchestrator), imported on
    first use so that quick commands such as --status never load the runner."""
    return run_posting(
        ctx,
        num_workers=num_workers,
        force_reseed=force_reseed,
        retry_all_failed=retry_all_failed,
        retry_include_non_retryable=retry_include_non_retryable,
        retry_config=retry_config,
        display=display,
    )


# -- the result dicts of the typed results ----------------------------------------------------
def seed_data(ctx: PostingContext, force_reseed: bool = False) -> dict[str, Any]:
    """--seed-only as a result dict; ok is False when nothing was seeded."""
    return seed.seed(ctx, force_reseed).to_json()


def reset_day_data(ctx: PostingContext, archive_dir: str | Path | None = None) -> dict[str, Any]:
    """--reset-day as a result dict."""
    return reset.reset(ctx, archive_dir).to_json()


def retry_failed_data(ctx: PostingContext, include_non_retryable: bool = False) -> dict[str, Any]:
    """--retry-all-failed as a result dict."""
    return retry.retry_failed(ctx, include_non_retryable).to_json()


def unblock_data(
    ctx: PostingContext, accounts: list[str], *, every: bool = False
) -> dict[str, Any]:
    """--unblock as a result dict."""
    return confirm.unblock(ctx, accounts, every=every).to_json()


def confirm_data(ctx: PostingContext, job_id: str, posted: bool) -> dict[str, Any]:
    """--confirm as a result dict."""
    return confirm.confirm(ctx, job_id, posted).to_json()


def export_data(ctx: PostingContext, path: str | Path, *, force: bool = False) -> dict[str, Any]:
    """--export-csv as a result dict."""
    return transfer.export_jobs(ctx, path, force=force).to_json()


def import_data(ctx: PostingContext, path: str | Path) -> dict[str, Any]:
    """--import-progress as a result dict."""
    return transfer.import_jobs(ctx, path).to_json()


__all__ = [
    "confirm_data",
    "confirm_job",
    "export_data",
    "export_progress",
    "import_data",
    "import_progress",
    "list_campaigns_command",
    "load_campaign_or_exit",
    "reset_day",
    "reset_day_data",
    "retry_all_failed",
    "retry_failed_data",
    "run_parallel_posting",
    "seed_data",
    "seed_progress_file",
    "show_status",
    "stop_all_command",
    "unblock_data",
]
