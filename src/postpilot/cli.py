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

Start-up: this module imports only the standard library and postpilot's light modules; each
action imports what it needs (operations, report, pydantic, rich, the stores, the channels) on
use, so `--help` and `--version` start as fast as Python itself (tests/unit/test_cli_imports.py).

Paths given on the command line (--state-file, --export-csv, --import-progress, a campaign
path) are relative to the current directory; files the project owns are relative to the
project root (POSTPILOT_HOME, default the current directory).
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import postpilot
from postpilot import clock, env_help, serve_options
from postpilot import log as logsetup
from postpilot.config import Config, PostingContext, RetryConfig, get_config
from postpilot.errors import (
    CampaignDisabled,
    CampaignNotFound,
    ConfigError,
    ConflictError,
    PostpilotError,
    StoreError,
    WrongCampaignStore,
)

log = logging.getLogger("postpilot.cli")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: Actions in the order the specification dispatches them (the first one given wins).
ACTIONS: tuple[tuple[str, str], ...] = (
    ("reset_day", "--reset-day"),
    ("retry_all_failed", "--retry-all-failed"),
    ("status", "--status"),
    ("plan", "--plan"),
    ("stop_all", "--stop-all"),
    ("confirm", "--confirm"),
    ("unblock", "--unblock"),
    ("import_progress", "--import-progress"),
    ("export_csv", "--export-csv"),
    ("seed_only", "--seed-only"),
    ("run", "--run"),
    ("serve", "--serve"),
    ("check", "--check"),
)
CONFIRM_CHOICES = ("posted", "not-posted")
MAX_WORKERS = 64


