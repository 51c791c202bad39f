"""Reading the values of a channel's `publisher` block (campaign.json), with the same
ConfigError messages for every channel that uses them (TikTok, Instagram)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from postpilot.errors import ConfigError


def number(block: Mapping[str, Any], key: str, default: float | None) -> float | None:
    """`block[key]` as a number >= 0 (`default` when absent; None stays None)."""
    value = block.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"publisher.{key} must be a number >= 0, got {value!r}")
    return float(value)


def text(block: Mapping[str, Any], key: str, default: str) -> str:
    """`block[key]` as a non-empty text (`default` when absent)."""
    value = block.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"publisher.{key} must be a non-empty text, got {value!r}")
    return value
