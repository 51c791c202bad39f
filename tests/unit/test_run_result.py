"""The run's results (runner/results.py): the JSON the CLI prints and the exit codes."""

from __future__ import annotations

import signal
from datetime import UTC, datetime

from postpilot.runner.results import Blocked, PassSummary, RunResult, exit_code


def _result(**overrides: object) -> RunResult:
    fields: dict[str, object] = {
        "campaign": "c1",
        "context": "campaign 'c1'",
        "run_id": "20260101T000000-abcdef",
        "role": "orchestrator",
        "counts": {"total": 2, "pending": 0, "success": 1, "failed": 1},
        "seeded": 2,
        "rearmed": 0,
        "recovered_released": 1,
        "recovered_unconfirmed": 0,
        "reconciled": {"posted": 1},
        "max_passes": 3,
        "retry_delay_seconds": 30.0,
        "passes": [PassSummary(1, 1, 1, 0, 0, 0.5)],
        "failed_by_category": {"permanent": 1},
        "failed_by_type": {"invalid_video": 1},
        "blocked": [Blocked("j2", "a1", "rate limit", datetime(2026, 1, 1, 1, tzinfo=UTC))],
        "unconfirmed_jobs": [],
        "retrying_jobs": [],
        "complete": True,
        "schedule": None,
        "interrupted": False,
        "paused": False,
        "errors": [],
        "exit_code": 0,
        "store_outages": {"count": 0, "longest_seconds": 0.0, "gave_up": False},
    }
    fields.update(overrides)
    return RunResult(**fields)  # type: ignore[arg-type]


def test_to_json_keys_in_the_printed_order() -> None:
    """to_json spreads the counts after the run's identity and keeps every key in its place."""
    data = _result().to_json()
    assert list(data) == [
        "campaign", "context", "run_id", "role", "total", "pending", "success", "failed",
        "seeded", "rearmed", "recovered", "reconciled", "retry_summary", "failure_breakdown",
        "blocked", "unconfirmed_jobs", "retrying_jobs", "complete", "schedule", "interrupted",
        "paused", "errors", "exit_code", "store_outages",
    ]  # fmt: skip
    assert data["recovered"] == {"released": 1, "unconfirmed": 0}
    assert data["retry_summary"] == {
        "total_passes": 1,
        "config": {"max_passes": 3, "retry_delay_seconds": 30.0},
        "passes": [
            {
                "pass_number": 1,
                "succeeded": 1,
                "failed": 1,
                "retrying": 0,
                "unconfirmed": 0,
                "duration_seconds": 0.5,
            }
        ],
    }
    assert data["blocked"] == [
        {
            "job_id": "j2",
            "account": "a1",
            "reason": "rate limit",
            "until": "2026-01-01T01:00:00+00:00",
        }
    ]


def test_store_fault_adds_error_then_message_last() -> None:
    """A run stopped by its store ends with "error" and then "message" after store_outages."""
    data = _result(
        errors=["the store is down"],
        exit_code=1,
        error="store_unavailable",
        message="the store is down",
    ).to_json()
    assert list(data)[-3:] == ["store_outages", "error", "message"]
    assert (data["error"], data["message"]) == ("store_unavailable", "the store is down")


def test_exit_codes() -> None:
    """A signal gives 128 + its number (it wins over errors), errors give 1, else 0."""
    assert exit_code(signal.SIGINT, ["x"]) == 130
    assert exit_code(signal.SIGTERM, []) == 143
    assert exit_code(None, ["x"]) == 1
    assert exit_code(None, []) == 0
