"""Jobs keep their videos relative to the campaign's videos folder: a campaign seeded at one
path runs and publishes from another, and hosts sharing a store may mount it anywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from postpilot.campaign import CampaignConfig
from postpilot.config import PostingContext
from postpilot.jobs import Job, JobStatus
from postpilot.store import open_store
from tests.acceptance.helpers import make_campaign, run_postpilot
from tests.integration.store.pg import require_postgres

FAST = {"POSTPILOT_BACKOFF_SECONDS": "0", "POSTPILOT_LEASE_SECONDS": "10"}


def jobs_of(folder: Path, monkeypatch: pytest.MonkeyPatch, dsn: str | None = None) -> list[Job]:
    """Every job of the campaign in its store (SQLite, or the shared PostgreSQL at `dsn`)."""
    monkeypatch.setenv("POSTPILOT_HOME", str(folder.parents[1]))
    if dsn:
        monkeypatch.setenv("POSTPILOT_STORE", dsn)
    else:
        monkeypatch.delenv("POSTPILOT_STORE", raising=False)
    store = open_store(PostingContext.from_campaign(CampaignConfig.from_folder(folder)))
    try:
        return list(store.list_jobs())
    finally:
        store.close()


def posts(root: Path, campaign: str) -> list[dict[str, object]]:
    """What the outbox of the project at `root` published for the campaign."""
    found = sorted((root / "outbox" / campaign).glob("*/*/post.json"))
    return [json.loads(p.read_text(encoding="utf-8")) for p in found]


@pytest.mark.slow
def test_a_moved_project_publishes_from_its_new_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeded under one path, the whole project is moved; --run publishes every job from the
    new path (the old one no longer exists)."""
    before = tmp_path / "before"
    folder = make_campaign(before, "m", ["m_a", "m_b"], 2)
    seeded = run_postpilot(before, "--campaign", "m", "--seed-only", **FAST)
    assert seeded.code == 0, seeded.err
    stored = sorted(j.video_path for j in jobs_of(folder, monkeypatch))
    assert stored == ["m-000.mp4", "m-001.mp4"]
    after = tmp_path / "after"
    shutil.move(before, after)
    result = run_postpilot(after, "--campaign", "m", "--run", "--max-passes", "1", **FAST)
    assert result.code == 0, result.err
    jobs = jobs_of(after / "campaigns" / "m", monkeypatch)
    assert {j.status for j in jobs} == {JobStatus.SUCCESS}, [j.error for j in jobs]
    assert len(posts(after, "m")) == 2
    assert not before.exists()


@pytest.mark.slow
@pytest.mark.postgres
def test_hosts_sharing_postgres_see_the_campaign_at_different_paths(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Host A seeds the shared store from its mount; host B, whose mount is elsewhere, runs
    the jobs after A's mount is gone and publishes each from its own path."""
    dsn = require_postgres(request)
    host_a, host_b = tmp_path / "host-a", tmp_path / "host-b"
    folder_a = make_campaign(host_a, "s", ["s_a", "s_b", "s_c"], 3)
    folder_b = host_b / "campaigns" / "s"
    shutil.copytree(folder_a, folder_b)
    seeded = run_postpilot(host_a, "--campaign", "s", "--seed-only", POSTPILOT_STORE=dsn, **FAST)
    assert seeded.code == 0, seeded.err
    stored = sorted(j.video_path for j in jobs_of(folder_a, monkeypatch, dsn))
    assert stored == ["s-000.mp4", "s-001.mp4", "s-002.mp4"]
    shutil.rmtree(folder_a / "videos")  # host A's mount of the videos is gone
    result = run_postpilot(
        host_b, "--campaign", "s", "--run", "--max-passes", "1", POSTPILOT_STORE=dsn, **FAST
    )
    assert result.code == 0, result.err
    jobs = jobs_of(folder_b, monkeypatch, dsn)
    assert {j.status for j in jobs} == {JobStatus.SUCCESS}, [j.error for j in jobs]
    assert len(posts(host_b, "s")) == 3
    assert posts(host_a, "s") == []


def test_a_stored_path_leaving_the_videos_folder_is_never_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job whose stored path climbs out of the videos folder with `..` fails as a content
    error (exit 3) and is never published."""
    root = tmp_path / "p"
    folder = make_campaign(root, "x", ["x_a", "x_b"], 1)
    (folder / "secret.mp4").write_bytes((folder / "videos" / "x-000.mp4").read_bytes())
    monkeypatch.setenv("POSTPILOT_HOME", str(root))
    store = open_store(PostingContext.from_campaign(CampaignConfig.from_folder(folder)))
    evil = Job("evil_x", "x_b", "../secret.mp4", "c", JobStatus.PENDING, campaign="x", seq=1)
    try:
        assert store.insert_jobs([evil]) == 1
    finally:
        store.close()
    result = run_postpilot(root, "--campaign", "x", "--run", "--max-passes", "1", **FAST)
    assert result.code == 3, result.err
    bad = next(j for j in jobs_of(folder, monkeypatch) if j.job_id == "evil_x")
    assert (bad.status, bad.error_type) == (JobStatus.FAILED, "invalid_video_path"), bad
    assert "escapes the videos folder" in bad.error
    assert not list((root / "outbox").glob("*/*/evil_x*"))
