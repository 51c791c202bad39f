"""The pydantic model of campaign.json: its validation rules and its error messages, keys as
the user writes them.

postpilot.campaign_json reads a plain campaign.json (the keys it knows with values of the
right type, an outbox publisher) without importing pydantic, which costs a `--status` call
more than the rest of it (bench/run_bench.py --startup-only); any other file, and every
invalid one, is validated here, so what is accepted and how an error reads is this model's
(tests/unit/test_campaign_json.py).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from postpilot import paths, publisher_config, validation
from postpilot.campaign_json import CampaignValues, CaptionsValues, ScheduleValues
from postpilot.errors import ConfigError


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


def validate(raw: dict[str, object], shown_as: str) -> CampaignValues:
    """campaign.json's values; ConfigError naming `shown_as`, each key and what it must be."""
    try:
        model = CampaignFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{shown_as}: " + "\n  ".join(describe_errors(exc))) from None
    captions, schedule = model.captions, model.schedule
    return CampaignValues(
        name=model.name,
        enabled=model.enabled,
        max_posts_per_account_per_day=model.max_posts_per_account_per_day,
        timezone=model.timezone,
        max_attempts=model.max_attempts,
        captions=None
        if captions is None
        else CaptionsValues(captions.file, captions.filename_column, captions.caption_column),
        videos_dir=model.videos_dir,
        publisher=None if model.publisher is None else publisher_config.as_block(model.publisher),
        store=model.store,
        distribution=model.distribution,
        schedule=None
        if schedule is None
        else ScheduleValues(schedule.times, schedule.days, schedule.start, schedule.end),
    )
