"""The run's results (runner/results.py): the JSON the CLI prints, the exit codes, and what
collect() reads from a real store."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from postpilot.jobs import ErrorCategory, Failure, Job, RetryPolicy
from postpilot.runner.results import Blocked, PassSummary, RunFacts, RunResult, collect, exit_code
from postpilot.store.base import ClaimRequest
from postpilot.store.sqlite import SqliteJobStore


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


def _facts() -> RunFacts:
    return RunFacts(
        campaign="c", context="campaign 'c'", run_id="r", role="orchestrator", seeded=4,
        rearmed=0, recovery_counts=(0, 0), reconciled={}, max_passes=1,
        retry_delay_seconds=0.0, passes=[], signum=None, errors=[],
        store_outages={"count": 0, "longest_seconds": 0.0, "gave_up": False}, store_fault=None,
    )  # fmt: skip


def _settle(store: SqliteJobStore, account: str, outcome: str, now: datetime) -> None:
    request = ClaimRequest(worker_id="0", now=now, lease=timedelta(seconds=30), daily_limit=9,
                           day=now.date().isoformat())  # fmt: skip
    job = store.claim(request)
    assert job is not None
    assert job.account == account
    if outcome == "success":
        assert store.complete(job.job_id, job.lease_token, now, day=request.day, remote_id="x")
    elif outcome == "unconfirmed":
        assert store.start_publish(job.job_id, job.lease_token, now)
        assert store.mark_unconfirmed(job.job_id, job.lease_token, now, "answer lost")
    else:  # a content failure is final; an infrastructure one retries
        category = ErrorCategory.CONTENT if outcome == "failed" else ErrorCategory.INFRASTRUCTURE
        failure = Failure(category, f"{outcome}_type", f"{outcome} message")
        assert store.fail(job.job_id, job.lease_token, now, failure, RetryPolicy(60.0, 60.0))


def test_collect_reads_failures_unconfirmed_and_retrying_jobs_and_completeness(
    tmp_path: Path,
) -> None:
    """collect() breaks down the failed, retrying and unconfirmed jobs of a real store and
    calls the run complete only once no job is left to move."""
    store = SqliteJobStore(tmp_path / "progress.db", tmp_path / "ledger.db", "c")
    now = datetime.now(UTC)
    outcomes = {"a1": "success", "a2": "failed", "a3": "retrying", "a4": "unconfirmed"}
    store.insert_jobs(
        Job(job_id=f"j{i}", account=a, video_path=f"v{i}.mp4", caption="x", seq=i)
        for i, a in enumerate(outcomes)
    )
    for account, outcome in outcomes.items():
        _settle(store, account, outcome, now)

    def results() -> RunResult:
        return collect(store, _facts(), blocked=list, schedule=dict)

    first = results()
    assert first.counts["total"] == 4
    assert first.counts["success"] == 1
    assert first.failed_by_category == {"content": 1}
    assert first.failed_by_type == {"failed_type": 1, "retrying_type": 1, "unconfirmed": 1}
    assert [j["job_id"] for j in first.retrying_jobs] == ["j2"]
    assert first.unconfirmed_jobs == [{"job_id": "j3", "account": "a4", "reason": "answer lost"}]
    assert first.complete is False  # a retrying and an unconfirmed job can still move
    assert store.resolve_unconfirmed("j3", posted=True, now=now, day=now.date().isoformat())
    assert results().complete is False  # j2 waits for its retry
    _settle(store, "a3", "failed", now + timedelta(hours=1))
    last = results()
    assert last.complete is True
    assert last.failed_by_category == {"content": 2}
    assert last.retrying_jobs == []
    assert last.unconfirmed_jobs == []
    store.close()
