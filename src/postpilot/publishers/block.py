"""Reading the values of a channel's `publisher` block (campaign.json), with the same
ConfigError messages for every channel that uses them (TikTok, Instagram): numbers, texts,
true/false flags and the video limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from postpilot.errors import ConfigError
from postpilot.publishers.video import VideoLimits


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


def optional_text(block: Mapping[str, Any], key: str, expected: str = "text") -> str | None:
    """`block[key]` as a text, or None when absent; `expected` names it in the error."""
    value = block.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"publisher.{key} must be {expected}")
    return value


def flag(block: Mapping[str, Any], key: str, default: bool) -> bool:
    """`block[key]` as a JSON boolean (`default` when absent)."""
    value = block.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"publisher.{key} must be true or false, got {value!r}")
    return value


def video_limits(block: Mapping[str, Any], defaults: VideoLimits) -> VideoLimits:
    """The block's max_bytes, max_duration_seconds and min_duration_seconds (numbers >= 0),
    each defaulting to the channel's own limit in `defaults`."""
    max_bytes = number(block, "max_bytes", defaults.max_bytes)
    return VideoLimits(
        max_bytes=None if max_bytes is None else int(max_bytes),
        max_duration_seconds=number(block, "max_duration_seconds", defaults.max_duration_seconds),
        min_duration_seconds=number(block, "min_duration_seconds", defaults.min_duration_seconds),
    )
