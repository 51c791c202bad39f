"""The example custom channel of docs/publishers.md (examples/channels/feed_channel.py) runs a
campaign through the real command line, and its reconcile answers from the feed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from postpilot.jobs import Job
from postpilot.publishers import ReconcileResult
from tests.acceptance.helpers import (
    REPO,
    assert_no_traceback,
    copy_examples,
    run_postpilot,
)

pytestmark = pytest.mark.slow

CHANNELS = REPO / "examples" / "channels"
BLOCK = {"type": "custom", "class": "feed_channel:FeedChannel", "file": "feed.jsonl"}


def _demo(root: Path, block: dict[str, Any]) -> None:
    """The demo campaign publishing through `block`."""
    copy_examples(root, "demo")
    path = root / "campaigns" / "demo" / "campaign.json"
    settings = json.loads(path.read_text(encoding="utf-8"))
    settings["publisher"] = block
    path.write_text(json.dumps(settings), encoding="utf-8")


def _run(root: Path, now: str) -> Any:
    return run_postpilot(
        root,
        "--campaign",
        "demo",
        "--run",
        PYTHONPATH=f"{REPO}:{CHANNELS}",
        POSTPILOT_NOW=now,
    )


def _feed(root: Path) -> list[dict[str, Any]]:
    lines = (root / "feed.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_demo_campaign_publishes_through_the_example_channel(tmp_path: Path) -> None:
    """Two days of the demo through the feed channel: every video once, one post per account
    per day, and a second run on the same day adds nothing."""
    _demo(tmp_path, BLOCK)
    first = _run(tmp_path, "2026-03-02T10:00:00+00:00")
    assert first.code == 0, first.err
    day_one = _feed(tmp_path)
    accounts = {line["account"] for line in day_one}
    assert len(day_one) == len(accounts) == 6
    again = _run(tmp_path, "2026-03-02T11:00:00+00:00")
    assert again.code == 0, again.err
    assert _feed(tmp_path) == day_one
    second = _run(tmp_path, "2026-03-03T10:00:00+00:00")
    assert second.code == 0, second.err
    feed = _feed(tmp_path)
    videos = sorted(p.name for p in (REPO / "examples/campaigns/demo/videos").iterdir())
    assert sorted(line["video"] for line in feed) == videos
    assert len({line["job_id"] for line in feed}) == len(feed) == 12
    assert {line["account"] for line in feed[6:]} == accounts


def test_example_channel_refuses_a_key_it_does_not_know(tmp_path: Path) -> None:
    """A misspelt key in the custom block stops the run with one message naming it, before
    anything is posted."""
    _demo(tmp_path, {**BLOCK, "fiel": "x.jsonl"})
    result = _run(tmp_path, "2026-03-02T10:00:00+00:00")
    assert result.code == 1
    assert "feed_channel does not know fiel" in result.err
    assert_no_traceback(result)
    assert not (tmp_path / "feed.jsonl").exists()
    assert not (tmp_path / "x.jsonl").exists()


def test_example_channel_reconciles_from_its_feed(tmp_path: Path) -> None:
    """reconcile() says posted for a job whose line is in the feed, not posted otherwise."""
    sys.path.insert(0, str(CHANNELS))
    try:
        from feed_channel import FeedChannel
    finally:
        sys.path.remove(str(CHANNELS))
    channel = FeedChannel.from_config(BLOCK, tmp_path)
    job = Job(job_id="a.mp4_demo", account="alice", video_path="/nowhere/a.mp4", caption="hi")
    assert channel.reconcile(job, {}).result is ReconcileResult.NOT_POSTED
    (tmp_path / "feed.jsonl").write_text(
        '{"job_id": "other"}\n{"job_id": "a.mp4_demo", "account": "alice"}\n{"job_id": "cut',
        encoding="utf-8",
    )
    answer = channel.reconcile(job, {})
    assert answer.result is ReconcileResult.POSTED
    assert answer.remote_id == "a.mp4_demo"
