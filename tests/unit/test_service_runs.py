"""When the service runs a campaign next, from what its last run reported (real SQLite store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from postpilot.runner.service_runs import BUSY_RETRY_SECONDS, next_run, published_in
from tests.integration.runner.campaigns import context, make_campaign

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)


def _next(project_root: Path, results: dict[str, Any]) -> datetime:
    folder = project_root / "campaigns" / "c"
    if not folder.exists():
        make_campaign(project_root, "c", ["a1"], 1)
    return next_run(context(folder), results, NOW, recheck_seconds=900, max_passes=3)


def _finished(**extra: Any) -> dict[str, Any]:
    return {"total": 1, "retry_summary": {"total_passes": 1, "passes": []}, **extra}


def test_nothing_waiting_means_the_local_midnight(project_root: Path) -> None:
    """A run that left nothing to do runs again at the campaign's next local midnight."""
    assert _next(project_root, _finished()) == MIDNIGHT


def test_a_daily_limit_block_waits_for_midnight(project_root: Path) -> None:
    """A job held by the daily limit is not rechecked: the limit ends at midnight."""
    blocked = [{"job_id": "j", "account": "a1", "reason": "daily limit reached", "until": None}]
    assert _next(project_root, _finished(blocked=blocked)) == MIDNIGHT


def test_a_block_with_an_end_runs_at_that_end(project_root: Path) -> None:
    """A rate window that ends in ten minutes makes the next run ten minutes away."""
    until = (NOW + timedelta(minutes=10)).isoformat()
    blocked = [{"job_id": "j", "account": "a1", "reason": "rate limit", "until": until}]
    assert _next(project_root, _finished(blocked=blocked)) == NOW + timedelta(minutes=10)


def test_an_operator_block_and_an_unconfirmed_publish_are_rechecked(project_root: Path) -> None:
    """Needs re-authorization has no end the service can know: it looks again after the
    recheck interval; so it does while an unconfirmed publish waits for reconcile."""
    blocked = [{"job_id": "j", "account": "a1", "reason": "needs re-authorization"}]
    assert _next(project_root, _finished(blocked=blocked)) == NOW + timedelta(seconds=900)
    assert _next(project_root, _finished(unconfirmed=1)) == NOW + timedelta(seconds=900)


def test_a_failed_run_is_rechecked_but_nothing_to_seed_waits(project_root: Path) -> None:
    """Workers that all crashed are tried again after the recheck; a campaign with nothing left
    to seed waits for midnight (or an edit, which wakes the service by itself)."""
    assert _next(project_root, {"error": "workers_failed"}) == NOW + timedelta(seconds=900)
    assert _next(project_root, {"error": "no_jobs"}) == MIDNIGHT


def test_a_lock_held_by_a_run_is_tried_again_soon(project_root: Path) -> None:
    """When a --run holds the campaign, the service tries again after BUSY_RETRY_SECONDS."""
    results = {"error": "orchestrator_conflict", "message": "held"}
    assert _next(project_root, results) == NOW + timedelta(seconds=BUSY_RETRY_SECONDS)


def test_published_counts_every_pass() -> None:
    """The published count of a run is the sum of its passes' successes."""
    results = {"retry_summary": {"passes": [{"succeeded": 2}, {"succeeded": 3}]}}
    assert published_in(results) == 5
    assert published_in({"error": "no_jobs"}) == 0


def test_a_refused_input_waits_for_an_edit_or_midnight(project_root: Path) -> None:
    """A run refused for bad input is not rechecked (a recheck reads the same files): it runs
    again when its files change, which wakes the service, or at midnight."""
    from postpilot.runner.service_runs import INVALID_INPUT

    assert _next(project_root, {"error": INVALID_INPUT}) == MIDNIGHT


def test_an_error_becomes_one_log_line_with_its_fix() -> None:
    """The problem and its indented fix lines are joined into one line."""
    from postpilot.errors import ConfigError
    from postpilot.runner.service_runs import one_line

    error = ConfigError("captions.csv line 2: not valid CSV\n  Quote the caption\n")
    assert one_line(error) == "captions.csv line 2: not valid CSV; Quote the caption"
