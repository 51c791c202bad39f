"""The jobs a pass left waiting: when each may move, which cannot move in this run and why,
and how long the orchestrator waits before its next pass (runner/orchestrator.py).

Jobs that cannot move in this run (daily limit, needs re-auth, a rate window that resets
later) are reported with their reason, never looped on, so every run terminates (I5).
"""

from __future__ import annotations

from datetime import datetime

from postpilot.config import PostingContext, RetryConfig
from postpilot.jobs import Job, JobStatus, is_claimable, local_day, utcnow
from postpilot.runner.results import Blocked
from postpilot.runner.unconfirmed import BLOCK_UNCONFIRMED
from postpilot.store.base import BLOCK_NEEDS_REAUTH, BLOCK_RATE_LIMIT, AccountState, JobStore

#: Longest wait between passes for a retry time; later retries are reported, not waited for.
MAX_RETRY_WAIT_SECONDS = 15 * 60.0


def wait_before_next_pass(ctx: PostingContext, retry: RetryConfig, store: JobStore) -> float | None:
    """Seconds to wait before the next pass, or None when no job can move in this run.
    The retry delay spaces out retries. A pending job that nothing holds back is waited
    for until its slot instead: at once when the slot came due as the pass ended, and
    when it comes due within `slot_wait` seconds, the workers staying up (the service
    starts a slot's run a few seconds early, runner/service.py, so they are ready)."""
    slot_wait = 15.0
    now = utcnow()
    movable, blocked = classify(ctx, store, now)
    held = {b.job_id for b in blocked}
    soon = [
        max(job.scheduled_at or now, now)
        for job in store.list_jobs([JobStatus.PENDING])
        if job.account
        and job.job_id not in held
        and (job.scheduled_at is None or (job.scheduled_at - now).total_seconds() <= slot_wait)
    ]
    if soon:
        return (min(soon) - now).total_seconds()
    if not movable:
        return None
    earliest = min(movable)
    wait = max(retry.retry_delay_seconds, (earliest - now).total_seconds())
    return wait if wait <= max(MAX_RETRY_WAIT_SECONDS, retry.retry_delay_seconds) else None


def classify(
    ctx: PostingContext, store: JobStore, now: datetime
) -> tuple[list[datetime], list[Blocked]]:
    """When each waiting job may move, and the jobs that cannot move in this run."""
    waiting = [
        j for j in store.list_jobs([JobStatus.PENDING, JobStatus.RETRYING, JobStatus.CLAIMED])
    ]
    accounts = {j.account for j in waiting if j.account}
    states = store.account_states(accounts)
    day = local_day(now, ctx.timezone)
    allowed = set(ctx.get_accounts())
    movable: list[datetime] = []
    blocked: list[Blocked] = []
    counted: dict[str, int] = {}

    def daily(account: str) -> int:
        if account not in counted:
            counted[account] = store.daily_count(account, day)
        return counted[account]

    for job in waiting:
        if job.status is JobStatus.CLAIMED:
            movable.append(now)
            continue
        state = states.get(job.account)
        held = _held(job, state, allowed, now)
        if held is not None:
            blocked.append(held)
        elif (
            state is not None
            and state.block == BLOCK_RATE_LIMIT
            and (state.blocked_until is None or state.blocked_until > now)
        ):
            until = state.blocked_until
            blocked.append(Blocked(job.job_id, job.account, "rate limit", until))
            if until is not None:
                movable.append(until)
        elif daily(job.account) >= ctx.max_posts_per_account_per_day:
            blocked.append(Blocked(job.job_id, job.account, "daily limit reached"))
        elif (
            state is not None
            and daily(job.account) + state.unconfirmed >= ctx.max_posts_per_account_per_day
        ):
            reason = (
                f"held: {state.unconfirmed} unconfirmed publish(es) may fill today's limit "
                "(the next --run reconciles them, or settle them with --confirm)"
            )
            blocked.append(Blocked(job.job_id, job.account, reason))
        elif (
            state is not None
            and state.leased_by is not None
            and state.leased_by[0] != ctx.store_name
        ):
            blocked.append(
                Blocked(
                    job.job_id,
                    job.account,
                    f"account busy in campaign '{state.leased_by[0]}'",
                    state.lease_expires_at,
                )
            )
            movable.append(now)
        elif is_claimable(job, now):
            movable.append(now)
        elif job.retry_at is not None:
            movable.append(job.retry_at)
    return movable, blocked


def _held(job: Job, state: AccountState | None, allowed: set[str], now: datetime) -> Blocked | None:
    """Why `job` waits on its account before any limit is counted: the account is not the
    campaign's, needs re-authorization, or is held by a publish that may still land."""
    if not job.account or job.account not in allowed:
        return Blocked(job.job_id, job.account, "account not in the campaign's accounts")
    if state is not None and state.block == BLOCK_NEEDS_REAUTH:
        return Blocked(job.job_id, job.account, "needs re-authorization")
    if state is not None and _held_unsettled(state, now):
        assert state.held_by is not None
        campaign, holder = state.held_by
        reason = (
            f"held: the publish of job {holder} (campaign '{campaign}') may still be "
            "running; its late answer, the next --run's reconcile or --confirm settles it"
        )
        return Blocked(job.job_id, job.account, reason)
    if (
        state is not None
        and state.block == BLOCK_UNCONFIRMED
        and (state.blocked_until is None or state.blocked_until > now)
    ):
        reason = "held: an unconfirmed publish may fill today's limit (reconcile first)"
        return Blocked(job.job_id, job.account, reason, state.blocked_until)
    return None


def _held_unsettled(state: AccountState, now: datetime) -> bool:
    """Whether an unsettled publish holds the account with no live lease behind it (a live
    holder is just busy: its end frees the account within this run)."""
    if state.held_by is None:
        return False
    live = state.lease_expires_at is not None and state.lease_expires_at > now
    return not (live and state.leased_by == state.held_by)
