"""The one clock seam: every "now" in postpilot comes from here.

`POSTPILOT_NOW` (ISO 8601 with a UTC offset, e.g. ``2026-03-02T08:55:00+01:00``) sets "now" when
the process first asks for the time; from then on time advances normally. Tests and dry runs use it
to move whole days without sleeping.

Every process of one run must agree on the time, so the first process that resolves the variable
records the offset it chose in `POSTPILOT_NOW_OFFSET` ("<seconds> <POSTPILOT_NOW value>"). Child
processes inherit the environment and reuse that offset instead of anchoring again at their own
(later) start; the value is tied to the `POSTPILOT_NOW` text, so a process started with a different
`POSTPILOT_NOW` anchors afresh.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from postpilot.errors import ConfigError

ENV_NOW = "POSTPILOT_NOW"
ENV_OFFSET = "POSTPILOT_NOW_OFFSET"

# POSTPILOT_NOW text -> the offset this process uses for it (resolved once, at first use).
_resolved: dict[str, timedelta] = {}


def wall() -> datetime:
    """The machine's real time, aware UTC.

    Only for protocol fields a remote party checks against its own real clock (a webhook
    signature's timestamp); everything else uses `now()`.
    """
    return datetime.now(UTC)


def parse_now(raw: str) -> datetime:
    """Parse a `POSTPILOT_NOW` value; a bad one is a `ConfigError` naming the variable."""
    hint = f"set {ENV_NOW} to an ISO 8601 time with a UTC offset, e.g. 2026-03-02T09:00:00+01:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{ENV_NOW}={raw!r} is not an ISO 8601 time: {hint}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ConfigError(f"{ENV_NOW}={raw!r} has no UTC offset: {hint}")
    return moment.astimezone(UTC)


def offset() -> timedelta:
    """How far this process's "now" is from the wall clock (zero without `POSTPILOT_NOW`)."""
    raw = os.environ.get(ENV_NOW, "").strip()
    if not raw:
        return timedelta(0)
    known = _resolved.get(raw)
    if known is not None:
        return known
    chosen = _inherited(raw)
    if chosen is None:
        chosen = parse_now(raw) - wall()
        # Children (workers) inherit this and agree with us to the microsecond.
        os.environ[ENV_OFFSET] = f"{chosen.total_seconds()!r} {raw}"
    _resolved[raw] = chosen
    return chosen


def _inherited(raw: str) -> timedelta | None:
    """The offset a parent process recorded for this same `POSTPILOT_NOW`, if any."""
    recorded = os.environ.get(ENV_OFFSET, "")
    seconds, _, source = recorded.partition(" ")
    if source != raw:
        return None
    parse_now(raw)  # still validate: a bad value is an error in every process
    try:
        return timedelta(seconds=float(seconds))
    except ValueError:
        return None


def now() -> datetime:
    """The current time, aware UTC, honouring `POSTPILOT_NOW`."""
    shift = offset()  # first: anchoring reads the wall clock, which must not run backwards
    return wall() + shift


def reset() -> None:
    """Forget resolved offsets (tests that run several "processes" in one interpreter)."""
    _resolved.clear()
    os.environ.pop(ENV_OFFSET, None)