# -- the parser -------------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _workers(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"at most {MAX_WORKERS} workers (got {value})")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds (got {text})")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with the specification's flags and postpilot's additions."""
    parser = argparse.ArgumentParser(
        prog="postpilot",
        description=(
            "Publish campaigns of videos through parallel workers, never twice. "
            "Give --campaign for a campaign folder; without it, legacy mode uses the "
            "project root's accounts.txt and scheduler_state.json."
        ),
        epilog=(
            "examples:\n"
            "  postpilot --list-campaigns\n"
            "  postpilot --campaign demo --run\n"
            "  postpilot --campaign demo --status --json\n"
            "  postpilot --campaign demo --reset-day\n"
            "exit codes:\n"
            "  0    done: everything due was published or waits for a later slot or day\n"
            "  3    --run finished, but some jobs failed or are unconfirmed (listed)\n"
            "  1    could not run (invalid input, conflict, missing store, ...)\n"
            "  2    usage error (bad or conflicting options)\n"
            "  130  interrupted by Ctrl+C (SIGINT); 143 by SIGTERM\n" + env_help.help_text()
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"postpilot {postpilot.__version__}")
    where = parser.add_argument_group("what to work on")
    where.add_argument(
        "--campaign",
        "-c",
        metavar="NAME|PATH",
        help="campaign name under campaigns/, or a campaign folder",
    )
    where.add_argument("--list-campaigns", action="store_true", help="list the campaigns and exit")
    where.add_argument(
        "--state-file",
        metavar="PATH",
        help=f"legacy mode: the job source (default: <project>/{Config.STATE_FILE})",
    )
    where.add_argument(
        "--accounts",
        "-a",
        metavar="LIST",
        help="legacy mode: comma-separated accounts to use instead of accounts.txt",
    )

    actions = parser.add_argument_group("actions (one per call)")
    actions.add_argument("--run", action="store_true", help="seed if needed, then publish")
    actions.add_argument(
        "--serve",
        action="store_true",
        help="run every enabled campaign (or --campaign) unattended until stopped",
    )
    actions.add_argument("--status", action="store_true", help="show progress and accounts")
    actions.add_argument(
        "--check",
        action="store_true",
        help="check every input (accounts, captions, videos, credentials); changes nothing",
    )
    actions.add_argument(
        "--plan",
        action="store_true",
        help="show which video goes to which account at which slot (writes nothing)",
    )
    actions.add_argument("--seed-only", action="store_true", help="create jobs without running")
    actions.add_argument(
        "--stop-all", action="store_true", help="stop this campaign's orchestrator and workers"
    )
    actions.add_argument(
        "--reset-day",
        action="store_true",
        help="archive the jobs to archive/progress_YYYYMMDD.csv and start a new day",
    )
    actions.add_argument(
        "--retry-all-failed", action="store_true", help="put failed jobs back to retrying"
    )
    actions.add_argument(
        "--confirm",
        nargs=2,
        metavar=("JOB_ID", "{posted,not-posted}"),
        help="settle an unconfirmed job: it was posted, or it was not",
    )
    actions.add_argument(
        "--unblock",
        nargs="*",
        metavar="ACCOUNT",
        help="lift accounts' blocks (needs re-auth, rate limit) after fixing the cause; "
        "with --all: every blocked account",
    )
    actions.add_argument(
        "--export-csv", metavar="PATH", help="write the jobs as the 17-column progress CSV"
    )
    actions.add_argument(
        "--import-progress", metavar="PATH", help="add the jobs of a prior progress CSV"
    )
    actions.add_argument(
        "--migrate",
        metavar="PATH",
        help="bring a prior project root over (campaigns, progress, ledger; docs/migrating.md)",
    )

    options = parser.add_argument_group("options")
    options.add_argument(
        "--dry-run", action="store_true", help="with --migrate: report only, write nothing"
    )
    options.add_argument(
        "--path-map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="with --migrate: rewrite video paths starting with OLD (repeatable)",
    )
    options.add_argument(
        "--ignore-prior-progress",
        action="store_true",
        help="seed although the folder holds prior progress CSVs that were never imported",
    )
    options.add_argument(
        "--force-reseed",
        action="store_true",
        help="with --seed-only: seed even while jobs are pending (adds only new jobs)",
    )
    options.add_argument(
        "--retry-include-non-retryable",
        action="store_true",
        help="with --retry-all-failed or --run: also retry account and content failures",
    )
    options.add_argument(
        "--workers", "-w", type=_workers, metavar="N", help="with --run: workers (default 3)"
    )
    options.add_argument(
        "--max-passes", type=_positive_int, metavar="N", help="with --run: passes (default 3)"
    )
    options.add_argument(
        "--retry-delay",
        type=_seconds,
        metavar="S",
        help="with --run: seconds between passes (default 30)",
    )
    options.add_argument(
        "--online",
        action="store_true",
        help="with --check: one harmless authenticated call per account",
    )
    options.add_argument(
        "--all", action="store_true", help="with --unblock: every blocked account of the campaign"
    )
    options.add_argument(
        "--force",
        action="store_true",
        help="with --export-csv: replace an existing file (never a campaign input or store)",
    )
    options.add_argument(
        "--days",
        type=_positive_int,
        metavar="N",
        help="with --plan: how many days to show (default 7)",
    )
    options.add_argument(
        "--json", action="store_true", help="print one JSON object with the result on stdout"
    )
    serve_options.add_arguments(parser)
    return parser


#: Options that only mean something with some actions: (dest, flag, the actions' dests).
OPTION_SCOPE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("force_reseed", "--force-reseed", ("seed_only", "run")),
    ("retry_include_non_retryable", "--retry-include-non-retryable", ("retry_all_failed", "run")),
    ("workers", "--workers", ("run", "serve")),
    ("max_passes", "--max-passes", ("run", "serve")),
    ("retry_delay", "--retry-delay", ("run", "serve")),
    ("force", "--force", ("export_csv",)),
    ("all", "--all", ("unblock",)),
    ("online", "--online", ("check",)),
    ("days", "--days", ("plan",)),
    ("dry_run", "--dry-run", ("migrate",)),
    ("path_map", "--path-map", ("migrate",)),
    ("ignore_prior_progress", "--ignore-prior-progress", ("seed_only", "run", "serve")),
    *serve_options.OPTION_SCOPE,
)
#: Run defaults for the options above (None on the parser, so "given" can be told apart).
RUN_DEFAULTS = {"workers": 3, "max_passes": 3, "retry_delay": 30.0}
FLAGS = {
    dest: flag
    for dest, flag in (*ACTIONS, ("list_campaigns", "--list-campaigns"), ("migrate", "--migrate"))
}


