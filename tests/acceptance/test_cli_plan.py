"""--plan through the real CLI: a campaign never seeded is planned against the project ledger
that other campaigns share (today's daily counts, what each account already has), and planning
creates no file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.acceptance.helpers import make_campaign, run_postpilot, tree_digest

pytestmark = pytest.mark.slow

NOW = "2026-03-02T10:00:00+00:00"
SETTINGS = {"max_posts_per_account_per_day": 1, "timezone": "UTC"}


def test_plan_of_a_never_seeded_campaign_respects_the_shared_ledger(project_root: Path) -> None:
    """Campaign 'first' filled a1's and a2's daily limit today and sent its video 000 to a1;
    'second' (never seeded, same accounts, whose video 000 is the same content) plans nothing
    today, and tomorrow gives a1 its video 001 (a1 already has 000's content) and a2 video 000;
    --plan writes nothing, and the next day's run publishes exactly that plan."""
    make_campaign(project_root, "first", ["a1", "a2"], 2, SETTINGS)
    second = make_campaign(project_root, "second", ["a1", "a2"], 3, SETTINGS)
    shutil.copyfile(
        project_root / "campaigns" / "first" / "videos" / "first-000.mp4",
        second / "videos" / "second-000.mp4",
    )
    ran = run_postpilot(project_root, "--campaign", "first", "--run", POSTPILOT_NOW=NOW)
    assert ran.code == 0, ran.err

    before = tree_digest(project_root)
    plan = run_postpilot(
        project_root, "--campaign", "second", "--plan", "--days", "2", "--json", POSTPILOT_NOW=NOW
    )
    assert plan.code == 0, plan.err
    assert tree_digest(project_root) == before
    entries = [(e["date"], e["account"], e["video"]) for e in plan.json()["plan"]]
    assert entries == [
        ("2026-03-03", "a1", "second-001.mp4"),
        ("2026-03-03", "a2", "second-000.mp4"),
    ]
    assert plan.json()["unplaced"] == [
        {"video": "second-002.mp4", "reason": "not within the planned days"}
    ]

    today = run_postpilot(project_root, "--campaign", "second", "--run", POSTPILOT_NOW=NOW)
    assert today.code == 0, today.err
    assert not list((project_root / "outbox" / "second").glob("*/*/post.json"))
    tomorrow = "2026-03-03T10:00:00+00:00"
    ran = run_postpilot(project_root, "--campaign", "second", "--run", POSTPILOT_NOW=tomorrow)
    assert ran.code == 0, ran.err
    posts = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in (project_root / "outbox" / "second").glob("*/*/post.json")
    ]
    assert sorted((p["account"], p["video_file"]) for p in posts) == [
        ("a1", "second-001.mp4"),
        ("a2", "second-000.mp4"),
    ]
