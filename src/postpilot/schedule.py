"""Posting times: which local days post, at which times, and which slots each account gets.

Pure (no clock, no I/O): everything takes dates and the campaign's timezone as arguments.

    "schedule": {"times": ["09:00", "18:30"], "days": ["mon", "tue", ...],
                 "start": "2026-03-02", "end": "2026-03-31"}

- `times` are local wall-clock times in the campaign timezone; `days` (default: every day) the
  weekdays that post; `start`/`end` (inclusive, optional) the first and last posting dates.
- An account posts at most `max_posts_per_account_per_day` times a day. With limit L and T
  times, account number i (accounts.txt order, from 0) takes the times i*L, i*L+1, ... (mod T)
  of each posting day: accounts are staggered over the times instead of all posting at the
  first one. With L >= T every account posts at every time.
- Without a schedule every account has L slots a day at local midnight: due at once (the
  behaviour before schedules existed).

Daylight-saving rule (one rule, both directions):
- a slot whose local time does not exist that day (clocks jump forward over it, e.g. 02:30 on
  the spring-forward day in Europe/Berlin) is published as many minutes after the jump as it
  lay after its start: 02:30 becomes 03:30 local;
- a slot whose local time happens twice (clocks fall back, e.g. 01:30 on the fall-back day in
  America/New_York) is published once, at its first occurrence (daylight time).
This is what the local time means read with the offset in force before the transition (Python's
`fold=0`), so a slot's instant is always the same for the same date, time and zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIDNIGHT = time(0, 0)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A campaign's posting times, already validated (campaign.py checks the raw keys)."""

    times: tuple[time, ...]
    #: Weekday numbers that post (Monday = 0).
    days: frozenset[int] = frozenset(range(7))
    start: date | None = None
    end: date | None = None

    def posts_on(self, day: date) -> bool:
        """Whether `day` is a posting day (weekday listed, within start..end)."""
        if self.start is not None and day < self.start:
            return False
        if self.end is not None and day > self.end:
            return False
        return day.weekday() in self.days

    def to_json(self) -> dict[str, object]:
        """The schedule as campaign.json writes it."""
        return {
            "times": [t.strftime("%H:%M") for t in self.times],
            "days": [WEEKDAYS[d] for d in sorted(self.days)],
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }


def parse_time(text: str) -> time:
    """`HH:MM` (24-hour) -> time; ValueError otherwise."""
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"{text!r} is not a time HH:MM (24-hour, e.g. 09:00)")
    hour, minute = int(parts[0]), int(parts[1])
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time HH:MM (24-hour, e.g. 09:00)")
    return time(hour, minute)


def build_schedule(
    times: Sequence[str],
    days: Sequence[str] | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Schedule:
    """A Schedule from campaign.json values; ValueError naming the bad value."""
    if not times:
        raise ValueError("'times' must list at least one time HH:MM")
    parsed = sorted({parse_time(t) for t in times})
    if days is None:
        weekdays = frozenset(range(7))
    else:
        unknown = [d for d in days if d.lower() not in WEEKDAYS]
        if unknown:
            raise ValueError(f"'days' must be among {', '.join(WEEKDAYS)} (got {unknown[0]!r})")
        if not days:
            raise ValueError("'days' must list at least one weekday")
        weekdays = frozenset(WEEKDAYS.index(d.lower()) for d in days)
    first = _parse_date("start", start)
    last = _parse_date("end", end)
    if first is not None and last is not None and last < first:
        raise ValueError(f"'end' ({end}) is before 'start' ({start})")
    return Schedule(times=tuple(parsed), days=weekdays, start=first, end=last)


def _parse_date(key: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{key}' must be a date YYYY-MM-DD (got {value!r})") from None


def slot_instant(day: date, at: time, timezone: str) -> datetime:
    """The UTC instant of local `day` `at` in `timezone`, by the module's DST rule."""
    local = datetime.combine(day, at, tzinfo=ZoneInfo(timezone))  # fold=0: see module doc
    return local.astimezone(UTC)


def account_times(schedule: Schedule | None, day: date, index: int, daily_limit: int) -> list[time]:
    """The local times account number `index` posts at on `day` (empty: not a posting day)."""
    if schedule is None:
        return [MIDNIGHT] * daily_limit
    if not schedule.posts_on(day):
        return []
    count = len(schedule.times)
    if daily_limit >= count:
        return list(schedule.times)
    picks = {(index * daily_limit + k) % count for k in range(daily_limit)}
    return [schedule.times[i] for i in sorted(picks)]


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar date of `moment` in `timezone`."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def parse_publish_at(text: str, timezone: str) -> datetime:
    """A captions.csv `publish_at`: ISO 8601 with offset, or local `YYYY-MM-DD HH:MM` in the
    campaign timezone (DST rule as for slots). ValueError when neither."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"publish_at {value!r} is not a time: write 2026-03-02T09:00:00+01:00 or "
            "2026-03-02 09:00 (campaign timezone)"
        ) from None
    if moment.tzinfo is None:
        return slot_instant(moment.date(), moment.time(), timezone)
    return moment.astimezone(UTC)


def describe_when(moment: datetime, now: datetime, timezone: str) -> str:
    """`today 18:00 Europe/Berlin`, `tomorrow 09:00 Europe/Berlin` or `Mon 2026-03-09 09:00 ...`
    (local to the campaign); `now` for a moment already due."""
    if moment <= now:
        return "now"
    tz = ZoneInfo(timezone)
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    clock_text = local.strftime("%H:%M")
    if local.date() == today:
        return f"today {clock_text} {timezone}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow {clock_text} {timezone}"
    return f"{local.strftime('%a %Y-%m-%d')} {clock_text} {timezone}"
