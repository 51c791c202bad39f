"""A campaign's campaign.json, validated at the boundary: the strict model (unknown keys and
wrong types are ConfigErrors naming the key, as the user writes it) and the checks the model
cannot make (time zone, distribution, schedule, store DSN). Split from campaign.py, which builds
the CampaignConfig from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from postpilot import paths, publisher_config, validation
from postpilot.accounts_file import read_text
from postpilot.errors import ConfigError
from postpilot.schedule import build_schedule


class _CaptionsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    file: str | None = None
    filename_column: str | None = None
    caption_column: str | None = None


class _ScheduleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    times: list[str]
    days: list[str] | None = None
    start: str | None = None
    end: str | None = None


DISTRIBUTIONS = ("once", "every_account")


class CampaignFile(BaseModel):
    """campaign.json as written by the user; every key optional, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(default=None, min_length=1)
    enabled: bool = True
    max_posts_per_account_per_day: int = Field(default=paths.MAX_POSTS_PER_ACCOUNT_PER_DAY, ge=1)
    timezone: str = paths.TIMEZONE
    max_attempts: int = Field(default=paths.MAX_ATTEMPTS, ge=1)
    captions: _CaptionsModel | None = None
    videos_dir: str | None = Field(default=None, min_length=1)
    #: One strict model per channel (publisher_config); the channel gets the keys as written.
    publisher: Annotated[
        publisher_config.PublisherBlock | None, BeforeValidator(publisher_config.with_default_type)
    ] = None
    store: str | None = None
    #: "once": each video once, to one account; "every_account": each video to every account.
    distribution: str = "once"
    #: Posting times (postpilot.schedule); absent: every job is due at once.
    schedule: _ScheduleModel | None = None


def _allowed_keys(loc: tuple[str, ...]) -> list[str]:
    """The keys allowed where an unknown key was found (for the message's list)."""
    if not loc:
        return [info.alias or name for name, info in CampaignFile.model_fields.items()]
    if loc[0] == "captions":
        return list(_CaptionsModel.model_fields)
    if loc[0] == "schedule":
        return list(_ScheduleModel.model_fields)
    if loc[0] == "publisher" and len(loc) >= 2:
        return publisher_config.allowed_keys(loc[1])
    return []


#: Keys of the prior orchestrator's campaign.json, with what they are here.
_PRIOR_KEYS = {
    "platform": (
        '; the prior "platform" is "publisher": {"type": ...} here '
        "(postpilot --migrate translates prior campaigns, docs/migrating.md)"
    ),
}


def describe_errors(exc: ValidationError) -> list[str]:
    """campaign.json's validation errors, one line each, keys as the user writes them."""
    lines = validation.describe(exc, _allowed_keys, publisher_config.strip_tag)
    for key, hint in _PRIOR_KEYS.items():
        lines = [line + hint if line.startswith(f"unknown key '{key}'") else line for line in lines]
    return lines


def load_campaign_file(path: Path, shown_as: str) -> CampaignFile:
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
    try:
        model = CampaignFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{shown_as}: " + "\n  ".join(describe_errors(exc))) from None
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
