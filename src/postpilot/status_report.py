"""`--status` for people: the status's sections as plain text, or as rich tables when drawing
to a terminal.

rich is imported only for a terminal (or when the caller hands in a rich Console): `--status`
into a pipe, a file or CI prints the prior system's plain text, so a script that greps
`Success rate:` keeps working, and starts without loading rich.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TextIO, cast

from postpilot.output import (
    COUNT_LABELS,
    RULE,
    block_text,
    breakdown,
    isatty,
    pct,
    unblock_hint,
)

if TYPE_CHECKING:
    from rich.console import Console


class _Out(Protocol):
    """Where a status is drawn: lines, and tables on a terminal."""

    is_terminal: bool

    def line(self, text: str = "") -> None: ...

    def table(
        self,
        title: str | None,
        columns: Sequence[tuple[str, str]],
        rows: Sequence[tuple[Sequence[object], bool]],
        *,
        header: bool = True,
    ) -> None: ...


class _Plain:
    """Lines of literal text on a stream."""

    is_terminal = False

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def line(self, text: str = "") -> None:
        self._stream.write(text + "\n")

    def table(
        self,
        title: str | None,  # noqa: ARG002  the arguments are _Rich.table's: this one draws none
        columns: Sequence[tuple[str, str]],  # noqa: ARG002
        rows: Sequence[tuple[Sequence[object], bool]],  # noqa: ARG002
        *,
        header: bool = True,  # noqa: ARG002
    ) -> None:
        raise AssertionError("plain text draws no tables")  # pragma: no cover


class _Rich:
    """A rich Console: literal lines (data may contain [brackets]) and tables."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self.is_terminal = bool(console.is_terminal)

    def line(self, text: str = "") -> None:
        if self.is_terminal:
            self._console.print(text, markup=False, highlight=False, emoji=False)
        else:
            self._console.out(text, highlight=False)

    def table(
        self,
        title: str | None,
        columns: Sequence[tuple[str, str]],
        rows: Sequence[tuple[Sequence[object], bool]],
        *,
        header: bool = True,
    ) -> None:
        from rich.table import Table
        from rich.text import Text

        if header:
            table = Table(title=title, title_justify="left")
        else:
            table = Table(show_header=False, box=None, padding=(0, 2))
        for name, justify in columns:
            table.add_column(name, justify="right" if justify == "right" else "left")
        for cells, alert in rows:
            table.add_row(*(Text(str(c)) for c in cells), style="red" if alert else None)
        self._console.print(table)


def _out(target: TextIO | Console | None) -> _Out:
    if target is not None and hasattr(target, "is_terminal") and hasattr(target, "out"):
        return _Rich(cast("Console", target))  # a rich Console handed in
    stream = target if target is not None else sys.stdout
    if isatty(stream):
        from rich.console import Console

        return _Rich(Console(file=stream, highlight=False, soft_wrap=True))
    return _Plain(stream)


def render_status(data: Mapping[str, Any], target: TextIO | Console | None = None) -> None:
    """The specification's status sections: header, counts, success rate, per account, per
    error type, blocked accounts, today's posts, campaign info. `target`: a stream (default
    stdout; rich tables only when it is a terminal) or a rich Console."""
    out = _out(target)
    out.line()
    out.line(RULE)
    out.line(f"PARALLEL POSTING STATUS - {data['context']}")
    out.line(RULE)
    out.line()
    if not data.get("exists", True):
        out.line(f"Progress file not found: {data['progress_file']}")
        out.line("  Run with --seed-only or --run to create it")
    else:
        _render_progress(data, out)
    for problem in data.get("problems", []):
        out.line(f"  Warning: {problem}")
    _render_schedule(data, out)
    info = data.get("campaign_info")
    out.line()
    if info:
        out.line("Campaign Info:")
        out.line(f"  Name: {info['name']}")
        out.line(f"  Folder: {info['base_dir']}")
        out.line(f"  Videos: {info['videos_dir']}")
        out.line(f"  Captions: {info['captions_file']}")
        out.line(f"  Accounts: {data['accounts']}")
        out.line(f"  Daily limit: {info['daily_limit']} posts/account ({info['timezone']})")
        out.line(f"  Publisher: {info['publisher']}")
    else:
        out.line(f"Accounts: {data['accounts']}")
    _render_holders(data, out)
    out.line(RULE)


