"""Settings from the environment: every POSTPILOT_* variable, in one frozen Settings.

The variables are collected here (prefix stripped, names case-insensitive, empty values
unset, unknown POSTPILOT_* names ignored) and validated by the pydantic model of
postpilot.settings_model. A plain environment (the variables unset, or each value in its
plain form: digits, a level name, 1/true/yes or 0/false/no, a path, a DSN) is read here without
importing pydantic, which would cost a `--status` call more than all the rest
(bench/run_bench.py --startup-only); any other value, and every invalid one, goes to the model,
so what is accepted and how an error reads is the model's (tests/unit/test_settings.py).

Read through `load()`, which turns an invalid value into a ConfigError naming the variable and
what it must be (a wrong POSTPILOT_LOG_LEVEL is an error, not ignored). postpilot.env_help lists
the variables for `--help`. Empty values count as unset. POSTPILOT_NOW's format belongs to the
clock (postpilot.clock); POSTPILOT_NOW_OFFSET and POSTPILOT_WORKER_ID are set by postpilot for
its own child processes and are not settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, NamedTuple

PREFIX = "POSTPILOT_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LEVELS: tuple[LogLevel, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(NamedTuple):
    """The environment's settings with their defaults (postpilot.env_help says what each is;
    postpilot.settings_model has the same fields, defaults and limits). A NamedTuple: made
    in a tenth of a frozen dataclass's time, on every command's start-up path."""

    home: Path | None = None
    store: str | None = None
    credentials: Path | None = None
    log_level: LogLevel = "INFO"
    debug: bool = False
    now: str | None = None
    lease_seconds: float = 60.0
    job_timeout: float = 1800.0
    shutdown_timeout: float = 60.0
    max_worker_restarts: int = 3
    #: None: one per CPU.
    worker_processes: int | None = None
    backoff_seconds: float = 30.0
    #: How long a run rides out an unreachable (or locked) job store before it stops
    #: (runner/outage.py); 0: stop at the first failure.
    store_outage_seconds: float = 30.0
    #: How long one write of the embedded SQLite store waits for a lock another process holds
    #: before the try fails (and the outage budget above takes over).
    store_busy_seconds: float = 30.0
    #: --serve: seconds between looks at the campaign files; seconds before a stuck due job
    #: is looked at again (runner/service.py).
    serve_poll_seconds: float = 5.0
    serve_recheck_seconds: float = 900.0


#: The numbers' lower limits, as the model has them: (limit, whether the limit itself is allowed).
FLOAT_LIMITS: dict[str, tuple[float, bool]] = {
    "lease_seconds": (0.0, False),
    "job_timeout": (0.0, False),
    "shutdown_timeout": (0.0, True),
    "backoff_seconds": (0.0, True),
    "store_outage_seconds": (0.0, True),
    "store_busy_seconds": (0.0, False),
    "serve_poll_seconds": (0.0, False),
    "serve_recheck_seconds": (0.0, False),
}
INT_MINIMUMS: dict[str, int] = {"max_worker_restarts": 0, "worker_processes": 1}
#: The plain spellings of a boolean (pydantic accepts these and a few more).
_BOOLS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def dsn_problem(value: str | None) -> str:
    """Why `value` is not a PostgreSQL DSN, or "" (never echoing it: it may carry a password)."""
    url = value is not None and value.startswith(("postgresql://", "postgres://"))
    # libpq's key=value form ("host=db dbname=postpilot") is a DSN too.
    if value is not None and not url and "=" not in value:
        return "must be a PostgreSQL DSN: postgresql://... or libpq's 'host=... dbname=...'"
    return ""


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
    raw = from_environment(os.environ if environ is None else environ)
    plain = read_plain(raw)
    if plain is not None:
        return plain
    from postpilot import settings_model

    return Settings(**settings_model.validate(raw))  # type: ignore[arg-type]


def read_plain(raw: Mapping[str, str]) -> Settings | None:
    """The settings when every value is in its plain form and valid, else None (the model
    decides). Each value read here is the one the model would give."""
    values: dict[str, object] = {}
    for name, text in raw.items():
        if name in FLOAT_LIMITS:
            value: object = _plain_float(text, *FLOAT_LIMITS[name])
        elif name in INT_MINIMUMS:
            value = _plain_int(text, INT_MINIMUMS[name])
        elif name in ("home", "credentials"):
            value = Path(text)
        elif name == "store":
            value = None if dsn_problem(text) else text
        elif name == "log_level":
            level = text.strip().upper()
            value = level if level in LEVELS else None
        elif name == "debug":
            value = _BOOLS.get(text.lower())
        elif name == "now":
            value = _plain_now(text)
        else:
            continue  # not a setting: ignored, as by the model
        if value is None:
            return None
        values[name] = value
    return Settings(**values)  # type: ignore[arg-type]


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


def _plain_float(text: str, limit: float, inclusive: bool) -> float | None:
    whole, _, fraction = text.partition(".")
    if not _digits(whole) or not (fraction == "" or (fraction.isascii() and fraction.isdigit())):
        return None
    if text.endswith("."):
        return None
    value = float(text)
    return value if value > limit or (inclusive and value == limit) else None


def _plain_int(text: str, minimum: int) -> int | None:
    if not _digits(text):
        return None
    value = int(text)
    return value if value >= minimum else None


def _plain_now(text: str) -> str | None:
    from postpilot.clock import parse_now

    try:
        parse_now(text.strip())
    except ValueError:
        return None  # the model words the error
    return text
