"""Never twice through YouTube, driven from the CLI against the fake's resumable upload: the
final request of 20% of the uploads creates the video and loses its answer (once, or every
answer about that session until the network heals), or hangs while every worker is killed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postpilot.jobs import JobStatus
from tests.fakes.after_fault import After
from tests.fakes.youtube import FakeYouTube
from tests.faults.harness import (
    assert_never_twice,
    campaign_jobs,
    make_fault_campaign,
    retry_all_failed,
    run_campaign,
    statuses,
)
from tests.faults.platforms import storm_then_reconcile

pytestmark = pytest.mark.slow


@pytest.fixture
def fake() -> Iterator[FakeYouTube]:
    """A running fake YouTube."""
    with FakeYouTube() as server:
        yield server


def youtube_campaign(root: Path, fake: FakeYouTube, name: str, jobs: int) -> None:
    """A campaign publishing to the fake, each account with a stale token to refresh."""
    folder = make_fault_campaign(
        root,
        name,
        jobs,
        {
            "type": "youtube",
            "api_base": fake.url,
            "upload_base": f"{fake.url}/upload",
            "token_url": fake.token_url,
            "backoff_seconds": 0,
        },
    )
    names = (folder / "accounts.txt").read_text(encoding="utf-8").split()
    stale = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    accounts = {}
    for i, account in enumerate(names):
        fake.add_account(account, f"1//refresh-{account}-{i:04d}")
        accounts[account] = {
            "platform": "youtube",
            "access_token": f"ya29.stale-{account}",
            "refresh_token": f"1//refresh-{account}-{i:04d}",
            "expires_at": stale,
            "client_id": "fault-client",
            "client_secret": "fault-client-secret",
        }
    (root / "credentials.json").write_text(json.dumps({"accounts": accounts}), encoding="utf-8")


def delivered(fake: FakeYouTube, root: Path, name: str) -> Counter[str]:
    """job id -> videos the fake created for it (matched by account and content hash)."""
    by_content = {
        (j.account, j.content_sha256): j.job_id for j in campaign_jobs(root, name).values()
    }
    return Counter(by_content[(v.account, v.sha256)] for v in fake.videos)


def test_a_lost_final_answer_is_recovered_by_the_probe_without_a_second_video(
    project_root: Path, fake: FakeYouTube
) -> None:
    """The final request of every 5th upload creates the video and its answer is lost: the
    session probe finds the video, every job succeeds, 50 jobs make exactly 50 videos."""
    youtube_campaign(project_root, fake, "ytlost", 50)
    fake.lose_final_every(5)
    run_campaign(project_root, "ytlost")
    jobs = campaign_jobs(project_root, "ytlost")
    counts = delivered(fake, project_root, "ytlost")
    assert_never_twice(counts, jobs)
    assert set(statuses(jobs).values()) == {JobStatus.SUCCESS}
    assert len(fake.videos) == 50
    assert fake.probes >= 10


def test_answers_lost_until_healed_end_unconfirmed_then_reconciled_posted(
    project_root: Path, fake: FakeYouTube
) -> None:
    """Every answer about every 5th upload is lost: those 10 jobs end unconfirmed (no second
    session, no second video); after the network heals the next --run reconciles them posted
    and uploads nothing."""
    youtube_campaign(project_root, fake, "ytdark", 50)
    fake.lose_final_every(5, until_healed=True)
    run_campaign(project_root, "ytdark")
    jobs = campaign_jobs(project_root, "ytdark")
    assert_never_twice(delivered(fake, project_root, "ytdark"), jobs)
    unconfirmed = {j for j, s in statuses(jobs).items() if s is JobStatus.UNCONFIRMED}
    assert len(unconfirmed) == 10
    sessions = fake.initiations
    fake.heal()
    assert retry_all_failed(project_root, "ytdark") == 0
    second = run_campaign(project_root, "ytdark")
    jobs = campaign_jobs(project_root, "ytdark")
    assert second["reconciled"] == {"posted": 10}
    assert_never_twice(delivered(fake, project_root, "ytdark"), jobs)
    assert set(statuses(jobs).values()) == {JobStatus.SUCCESS}
    assert fake.initiations == sessions
    assert len(fake.videos) == 50


def test_kill_9_storm_after_the_last_byte_posts_nothing_twice_and_loses_no_job(
    project_root: Path, fake: FakeYouTube
) -> None:
    """Every 2nd upload's last chunk creates the video and hangs; each time, every worker
    process is SIGKILLed (3 storms). The killed jobs end unconfirmed, never re-uploaded; the
    next --run probes their sessions: every job exactly one video, each account within its
    limit."""
    youtube_campaign(project_root, fake, "ytkill", 12)
    fake.fault_after_final(After.HANG, every=2)
    storm_then_reconcile(
        project_root,
        "ytkill",
        faulted=lambda: len(fake.after.keys("final")),
        heal=fake.heal,
        posts=lambda: delivered(fake, project_root, "ytkill"),
        daily_limit=-(-12 // 10),
    )
    assert len(fake.videos) == 12
