"""The pure job rules: transitions, backoff, classification, days."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postpilot.jobs import (
    ErrorCategory,
    Failure,
    Job,
    JobStatus,
    RetryPolicy,
    apply_expiry,
    apply_failure,
    apply_rearm,
    apply_success,
    classify_error,
    is_claimable,
    is_rearmable,
    local_day,
    may_be_in_flight,
    next_local_midnight,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(base_seconds=10, cap_seconds=100)


def claimed(**changes: object) -> Job:
    job = Job("v.mp4_demo", "acct", "/v.mp4", "hi", status=JobStatus.CLAIMED, lease_token="t")
    return job.evolve(**changes)


def test_transient_failure_retries_with_backoff() -> None:
    """An infrastructure error under the budget becomes retrying with a future retry_at."""
    failure = Failure(ErrorCategory.INFRASTRUCTURE, "transient", "503")
    job = apply_failure(claimed(), failure, NOW, POLICY, random.Random(1))
    assert job.status is JobStatus.RETRYING
    assert job.attempts == 1
    assert job.retry_at is not None
    assert NOW < job.retry_at <= NOW + timedelta(seconds=10)
    assert job.lease_token == ""


def test_attempts_budget_ends_in_failed() -> None:
    """The failure that spends the last attempt makes the job failed, with no retry time."""
    failure = Failure(ErrorCategory.UNKNOWN, "", "boom")
    job = apply_failure(claimed(attempts=2, max_attempts=3), failure, NOW, POLICY)
    assert (job.status, job.attempts, job.retry_at) == (JobStatus.FAILED, 3, None)


@pytest.mark.parametrize("category", [ErrorCategory.ACCOUNT, ErrorCategory.CONTENT])
def test_non_retryable_categories_fail_at_once(category: ErrorCategory) -> None:
    """Account and content errors are final on the first attempt."""
    job = apply_failure(claimed(), Failure(category, "x", "no"), NOW, POLICY)
    assert job.status is JobStatus.FAILED


def test_rate_limit_waits_for_window_and_keeps_attempts() -> None:
    """A rate limit keeps the attempts budget and retries exactly at the window reset."""
    reset = NOW + timedelta(hours=3)
    failure = Failure(ErrorCategory.RATE_LIMIT, "quota", "quota", retry_at=reset)
    job = apply_failure(claimed(attempts=2, max_attempts=3), failure, NOW, POLICY)
    assert (job.status, job.attempts, job.retry_at) == (JobStatus.RETRYING, 2, reset)


def test_retry_after_overrides_backoff() -> None:
    """A Retry-After from the platform is used instead of the computed backoff."""
    when = NOW + timedelta(seconds=42)
    failure = Failure(ErrorCategory.INFRASTRUCTURE, "transient", "429", retry_at=when)
    assert apply_failure(claimed(), failure, NOW, POLICY).retry_at == when


@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_bounds(attempts: int, seed: int) -> None:
    """Backoff with jitter is never below base/2 nor above the cap."""
    delay = POLICY.delay(attempts, random.Random(seed)).total_seconds()
    assert POLICY.base_seconds / 2 <= delay <= POLICY.cap_seconds


def test_expiry_before_publish_returns_to_queue() -> None:
    """A lease that expires before the publish started puts the job back (pending)."""
    assert apply_expiry(claimed(), NOW).status is JobStatus.PENDING


def test_expiry_after_publish_started_is_unconfirmed() -> None:
    """A lease that expires after the publish started makes the job unconfirmed (I1), with
    the token kept for the stalled holder's late answer and no lease left running."""
    before = claimed(publish_started_at=NOW)
    job = apply_expiry(before, NOW)
    assert job.status is JobStatus.UNCONFIRMED
    assert job.lease_token == before.lease_token != ""
    assert job.lease_expires_at is None
    assert may_be_in_flight(job)
    assert may_be_in_flight(before)
    assert not may_be_in_flight(apply_expiry(claimed(), NOW))
    assert not may_be_in_flight(job.evolve(lease_token=""))


