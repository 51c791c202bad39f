"""Shared set-up of the fault suite: a campaign of N small distinct MP4s spread over accounts,
driven through the real CLI (`postpilot --campaign X --run`), and the never-twice checks."""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

from postpilot.campaign import CampaignConfig
from postpilot.config import PostingContext
from postpilot.jobs import Job, JobStatus
from postpilot.store import open_store
from tests.acceptance.helpers import Result, run_postpilot
from tests.fakes.mp4 import write_mp4

WHSEC = "whsec_" + base64.b64encode(b"fault-suite-webhook-secret-0123").decode()
FAST = {
    "POSTPILOT_BACKOFF_SECONDS": "0",
    "POSTPILOT_LEASE_SECONDS": "10",
    "POSTPILOT_MAX_WORKER_RESTARTS": "20",
}
#: Outcomes a job may end a run in; anything else (pending, retrying, claimed) is a lost job.
SETTLED = (JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.UNCONFIRMED)


def make_fault_campaign(
    root: Path,
    name: str,
    jobs: int,
    publisher: dict[str, Any],
    *,
    accounts: int = 10,
    daily_limit: int | None = None,
) -> Path:
    """campaigns/<name> with `jobs` distinct small MP4s over `accounts` accounts (acct00...,
    so campaigns of one project share them), every job due today (the daily limit covers them
    all unless `daily_limit` is given), captions unique in the project, and the webhook secret
    in credentials.json."""
    folder = root / "campaigns" / name
    (folder / "videos").mkdir(parents=True)
    names = [f"acct{i:02d}" for i in range(accounts)]
    (folder / "accounts.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    rows = ["filename,post_caption"]
    for i in range(jobs):
        write_mp4(folder / "videos" / f"clip-{i:04d}.mp4", 4096 + i, random_payload=True)
        rows.append(f'clip-{i:04d}.mp4,"fault suite post {i} of {name}"')
    (folder / "captions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    settings = {
        "name": name,
        "timezone": "UTC",
        "max_posts_per_account_per_day": daily_limit or -(-jobs // accounts),
        "max_attempts": 3,
        "publisher": publisher,
    }
    (folder / "campaign.json").write_text(json.dumps(settings), encoding="utf-8")
    credentials = root / "credentials.json"
    if not credentials.exists():
        credentials.write_text(json.dumps({"accounts": {}, "webhook": WHSEC}), encoding="utf-8")
        credentials.chmod(0o600)
    return folder


def run_campaign(root: Path, name: str, *extra: str, **env: str) -> dict[str, Any]:
    """`postpilot --campaign NAME --run --json` as a user types it; the parsed summary."""
    result: Result = run_postpilot(
        root,
        "--campaign",
        name,
        "--run",
        "--json",
        "--retry-delay",
        "0",
        "--max-passes",
        "2",
        "--workers",
        "4",
        *extra,
        **{**FAST, **env},
    )
    assert "Traceback" not in result.err, result.err
    summary: dict[str, Any] = result.json()
    # 3: the run finished with failed or unconfirmed jobs; 0: it did not leave any.
    expected = 3 if summary.get("failed") or summary.get("unconfirmed") else 0
    assert result.code == expected, result.err
    return summary


def retry_all_failed(root: Path, name: str) -> int:
    """`postpilot --campaign NAME --retry-all-failed --json`: how many jobs it re-armed."""
    result = run_postpilot(root, "--campaign", name, "--retry-all-failed", "--json")
    assert result.code == 0, result.err
    rearmed: int = result.json()["rearmed"]
    return rearmed


def campaign_jobs(root: Path, name: str) -> dict[str, Job]:
    """Every job of the campaign, from its store, by job id."""
    folder = root / "campaigns" / name
    ctx = PostingContext.from_campaign(CampaignConfig.from_folder(folder, root))
    store = open_store(ctx)
    try:
        return {job.job_id: job for job in store.list_jobs()}
    finally:
        store.close()


def assert_never_twice(delivered: Counter[str], jobs: dict[str, Job]) -> None:
    """0 extra deliveries and 0 lost jobs: each job delivered at most once; every job settled
    (success delivered exactly once, failed never delivered, unconfirmed with its reason)."""
    assert {k: n for k, n in delivered.items() if n > 1} == {}
    assert set(delivered) <= set(jobs), "the receiver got a post no job accounts for"
    for job in jobs.values():
        assert job.status in SETTLED, (job.job_id, job.status, job.error)
        if job.status is JobStatus.SUCCESS:
            assert delivered[job.job_id] == 1, job.job_id
        elif job.status is JobStatus.FAILED:
            assert delivered[job.job_id] == 0, (job.job_id, job.error)
            assert job.error, job.job_id
        else:
            assert job.error, job.job_id


def statuses(jobs: dict[str, Job]) -> dict[str, JobStatus]:
    """job id -> status."""
    return {job_id: job.status for job_id, job in jobs.items()}
