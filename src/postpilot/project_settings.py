"""<root>/postpilot.json: legacy mode's optional settings, validated with pydantic.

A module of its own so that the command line imports pydantic only when legacy mode reads
these settings (`--help`, `--version` and campaign commands never need this model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from postpilot import paths, publisher_config, validation
from postpilot.errors import ConfigError


class ProjectSettings(BaseModel):
    """<root>/postpilot.json: legacy mode's optional settings (campaigns use campaign.json)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    publisher: Annotated[
        publisher_config.PublisherBlock, BeforeValidator(publisher_config.with_default_type)
    ] = Field(default_factory=publisher_config.OutboxBlock)
    store: str | None = None
    timezone: str = paths.TIMEZONE
    max_posts_per_account_per_day: int = Field(default=paths.MAX_POSTS_PER_ACCOUNT_PER_DAY, ge=1)
    max_attempts: int = Field(default=paths.MAX_ATTEMPTS, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name such as 'UTC')"
            ) from None
        return value

    @field_validator("store")
    @classmethod
    def _postgres_dsn(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// DSN (leave it out for the embedded store)")
        return value


def load_project_settings(root: Path) -> ProjectSettings:
    """Read and validate <root>/postpilot.json (defaults when it does not exist)."""
    path = root / paths.PROJECT_JSON
    if not path.exists():
        return ProjectSettings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    try:
        return ProjectSettings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_settings_errors(path, exc)) from None


def _settings_errors(path: Path, exc: ValidationError) -> str:
    def allowed(loc: tuple[str, ...]) -> list[str]:
        if not loc:
            return list(ProjectSettings.model_fields)
        if loc[0] == "publisher" and len(loc) >= 2:
            return publisher_config.allowed_keys(loc[1])
        return []

    lines = validation.describe(exc, allowed, publisher_config.strip_tag)
    return "\n".join([f"Invalid {path}:", *(f"  - {line}" for line in lines)])