def test_expiry_of_a_retry_keeps_its_retry_state() -> None:
    """A released retry goes back to retrying, not pending, so its retry time still holds."""
    job = apply_expiry(claimed(retry_at=NOW + timedelta(minutes=1)), NOW)
    assert job.status is JobStatus.RETRYING


def test_success_clears_errors_and_records_remote_id() -> None:
    """Success records the remote id and clears the last error and retry time."""
    job = apply_success(claimed(error="old", retry_at=NOW), NOW, "abc", "https://x/abc")
    assert (job.status, job.error, job.retry_at, job.remote_id) == (
        JobStatus.SUCCESS,
        "",
        None,
        "abc",
    )


def test_rearm_skips_non_retryable_unless_asked() -> None:
    """--retry-all-failed leaves account/content failures alone unless told to include them."""
    account = Job("a", "x", "/v", "c", status=JobStatus.FAILED, error_category="account")
    infra = Job("b", "x", "/v", "c", status=JobStatus.FAILED, error_category="infrastructure")
    legacy = Job("c", "x", "/v", "c", status=JobStatus.FAILED, error_type="suspended")
    assert [is_rearmable(j, False) for j in (account, infra, legacy)] == [False, True, False]
    assert all(is_rearmable(j, True) for j in (account, infra, legacy))


def test_rearm_never_touches_unconfirmed() -> None:
    """An unconfirmed job is not a failed job: re-arming cannot re-publish it."""
    job = Job("a", "x", "/v", "c", status=JobStatus.UNCONFIRMED)
    assert not is_rearmable(job, True)


def test_rearm_resets_the_budget() -> None:
    """A re-armed job gets a fresh attempts budget and is claimable now."""
    job = apply_rearm(Job("a", "x", "/v", "c", status=JobStatus.FAILED, attempts=3), 2)
    assert (job.status, job.attempts, job.pass_number) == (JobStatus.RETRYING, 0, 2)
    assert is_claimable(job, NOW)


def test_job_without_account_is_never_claimable() -> None:
    """A row with no account can never be claimed (prior bug B1a)."""
    assert not is_claimable(Job("a", "", "/v", "c"), NOW)


def test_future_retry_is_not_claimable() -> None:
    """retry_at is honoured at claim time (prior bug B5)."""
    job = Job("a", "x", "/v", "c", status=JobStatus.RETRYING, retry_at=NOW + timedelta(1))
    assert not is_claimable(job, NOW)
    assert is_claimable(job, NOW + timedelta(days=2))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("connection timed out, try again later", ErrorCategory.INFRASTRUCTURE),
        ("We disabled your account", ErrorCategory.ACCOUNT),
        ("moov atom not found", ErrorCategory.CONTENT),
        ("HTTP 429 Too Many Requests", ErrorCategory.RATE_LIMIT),
        ("something odd", ErrorCategory.UNKNOWN),
    ],
)
def test_classification_fallback(message: str, expected: ErrorCategory) -> None:
    """Free-text errors map to the prior taxonomy; infrastructure wins over generic phrases."""
    assert classify_error(message)[0] is expected


def test_local_day_follows_the_campaign_timezone() -> None:
    """The daily counter's day is the campaign's local calendar day, not UTC's."""
    late_utc = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    assert local_day(late_utc, "UTC") == "2026-11-28"
    assert local_day(late_utc, "Asia/Tokyo") == "2026-11-29"
    assert local_day(late_utc, "America/Los_Angeles") == "2026-11-28"


def test_next_local_midnight() -> None:
    """The quota day ends at the next local midnight, returned in UTC."""
    midnight = next_local_midnight(datetime(2026, 11, 28, 12, tzinfo=UTC), "America/Los_Angeles")
    assert midnight == datetime(2026, 11, 29, 8, tzinfo=UTC)
