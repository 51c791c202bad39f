"""The command line: the specification's flags and dispatch order, one PostingContext built once.

    postpilot --list-campaigns
    postpilot --campaign NAME|PATH --status | --seed-only | --run | ...
    postpilot --status | --run ...            (legacy mode: the project root's files)

Dispatch: exactly one action per call (two actions, or an option the action would ignore,
are usage errors, exit 2, before anything is read); --list-campaigns needs no context; any
other action builds the context (campaign or legacy) once and runs; --serve builds one context
per campaign it serves (runner/service.py).

Exit codes: 0 done (for --run: everything due was published or waits for a later slot/day);
3 --run finished but some jobs failed or are unconfirmed; 1 the operation failed (campaign
missing, invalid or disabled, nothing seeded, a conflict, a missing progress store); 2 usage
(bad flags, or no action at all: the help goes to stderr); 130/143 an interrupted run.
Data goes to stdout (one JSON object with --json), messages and errors to stderr; bad input
never prints a traceback and never changes a file.

Start-up: at module level this imports argparse, the parser (cli_parser.py) and cli_errors.py,
nothing else, so `--help` and `--version` import no other postpilot module; each action
imports what it needs (its operation, the context, logging, the store, rich only on a
terminal) when it runs, and --status on a plain campaign imports neither pydantic nor a
channel (tests/acceptance/test_cli_imports.py; bench/run_bench.py --startup-only times them).

The parser and its checks of option combinations are in cli_parser.py, the reporting of a
failed command (messages, --json error object) in cli_errors.py.

Paths given on the command line (--state-file, --export-csv, --import-progress, a campaign
path) are relative to the current directory; files the project owns are relative to the
project root (POSTPILOT_HOME, default the current directory).
"""

from __future__ import annotations

import argparse
import os
import sys

from postpilot.cli_errors import (
    _OS_FIXES,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    _error_kind,
    _fail,
    _os_error_message,
)
from postpilot.cli_parser import (
    ACTIONS,
    CONFIRM_CHOICES,
    FLAGS,
    MAX_WORKERS,
    OPTION_SCOPE,
    RUN_DEFAULTS,
    _account_list,
    _check_combinations,
    _check_usage,
    _take_confirm,
    build_parser,
    parse_command_line,
)

# Everything else is imported where it is used, after the arguments are parsed: --help and
# --version import argparse and the parser's constants only. `TYPE_CHECKING = False` rather
# than typing's: importing typing costs --help a tenth of its time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Sequence
    from typing import Any, NoReturn

    from postpilot.config import ParallelConfig, PostingContext

#: Kept importable from here: the parser and its checks are in cli_parser.py, the reporting
#: of a failed command in cli_errors.py.
__all__ = [
    "ACTIONS",
    "CONFIRM_CHOICES",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "FLAGS",
    "MAX_WORKERS",
    "OPTION_SCOPE",
    "RUN_DEFAULTS",
    "_OS_FIXES",
    "_account_list",
    "_check_combinations",
    "_check_usage",
    "_error_kind",
    "_os_error_message",
    "_take_confirm",
    "build_context",
    "build_parser",
    "main",
    "run_cli",
]


def _log() -> logging.Logger:
    """The command line's logger (cli_errors.py logs a failed command to the same one)."""
    import logging

    return logging.getLogger("postpilot.cli")


# -- the context ------------------------------------------------------------------------------
def build_context(args: argparse.Namespace) -> PostingContext:
    """The one PostingContext of this command: from the campaign, or for legacy root files."""
    import dataclasses
    from pathlib import Path

    from postpilot import log as logsetup
    from postpilot.config import Config, PostingContext
    from postpilot.ops.campaigns import load_campaign

    log = _log()
    root = Config.project_root()
    if args.campaign is not None:
        logsetup.set_context(f"campaign '{args.campaign}'")
        campaign = load_campaign(args.campaign, root)
        ctx = PostingContext.from_campaign(campaign)
        logsetup.set_context(ctx.describe())
        # The specification's "Campaign/Legacy Confusion" warnings.
        if args.state_file is not None:
            log.warning("--state-file ignored when --campaign is specified")
        if args.accounts is not None:
            log.warning("--accounts ignored when --campaign is specified (using campaign accounts)")
        log.info("Loaded %s (project root %s)", ctx.describe(), ctx.project_root)
    else:
        from postpilot import publisher_config
        from postpilot.project_settings import load_project_settings

        settings = load_project_settings(root)
        from postpilot.migration.prior import resolve_state_file

        state_file = (
            str(Path(args.state_file).expanduser().resolve())
            if args.state_file is not None
            else str(resolve_state_file(root))
        )
        ctx = PostingContext.legacy(
            state_file=state_file,
            max_posts_per_account_per_day=settings.max_posts_per_account_per_day,
            project_root=str(root),
            accounts=_account_list(args.accounts) if args.accounts is not None else None,
            publisher=publisher_config.as_block(settings.publisher),
            store_dsn=settings.store,
            timezone=settings.timezone,
            max_attempts=settings.max_attempts,
        )
        logsetup.set_context(ctx.describe())
        log.info("Running in %s (project %s)", ctx.describe(), root)
        log.info("  State file: %s", ctx.state_file)
    log.info("  Progress: %s", ctx.progress_file)
    if args.ignore_prior_progress:
        ctx = dataclasses.replace(ctx, ignore_prior_progress=True)
    return ctx