def _check_combinations(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """One action per call, and no option that the action would ignore (both exit 2)."""
    chosen = [flag for dest, flag in FLAGS.items() if getattr(args, dest) not in (None, False)]
    if len(chosen) > 1:
        parser.error(f"{' and '.join(chosen)} cannot be combined: give one action per call")
    action = next((dest for dest, flag in FLAGS.items() if flag in chosen), None)
    if action is None:
        return  # no action: the help is printed (exit 2) after the context is checked
    for dest, flag, applies in OPTION_SCOPE:
        if getattr(args, dest) not in (None, False, []) and action not in applies:
            works = " or ".join(FLAGS[a] for a in applies)
            parser.error(f"{flag} does not apply to {FLAGS[action]}; it works with {works}")
    if action == "list_campaigns":
        for dest, flag in (
            ("campaign", "--campaign"),
            ("state_file", "--state-file"),
            ("accounts", "--accounts"),
        ):
            if getattr(args, dest) is not None:
                parser.error(f"{flag} does not apply to --list-campaigns (it lists every campaign)")


def _take_confirm(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """Take `--confirm JOB_ID RESULT` out of argv when JOB_ID starts with '-' (argparse would
    read it as an option; prior job ids such as '-x9_demo' do)."""
    for i, word in enumerate(argv):
        if word == "--":
            break
        if word == "--confirm" and i + 2 < len(argv) and argv[i + 1].startswith("-"):
            return [*argv[:i], *argv[i + 3 :]], [argv[i + 1], argv[i + 2]]
    return argv, None


def _check_usage(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Flag values argparse cannot check itself (parser.error exits 2)."""
    _check_combinations(parser, args)
    if args.confirm is not None and args.confirm[1] not in CONFIRM_CHOICES:
        parser.error(
            f"--confirm {args.confirm[0]} {args.confirm[1]}: the result must be "
            f"{' or '.join(CONFIRM_CHOICES)}"
        )
    if serve_options.usage_problem(args):
        parser.error(serve_options.usage_problem(args))
    if args.confirm is not None and not args.confirm[0].strip():
        parser.error("--confirm needs a job id")
    if args.unblock is not None and not args.unblock and not args.all:
        parser.error("--unblock needs account names, or --all for every blocked account")
    if args.unblock and args.all:
        parser.error("--unblock: give account names or --all, not both")
    if args.accounts is not None and not _account_list(args.accounts):
        parser.error("--accounts needs at least one account name (comma-separated)")
    if args.campaign is not None and not args.campaign.strip():
        parser.error("--campaign needs a campaign name or folder")
    for flag in ("export_csv", "import_progress", "state_file", "migrate"):
        value = getattr(args, flag)
        if value is not None and not value.strip():
            parser.error(f"--{flag.replace('_', '-')} needs a path")


def _account_list(text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for part in text.split(","):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return tuple(seen)


# -- the context ------------------------------------------------------------------------------
def build_context(args: argparse.Namespace) -> PostingContext:
    """The one PostingContext of this command: from the campaign, or for legacy root files."""
    from postpilot.ops.campaigns import load_campaign  # imported on use: start-up time

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
    from postpilot import compat
    from postpilot.ops import confirm, reset, retry, seed, stop, transfer

    # STEP 1: --list-campaigns needs no context.
    if args.list_campaigns:
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
    parallel_config = get_config(num_workers=args.workers)

    # STEP 3: one action.
    action = chosen[0][0]  # one, checked by _check_combinations

    if action == "check":
        from postpilot.check import check_data

        return _emit(args, check_data(ctx, online=args.online))
    if action == "reset_day":
        return _emit(args, reset.reset(ctx).to_json())
    if action == "retry_all_failed":
        result = retry.retry_failed(ctx, args.retry_include_non_retryable)
        return _emit(args, result.to_json())
    if action == "status":
        compat.show_status(ctx, parallel_config, as_json=args.json)
        return EXIT_OK
    if action == "plan":
        return _plan(args, ctx)
    if action == "stop_all":
        return _emit(args, stop.stop(ctx, parallel_config).to_json())
    if action == "confirm":
        job_id, word = args.confirm
        return _emit(args, confirm.confirm(ctx, job_id, word == "posted").to_json())
    if action == "unblock":
        accounts = [a for part in args.unblock for a in _account_list(part)]
        return _emit(args, confirm.unblock(ctx, accounts, every=args.all).to_json())
    if action == "import_progress":
        return _emit(args, transfer.import_jobs(ctx, args.import_progress).to_json())
    if action == "export_csv":
        exported = transfer.export_jobs(ctx, args.export_csv, force=args.force)
        return _emit(args, exported.to_json())
    if action == "seed_only":
        seeded = seed.seed(ctx, args.force_reseed)
        if not seeded.ok:
            log.error("No jobs seeded: %s", seeded.message)
        return _emit(args, seeded.to_json())
    return _run(args, ctx)


def _plan(args: argparse.Namespace, ctx: PostingContext) -> int:
    import json

    from postpilot import report
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
            log.error("%s", line)
    return code


def _serve(args: argparse.Namespace) -> int:
    if args.dashboard_only:
        return serve_options.serve_dashboard(args)
    from postpilot import report
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
    if ctx.store_dsn is None:
        return Path(ctx.progress_file).exists()
    from postpilot.store import open_store

    store = open_store(ctx)
    try:
        return store.counts()["total"] > 0
    finally:
        store.close()


# -- errors -----------------------------------------------------------------------------------
def _error_kind(exc: BaseException) -> str:
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
    from postpilot import report

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


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Parse, build the context once, run one action; return the exit code."""
    # pydantic scans every installed distribution for plugins the first time it builds a model;
    # postpilot uses none, and the scan costs more than the rest of a --status call.
    # Worker processes inherit the setting.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    parser = build_parser()
    try:
        rest, confirm = _take_confirm(list(sys.argv[1:] if argv is None else argv))
        args = parser.parse_args(rest)
        if confirm is not None:
            if args.confirm is not None:
                parser.error("--confirm given twice: settle one job per call")
            args.confirm = confirm
        _check_usage(parser, args)
        for dest, default in RUN_DEFAULTS.items():
            if getattr(args, dest) is None:
                setattr(args, dest, default)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    from postpilot import settings

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
