"""Result output that needs no rich: JSON on stdout, and the plain-text pieces every
human-readable view shares (labels, rates, the unblock hint).

Kept apart from postpilot.report (which draws rich tables and the live run display) so that
`--json` and `--status` without a terminal never import rich.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

RULE = "=" * 60
#: The counts every status and summary shows, in this order, with their plain-text labels.
COUNT_LABELS: tuple[tuple[str, str], ...] = (
    ("total", "Total jobs"),
    ("pending", "Pending"),
    ("claimed", "In-progress"),
    ("retrying", "Retrying"),
    ("success", "Success"),
    ("failed", "Failed"),
    ("skipped", "Skipped"),
    ("unconfirmed", "Unconfirmed"),
)


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def to_json(data: Mapping[str, Any]) -> str:
    """The JSON text of one result object."""
    return json.dumps(data, default=_json_default, ensure_ascii=False, indent=2)


def to_compact_json(data: Mapping[str, Any]) -> str:
    """to_json without indentation, for machines: json's C encoder (indent falls back to the
    pure-Python one, some 10x slower on the dashboard's answers)."""
    return json.dumps(data, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def print_json(data: Mapping[str, Any], stream: TextIO | None = None) -> None:
    """Write one JSON object (a command's whole result) to stdout."""
    out = stream if stream is not None else sys.stdout
    out.write(to_json(data) + "\n")
    out.flush()


def pct(rate: float | None) -> str:
    """A success rate as the views print it."""
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def success_rate(counts: Mapping[str, int]) -> float | None:
    """success / (success + failed), or None when nothing has finished yet (the specification's
    rule)."""
    done = counts.get("success", 0) + counts.get("failed", 0)
    return round(counts.get("success", 0) / done, 4) if done else None


def breakdown(per_status: Mapping[str, int]) -> str:
    """`4 success, 1 failed`: an account's jobs per status, in the counts' order."""
    order = [key for key, _label in COUNT_LABELS if key != "total"]
    parts = [f"{per_status[s]} {s}" for s in order if per_status.get(s)]
    return ", ".join(parts) or "no jobs"


def block_text(block: Mapping[str, Any]) -> str:
    """`needs_reauth until ...: reason` for a blocked account."""
    text = str(block.get("block", ""))
    if block.get("until"):
        text += f" until {block['until']}"
    if block.get("reason"):
        # The credentials fingerprint in a needs-reauth reason is bookkeeping, not news.
        text += ": " + re.sub(r" \[credentials [0-9a-f]{16}\]$", "", str(block["reason"]))
    return text


def unblock_hint(campaign: str | None, accounts: Sequence[str] = ()) -> str:
    """How to lift blocks: every message about a blocked account ends with it."""
    target = f"--campaign {campaign} " if campaign else ""
    who = " ".join(accounts) if accounts else "ACCOUNT ..."
    return (
        f"To unblock (after fixing the cause, e.g. new tokens in credentials.json): "
        f"postpilot {target}--unblock {who} (or --unblock --all)"
    )


def seed_lines(result: Any, named: int = 10) -> list[str]:
    """What seeding could not use, one line per reason with its count, rejected file names
    named (the first `named`, then a count): the same lines for --seed-only and --run.

    `result` is a postpilot.seeding.SeedResult (typed loosely: this module loads no seeding)."""
    lines: list[str] = []
    report = getattr(result, "match_report", None)
    if report is not None:
        lines += list(report.problems())
        rejected = list(report.rejected_filenames)
        for name, why in rejected[:named]:
            lines.append(f"  rejected filename {name!r}: {why}")
        if len(rejected) > named:
            lines.append(f"  ... and {len(rejected) - named} more rejected filenames")
    reasons: dict[str, int] = {}
    for _job_id, reason in getattr(result, "skipped", []):
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"{count} videos not seeded: {reason}")
    for account, why in getattr(result, "excluded_accounts", []):
        lines.append(f"account {account} gets no jobs: {why}")
    if not lines and not getattr(result, "created", 0):
        considered = getattr(result, "considered", 0)
        lines.append(
            "no videos matched a caption" if not considered else f"{considered} videos considered"
        )
    return lines


def isatty(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (a closed or odd stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
