"""postpilot.planning: the pure plan (distribution rules, slots, pins, unplaced reasons) and
seeding's refusal of bad pins, naming the captions line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from postpilot.campaign import CampaignConfig
from postpilot.config import PostingContext
from postpilot.errors import ConfigError
from postpilot.planning import (
    REASON_BEYOND,
    REASON_PAST_END,
    REASON_UNKNOWN_ACCOUNT,
    PlanInputs,
    PlanVideo,
    plan_campaign,
)
from postpilot.schedule import build_schedule
from postpilot.seeding import seed_store
from postpilot.store.memory import MemoryJobStore

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday 08:00 in Europe/Berlin
ACCOUNTS = ["a1", "a2", "a3"]


def _videos(n: int, **pins: dict[str, str]) -> list[PlanVideo]:
    out = []
    for i in range(n):
        pin = pins.get(f"v{i}", {})
        out.append(
            PlanVideo(f"v{i}.mp4", f"/v/v{i}.mp4", f"c{i}", f"h{i}", line=i + 2, **pin)  # type: ignore[arg-type]
        )
    return out


def _inputs(videos: list[PlanVideo], **kw: object) -> PlanInputs:
    fields: dict[str, object] = {
        "campaign": "demo",
        "accounts": ACCOUNTS,
        "videos": videos,
        "distribution": "once",
        "schedule": build_schedule(["09:00", "18:00"]),
        "timezone": "Europe/Berlin",
        "daily_limit": 1,
        **kw,
    }
    return PlanInputs(**fields)  # type: ignore[arg-type]


def _rows(inputs: PlanInputs, days: int) -> list[tuple[str, str, str, str]]:
    plan = plan_campaign(inputs, NOW, days)
    return [(e.date, e.time, e.account, e.video) for e in plan.entries]


def test_once_places_each_video_once_in_slot_order() -> None:
    """3 accounts, limit 1, two times: a1 and a3 at 09:00, a2 at 18:00; 3 videos a day."""
    assert _rows(_inputs(_videos(5)), 2) == [
        ("2026-03-02", "09:00", "a1", "v0.mp4"),
        ("2026-03-02", "09:00", "a3", "v1.mp4"),
        ("2026-03-02", "18:00", "a2", "v2.mp4"),
        ("2026-03-03", "09:00", "a1", "v3.mp4"),
        ("2026-03-03", "09:00", "a3", "v4.mp4"),
    ]


def test_once_never_plans_what_the_campaign_already_published() -> None:
    """Videos in the ledger for this campaign are skipped; the rest fill the slots."""
    posted = frozenset({("v0.mp4_demo", "a2", "h0"), ("v1.mp4_demo", "a1", "h1")})
    rows = _rows(_inputs(_videos(4), campaign_posted=posted), 1)
    assert [r[3] for r in rows] == ["v2.mp4", "v3.mp4"]


def test_every_account_walks_the_pool_per_account_skipping_content_it_has() -> None:
    """Each account posts the next video it lacks; content posted elsewhere (I4) is skipped."""
    inputs = _inputs(
        _videos(3),
        distribution="every_account",
        is_posted=lambda account, sha: (account, sha) == ("a3", "h0"),
    )
    rows = _rows(inputs, 2)
    by_account: dict[str, list[str]] = {}
    for _date, _time, account, video in rows:
        by_account.setdefault(account, []).append(video)
    assert by_account == {
        "a1": ["v0.mp4", "v1.mp4"],
        "a2": ["v0.mp4", "v1.mp4"],
        "a3": ["v1.mp4", "v2.mp4"],
    }
    plan = plan_campaign(inputs, NOW, 2)
    assert {e.job_id for e in plan.entries} >= {"v0.mp4_demo@a1", "v1.mp4_demo@a3"}


def test_pins_send_a_row_to_its_account_and_its_time() -> None:
    """`account` pins a row to one account; `publish_at` fixes its instant."""
    videos = _videos(
        3,
        v0={"account": "a2"},
        v2={"publish_at": "2026-03-03 12:15", "account": "a3"},
    )
    rows = _rows(_inputs(videos), 2)
    assert ("2026-03-02", "18:00", "a2", "v0.mp4") in rows
    assert ("2026-03-03", "12:15", "a3", "v2.mp4") in rows
    assert [r for r in rows if r[3] == "v1.mp4"] == [("2026-03-02", "09:00", "a1", "v1.mp4")]


def test_bad_pins_are_problems_naming_the_line_and_unplaced() -> None:
    """An unknown account or an unreadable publish_at: a problem with the line, unplaced."""
    videos = _videos(3, v1={"account": "nobody"}, v2={"publish_at": "soon"})
    plan = plan_campaign(_inputs(videos), NOW, 1)
    assert any("line 3" in p and "nobody" in p for p in plan.problems)
    assert any("line 4" in p and "publish_at" in p for p in plan.problems)
    reasons = dict(plan.unplaced)
    assert reasons["v1.mp4"].startswith(REASON_UNKNOWN_ACCOUNT)


def test_unplaced_reasons_beyond_the_days_and_past_the_end() -> None:
    """Videos left after the horizon are 'not within the planned days', or past `end`."""
    plan = plan_campaign(_inputs(_videos(5)), NOW, 1)
    assert dict(plan.unplaced) == {"v3.mp4": REASON_BEYOND, "v4.mp4": REASON_BEYOND}
    ended = _inputs(_videos(5), schedule=build_schedule(["09:00"], end="2026-03-02"))
    plan = plan_campaign(ended, NOW, 7)
    assert [e.video for e in plan.entries] == ["v0.mp4", "v1.mp4", "v2.mp4"]
    assert dict(plan.unplaced) == {"v3.mp4": REASON_PAST_END, "v4.mp4": REASON_PAST_END}


def test_seeding_refuses_an_unknown_account_pin_naming_the_line(tmp_path: Path) -> None:
    """captions.csv account column naming an account not in accounts.txt: ConfigError with the
    line; nothing is inserted."""
    folder = tmp_path / "campaigns" / "pins"
    (folder / "videos").mkdir(parents=True)
    (folder / "accounts.txt").write_text("a1\na2\n", encoding="utf-8")
    (folder / "videos" / "x.mp4").write_bytes(b"x")
    (folder / "videos" / "y.mp4").write_bytes(b"y")
    (folder / "captions.csv").write_text(
        "filename,post_caption,account\nx.mp4,hello,a1\ny.mp4,world,ghost\n", encoding="utf-8"
    )
    ctx = PostingContext.from_campaign(CampaignConfig.from_folder(folder, tmp_path))
    store = MemoryJobStore(ctx.store_name)
    with pytest.raises(ConfigError, match=r"line 3.*ghost"):
        seed_store(ctx, store, NOW)
    assert store.counts()["total"] == 0
