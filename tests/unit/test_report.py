"""Rendering: status and summaries in plain text and rich tables, JSON, and the run display."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from postpilot import report
from postpilot.config import PostingContext


def _status(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "campaign": "demo",
        "context": "campaign 'demo'",
        "progress_file": "/p/campaigns/demo/progress.db",
        "exists": True,
        "accounts": 2,
        "counts": {
            "total": 12,
            "pending": 2,
            "claimed": 1,
            "success": 6,
            "failed": 1,
            "retrying": 1,
            "skipped": 0,
            "unconfirmed": 1,
        },
        "success_rate": report.success_rate({"success": 6, "failed": 1}),
        "per_account": {
            "acct_a": {"success": 4, "failed": 1},
            "acct_b": {"success": 2, "pending": 2, "claimed": 1},
        },
        "per_error_type": {"terminated": 1, "timeout": 1},
        "blocked": [
            {"account": "acct_a", "block": "needs_reauth", "reason": "token revoked", "until": None}
        ],
        "busy": [],
        "daily": {"day": "2026-11-28", "limit": 1, "per_account": {"acct_a": 1, "acct_b": 0}},
        "running": [],
        "campaign_info": {
            "name": "demo",
            "base_dir": "/p/campaigns/demo",
            "videos_dir": "/p/campaigns/demo/videos",
            "captions_file": "/p/campaigns/demo/captions.csv",
            "daily_limit": 1,
            "timezone": "UTC",
            "publisher": "outbox",
        },
        "problems": [],
    }
    data.update(overrides)
    return data


def _plain() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, highlight=False, soft_wrap=True), buffer


def _rich() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=120, color_system=None), buffer


def test_success_rate_is_success_over_finished() -> None:
    """The seed's success rate: success / (success + failed), None before anything finished."""
    assert report.success_rate({"success": 3, "failed": 1, "pending": 10}) == 0.75
    assert report.success_rate({"success": 0, "failed": 0, "pending": 10}) is None


def test_plain_status_has_the_seed_sections() -> None:
    """Without a terminal the status is the prior plain text with every count and section."""
    console, buffer = _plain()
    report.render_status(_status(), console)
    text = buffer.getvalue()
    assert "PARALLEL POSTING STATUS - campaign 'demo'" in text
    for label in ("Total jobs:", "Pending:", "In-progress:", "Retrying:", "Success:", "Failed:"):
        assert label in text
    assert "Skipped:" in text
    assert "Unconfirmed:" in text
    assert "Success rate: 85.7%" in text
    assert "acct_a: 4 success, 1 failed; today 1/1  [needs_reauth: token revoked]" in text
    assert "terminated: 1" in text
    assert "Campaign Info:" in text
    assert "  Name: demo" in text
    assert "\x1b[" not in text


def test_rich_status_draws_tables_on_a_terminal() -> None:
    """On a terminal the same data is drawn as rich tables (box characters present)."""
    console, buffer = _rich()
    report.render_status(_status(), console)
    text = buffer.getvalue()
    assert "PARALLEL POSTING STATUS - campaign 'demo'" in text
    assert "Per-account" in text
    assert "Per-error-type" in text
    assert "┃" in text or "│" in text


def test_status_of_a_never_seeded_campaign_says_how_to_create_it() -> None:
    """A missing store is reported with the seed's two lines, and no counts."""
    console, buffer = _plain()
    report.render_status(_status(exists=False), console)
    text = buffer.getvalue()
    assert "Progress file not found: /p/campaigns/demo/progress.db" in text
    assert "  Run with --seed-only or --run to create it" in text
    assert "Total jobs:" not in text


def test_legacy_status_has_no_campaign_info() -> None:
    """Campaign Info appears only in campaign mode."""
    console, buffer = _plain()
    report.render_status(
        _status(campaign=None, context="legacy mode (root files)", campaign_info=None), console
    )
    text = buffer.getvalue()
    assert "PARALLEL POSTING STATUS - legacy mode (root files)" in text
    assert "Campaign Info:" not in text


def test_markup_in_data_is_printed_literally() -> None:
    """Account names or errors with [brackets] are text, never rich markup."""
    console, buffer = _rich()
    report.render_status(_status(per_error_type={"[bold]odd[/bold]": 1}), console)
    assert "[bold]odd[/bold]" in buffer.getvalue()


def test_campaign_listing_without_campaigns_prints_the_seed_help() -> None:
    """No campaigns: the seed's 'how to create one' text."""
    console, buffer = _plain()
    report.render_campaigns({"campaigns": [], "invalid": []}, console)
    text = buffer.getvalue()
    assert "No campaigns found in campaigns/ directory" in text
    assert "  - captions.csv (filename,post_caption columns)" in text


def test_campaign_listing_shows_invalid_folders_with_their_error() -> None:
    """Invalid campaign folders are listed with the reason, never skipped silently."""
    console, buffer = _plain()
    campaign = {
        "name": "demo",
        "enabled": False,
        "accounts": 6,
        "videos_dir": "v",
        "captions_file": "c",
        "progress_file": "p",
        "daily_limit": 2,
    }
    report.render_campaigns(
        {"campaigns": [campaign], "invalid": [{"folder": "bad", "error": "missing x\n  here"}]},
        console,
    )
    text = buffer.getvalue()
    assert "  demo [DISABLED]" in text
    assert "Daily limit:  2 posts/account" in text
    assert "  bad: missing x" in text
    assert "    here" in text
    assert "Usage: postpilot --campaign <name> --run" in text


