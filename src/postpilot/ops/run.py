"""`--run`: the run itself (postpilot.runner.orchestrator, imported on first use so that quick
commands such as --status never load the runner) and the exit code a scheduler acts on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from postpilot.config import PostingContext, RetryConfig
from postpilot.jobs import JobStatus
from postpilot.ops.common import open_ctx, progress_exists

if TYPE_CHECKING:
    from postpilot.runner.orchestrator import RunDisplay


def run_posting(
    ctx: PostingContext,
    num_workers: int = 3,
    force_reseed: bool = False,
    retry_all_failed: bool = True,
    retry_include_non_retryable: bool = False,
    retry_config: RetryConfig | None = None,
    *,
    display: RunDisplay | None = None,
) -> dict[str, Any]:
    """Check for a prior orchestrator's progress before a run creates a store, then run."""
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
        with open_ctx(ctx) as store:
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
