"""The dashboard's plan of the next days and its next slot, from a status and the waiting jobs'
slots (pure functions of postpilot.web.views)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from postpilot.web.views import next_slot, plan

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def _status(per_day: dict[str, int], blocked: list[dict[str, Any]] | None = None) -> dict:
    return {
        "paused": None,
        "blocked": blocked or [],
        "daily": {
            "day": "2026-03-02",
            "timezone": "UTC",
            "limit": 2,
            "per_account": per_day,
        },
    }


def test_plan_spreads_waiting_jobs_over_days_by_limit_and_slot() -> None:
    """Unscheduled jobs post up to the limit per day (today what is left), scheduled ones not
    before their day; slots are counted on their day; re-auth accounts post nothing."""
    slots = {
        "a": [("", 5)],
        "b": [("2026-03-04T09", 3)],
        "c": [("", 4)],
    }
    reauth = [{"account": "c", "block": "needs_reauth", "reason": "x", "until": None}]
    days = plan(_status({"a": 1, "b": 0, "c": 0}, reauth), slots, days=4)
    assert [d["day"] for d in days] == ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert [d["per_account"].get("a", 0) for d in days] == [1, 2, 2, 0]
    assert [d["per_account"].get("b", 0) for d in days] == [0, 0, 2, 1]
    assert all("c" not in d["per_account"] for d in days)
    assert [d["scheduled"] for d in days] == [0, 0, 3, 0]
    assert [d["posts"] for d in days] == [1, 2, 4, 1]


def test_next_slot_is_now_a_slot_a_window_or_the_next_day() -> None:
    """Room and a due job: now. Only a later slot: that slot. Limit reached: next midnight.
    Rate window: its end. Paused or nothing waiting: no time, with the reason."""
    due_now = next_slot(_status({"a": 0}), NOW, {"a": [("", 1)]})
    assert due_now["at"] == NOW.isoformat()
    later = next_slot(_status({"a": 0}), NOW, {"a": [("2026-03-02T15", 1)]})
    assert later == {"at": "2026-03-02T15:00:00+00:00", "reason": "next scheduled slot"}
    full = next_slot(_status({"a": 2}), NOW, {"a": [("", 1)]})
    assert full == {"at": "2026-03-03T00:00:00+00:00", "reason": "daily limit reached"}
    window = [{"account": "a", "block": "rate_limit", "reason": "", "until": "2026-03-02T11:00"}]
    rated = next_slot(_status({"a": 0}, window), NOW, {"a": [("", 1)]})
    assert rated["reason"] == "rate window ends"
    paused = next_slot({**_status({}), "paused": {"by": "x", "at": "y"}}, NOW, {"a": [("", 1)]})
    assert paused == {"at": None, "reason": "paused"}
    assert next_slot(_status({}), NOW, {})["reason"] == "nothing waiting"
