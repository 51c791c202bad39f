"""Settings from the environment: every POSTPILOT_* variable, in one pydantic model.

The variables are collected here (prefix stripped, names case-insensitive, empty values
unset, unknown POSTPILOT_* names ignored) and validated by a plain pydantic model: the same
rules pydantic-settings applies, without its import, which cost every command about 50 ms
(a third of `--status` on the demo; bench/run_bench.py --startup-only).

Read through `load()`, which turns an invalid value into a ConfigError naming the variable and
what it must be (a wrong POSTPILOT_LOG_LEVEL is an error, not ignored). postpilot.env_help lists
the variables for `--help` without importing pydantic. Empty values count as unset.
POSTPILOT_NOW's format belongs to the clock (postpilot.clock); POSTPILOT_NOW_OFFSET and
POSTPILOT_WORKER_ID are set by postpilot for its own child processes and are not settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from postpilot.errors import ConfigError

PREFIX = "POSTPILOT_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseModel):
    """The environment's settings with their defaults (postpilot.env_help says what each is)."""

    model_config = ConfigDict(extra="ignore")

    home: Path | None = None
    store: str | None = None
    credentials: Path | None = None
    log_level: LogLevel = "INFO"
    debug: bool = False
    now: str | None = None
    lease_seconds: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 60.0
    job_timeout: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 1800.0
    shutdown_timeout: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 60.0
    max_worker_restarts: Annotated[int, Field(ge=0)] = 3
    #: None: one per CPU.
    worker_processes: Annotated[int, Field(ge=1)] | None = None
    backoff_seconds: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 30.0
    #: How long a run rides out an unreachable (or locked) job store before it stops
    #: (runner/outage.py); 0: stop at the first failure.
    store_outage_seconds: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 30.0
    #: How long one write of the embedded SQLite store waits for a lock another process holds
    #: before the try fails (and the outage budget above takes over).
    store_busy_seconds: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 30.0
    #: --serve: seconds between looks at the campaign files; seconds before a stuck due job
    #: is looked at again (runner/service.py).
    serve_poll_seconds: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 5.0
    serve_recheck_seconds: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 900.0

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("store")
    @classmethod
    def _dsn(cls, value: str | None) -> str | None:
        url = value is not None and value.startswith(("postgresql://", "postgres://"))
        # libpq's key=value form ("host=db dbname=postpilot") is a DSN too.
        if value is not None and not url and "=" not in value:
            # Never echo the value: a DSN may carry a password.
            raise ValueError(
                "must be a PostgreSQL DSN: postgresql://... or libpq's 'host=... dbname=...'"
            )
        return value

    @field_validator("now")
    @classmethod
    def _now(cls, value: str | None) -> str | None:
        if value is not None:
            from postpilot.clock import parse_now

            parse_now(value.strip())  # ConfigError naming the variable
        return value


#: Variables whose values must never be shown (a DSN may carry a password).
SECRET = frozenset({"store"})

_EXPECTED = {
    "float_parsing": "must be a number",
    "int_parsing": "must be a whole number",
    "bool_parsing": "must be 1/true/yes or 0/false/no",
    "literal_error": "must be one of",
    "greater_than": "must be more than",
    "greater_than_equal": "must be at least",
    "finite_number": "must be a finite number",
}


def from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The POSTPILOT_* variables of `environ` as field names and raw values."""
    found: dict[str, str] = {}
    for key, value in environ.items():
        if value != "" and key.upper().startswith(PREFIX):
            found[key[len(PREFIX) :].lower()] = value
    return found


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of `environ` (default: this process's environment); ConfigError naming
    each invalid variable and the fix."""
    try:
        return Settings.model_validate(from_environment(os.environ if environ is None else environ))
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(exc))) from None


def _describe(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        name = PREFIX + field.upper()
        kind = error["type"]
        ctx = error.get("ctx") or {}
        shown = "" if field in SECRET else f"={error.get('input')!r}"
        if kind == "value_error":
            what = str(error["msg"]).removeprefix("Value error, ")
        elif kind == "literal_error":
            what = f"must be one of {str(ctx.get('expected')).replace(chr(39), '')}"
        elif kind in ("greater_than", "greater_than_equal"):
            limit = ctx.get("gt", ctx.get("ge"))
            what = f"{_EXPECTED[kind]} {limit:g}" if isinstance(limit, float) else str(limit)
        else:
            what = _EXPECTED.get(kind, str(error["msg"]))
        lines.append(f"environment variable {name}{shown} {what}: fix or unset it")
    return lines
