"""<root>/postpilot.json: legacy mode's optional settings, validated with pydantic.

A module of its own so that the command line imports pydantic only when legacy mode reads
these settings (`--help`, `--version` and campaign commands never need this model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from postpilot.config import Config
from postpilot.errors import ConfigError


class ProjectSettings(BaseModel):
    """<root>/postpilot.json: legacy mode's optional settings (campaigns use campaign.json)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    publisher: dict[str, Any] = Field(default_factory=lambda: {"type": "outbox"})
    store: str | None = None
    timezone: str = Config.TIMEZONE
    max_posts_per_account_per_day: int = Field(default=Config.MAX_POSTS_PER_ACCOUNT_PER_DAY, ge=1)
    max_attempts: int = Field(default=Config.MAX_ATTEMPTS, ge=1)

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

    @field_validator("publisher")
    @classmethod
    def _known_publisher(cls, value: dict[str, Any]) -> dict[str, Any]:
        from postpilot.publishers import PUBLISHER_TYPES

        kind = value.get("type", "outbox")
        if not isinstance(kind, str) or kind not in PUBLISHER_TYPES:
            raise ValueError(f"'type' must be one of {', '.join(PUBLISHER_TYPES)} (got {kind!r})")
        return value

    @field_validator("store")
    @classmethod
    def _postgres_dsn(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// DSN (leave it out for the embedded store)")
        return value


def load_project_settings(root: Path) -> ProjectSettings:
    """Read and validate <root>/postpilot.json (defaults when it does not exist)."""
    path = root / Config.PROJECT_JSON
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
    allowed = ", ".join(ProjectSettings.model_fields)
    lines = [f"Invalid {path}:"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append(f"  - unknown key '{key}' (allowed keys: {allowed})")
        else:
            lines.append(f"  - '{key}': {error['msg']}")
    return "\n".join(lines)
