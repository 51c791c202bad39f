"""--check: every preflight check at once, each problem with its fix; nothing is changed.

Unlike a run, which stops at the first bad input, --check collects every problem: accounts,
captions (or the legacy scheduler state), how captions and videos match, the credentials the
channel needs, and each matched video against the channel's own limits (size, duration, format).
With `online`, one harmless authenticated call per account (a token refresh, TikTok's
creator_info, Instagram's publishing limit) through the channel's `check_account`. The
campaign.json and publisher block were checked when the context was built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from postpilot.config import Config, PostingContext
from postpilot.errors import PostpilotError
from postpilot.preflight import MAX_NAMED, check_credentials
from postpilot.publishers.errors import ContentError, PublishError
from postpilot.publishers.video import VideoLimits, preflight

if TYPE_CHECKING:
    from postpilot.publishers.base import Publisher


@runtime_checkable
class SupportsAccountCheck(Protocol):
    """A channel that can make one harmless authenticated call for an account."""

    def check_account(self, account: str) -> str:
        """What the call showed (raises PublishError when the account cannot publish)."""
        ...


def _problem(check: str, exc: BaseException) -> dict[str, str]:
    return {"check": check, "message": str(exc)}


def check_data(ctx: PostingContext, *, online: bool = False) -> dict[str, Any]:
    """Every problem found (ok is False when there is one); warnings do not fail the check."""
    from postpilot.legacy_state import load_scheduler_state
    from postpilot.publishers import build_publisher

    problems: list[dict[str, str]] = []
    warnings: list[str] = []
    passed: list[str] = []
    accounts: list[str] = []
    try:
        accounts = ctx.get_accounts()
        passed.append(f"accounts: {len(accounts)}")
    except (PostpilotError, OSError) as exc:
        problems.append(_problem("accounts", exc))
    campaign = ctx.campaign_config
    matched: list[tuple[str, str]] = []  # (relative path, full path)
    try:
        if campaign is not None:
            report = campaign.match_videos()
            matched = [(m.relative_path, m.video_path) for m in report.matched]
            passed.append(f"captions: {len(report.matched)} videos matched")
            warnings += report.problems()
            warnings += [f"rejected filename {n}: {why}" for n, why in report.rejected_filenames]
        else:
            state = ctx.state_file or str(Path(ctx.project_root) / Config.STATE_FILE)
            passed.append(f"scheduler state: {len(load_scheduler_state(Path(state)))} jobs")
    except (PostpilotError, OSError) as exc:
        problems.append(_problem("captions" if campaign is not None else "scheduler state", exc))
    try:
        check_credentials(ctx, accounts)
        passed.append("credentials")
    except (PostpilotError, OSError) as exc:
        problems.append(_problem("credentials", exc))

    publisher = None
    try:
        publisher = build_publisher(ctx.publisher, Path(ctx.project_root), ctx.store_name)
    except (PostpilotError, OSError) as exc:
        problems.append(_problem("publisher", exc))
    limits = getattr(publisher, "limits", None)
    limits = limits if isinstance(limits, VideoLimits) else VideoLimits()
    bad = []
    for rel, full in matched:
        try:
            preflight(Path(full), limits)
        except ContentError as exc:
            bad.append({"check": f"video {rel}", "message": str(exc)})
    problems += bad
    if matched and not bad:
        passed.append(f"videos: {len(matched)} fit the channel's limits")

    checked_online: list[dict[str, str]] = []
    if online and publisher is not None:
        checked_online = _check_online(ctx, publisher, accounts, problems, warnings)
    if publisher is not None:
        publisher.close()

    ok = not problems
    head = f"Check of {ctx.describe()}: " + ("no problems" if ok else f"{len(problems)} problem(s)")
    messages = [head, *_lines(problems, warnings, passed, checked_online)]
    return {
        "campaign": ctx.campaign_name,
        "context": ctx.describe(),
        "ok": ok,
        "problems": problems,
        "warnings": warnings,
        "passed": passed,
        "online": checked_online if online else None,
        "message": head,
        "messages": messages,
    }


def _check_online(
    ctx: PostingContext,
    publisher: Publisher,
    accounts: list[str],
    problems: list[dict[str, str]],
    warnings: list[str],
) -> list[dict[str, str]]:
    """Each account asked of the platform (--online); failures go to `problems`."""
    if not isinstance(publisher, SupportsAccountCheck):
        warnings.append(f"channel {ctx.publisher.get('type', 'outbox')} has no online check")
        return []
    checked: list[dict[str, str]] = []
    for account in accounts:
        try:
            checked.append({"account": account, "result": publisher.check_account(account)})
        except (PublishError, PostpilotError, OSError) as exc:
            problems.append(_problem(f"account {account} (online)", exc))
    return checked


def _lines(
    problems: list[dict[str, str]],
    warnings: list[str],
    passed: list[str],
    checked_online: list[dict[str, str]],
) -> list[str]:
    """The human report under its head line: problems first, at most MAX_NAMED named."""
    lines: list[str] = []
    for problem in problems[:MAX_NAMED]:
        first, *rest = problem["message"].splitlines() or [""]
        lines.append(f"  PROBLEM {problem['check']}: {first}")
        lines += [f"    {line.strip()}" for line in rest]
    if len(problems) > MAX_NAMED:
        lines.append(f"  ... and {len(problems) - MAX_NAMED} more problems (see --json)")
    lines += [f"  warning: {w}" for w in warnings[:MAX_NAMED]]
    lines += [f"  ok: {p}" for p in passed]
    lines += [f"  ok: account {c['account']} online: {c['result']}" for c in checked_online]
    return lines
