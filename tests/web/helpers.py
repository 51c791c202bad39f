"""Shared set-up for the dashboard tests: a project with seeded campaigns, jobs put into the
states the dashboard acts on through the real store, and a running dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx

from postpilot import operations
from postpilot.campaign import CampaignConfig
from postpilot.config import PostingContext
from postpilot.jobs import ErrorCategory, Failure, Job, RetryPolicy, local_day, utcnow
from postpilot.store import ClaimRequest, JobStore, open_store
from postpilot.store.base import BLOCK_NEEDS_REAUTH
from postpilot.web import DashboardHandle, start_dashboard
from tests.acceptance.helpers import copy_examples


def context(root: Path, name: str) -> PostingContext:
    """The PostingContext of campaign `name` of the project."""
    for campaign in CampaignConfig.list_campaigns(root):
        if campaign.name == name:
            return PostingContext.from_campaign(campaign)
    raise LookupError(name)


def seeded_demo(root: Path) -> PostingContext:
    """The example campaigns copied into the project, demo seeded (6 pending jobs)."""
    copy_examples(root)
    ctx = context(root, "demo")
    assert operations.seed_data(ctx)["ok"]
    return ctx


@contextmanager
def store_of(ctx: PostingContext) -> Iterator[JobStore]:
    """The campaign's real store, closed afterwards."""
    store = open_store(ctx)
    try:
        yield store
    finally:
        store.close()


def claim(store: JobStore, ctx: PostingContext) -> Job:
    """Claim the next job as a worker would."""
    now = utcnow()
    job = store.claim(
        ClaimRequest(
            worker_id="test",
            now=now,
            lease=timedelta(seconds=120),
            daily_limit=100,
            day=local_day(now, ctx.timezone),
        )
    )
    assert job is not None
    return job


def make_unconfirmed(ctx: PostingContext) -> Job:
    """A job whose publish started and whose result is unknown (a worker died mid-publish)."""
    with store_of(ctx) as store:
        job = claim(store, ctx)
        now = utcnow()
        assert store.start_publish(job.job_id, job.lease_token, now)
        assert store.mark_unconfirmed(job.job_id, job.lease_token, now, "worker died mid-publish")
        return job


def make_failed(ctx: PostingContext) -> Job:
    """A job that failed for good: the platform terminated the account (not retryable)."""
    with store_of(ctx) as store:
        job = claim(store, ctx)
        message = 'account terminated: {"error": "account_disabled"}\nhint: contact the platform'
        failure = Failure(ErrorCategory.ACCOUNT, "terminated", message)
        failed = store.fail(job.job_id, job.lease_token, utcnow(), failure, RetryPolicy())
        assert failed is not None
        return failed


def block(ctx: PostingContext, account: str, reason: str = "token revoked by the owner") -> None:
    """Mark the account as needing re-authorization."""
    with store_of(ctx) as store:
        store.block_account(account, BLOCK_NEEDS_REAUTH, reason)


@contextmanager
def running_dashboard(root: Path) -> Iterator[DashboardHandle]:
    """The project's dashboard on a free port of 127.0.0.1, stopped afterwards."""
    handle = start_dashboard(root, "127.0.0.1", 0)
    try:
        yield handle
    finally:
        handle.stop()


def token(root: Path) -> str:
    """The access token the dashboard generated for the project."""
    return (root / ".postpilot" / "serve.token").read_text(encoding="utf-8").strip()


def client(handle: DashboardHandle, root: Path, *, auth: bool = True) -> httpx.Client:
    """An HTTP client for the dashboard, with the bearer token unless auth=False."""
    headers = {"Authorization": f"Bearer {token(root)}"} if auth else {}
    return httpx.Client(base_url=handle.url.rstrip("/"), headers=headers, timeout=30)
