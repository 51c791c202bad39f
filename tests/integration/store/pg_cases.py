"""Helpers of the PostgreSQL-only tests (test_postgres_specific.py, test_postgres_races.py):
a fixed time, claim requests and jobs with test defaults, and a plain connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from postpilot.jobs import Job
from postpilot.store.base import ClaimRequest

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
DAY = "2024-05-01"
LEASE = timedelta(minutes=5)


def request(now: datetime = NOW, worker: str = "w", limit: int = 10) -> ClaimRequest:
    """A claim request with test defaults."""
    return ClaimRequest(worker_id=worker, now=now, lease=LEASE, daily_limit=limit, day=DAY)


def job(job_id: str, account: str = "acc1", **kw: object) -> Job:
    """A job with test defaults."""
    fields: dict[str, object] = {"video_path": f"{job_id}.mp4", "caption": "c", **kw}
    return Job(job_id=job_id, account=account, **fields)  # type: ignore[arg-type]


def raw(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    """A plain connection on the test's schema, as an operator's psql would be."""
    return psycopg.connect(dsn, autocommit=True)
