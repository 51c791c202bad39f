"""Never twice through TikTok, driven from the CLI against the Content Posting fake, which
journals every completed upload (each one a post) before it injects the fault and never
deduplicates: lost answers of init, of the final chunk and of the status read, 500s and hangs
after the upload completed, kill -9 storms mid-publish."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from postpilot.jobs import JobStatus
from tests.fakes.after_fault import After
from tests.fakes.tiktok import FakeTikTok
from tests.faults.harness import (
    assert_never_twice,
    campaign_jobs,
    retry_all_failed,
    run_campaign,
    statuses,
)
from tests.faults.platforms import storm_then_reconcile, tiktok_campaign, tiktok_posts

pytestmark = pytest.mark.slow

JOBS = 20


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    """A running fake that finishes a post on its first status read, without rate limits
    (the faults under test are the answers, not the per-minute budget)."""
    with FakeTikTok(polls_to_finish=0, rate_limits=False) as server:
        yield server


REASONS = {
    After.DROP: "the answer was lost",
    After.ERROR: "HTTP 500",
    After.HANG: "no answer in time",
}


def test_faults_after_init_or_after_the_upload_completed_are_never_resent(
    project_root: Path, fake: FakeTikTok
) -> None:
    """Every 7th init creates its publish_id and the answer is lost (nothing uploaded: a new
    init). Every 5th upload completes (the post goes ahead) and the final chunk's answer is
    lost, a 500, or never comes (read timeout 2 s), in turn; of the other uploads every 4th
    loses its first status read. Those 8 jobs end unconfirmed with the reason, nothing is
    uploaded again; the next --run reconciles them posted: 20 jobs, 20 posts."""
    tiktok_campaign(project_root, fake, "ttfaults", JOBS, publisher_timeout=2)
    fake.fault_after("init", After.DROP, every=7)
    fake.fault_after("put", [After.DROP, After.ERROR, After.HANG])
    fake.fault_after("status", After.DROP, every=4)
    run_campaign(project_root, "ttfaults")
    jobs = campaign_jobs(project_root, "ttfaults")
    assert_never_twice(tiktok_posts(fake, project_root, "ttfaults"), jobs)
    assert len(fake.after.keys("init")) >= 3
    puts, reads = fake.after.keys("put"), fake.after.keys("status")
    assert (len(puts), len(reads)) == (4, 4)
    unconfirmed = {j for j, s in statuses(jobs).items() if s is JobStatus.UNCONFIRMED}
    by_publish = {jobs[j].checkpoint["publish_id"]: j for j in unconfirmed}
    assert set(by_publish) == {*puts, *reads}
    for kind, reason in REASONS.items():
        for publish_id in fake.after.keys("put", kind):
            assert reason in jobs[by_publish[publish_id]].error, (kind, publish_id)
    assert all("its status could not be read" in jobs[by_publish[p]].error for p in reads)

    fake.heal()
    assert retry_all_failed(project_root, "ttfaults") == 0
    second = run_campaign(project_root, "ttfaults")
    jobs = campaign_jobs(project_root, "ttfaults")
    assert second["reconciled"] == {"posted": 8}
    assert_never_twice(tiktok_posts(fake, project_root, "ttfaults"), jobs)
    assert set(statuses(jobs).values()) == {JobStatus.SUCCESS}
    assert len(fake.uploads) == JOBS
    assert len(fake.tasks) == JOBS + len(fake.after.keys("init"))


def test_kill_9_storm_mid_upload_posts_nothing_twice_and_loses_no_job(
    project_root: Path, fake: FakeTikTok
) -> None:
    """Every 2nd final chunk completes the upload and hangs; each time, every worker process
    is SIGKILLed (3 storms). The killed jobs end unconfirmed; the next --run reconciles: every
    job exactly one post, each account within its daily limit."""
    tiktok_campaign(project_root, fake, "ttkill", 12, accounts=4)
    fake.fault_after("put", After.HANG, every=2)
    storm_then_reconcile(
        project_root,
        "ttkill",
        faulted=lambda: len(fake.after.keys("put")),
        heal=fake.heal,
        posts=lambda: tiktok_posts(fake, project_root, "ttkill"),
        daily_limit=3,
    )
