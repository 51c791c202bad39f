"""A week of a campaign through the real CLI and real worker processes, days moved with
POSTPILOT_NOW (never by sleeping): 12 videos, 6 accounts, limit 1, slots 09:00 and 18:00.

Each test asserts exactly which video went to which account at which slot, that nothing went
out twice and nothing was skipped, and that the plan shown before day one is what happened."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.acceptance.helpers import Result, make_campaign, run_postpilot

pytestmark = pytest.mark.slow

TZ = "Europe/Berlin"
MONDAY = date(2026, 3, 2)
ACCOUNTS = [f"acct{i}" for i in range(1, 7)]
SETTINGS: dict[str, Any] = {
    "max_posts_per_account_per_day": 1,
    "timezone": TZ,
    "schedule": {"times": ["09:00", "18:00"]},
}


def _at(day: int, hhmm: str, seconds: int = 5) -> str:
    """POSTPILOT_NOW for `day` days after Monday at local hh:mm (+ a few seconds)."""
    hour, minute = (int(p) for p in hhmm.split(":"))
    local = datetime.combine(MONDAY + timedelta(days=day), datetime.min.time(), ZoneInfo(TZ))
    return (local + timedelta(hours=hour, minutes=minute, seconds=seconds)).isoformat()


def _cli(root: Path, now: str, *args: str) -> Result:
    result = run_postpilot(root, "--campaign", "week", *args, POSTPILOT_NOW=now)
    assert result.code == 0, result.err
    return result


def _posts(root: Path) -> list[dict[str, Any]]:
    """Every outbox post: account, video, local date and time of publishing."""
    posts = []
    for path in sorted((root / "outbox" / "week").glob("*/*/post.json")):
        post = json.loads(path.read_text(encoding="utf-8"))
        local = datetime.fromisoformat(post["published_at"]).astimezone(ZoneInfo(TZ))
        posts.append(
            {
                "account": post["account"],
                "video": post["video_file"],
                "job_id": post["job_id"],
                "date": local.date().isoformat(),
                "at": local,
            }
        )
    return posts


def _run_week(root: Path, days: int = 7) -> None:
    """Both slots of every day: `--run` at each slot time, workers in real processes."""
    for day in range(days):
        for slot in ("09:00", "18:00"):
            _cli(root, _at(day, slot), "--run", "--workers", "3")


def _slot_of(post: dict[str, Any]) -> str:
    """The slot a post went out in (published a few seconds after its slot time)."""
    return "09:00" if post["at"].hour < 18 else "18:00"


def _assert_matches_plan(plan: dict[str, Any], posts: list[dict[str, Any]]) -> None:
    """Every planned post happened at its slot, and nothing else happened."""
    planned = sorted((e["date"], e["time"], e["account"], e["video"]) for e in plan["plan"])
    done = sorted((p["date"], _slot_of(p), p["account"], p["video"]) for p in posts)
    assert done == planned
    for post, entry in zip(
        sorted(posts, key=lambda p: p["job_id"]),
        sorted(plan["plan"], key=lambda e: e["job_id"]),
        strict=True,
    ):
        assert post["job_id"] == entry["job_id"]
        assert post["at"] >= datetime.fromisoformat(entry["scheduled_at"])


def test_once_publishes_every_video_once_at_its_slot_and_never_again(project_root: Path) -> None:
    """distribution once: 6 videos a day (3 at 09:00, 3 at 18:00, accounts staggered), all 12
    done on day two, then nothing more, even after --reset-day, --seed-only --force-reseed."""
    make_campaign(project_root, "week", ACCOUNTS, 12, SETTINGS)
    plan = _cli(project_root, _at(0, "08:00"), "--plan", "--days", "7", "--json").json()
    assert set(plan) == {"plan", "unplaced"}
    assert plan["unplaced"] == []
    assert not (project_root / "campaigns" / "week" / "progress.db").exists()  # wrote nothing
    _run_week(project_root, days=2)
    # the documented rule: slot order 09:00 acct1, acct3, acct5; 18:00 acct2, acct4, acct6
    order = [("09:00", "acct1"), ("09:00", "acct3"), ("09:00", "acct5")]
    order += [("18:00", "acct2"), ("18:00", "acct4"), ("18:00", "acct6")]
    expected = sorted(
        ((MONDAY + timedelta(days=k // 6)).isoformat(), *order[k % 6], f"week-{k:03d}.mp4")
        for k in range(12)
    )
    posts = _posts(project_root)
    assert sorted((p["date"], _slot_of(p), p["account"], p["video"]) for p in posts) == expected
    _assert_matches_plan(plan, posts)
    # Whatever the user runs now, nothing published is published again.
    _cli(project_root, _at(2, "09:00"), "--reset-day")
    reseed = run_postpilot(
        project_root,
        "--campaign",
        "week",
        "--seed-only",
        "--force-reseed",
        "--json",
        POSTPILOT_NOW=_at(2, "09:01"),
    )
    assert reseed.json()["seeded"] == 0  # nothing left: exit 1, "No jobs seeded"
    _cli(project_root, _at(2, "09:02"), "--reset-day")
    final = _cli(project_root, _at(2, "09:03"), "--run", "--json").json()
    for day in range(3, 7):  # the rest of the week: new days roll over, nothing goes out
        _cli(project_root, _at(day, "09:00"), "--run")
    assert _posts(project_root) == posts
    assert final["schedule"]["remaining"] == 0
    status = _cli(project_root, _at(6, "20:00"), "--status", "--json").json()
    assert status["remaining"]["remaining"] == 0
    archives = sorted(p.name for p in (project_root / "campaigns" / "week" / "archive").iterdir())
    assert "progress_20260302.csv" in archives  # day one, archived by day two's first run
    # day two's jobs went to the archive --reset-day wrote on day three (named by that day)
    assert "progress_20260304.csv" in archives


def test_every_account_gets_every_video_in_order_one_a_day(project_root: Path) -> None:
    """distribution every_account: each account posts one video a day at its slot, in pool
    order; after 7 days each has videos 0..6, nothing twice, 30 posts remain."""
    make_campaign(project_root, "week", ACCOUNTS, 12, {**SETTINGS, "distribution": "every_account"})
    plan = _cli(project_root, _at(0, "08:00"), "--plan", "--days", "7", "--json").json()
    assert len(plan["plan"]) == 42
    _run_week(project_root, days=7)
    posts = _posts(project_root)
    slot = {a: ("09:00" if n % 2 == 0 else "18:00") for n, a in enumerate(ACCOUNTS)}
    expected = sorted(
        ((MONDAY + timedelta(days=d)).isoformat(), slot[a], a, f"week-{d:03d}.mp4")
        for d in range(7)
        for a in ACCOUNTS
    )
    assert sorted((p["date"], _slot_of(p), p["account"], p["video"]) for p in posts) == expected
    pairs = [(p["account"], p["video"]) for p in posts]
    assert len(pairs) == len(set(pairs))
    _assert_matches_plan(plan, posts)
    status = _cli(project_root, _at(6, "20:00"), "--status", "--json").json()
    assert status["remaining"]["remaining"] == 72 - 42
    assert status["remaining"]["next_slot"] is not None