# -- dispatch ---------------------------------------------------------------------------------
def _chosen_actions(args: argparse.Namespace) -> list[tuple[str, str]]:
    return [(dest, flag) for dest, flag in ACTIONS if getattr(args, dest) not in (None, False)]


def _emit(args: argparse.Namespace, result: dict[str, Any]) -> int:
    """Print an operation's result: JSON, or its message lines; exit 0 when it succeeded."""
    from postpilot import report

    if args.json:
        report.print_json(result)
    else:
        report.render_lines(result.get("messages", []), report.make_console())
    return EXIT_OK if result.get("ok", True) else EXIT_FAILED


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    # STEP 1: --list-campaigns needs no context.
    if args.list_campaigns:
        from postpilot import compat

        compat.list_campaigns_command(as_json=args.json)
        return EXIT_OK

    if args.migrate is not None:  # needs no context: it creates the project's folders
        from postpilot.migration.apply import migrate_data

        return _emit(args, migrate_data(args.migrate, dry_run=args.dry_run, path_map=args.path_map))

    chosen = _chosen_actions(args)
    if chosen and chosen[0][0] == "serve":
        # The service builds a context per campaign it serves, not one for the command.
        return _serve(args)
    if not chosen:
        # Usage error: nothing to do. Validate the context first as the specification does, then
        # help.
        build_context(args)
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    # STEP 2: the one context.
    ctx = build_context(args)
    from postpilot.config import get_config

    parallel_config = get_config(num_workers=args.workers)

    # STEP 3: one action.
    return _act(args, ctx, parallel_config, chosen[0][0])  # one, checked by _check_combinations


def _act(
    args: argparse.Namespace, ctx: PostingContext, parallel_config: ParallelConfig, action: str
) -> int:
    """Do the command line's one action on its context (each imports what it needs)."""
    if action == "status":
        _status(args, ctx)
        return EXIT_OK
    if action == "check":
        from postpilot.check import check_data

        return _emit(args, check_data(ctx, online=args.online))
    if action == "reset_day":
        from postpilot.ops import reset

        return _emit(args, reset.reset(ctx).to_json())
    if action == "retry_all_failed":
        from postpilot.ops import retry

        result = retry.retry_failed(ctx, args.retry_include_non_retryable)
        return _emit(args, result.to_json())
    if action == "plan":
        return _plan(args, ctx)
    if action == "stop_all":
        from postpilot.ops import stop

        return _emit(args, stop.stop(ctx, parallel_config).to_json())
    if action in ("confirm", "unblock"):
        from postpilot.ops import confirm

        if action == "unblock":
            accounts = [a for part in args.unblock for a in _account_list(part)]
            return _emit(args, confirm.unblock(ctx, accounts, every=args.all).to_json())
        job_id, word = args.confirm
        return _emit(args, confirm.confirm(ctx, job_id, word == "posted").to_json())
    if action in ("import_progress", "export_csv"):
        from postpilot.ops import transfer

        if action == "import_progress":
            return _emit(args, transfer.import_jobs(ctx, args.import_progress).to_json())
        exported = transfer.export_jobs(ctx, args.export_csv, force=args.force)
        return _emit(args, exported.to_json())
    if action == "seed_only":
        from postpilot.ops import seed

        seeded = seed.seed(ctx, args.force_reseed)
        if not seeded.ok:
            _log().error("No jobs seeded: %s", seeded.message)
        return _emit(args, seeded.to_json())
    return _run(args, ctx)


def _status(args: argparse.Namespace, ctx: PostingContext) -> None:
    """--status: compat.show_status's print, importing only the status (no other operation)."""
    from postpilot.ops.status import status_data

    data = status_data(ctx)
    if args.json:
        from postpilot import output

        output.print_json(data)
    else:
        from postpilot import status_report  # rich only when stdout is a terminal

        status_report.render_status(data)


