"""The SQLite store's Job <-> row mapping and its statements.

The named statements are in postpilot/store/sql/sqlite/queries.sql; only the ones spelled out
from Job's fields (insert, full update, the column list) are built here, once, at import.
Used only by the postpilot.store.sqlite modules; nothing here opens a file. Timestamps are
ISO-8601 UTC text of fixed width (`2024-05-01T08:00:00.000000Z`), so SQL compares them as
strings; naive datetimes are taken as UTC.
"""

# SQL here is built only from constant column and schema names, never from input (every
# value is a bound parameter), so the string-built-query rule does not apply.
# ruff: noqa: S608

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from postpilot.jobs import Job, JobStatus
from postpilot.store.sql.sqlite import load_queries

_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Job))
_TIME_FIELDS = frozenset(
    {
        "claimed_at",
        "completed_at",
        "retry_at",
        "lease_expires_at",
        "publish_started_at",
        "scheduled_at",
    }
)
_COLUMNS = ", ".join(_FIELDS)
_INSERT = f"INSERT INTO c.jobs ({_COLUMNS}) VALUES ({', '.join('?' * len(_FIELDS))})"
_UPDATE = (
    "UPDATE c.jobs SET "
    + ", ".join(f"{name} = ?" for name in _FIELDS if name != "job_id")
    + " WHERE job_id = ?"
)
_SELECT = f"SELECT {_COLUMNS} FROM c.jobs"
_HEAD_COLUMNS = ", ".join(f"j.{name}" for name in _FIELDS)


def _expand(text: str) -> str:
    """A query of queries.sql with its column placeholders filled in."""
    return text.replace("{job_columns}", _COLUMNS).replace("{head_columns}", _HEAD_COLUMNS)


#: The SQLite store's named statements (postpilot/store/sql/sqlite/queries.sql).
_SQ: dict[str, str] = {name: _expand(sql) for name, sql in load_queries().items()}


def _ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    # isoformat is several times faster than strftime and gives the same fixed width.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _column(name: str, value: Any) -> Any:
    """A Job field's value as stored in its column."""
    if name in _TIME_FIELDS:
        return _ts(value)
    if name == "checkpoint":
        return json.dumps(dict(value), sort_keys=True)
    if name == "status":
        return str(value)
    return value


def _to_row(job: Job) -> list[Any]:
    return [_column(name, getattr(job, name)) for name in _FIELDS]


def _to_job(row: Sequence[Any]) -> Job:
    values = dict(zip(_FIELDS, row, strict=True))
    for name in _TIME_FIELDS:
        values[name] = _dt(values[name])
    values["status"] = JobStatus(values["status"])
    text = values["checkpoint"]
    values["checkpoint"] = {} if text == "{}" else json.loads(text)
    return Job(**values)


def _update_params(job: Job) -> list[Any]:
    """_UPDATE's parameters for `job`: every column but job_id, then job_id."""
    row = _to_row(job)
    index = _FIELDS.index("job_id")
    return row[:index] + row[index + 1 :] + [job.job_id]