def _render_holders(data: Mapping[str, Any], out: _Out) -> None:
    """Who works on the campaign: runs, the service, a pause, the hosts' worker pools."""
    running = data.get("running") or []
    out.line()
    if running:
        for run in running:
            out.line(f"Running: {run['describe']}")
    else:
        out.line("Running: no orchestrator")
    service = data.get("service")
    if service:
        out.line(f"Service: {service['describe']} (postpilot --serve)")
        for name, when in sorted((service.get("next_runs") or {}).items()):
            out.line(f"  {name}: {'running now' if when is None else 'next run ' + when}")
    paused = data.get("paused")
    if paused:
        out.line(f"Paused: claims nothing until resumed (by {paused['by']} at {paused['at']})")
    for pool in data.get("hosts") or []:
        beat = pool["last_heartbeat"]
        when = beat.isoformat() if isinstance(beat, datetime) else str(beat)
        out.line(f"  Host {pool['host']}: {pool['workers']} workers, last heartbeat {when}")


def _render_schedule(data: Mapping[str, Any], out: _Out) -> None:
    """What remains, and each account's next slot with the video it will post."""
    remaining = data.get("remaining")
    schedule = data.get("schedule")
    if not remaining or not schedule:
        return
    out.line()
    times = ", ".join(schedule.get("times") or []) or "due at once (no schedule)"
    out.line(f"Schedule: {times}; distribution {schedule.get('distribution')}")
    out.line(f"  {remaining['message']}")
    for row in schedule.get("accounts", []):
        what = row["video"] or "(seeded on that day)"
        out.line(f"    {row['account']}: next {row['when'] or 'none'}: {what}")


def _render_progress(data: Mapping[str, Any], out: _Out) -> None:
    counts: Mapping[str, int] = data["counts"]
    rate = data.get("success_rate")
    out.line(f"Progress ({data['progress_file']}):")
    if out.is_terminal:
        rows: list[tuple[Sequence[object], bool]] = [
            ((label, counts.get(key, 0)), False) for key, label in COUNT_LABELS
        ]
        if rate is not None:
            rows.append((("Success rate", pct(rate)), False))
        out.table(None, [("what", "left"), ("n", "right")], rows, header=False)
    else:
        for key, label in COUNT_LABELS:
            out.line(f"  {label + ':':<13} {counts.get(key, 0)}")
        if rate is not None:
            out.line(f"  Success rate: {pct(rate)}")
    _render_accounts(data, out)
    per_type: Mapping[str, int] = data.get("per_error_type", {})
    if per_type:
        out.line()
        if out.is_terminal:
            columns = [("Error type", "left"), ("Jobs", "right")]
            out.table("Per-error-type", columns, [((t, n), False) for t, n in per_type.items()])
        else:
            out.line("  Per-error-type:")
            for error_type, n in per_type.items():
                out.line(f"    {error_type}: {n}")


def _render_accounts(data: Mapping[str, Any], out: _Out) -> None:
    """Per account: its jobs, today's posts against the limit, its block."""
    daily = data.get("daily") or {}
    per_day: Mapping[str, int] = daily.get("per_account", {})
    per_account: Mapping[str, Mapping[str, int]] = data.get("per_account", {})
    blocked = {b["account"]: b for b in data.get("blocked", [])}
    limit = daily.get("limit")
    if per_account:
        out.line()
        title = "Per-account"
        if daily:
            title += f" (today {daily['day']}: posts/limit {limit})"
        if out.is_terminal:
            rows = []
            for account, per_status in per_account.items():
                block = blocked.get(account)
                today = f"{per_day.get(account, 0)}/{limit}"
                cells = (account, breakdown(per_status), today, block_text(block) if block else "")
                rows.append((cells, block is not None))
            columns = [(c, "left") for c in ("Account", "Jobs", "Today", "Blocked")]
            out.table(title, columns, rows)
        else:
            out.line(f"  {title}:")
            for account, per_status in per_account.items():
                block = blocked.get(account)
                extra = f"  [{block_text(block)}]" if block else ""
                today = f"; today {per_day.get(account, 0)}/{limit}" if daily else ""
                out.line(f"    {account}: {breakdown(per_status)}{today}{extra}")
    extra_blocked = [b for a, b in blocked.items() if a not in per_account]
    if extra_blocked:
        out.line()
        out.line("  Blocked accounts:")
        for block in extra_blocked:
            out.line(f"    {block['account']}: {block_text(block)}")
    if blocked:
        out.line(f"  {unblock_hint(data.get('campaign'), sorted(blocked))}")
