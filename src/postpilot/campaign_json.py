"""A campaign's campaign.json, validated at the boundary: unknown keys and wrong types are
ConfigErrors naming the key, as the user writes it (the model of campaign_model.py), then the
checks the model cannot make (time zone, distribution, schedule, store DSN). Split from
campaign.py, which builds the CampaignConfig from it.

A plain file (only the keys below, each value of its type, an outbox publisher or none) is read
here without importing pydantic, which would cost a `--status` call more than all the rest
(bench/run_bench.py --startup-only); any other file, and every invalid one, goes to the model,
so what is accepted and how an error reads is the model's (tests/unit/test_campaign_json.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from postpilot import paths
from postpilot.accounts_file import read_text
from postpilot.errors import ConfigError
from postpilot.schedule import build_schedule

DISTRIBUTIONS = ("once", "every_account")


# NamedTuples: made in a tenth of a frozen dataclass's time, on --status's start-up path.
class CaptionsValues(NamedTuple):
    """campaign.json's "captions": the file and its columns (None: the defaults)."""

    file: str | None = None
    filename_column: str | None = None
    caption_column: str | None = None


class ScheduleValues(NamedTuple):
    """campaign.json's "schedule" (postpilot.schedule)."""

    times: list[str]
    days: list[str] | None = None
    start: str | None = None
    end: str | None = None


class CampaignValues(NamedTuple):
    """campaign.json's values, validated; the defaults for a key not written."""

    name: str | None = None
    enabled: bool = True
    max_posts_per_account_per_day: int = paths.MAX_POSTS_PER_ACCOUNT_PER_DAY
    timezone: str = paths.TIMEZONE
    max_attempts: int = paths.MAX_ATTEMPTS
    captions: CaptionsValues | None = None
    videos_dir: str | None = None
    #: The channel's keys as written, and "type" (publisher_config.as_block); None: not given.
    publisher: dict[str, Any] | None = None
    store: str | None = None
    #: "once": each video once, to one account; "every_account": each video to every account.
    distribution: str = "once"
    #: Posting times (postpilot.schedule); absent: every job is due at once.
    schedule: ScheduleValues | None = None


def load_campaign_file(path: Path, shown_as: str) -> CampaignValues:
    """Parse and validate campaign.json; ConfigError naming `shown_as`, the key and the type."""
    text = read_text(path, "Remove it or write a JSON object")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{shown_as}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{shown_as}: must be a JSON object ({{...}}), got {type(raw).__name__}")
    model = read_plain(raw)
    if model is None:
        from postpilot import campaign_model

        model = campaign_model.validate(raw, shown_as)
    try:
        ZoneInfo(model.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{shown_as}: key 'timezone' must be an IANA time zone name such as "
            f"'Europe/Berlin' (got {json.dumps(model.timezone)})"
        ) from None
    if model.distribution not in DISTRIBUTIONS:
        raise ConfigError(
            f"{shown_as}: key 'distribution' must be one of {', '.join(DISTRIBUTIONS)} "
            f"(got {json.dumps(model.distribution)})"
        )
    if model.schedule is not None:
        try:
            build_schedule(
                model.schedule.times, model.schedule.days, model.schedule.start, model.schedule.end
            )
        except ValueError as exc:
            raise ConfigError(f"{shown_as}: key 'schedule': {exc}") from None
    if model.store is not None and not model.store.startswith(("postgresql://", "postgres://")):
        # Never echo the value: a DSN may carry a password.
        raise ConfigError(
            f"{shown_as}: key 'store' must be a PostgreSQL DSN starting with postgresql:// "
            "or postgres://"
        )
    return model


# -- the plain file, read without pydantic ----------------------------------------------------
class _NotPlain(Exception):
    """The file is not plain: the model decides."""


def read_plain(raw: dict[str, Any]) -> CampaignValues | None:
    """campaign.json's values when the file is plain and valid, else None (the model decides:
    it accepts the same plain files with the same values, and words every error)."""
    try:
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key in _SIMPLE:
                values[key] = _SIMPLE[key](value)
            elif key == "captions":
                values[key] = None if value is None else CaptionsValues(**_captions(value))
            elif key == "publisher":
                values[key] = None if value is None else _outbox(value)
            elif key == "schedule":
                values[key] = None if value is None else ScheduleValues(**_schedule(value))
            else:
                raise _NotPlain  # an unknown key: the model names it
    except _NotPlain:
        return None
    return CampaignValues(**values)


def _check(ok: bool) -> None:
    if not ok:
        raise _NotPlain


def _text(value: object, *, empty: bool = True, none: bool = True) -> str | None:
    _check((none and value is None) or (type(value) is str and (empty or value != "")))
    return value  # type: ignore[return-value]


def _count(value: object) -> int:
    _check(type(value) is int and value >= 1)
    return value  # type: ignore[return-value]


def _flag(value: object) -> bool:
    _check(type(value) is bool)
    return value  # type: ignore[return-value]


_SIMPLE: dict[str, Callable[[object], object]] = {
    "name": lambda v: _text(v, empty=False),
    "enabled": _flag,
    "max_posts_per_account_per_day": _count,
    "timezone": lambda v: _text(v, none=False),
    "max_attempts": _count,
    "videos_dir": lambda v: _text(v, empty=False),
    "store": _text,
    "distribution": lambda v: _text(v, none=False),
}


def _captions(value: object) -> dict[str, Any]:
    _check(type(value) is dict)
    assert isinstance(value, dict)
    _check(set(value) <= {"file", "filename_column", "caption_column"})
    return {key: _text(item) for key, item in value.items()}


def _texts(value: object, *, none: bool) -> list[str] | None:
    if none and value is None:
        return None
    _check(type(value) is list)
    assert isinstance(value, list)
    return [_text(item, none=False) for item in value]  # type: ignore[misc]


def _schedule(value: object) -> dict[str, Any]:
    _check(type(value) is dict)
    assert isinstance(value, dict)
    _check("times" in value and set(value) <= {"times", "days", "start", "end"})
    out: dict[str, Any] = {"times": _texts(value["times"], none=False)}
    if "days" in value:
        out["days"] = _texts(value["days"], none=True)
    for key in ("start", "end"):
        if key in value:
            out[key] = _text(value[key])
    return out


def _outbox(value: object) -> dict[str, Any]:
    """The outbox block as publisher_config.as_block gives it: "type", and "dir" if written."""
    _check(type(value) is dict)
    assert isinstance(value, dict)
    _check(value.get("type", "outbox") == "outbox" and set(value) <= {"type", "dir"})
    block: dict[str, Any] = {"type": "outbox"}
    if "dir" in value:
        block["dir"] = _text(value["dir"], empty=False)
    return block
