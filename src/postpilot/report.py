"""What people and programs see: campaign lists, the live run display, run summaries.

Operations return plain dicts; this module only renders them. One renderer per view draws rich
tables when the console is a terminal and the prior system's plain text otherwise (pipes, logs,
CI), so a script that greps `Success rate:` keeps working. `--json` output is one JSON object
per command on stdout (`print_json`); the live run display never writes to stdout. `--status`
is drawn by postpilot.status_report and JSON written by postpilot.output, neither of which
imports rich; their names are re-exported here for the callers that already draw with rich.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from postpilot import clock
from postpilot.config import PostingContext
from postpilot.log import shared_console
from postpilot.output import COUNT_LABELS as COUNT_LABELS
from postpilot.output import RULE as RULE
from postpilot.output import isatty, pct
from postpilot.output import print_json as print_json
from postpilot.output import seed_lines as seed_lines
from postpilot.output import success_rate as success_rate
from postpilot.output import to_compact_json as to_compact_json
from postpilot.output import to_json as to_json
from postpilot.output import unblock_hint as unblock_hint
from postpilot.status_report import render_status as render_status

#: Longest list of jobs a summary prints before "... and N more" (JSON has them all).
MAX_LISTED = 20


# -- plumbing ------------------------------------------------------------------------------
def make_console(stream: TextIO | None = None) -> Console:
    """A console on `stream` (default stdout); rich styling only when it is a terminal."""
    out = stream if stream is not None else sys.stdout
    return Console(file=out, highlight=False, soft_wrap=True)


def _line(console: Console, text: str = "") -> None:
    """One line of literal text: no markup, no highlighting (captions may contain brackets)."""
    if console.is_terminal:
        console.print(text, markup=False, highlight=False, emoji=False)
    else:
        console.out(text, highlight=False)


def _cells(*values: object) -> list[Text]:
    """Table cells as literal text (data may contain [brackets] that look like markup)."""
    return [Text(str(v)) for v in values]


# -- --list-campaigns ------------------------------------------------------------------------
def render_campaigns(data: Mapping[str, Any], console: Console) -> None:
    """The specification's campaign listing (or its help text when there are none), plus the folders
    that are not valid campaigns and why."""
    campaigns: Sequence[Mapping[str, Any]] = data.get("campaigns", [])
    invalid: Sequence[Mapping[str, Any]] = data.get("invalid", [])
    if not campaigns:
        _line(console)
        _line(console, "No campaigns found in campaigns/ directory")
        _line(console, "Create a campaign folder with:")
        _line(console, "  - accounts.txt (one account per line)")
        _line(console, "  - captions.csv (filename,post_caption columns)")
        _line(console, "  - videos/ subfolder with .mp4 files")
    else:
        _line(console)
        _line(console, RULE)
        _line(console, "AVAILABLE CAMPAIGNS")
        _line(console, RULE)
        for c in campaigns:
            status = "ENABLED" if c["enabled"] else "DISABLED"
            _line(console)
            _line(console, f"  {c['name']} [{status}]")
            _line(console, f"    Accounts:     {c['accounts']}")
            _line(console, f"    Videos:       {c['videos_dir']}")
            _line(console, f"    Captions:     {c['captions_file']}")
            _line(console, f"    Progress:     {c['progress_file']}")
            _line(console, f"    Daily limit:  {c['daily_limit']} posts/account")
    if invalid:
        _line(console)
        _line(console, "INVALID CAMPAIGN FOLDERS (not usable until fixed)")
        for item in invalid:
            lines = str(item["error"]).splitlines() or [""]
            _line(console, f"  {item['folder']}: {lines[0]}")
            for more in lines[1:]:
                _line(console, f"    {more.strip()}")
    if campaigns:
        _line(console)
        _line(console, RULE)
        _line(console, "Usage: postpilot --campaign <name> --run")
        _line(console, RULE)
        _line(console)


# -- generic results -----------------------------------------------------------------------
def render_lines(lines: Sequence[str], console: Console) -> None:
    """A command's human result: one message per line."""
    for text in lines:
        _line(console, text)


