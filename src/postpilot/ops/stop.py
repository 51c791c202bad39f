"""`--stop-all`: stop this context's orchestrator and workers, and the service serving it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postpilot.config import ParallelConfig, PostingContext
from postpilot.ops.common import OpResult

if TYPE_CHECKING:
    from postpilot.runner.locks import StopReport


@dataclass(frozen=True, kw_only=True)
class StopResult(OpResult):
    """What was stopped, and the processes left alone (other campaigns')."""

    report: StopReport

    def fields_json(self) -> dict[str, Any]:
        """The stop report's fields."""
        return self.report.to_json()


def stop(ctx: PostingContext, parallel_config: ParallelConfig) -> StopResult:
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
    return StopResult(
        campaign=ctx.campaign_name,
        context=ctx.describe(),
        report=stopped,
        message=lines[0] if lines else "",
        messages=lines,
    )
