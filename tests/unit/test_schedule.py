"""postpilot.schedule: posting days, staggered account slots, the DST rule, publish_at."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from postpilot.schedule import (
    account_times,
    build_schedule,
    describe_when,
    parse_publish_at,
    slot_instant,
)


def test_spring_forward_a_missing_slot_moves_past_the_jump() -> None:
    """Europe/Berlin 2026-03-29: 02:30 does not exist; the slot is 03:30 CEST (01:30 UTC)."""
    instant = slot_instant(date(2026, 3, 29), time(2, 30), "Europe/Berlin")
    assert instant == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # the day before and after keep their usual offsets (CET, then CEST)
    assert slot_instant(date(2026, 3, 28), time(2, 30), "Europe/Berlin").hour == 1
    assert slot_instant(date(2026, 3, 30), time(2, 30), "Europe/Berlin").hour == 0


def test_fall_back_an_ambiguous_slot_is_its_first_occurrence() -> None:
    """America/New_York 2026-11-01: 01:30 happens twice; the slot is the first (EDT, 05:30Z)."""
    instant = slot_instant(date(2026, 11, 1), time(1, 30), "America/New_York")
    assert instant == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert slot_instant(date(2026, 11, 2), time(1, 30), "America/New_York").hour == 6


def test_days_start_and_end_limit_the_posting_days() -> None:
    """Only listed weekdays within start..end (inclusive) post."""
    schedule = build_schedule(["09:00"], ["mon", "wed"], "2026-03-02", "2026-03-09")
    assert schedule.posts_on(date(2026, 3, 2))  # Monday, the start
    assert not schedule.posts_on(date(2026, 3, 3))  # Tuesday
    assert schedule.posts_on(date(2026, 3, 4))  # Wednesday
    assert schedule.posts_on(date(2026, 3, 9))  # Monday, the end
    assert not schedule.posts_on(date(2026, 3, 11))  # past the end
    assert not schedule.posts_on(date(2026, 2, 23))  # before the start


def test_accounts_are_staggered_over_the_times_within_the_limit() -> None:
    """Limit 1 over two times alternates accounts; a limit >= the times gives every time."""
    schedule = build_schedule(["18:00", "09:00"])
    day = date(2026, 3, 2)
    assert [account_times(schedule, day, i, 1) for i in range(3)] == [
        [time(9)],
        [time(18)],
        [time(9)],
    ]
    assert account_times(schedule, day, 1, 2) == [time(9), time(18)]
    assert account_times(None, day, 0, 2) == [time(0), time(0)]


@pytest.mark.parametrize(
    ("times", "days", "start", "end", "message"),
    [
        ([], None, None, None, "at least one time"),
        (["9:00"], None, None, None, "HH:MM"),
        (["24:00"], None, None, None, "HH:MM"),
        (["09:00"], ["monday"], None, None, "'days'"),
        (["09:00"], None, "2026-02-30", None, "'start'"),
        (["09:00"], None, "2026-03-09", "2026-03-02", "before"),
    ],
)
def test_bad_schedule_values_are_named(
    times: list[str], days: list[str] | None, start: str | None, end: str | None, message: str
) -> None:
    """Each bad value is a ValueError that says what is wrong."""
    with pytest.raises(ValueError, match=message):
        build_schedule(times, days, start, end)


def test_publish_at_with_offset_or_local() -> None:
    """publish_at: ISO with offset as given; local YYYY-MM-DD HH:MM in the campaign zone."""
    assert parse_publish_at("2026-03-02T09:00:00+01:00", "UTC") == datetime(
        2026, 3, 2, 8, 0, tzinfo=UTC
    )
    assert parse_publish_at("2026-07-02 09:00", "Europe/Berlin") == datetime(
        2026, 7, 2, 7, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="publish_at"):
        parse_publish_at("next monday", "UTC")


def test_describe_when_says_today_tomorrow_or_the_date() -> None:
    """Human wording of the next slot, in the campaign's zone."""
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    tz = "Europe/Berlin"
    assert describe_when(datetime(2026, 3, 2, 17, 0, tzinfo=UTC), now, tz) == (
        "today 18:00 Europe/Berlin"
    )
    assert describe_when(datetime(2026, 3, 3, 8, 0, tzinfo=UTC), now, tz) == (
        "tomorrow 09:00 Europe/Berlin"
    )
    assert describe_when(datetime(2026, 3, 5, 8, 0, tzinfo=UTC), now, tz).startswith(
        "Thu 2026-03-05"
    )
    assert describe_when(now, now, tz) == "now"
