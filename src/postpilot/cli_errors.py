"""How the command line reports a failed command: the message lines on stderr (an OSError with its
path and the fix, never a bare errno), and with --json one object naming the error's kind.
Split from cli.py, which dispatches.

Start-up: cli.py imports this module for `--help` too, so at module level it imports only
errno; what reporting needs (logging, postpilot.errors, report) is imported when a command
fails."""

from __future__ import annotations

import errno

TYPE_CHECKING = False  # not typing's: importing typing costs --help a tenth of its time
if TYPE_CHECKING:
    import argparse

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _error_kind(exc: BaseException) -> str:
    from postpilot.errors import (
        CampaignDisabled,
        CampaignNotFound,
        ConfigError,
        ConflictError,
        PostpilotError,
        StoreError,
        WrongCampaignStore,
    )
    from postpilot.ops.common import ProgressNotFound

    kinds: tuple[tuple[type[BaseException], str], ...] = (
        (CampaignNotFound, "campaign_not_found"),
        (CampaignDisabled, "campaign_disabled"),
        (ConfigError, "invalid_config"),
        (ConflictError, "orchestrator_conflict"),
        (ProgressNotFound, "progress_not_found"),
        (WrongCampaignStore, "wrong_campaign_store"),
        (StoreError, "store_error"),
        (PostpilotError, "operation_failed"),
        (OSError, "os_error"),
        (ValueError, "invalid_value"),
    )
    for cls, kind in kinds:
        if isinstance(exc, cls):
            return kind
    return "internal_error"


#: errno -> the fix, for the file-system errors an operator can act on.
_OS_FIXES = {
    errno.EACCES: "check the permissions of {path} (owner, mode) or run as its owner",
    errno.EPERM: "check the permissions of {path} (owner, mode) or run as its owner",
    errno.EROFS: "{path} is on a read-only file system: point POSTPILOT_HOME at a writable root",
    errno.ENOSPC: "the disk holding {path} is full: free space, then run again",
    errno.EDQUOT: "the disk quota for {path} is used up: free space, then run again",
    errno.ENOENT: "{path} does not exist: check the path",
}


def _os_error_message(exc: OSError) -> str:
    """The error with its path and the fix (never a bare errno)."""
    path = exc.filename or ""
    reason = exc.strerror or str(exc)
    head = f"{reason}: {path}" if path else reason
    fix = _OS_FIXES.get(exc.errno or 0)
    return f"{head}\n  {fix.format(path=path or 'the file')}" if fix else head


def _fail(args: argparse.Namespace | None, exc: BaseException) -> int:
    import logging

    from postpilot import log as logsetup
    from postpilot import report

    log = logging.getLogger("postpilot.cli")  # the command line's logger: the command's lines
    message = str(exc) or type(exc).__name__
    if isinstance(exc, OSError):
        message = _os_error_message(exc)
    for line in message.splitlines():
        log.error("%s", line)
    if args is not None and args.json:
        report.print_json(
            {
                "ok": False,
                "error": _error_kind(exc),
                "message": message,
                "context": logsetup.current_context(),
                "exit_code": EXIT_FAILED,
            }
        )
    return EXIT_FAILED
