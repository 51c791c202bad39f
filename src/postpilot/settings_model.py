"""The pydantic model of the POSTPILOT_* settings: the validation rules and the error
messages of postpilot.settings.

postpilot.settings reads a plain environment (unset variables, or values in their plain form)
without importing pydantic, which costs a `--status` call more than the rest of it
(bench/run_bench.py --startup-only); anything else, and every invalid value, is validated here,
so a value is accepted and an error worded exactly as by this model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from postpilot.errors import ConfigError

PREFIX = "POSTPILOT_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class SettingsModel(BaseModel):
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
        from postpilot.settings import dsn_problem

        problem = dsn_problem(value)
        if problem:
            raise ValueError(problem)
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


def validate(raw: dict[str, str]) -> dict[str, object]:
    """The settings' values for the variables `raw` (field names, raw values); ConfigError
    naming each invalid variable and the fix."""
    try:
        return SettingsModel.model_validate(raw).model_dump()
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
