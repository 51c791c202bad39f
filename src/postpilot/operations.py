"""Kept so that existing imports work: `from postpilot.operations import X` for every name
this module held before the commands moved to one module per command family under
postpilot/ops/ (common, campaigns, status, seed, reset, retry, confirm, stop, transfer, run)
and the specification's names to postpilot/compat.py. New code imports from those modules.
"""

from __future__ import annotations

from postpilot.compat import (
    confirm_data,
    confirm_job,
    export_data,
    export_progress,
    import_data,
    import_progress,
    list_campaigns_command,
    load_campaign_or_exit,
    reset_day,
    reset_day_data,
    retry_all_failed,
    retry_failed_data,
    run_parallel_posting,
    seed_data,
    seed_progress_file,
    show_status,
    stop_all_command,
    unblock_data,
)
from postpilot.ops.campaigns import list_campaigns_data, load_campaign, resolve_campaign_folder
from postpilot.ops.common import (
    MAX_NAMED,
    OperationFailed,
    OpResult,
    ProgressNotFound,
    progress_exists,
)
from postpilot.ops.reset import SupportsSnapshot, copy_sqlite
from postpilot.ops.run import (
    EXIT_FAILED,
    EXIT_JOBS_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    run_exit_code,
)
from postpilot.ops.seed import MAX_EXAMPLES, SeedOutcome, group_reasons, seed_campaign
from postpilot.ops.status import SupportsStatusBreakdown, holders_data, status_data

__all__ = [
    "EXIT_FAILED",
    "EXIT_JOBS_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "MAX_EXAMPLES",
    "MAX_NAMED",
    "OpResult",
    "OperationFailed",
    "ProgressNotFound",
    "SeedOutcome",
    "SupportsSnapshot",
    "SupportsStatusBreakdown",
    "confirm_data",
    "confirm_job",
    "copy_sqlite",
    "export_data",
    "export_progress",
    "group_reasons",
    "holders_data",
    "import_data",
    "import_progress",
    "list_campaigns_command",
    "list_campaigns_data",
    "load_campaign",
    "load_campaign_or_exit",
    "progress_exists",
    "reset_day",
    "reset_day_data",
    "resolve_campaign_folder",
    "retry_all_failed",
    "retry_failed_data",
    "run_exit_code",
    "run_parallel_posting",
    "seed_campaign",
    "seed_data",
    "seed_progress_file",
    "show_status",
    "status_data",
    "stop_all_command",
    "unblock_data",
]