# -- the run summary -----------------------------------------------------------------------
def render_run_summary(results: Mapping[str, Any], console: Console) -> None:
    """The final summary of a run: counts, each pass, failures by type, blocked and
    unconfirmed jobs with their reasons, how the run ended."""
    context = results.get("context") or results.get("campaign") or ""
    _line(console)
    _line(console, RULE)
    _line(console, f"FINAL RESULTS - {context}")
    _line(console, RULE)
    if results.get("error") and "total" not in results:
        # A run id without counts: the run started, then its store stopped it.
        head = "Run stopped" if results.get("run_id") else "Run did not start"
        _line(console, f"{head}: {results.get('message') or results['error']}")
        for conflict in results.get("conflicts", []):
            _line(console, f"  {conflict}")
        _line(console, RULE)
        return
    _render_counts(results, console)

    passes: Sequence[Mapping[str, Any]] = (results.get("retry_summary") or {}).get("passes", [])
    if passes:
        _line(console)
        _line(console, f"Passes ({len(passes)}):")
        for p in passes:
            _line(
                console,
                f"  Pass {p.get('pass_number')}: {p.get('succeeded', 0)} succeeded, "
                f"{p.get('failed', 0)} failed, {p.get('retrying', 0)} retrying, "
                f"{p.get('unconfirmed', 0)} unconfirmed ({p.get('duration_seconds', 0)}s)",
            )
    by_type: Mapping[str, int] = (results.get("failure_breakdown") or {}).get("by_type", {})
    if by_type:
        _line(console)
        _line(console, "Failures by error type:")
        for error_type, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])):
            _line(console, f"  {error_type}: {n}")
    blocked_jobs: Sequence[Mapping[str, Any]] = results.get("blocked", [])
    _render_job_list(
        console,
        "Blocked jobs (cannot move in this run)",
        blocked_jobs,
        lambda b: (
            f"{b['job_id']} ({b['account']}): {b['reason']}"
            + (f" until {b['until']}" if b.get("until") else "")
        ),
    )
    held = sorted(
        {str(b["account"]) for b in blocked_jobs if "daily limit" not in str(b.get("reason"))}
    )
    if held:
        _line(console, f"  {unblock_hint(results.get('campaign'), held)}")
    _render_job_list(
        console,
        "Failed jobs (fix the cause, then --retry-all-failed)",
        results.get("failed_jobs", []),
        lambda f: (
            f"{f['job_id']} ({f['account']}): {f.get('error_type') or 'error'}: "
            + str(f.get("reason") or "")
        ),
    )
    _render_job_list(
        console,
        "Unconfirmed jobs (resolve with --confirm JOB_ID posted|not-posted)",
        results.get("unconfirmed_jobs", []),
        lambda u: f"{u['job_id']} ({u['account']}): {u.get('reason', '')}",
    )
    _render_job_list(
        console,
        "Retrying jobs (next --run picks them up)",
        results.get("retrying_jobs", []),
        lambda r: f"{r['job_id']} ({r['account']}) at {r.get('retry_at')}: {r.get('error', '')}",
    )
    _render_ending(results, console)
    _line(console, RULE)


def _render_counts(results: Mapping[str, Any], console: Console) -> None:
    """The run's counts (a table on a terminal), its success rate, what it seeded and re-armed."""
    counts = {key: int(results.get(key, 0)) for key, _label in COUNT_LABELS}
    if console.is_terminal:
        table = Table(show_header=True, title=None)
        for _key, label in COUNT_LABELS:
            table.add_column(label, justify="right")
        table.add_row(*_cells(*(counts[key] for key, _label in COUNT_LABELS)))
        console.print(table)
    else:
        for key, label in COUNT_LABELS:
            _line(console, f"  {label + ':':<13} {counts[key]}")
    rate = success_rate(counts)
    if rate is not None:
        _line(console, f"  Success rate: {pct(rate)}")
    for key, label in (("seeded", "Seeded"), ("rearmed", "Re-armed failed jobs")):
        if results.get(key):
            _line(console, f"  {label}: {results[key]}")


def _render_ending(results: Mapping[str, Any], console: Console) -> None:
    """The run's errors, what remains of the campaign, and how the run ended."""
    for error in results.get("errors", []):
        _line(console, f"Error: {error}")
    _line(console)
    schedule = results.get("schedule") or {}
    if schedule.get("message"):
        _line(console, f"{schedule['message']}.")
    if results.get("interrupted"):
        _line(console, f"Interrupted: exit code {results.get('exit_code')}")
    elif results.get("complete") and schedule.get("remaining"):
        _line(console, "All jobs due now are finished.")
    elif results.get("complete"):
        _line(console, "All jobs are finished.")
    if results.get("exit_code") == 3:
        _line(
            console,
            f"Exit code 3: {results.get('failed', 0)} failed and "
            f"{results.get('unconfirmed', 0)} unconfirmed jobs need a look (listed above)",
        )


def _render_job_list(
    console: Console, title: str, items: Sequence[Mapping[str, Any]], fmt: Any
) -> None:
    if not items:
        return
    _line(console)
    _line(console, f"{title} ({len(items)}):")
    for item in items[:MAX_LISTED]:
        first = str(fmt(item)).splitlines()
        _line(console, f"  {first[0] if first else ''}")
    if len(items) > MAX_LISTED:
        _line(console, f"  ... and {len(items) - MAX_LISTED} more (see --json)")


