"""The POSTPILOT_* environment variables as `--help` lists them.

A light module (no pydantic): `--help` must start fast. postpilot.settings validates the same
variables; tests/unit/test_settings.py checks that both name the same set.
"""

from __future__ import annotations

#: (variable, what it sets), in the order --help shows them.
VARIABLES: tuple[tuple[str, str], ...] = (
    ("POSTPILOT_HOME", "project root (campaigns/, outbox/, .postpilot/); default: cwd"),
    ("POSTPILOT_STORE", "PostgreSQL DSN of a shared job store (overrides campaign.json)"),
    ("POSTPILOT_CREDENTIALS", "credentials file of API channels (<project>/credentials.json)"),
    ("POSTPILOT_LOG_LEVEL", "DEBUG, INFO (default), WARNING, ERROR or CRITICAL"),
    ("POSTPILOT_DEBUG", "1: show the traceback of an unexpected error"),
    ("POSTPILOT_NOW", "ISO 8601 time with offset: run as if it were then (tests, dry runs)"),
    ("POSTPILOT_LEASE_SECONDS", "claim lease in seconds (default 60)"),
    ("POSTPILOT_JOB_TIMEOUT", "seconds one publish may take (default 1800)"),
    ("POSTPILOT_SHUTDOWN_TIMEOUT", "grace in seconds after Ctrl+C/SIGTERM (default 60)"),
    ("POSTPILOT_MAX_WORKER_RESTARTS", "restarts of a crashed worker per pass (default 3)"),
    ("POSTPILOT_WORKER_PROCESSES", "processes the --workers slots run in (default: one per CPU)"),
    ("POSTPILOT_BACKOFF_SECONDS", "base retry backoff of a job in seconds (default 30)"),
    ("POSTPILOT_STORE_OUTAGE_SECONDS", "a run rides out a store outage this long (default 30)"),
    ("POSTPILOT_STORE_BUSY_SECONDS", "SQLite: one write waits this long for a lock (default 30)"),
    ("POSTPILOT_SERVE_POLL_SECONDS", "--serve: seconds between looks at the files (default 5)"),
    ("POSTPILOT_SERVE_RECHECK_SECONDS", "--serve: recheck of due jobs that could not move (900)"),
    ("NO_COLOR", "set: plain output without colours"),
)


def help_text() -> str:
    """The variables for --help's epilog, one line each."""
    lines = ["environment (an invalid value is an error naming the variable):"]
    lines += [f"  {name:<30} {what}" for name, what in VARIABLES]
    return "\n".join(lines)