def _results(**overrides: Any) -> dict[str, Any]:
    results: dict[str, Any] = {
        "campaign": "demo",
        "context": "campaign 'demo'",
        "total": 30,
        "pending": 0,
        "claimed": 0,
        "success": 25,
        "failed": 2,
        "retrying": 1,
        "skipped": 0,
        "unconfirmed": 2,
        "retry_summary": {
            "passes": [
                {
                    "pass_number": 1,
                    "succeeded": 20,
                    "failed": 2,
                    "retrying": 3,
                    "unconfirmed": 2,
                    "duration_seconds": 4.5,
                },
                {"pass_number": 2, "succeeded": 5, "failed": 0, "retrying": 1, "unconfirmed": 2},
            ]
        },
        "failure_breakdown": {"by_category": {"account": 2}, "by_type": {"terminated": 2}},
        "blocked": [
            {"job_id": f"v{i}.mp4_demo", "account": "a", "reason": "daily limit reached"}
            for i in range(25)
        ],
        "unconfirmed_jobs": [{"job_id": "u.mp4_demo", "account": "b", "reason": "worker died"}],
        "retrying_jobs": [],
        "errors": [],
        "interrupted": False,
        "complete": False,
        "exit_code": 0,
    }
    results.update(overrides)
    return results


def test_run_summary_lists_passes_errors_and_blocked_jobs() -> None:
    """The final summary shows each pass, failures by type, blocked and unconfirmed jobs."""
    console, buffer = _plain()
    report.render_run_summary(_results(), console)
    text = buffer.getvalue()
    assert "FINAL RESULTS - campaign 'demo'" in text
    assert "Pass 1: 20 succeeded, 2 failed, 3 retrying, 2 unconfirmed (4.5s)" in text
    assert "terminated: 2" in text
    assert "Blocked jobs (cannot move in this run) (25):" in text
    assert "v0.mp4_demo (a): daily limit reached" in text
    assert "... and 5 more (see --json)" in text
    assert "u.mp4_demo (b): worker died" in text
    assert "--confirm JOB_ID posted|not-posted" in text


def test_run_summary_of_an_interrupted_run_names_its_exit_code() -> None:
    """An interrupted run says so, with the exit code the command returns."""
    console, buffer = _rich()
    report.render_run_summary(_results(interrupted=True, exit_code=130), console)
    assert "Interrupted: exit code 130" in buffer.getvalue()


def test_run_summary_of_a_refused_run_gives_the_reason() -> None:
    """A run that did not start (conflict) shows the message and the holder."""
    console, buffer = _plain()
    report.render_run_summary(
        {
            "error": "orchestrator_conflict",
            "message": "Another orchestrator is running",
            "conflicts": ["PID 1 on host h since 2026-11-28T14:00:00Z"],
            "context": "campaign 'demo'",
        },
        console,
    )
    text = buffer.getvalue()
    assert "Run did not start: Another orchestrator is running" in text
    assert "PID 1 on host h" in text


def test_json_encodes_datetimes_paths_and_sets() -> None:
    """to_json turns the types results carry into JSON values."""
    moment = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    data = json.loads(report.to_json({"at": moment, "p": Path("/x"), "s": {"a"}, "t": ("b",)}))
    assert data == {"at": "2026-11-28T14:00:00+00:00", "p": "/x", "s": ["a"], "t": ["b"]}


def test_plain_display_prints_changes_and_the_held_back_last_counts() -> None:
    """Plain run lines carry the context; a rate-limited count line is printed at close."""
    stream = io.StringIO()
    display = report.PlainRunDisplay("campaign 'demo'", stream, min_interval=1e9, heartbeat=1e9)
    display.update({"success": 1, "pending": 3}, 2, 1)  # first line always prints
    display.update({"success": 2, "pending": 2}, 2, 1)  # held back by the rate limit
    display.event("worker 1 restarted")
    display.close()
    lines = stream.getvalue().splitlines()
    assert all("[campaign 'demo']" in line for line in lines)
    assert "pass 1: 1 success" in lines[0]
    assert "worker 1 restarted" in lines[1]
    assert "pass 1: 2 success" in lines[2]
    assert len(lines) == 3


def test_plain_display_skips_unchanged_counts() -> None:
    """Unchanged counts are not repeated (until the heartbeat)."""
    stream = io.StringIO()
    display = report.PlainRunDisplay("legacy mode (root files)", stream, min_interval=0.0)
    for _ in range(5):
        display.update({"success": 1}, 1, 1)
    display.close()
    assert len(stream.getvalue().splitlines()) == 1


def test_json_mode_display_never_writes_stdout(
    capsys: pytest.CaptureFixture[str], project_root: Path
) -> None:
    """With --json the run display writes to stderr only; stdout is for the results object."""
    ctx = PostingContext.legacy(project_root=str(project_root))
    display = report.make_run_display(ctx, json_mode=True)
    display.update({"success": 1, "total": 2}, 1, 1)
    display.event("seeded 2 jobs")
    display.close()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "seeded 2 jobs" in captured.err


def test_terminal_display_draws_a_progress_bar(project_root: Path) -> None:
    """On a terminal the run display is a rich progress bar with the counts."""
    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    ctx = PostingContext.legacy(project_root=str(project_root))
    display = report.make_run_display(ctx, json_mode=False, stream=stream)
    assert isinstance(display, report.RichRunDisplay)
    display.update({"total": 4, "success": 2, "failed": 1, "pending": 1}, 3, 1)
    display.event("pass 1 starting")
    display.close()
    text = stream.getvalue()
    assert "pass 1 starting" in text
    assert "3/4" in text


def test_events_do_not_repeat_the_context() -> None:
    """An event that starts with the context is printed once under the line's prefix."""
    stream = io.StringIO()
    display = report.PlainRunDisplay("campaign 'demo'", stream)
    display.event("campaign 'demo': seeded 6 jobs")
    line = stream.getvalue().strip()
    assert line.endswith("[campaign 'demo'] seeded 6 jobs")