# -- the live run display --------------------------------------------------------------------
class RunDisplay(Protocol):
    """What the orchestrator calls while it runs."""

    def update(self, counts: Mapping[str, int], active_workers: int, pass_number: int) -> None:
        """New counts."""

    def event(self, message: str) -> None:
        """Something worth a line happened."""

    def close(self) -> None:
        """The run is over."""


def _without_context(message: str, context: str) -> str:
    """Drop a leading "<context>: " (the line's prefix already names the context)."""
    lead = f"{context}: "
    return message[len(lead) :] if message.startswith(lead) else message


def _summary_text(counts: Mapping[str, int], active_workers: int, pass_number: int) -> str:
    return (
        f"pass {pass_number}: {counts.get('success', 0)} success, "
        f"{counts.get('failed', 0)} failed, {counts.get('retrying', 0)} retrying, "
        f"{counts.get('pending', 0)} pending, {counts.get('unconfirmed', 0)} unconfirmed, "
        f"{active_workers} active workers"
    )


class PlainRunDisplay:
    """Timestamped lines naming the context; a count line only when the counts changed and at
    most every `min_interval` seconds, plus a heartbeat line every `heartbeat` seconds."""

    def __init__(
        self,
        context: str,
        stream: TextIO,
        *,
        min_interval: float = 2.0,
        heartbeat: float = 30.0,
    ) -> None:
        self._context = context
        self._stream = stream
        self._min_interval = min_interval
        self._heartbeat = heartbeat
        self._last_text = ""
        self._last_at = float("-inf")
        self._pending_text = ""

    def _write(self, message: str) -> None:
        message = _without_context(message, self._context)
        stamp = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        for text in message.splitlines() or [""]:
            self._stream.write(f"{stamp} INFO    [{self._context}] {text}\n")
        self._stream.flush()

    def update(self, counts: Mapping[str, int], active_workers: int, pass_number: int) -> None:
        """Print the counts if they changed (rate-limited) or as a periodic heartbeat."""
        text = _summary_text(counts, active_workers, pass_number)
        now = time.monotonic()
        elapsed = now - self._last_at
        changed = text != self._last_text
        if (changed and elapsed >= self._min_interval) or elapsed >= self._heartbeat:
            self._write(text)
            self._last_text, self._last_at, self._pending_text = text, now, ""
        elif changed:
            self._pending_text = text

    def event(self, message: str) -> None:
        """Print the event."""
        self._write(message)

    def close(self) -> None:
        """Print the last counts if they were held back by the rate limit."""
        if self._pending_text and self._pending_text != self._last_text:
            self._write(self._pending_text)
            self._last_text, self._pending_text = self._pending_text, ""


class RichRunDisplay:
    """A live progress bar with success, failed, retrying, pending and active workers; events
    print above it."""

    def __init__(self, context: str, console: Console) -> None:
        self._context = context
        self._console = console
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(escape(context), total=None, detail="starting")
        self._progress.start()
        self._closed = False

    def update(self, counts: Mapping[str, int], active_workers: int, pass_number: int) -> None:
        """Move the bar: finished = success + failed + skipped + unconfirmed."""
        finished = sum(counts.get(k, 0) for k in ("success", "failed", "skipped", "unconfirmed"))
        detail = (
            f"[green]✓ {counts.get('success', 0)}[/] [red]✗ {counts.get('failed', 0)}[/] "
            f"[yellow]↻ {counts.get('retrying', 0)}[/] … {counts.get('pending', 0)} pending  "
            f"workers {active_workers}  pass {pass_number}"
        )
        self._progress.update(
            self._task, total=counts.get("total") or None, completed=finished, detail=detail
        )

    def event(self, message: str) -> None:
        """Print the event above the bar."""
        stamp = clock.now().strftime("%H:%M:%S")
        message = _without_context(message, self._context)
        self._console.print(f"{stamp} [{self._context}] {message}", markup=False, highlight=False)

    def close(self) -> None:
        """Stop the live display (idempotent)."""
        if not self._closed:
            self._closed = True
            self._progress.stop()


class _QuietRunDisplay(PlainRunDisplay):
    """--json runs: events and occasional counts go to stderr, never to stdout."""


def make_run_display(
    ctx: PostingContext, *, json_mode: bool, stream: TextIO | None = None
) -> RunDisplay:
    """The display for a run: rich on a terminal, plain lines otherwise; stderr by default, and
    never stdout in json_mode (stdout then carries only the results object)."""
    out = stream if stream is not None else sys.stderr
    if json_mode and out is sys.stdout:
        out = sys.stderr
    if not json_mode and isatty(out):
        console = shared_console() if out is sys.stderr else None
        if console is None:
            console = Console(file=out)
        return RichRunDisplay(ctx.describe(), console)
    if json_mode:
        return _QuietRunDisplay(ctx.describe(), out, min_interval=10.0, heartbeat=60.0)
    return PlainRunDisplay(ctx.describe(), out)
