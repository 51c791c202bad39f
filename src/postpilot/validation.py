"""pydantic validation errors in the operator's words: the key, what it must be, a near miss.

Every model that reads a user's file (campaign.json, postpilot.json, the publisher blocks) is
validated by pydantic; this module turns each error into one line naming the dotted key, the
expected type and the value found, with "did you mean" for a misspelt key.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

#: pydantic error type -> what the value must be.
EXPECTED = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be a list",
    "string_too_short": "must not be empty",
    "missing": "is required",
    "finite_number": "must be a finite number",
}

#: regex -> what it asks for, for the patterns the models use.
PATTERNS = {
    r"^https?://\S+$": "must be an http:// or https:// URL",
    r"^[\w.]+:\w+$": "must look like 'package.module:ClassName'",
}

#: (location) -> the keys allowed at that location, for "unknown key" messages.
AllowedKeys = Callable[[tuple[str, ...]], Iterable[str]]


def did_you_mean(key: str, allowed: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest allowed key, or ''."""
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _choices(expected: object) -> str:
    """pydantic's "'a', 'b' or 'c'" as "a, b, c"."""
    return str(expected or "?").replace("'", "").replace(" or ", ", ")


def _same(loc: tuple[str, ...]) -> tuple[str, ...]:
    return loc


def describe_error(
    error: Mapping[str, Any],
    allowed_keys: AllowedKeys,
    shown: Callable[[tuple[str, ...]], tuple[str, ...]] = _same,
) -> str:
    """One line for one pydantic error; `shown` maps pydantic's location to the user's key
    (a union's tag is pydantic's, not a key the user wrote)."""
    loc = tuple(str(part) for part in error.get("loc", ()))
    dotted = ".".join(shown(loc)) or "(top level)"
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    got = json.dumps(error.get("input"), ensure_ascii=False, default=str)
    if kind == "extra_forbidden":
        allowed = sorted(allowed_keys(loc[:-1]))
        hint = did_you_mean(loc[-1], allowed) if loc else ""
        listing = f" (allowed keys: {', '.join(allowed)})" if allowed else ""
        return f"unknown key '{dotted}'{hint}{listing}"
    if kind == "union_tag_invalid":
        tag = json.dumps(ctx.get("tag"), ensure_ascii=False, default=str)
        choices = _choices(ctx.get("expected_tags"))
        return f"key '{dotted}.type' must be one of {choices} (got {tag})"
    if kind == "missing":
        return f"key '{dotted}' is required"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<="}.get(
            kind, "<"
        )
        limit = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        # Float fields declare float limits (gt=0.0): say "a number" for those.
        what = "a number" if isinstance(limit, float) else "an integer"
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"key '{dotted}' must be {what} {sign} {limit} (got {got})"
    if kind == "literal_error":
        return f"key '{dotted}' must be one of {_choices(ctx.get('expected'))} (got {got})"
    if kind == "string_pattern_mismatch":
        words = PATTERNS.get(str(ctx.get("pattern")), f"must match {ctx.get('pattern')}")
        return f"key '{dotted}' {words} (got {got})"
    if kind == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        return f"key '{dotted}': {message}"
    expected = EXPECTED.get(kind, f"is invalid: {error.get('msg', kind)}")
    return f"key '{dotted}' {expected} (got {got})"


def describe(
    exc: ValidationError,
    allowed_keys: AllowedKeys,
    shown: Callable[[tuple[str, ...]], tuple[str, ...]] = _same,
) -> list[str]:
    """Every error of a ValidationError, one line each (each once)."""
    lines: list[str] = []
    for error in exc.errors():
        line = describe_error(error, allowed_keys, shown)
        if line not in lines:
            lines.append(line)
    return lines
