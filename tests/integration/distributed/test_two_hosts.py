"""Several "hosts" (separate OS processes, separate project roots, one DSN) sharing the
PostgreSQL store: a host killed with -9 mid-run loses nothing and causes no double publish;
two campaigns with overlapping accounts keep one publish per account at a time (I2) and the
daily limit across campaigns (I3).

Each host is tests.integration.distributed.host; what it published is the shared file it
appends to under a lock, so these tests check the outside world, not only the store.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from postpilot.jobs import Job, JobStatus
from postpilot.store.postgres import PostgresJobStore
from tests.integration.store.pg import require_postgres

REPO = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def start_host(
    dsn: str,
    campaign: str,
    host: str,
    published: Path,
    root: Path,
    *,
    lease: float,
    limit: int,
    pause: float,
) -> subprocess.Popen[str]:
    """Start one host process with its own project root."""
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "POSTPILOT_HOME": str(root), "PYTHONPATH": str(REPO)}
    args = [dsn, campaign, host, str(published), str(lease), str(limit), str(pause)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.distributed.host", *args],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> str:
    """Wait for a host; insist it exited cleanly; its stdout."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


def read_published(path: Path) -> list[dict[str, object]]:
    """Every publish the hosts made, in file order."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def seed(dsn: str, campaign: str, jobs: list[Job]) -> None:
    """Insert a campaign's jobs."""
    store = PostgresJobStore(dsn, campaign)
    try:
        assert store.insert_jobs(jobs) == len(jobs)
    finally:
        store.close()


def test_a_host_killed_mid_run_loses_nothing_and_publishes_nothing_twice(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Hosts A and B run one campaign; A is killed -9 mid-run. B recovers A's claims when
    their leases expire: every job ends success, or unconfirmed with its reason (A died
    after starting it), or waits pending behind such a job, which holds its account; the
    published file holds no job twice."""
    dsn = require_postgres(request)
    published = tmp_path / "published.jsonl"
    jobs = [
        Job(
            job_id=f"v{i:03d}",
            account=f"acc{i % 12:02d}",
            video_path=f"v{i:03d}.mp4",
            caption="c",
            content_sha256=f"sha{i}",
        )
        for i in range(120)
    ]
    seed(dsn, "shared", jobs)
    hosts = {
        name: start_host(
            dsn,
            "shared",
            name,
            published,
            tmp_path / name,
            lease=2.0,
            limit=1000,
            pause=0.02,
        )
        for name in ("host-a", "host-b")
    }
    deadline = time.monotonic() + 120
    while len(read_published(published)) < 20:
        assert time.monotonic() < deadline, "the hosts published nothing"
        assert hosts["host-a"].poll() is None, hosts["host-a"].communicate()
        time.sleep(0.01)
    hosts["host-a"].send_signal(signal.SIGKILL)
    hosts["host-a"].communicate(timeout=60)
    finish(hosts["host-b"])

    store = PostgresJobStore(dsn, "shared")
    try:
        final = store.list_jobs()
        counts = store.counts()
        lines = read_published(published)
        times = Counter(str(line["job"]) for line in lines)
        assert max(times.values()) == 1, "a job was published twice"
        assert counts["success"] + counts["unconfirmed"] + counts["pending"] == len(jobs)
        held = {j.account for j in final if j.status is JobStatus.UNCONFIRMED}
        for job in final:
            if job.status is JobStatus.SUCCESS:
                assert times[job.job_id] == 1
            elif job.status is JobStatus.PENDING:
                assert job.account in held, job
                assert times[job.job_id] == 0
            else:
                assert job.status is JobStatus.UNCONFIRMED
                assert job.error
                assert times[job.job_id] <= 1
        # The ledger counted each success once, on the day it was published.
        day_of = {str(line["job"]): str(line["day"]) for line in lines}
        successes = Counter(
            (j.account, day_of[j.job_id]) for j in final if j.status is JobStatus.SUCCESS
        )
        for (account, day), n in successes.items():
            assert store.daily_count(account, day) == n
    finally:
        store.close()


def test_two_campaigns_sharing_accounts_keep_one_publish_per_account_and_the_daily_limit(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Two campaigns, two hosts each, the same four accounts, a daily limit of 3: no two
    publishes of one account ever overlap in time (I2), and each account gets exactly 3
    successes in the day across both campaigns (I3), the rest left pending."""
    dsn = require_postgres(request)
    published = tmp_path / "published.jsonl"
    accounts = [f"acc{i}" for i in range(4)]
    for campaign in ("one", "two"):
        seed(
            dsn,
            campaign,
            [
                Job(
                    job_id=f"{campaign}-{i:02d}",
                    account=accounts[i % 4],
                    video_path=f"{campaign}{i}.mp4",
                    caption="c",
                )
                for i in range(24)
            ],
        )
    procs = [
        start_host(
            dsn,
            campaign,
            f"{campaign}-{n}",
            published,
            tmp_path / f"{campaign}-{n}",
            lease=60.0,
            limit=3,
            pause=0.02,
        )
        for campaign in ("one", "two")
        for n in range(2)
    ]
    for proc in procs:
        finish(proc)

    lines = read_published(published)
    assert Counter(str(line["job"]) for line in lines).most_common(1)[0][1] == 1
    by_account: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in lines:
        span = (float(str(line["start"])), float(str(line["end"])))
        by_account[str(line["account"])].append(span)
    for account, spans in by_account.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, f"two publishes of {account} overlapped"

    one, two = PostgresJobStore(dsn, "one"), PostgresJobStore(dsn, "two")
    try:
        days = {str(line["day"]) for line in lines}
        for account in accounts:
            per_day = Counter(str(line["day"]) for line in lines if line["account"] == account)
            for day in days:
                assert per_day[day] <= 3
                assert one.daily_count(account, day) == per_day[day]
        success = one.counts()["success"] + two.counts()["success"]
        assert success == len(lines)
        assert one.counts()["claimed"] == two.counts()["claimed"] == 0
        if len(days) == 1:  # the run did not cross midnight (UTC)
            assert success == 3 * len(accounts)
    finally:
        one.close()
        two.close()
