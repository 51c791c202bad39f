"""The command line's parser: the specification's flags and postpilot's additions, and the checks
argparse cannot make itself (one action per call, no option the action would ignore, values
such as `--confirm JOB_ID posted`); every problem is a usage error, exit 2, before anything is
read. Split from cli.py, which builds the context and dispatches.

Start-up: this module imports argparse and three constant-only postpilot modules (the package,
env_help, serve_flags), nothing else: `--help` and `--version` are this parser and nothing more
(tests/acceptance/test_cli_imports.py).
"""

from __future__ import annotations

import argparse
import os
import sys

import postpilot
from postpilot import env_help, serve_flags

#: legacy mode's job source, as the help names it: postpilot.paths.STATE_FILE, written out
#: (postpilot.paths imports pathlib; tests/unit/test_cli_messages.py checks they agree).
STATE_FILE = "scheduler_state.json"

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


def terminal_columns() -> int:
    """The terminal's width as shutil.get_terminal_size() gives it (COLUMNS, else the width of
    stdout's terminal, else 80), without importing shutil: argparse's help formatter imports it
    for this alone, and with it bz2 and lzma, a tenth of `--help`."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80
    return size.columns or 80


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's RawDescriptionHelpFormatter at the width argparse itself would choose."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog,
            indent_increment,
            max_help_position,
            terminal_columns() - 2 if width is None else width,
        )


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
        formatter_class=_HelpFormatter,
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
        help=f"legacy mode: the job source (default: <project>/{STATE_FILE})",
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
    serve_flags.add_arguments(parser)
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
    *serve_flags.OPTION_SCOPE,
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
    if serve_flags.usage_problem(args):
        parser.error(serve_flags.usage_problem(args))
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


def parse_command_line(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """The checked arguments, with the run defaults filled in; SystemExit as argparse raises
    it (0 after --help or --version, 2 on a usage error)."""
    rest, confirm = _take_confirm(argv)
    args = parser.parse_args(rest)
    if confirm is not None:
        if args.confirm is not None:
            parser.error("--confirm given twice: settle one job per call")
        args.confirm = confirm
    _check_usage(parser, args)
    for dest, default in RUN_DEFAULTS.items():
        if getattr(args, dest) is None:
            setattr(args, dest, default)
    return args