def _plan(args: argparse.Namespace, ctx: PostingContext) -> int:
    import json

    from postpilot import clock, report
    from postpilot.plan_io import plan_command

    plan, lines = plan_command(ctx, args.days or 7, clock.now())
    if args.json:
        # Compact: json's C encoder (an indented 100k-entry plan takes seconds to print).
        sys.stdout.write(json.dumps(plan.to_json(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        report.render_lines(lines, report.make_console())
    return EXIT_OK


def _run(args: argparse.Namespace, ctx: PostingContext) -> int:
    from postpilot import report
    from postpilot.config import RetryConfig
    from postpilot.ops.common import OperationFailed
    from postpilot.ops.run import run_exit_code, run_posting

    # The specification's safety check: --force-reseed cannot rewrite a store that already has jobs.
    if args.force_reseed and _has_progress(ctx):
        raise OperationFailed(
            f"--force-reseed not allowed with existing progress file: {ctx.progress_file}\n"
            "  Archive it with --reset-day first, or add new jobs with --seed-only --force-reseed"
        )
    from postpilot.preflight import heal_reauth_blocks, run_preflight

    run_preflight(ctx)  # bad input: an error before the run creates its lock or store
    heal_reauth_blocks(ctx)
    retry_cfg = RetryConfig(max_passes=args.max_passes, retry_delay_seconds=args.retry_delay)
    display = report.make_run_display(ctx, json_mode=args.json)
    results = run_posting(
        ctx,
        num_workers=args.workers,
        force_reseed=args.force_reseed,
        retry_all_failed=True,
        retry_include_non_retryable=args.retry_include_non_retryable,
        retry_config=retry_cfg,
        display=display,
    )
    code = run_exit_code(ctx, results)
    if args.json:
        report.print_json(results)
    else:
        report.render_run_summary(results, report.make_console())
    if results.get("error"):
        message = str(results.get("message") or results["error"])
        for line in message.splitlines():
            _log().error("%s", line)
    return code


def _serve(args: argparse.Namespace) -> int:
    from postpilot import serve_options

    if args.dashboard_only:
        return serve_options.serve_dashboard(args)
    from postpilot import log as logsetup
    from postpilot import report
    from postpilot.config import Config, RetryConfig
    from postpilot.runner.service import serve

    logsetup.set_context("service" if args.campaign is None else f"service '{args.campaign}'")
    summary = serve(
        Config.project_root(),
        args.campaign,
        num_workers=args.workers,
        retry=RetryConfig(max_passes=args.max_passes, retry_delay_seconds=args.retry_delay),
        companions=[serve_options.dashboard_companion(args)],
        ignore_prior_progress=args.ignore_prior_progress,
    )
    if args.json:
        report.print_json(summary.to_json())
    return summary.exit_code


def _has_progress(ctx: PostingContext) -> bool:
    from pathlib import Path

    if ctx.store_dsn is None:
        return Path(ctx.progress_file).exists()
    from postpilot.store import open_store

    store = open_store(ctx)
    try:
        return store.counts()["total"] > 0
    finally:
        store.close()


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Parse, build the context once, run one action; return the exit code."""
    # pydantic scans every installed distribution for plugins the first time it builds a model;
    # postpilot uses none, and the scan costs more than the rest of a --status call.
    # Worker processes inherit the setting.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    parser = build_parser()
    try:
        args = parse_command_line(parser, list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    import logging

    from postpilot import clock, settings
    from postpilot import log as logsetup
    from postpilot.errors import ConfigError, PostpilotError

    log = _log()
    try:
        env = settings.load()
    except ConfigError as exc:  # the settings choose the log level: report at the default
        logsetup.setup_logging(level=logging.INFO)
        try:
            return _fail(args, exc)
        finally:
            logsetup.teardown_logging()
    logsetup.setup_logging(level=logging.getLevelNamesMapping()[env.log_level])
    try:
        clock.now()  # a bad POSTPILOT_NOW fails here, cleanly, before anything is written
        return _dispatch(parser, args)
    except KeyboardInterrupt:
        log.error("Interrupted")
        return 130
    except (PostpilotError, ValueError, OSError) as exc:
        return _fail(args, exc)
    except Exception as exc:  # a bug: say so without a wall of traceback, unless debugging
        if env.debug:
            raise
        log.error("Unexpected error (set POSTPILOT_DEBUG=1 for the traceback)")
        return _fail(args, exc)
    finally:
        logsetup.teardown_logging()


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console entry point (`postpilot`, `python -m postpilot`): exits with the code."""
    sys.exit(run_cli(argv))
