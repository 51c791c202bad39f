"""The SQLite store's Job <-> row mapping and its shared SQL fragments.

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

from postpilot.jobs import (
    Job,
    JobStatus,
)

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
#: The job an account lease row names is claimed with that lease's token (else: an orphan).
_LEASE_JOB_IS_CLAIMED = (
    "SELECT 1 FROM c.jobs j WHERE j.job_id = account_leases.job_id "
    "AND j.status = 'claimed' AND j.lease_token = account_leases.token"
)
#: This campaign's jobs whose started publish is unsettled (unconfirmed, or still claimed).
_UNSETTLED = "(status = 'unconfirmed' OR (status = 'claimed' AND publish_started_at IS NOT NULL))"
#: ...and those of them that may still be in flight (postpilot.jobs.may_be_in_flight).
_IN_FLIGHT = (
    "((status = 'claimed' AND publish_started_at IS NOT NULL) "
    "OR (status = 'unconfirmed' AND lease_token != ''))"
)


#: Accounts that cannot take a job now (parameters now, day, limit, campaign): leased by a
#: live claim (an orphan lease of this campaign counts as free), blocked, held by a publish
#: that may be in flight, or at the daily limit with today's successes plus the unconfirmed
#: jobs of every campaign.
_UNAVAILABLE = (
    "SELECT account FROM main.account_leases WHERE expires_at > :now "
    f"AND (campaign != :campaign OR EXISTS ({_LEASE_JOB_IS_CLAIMED})) "
    "UNION ALL SELECT account FROM main.account_blocks WHERE block != '' "
    "AND (blocked_until IS NULL OR blocked_until > :now) "
    "UNION ALL SELECT account FROM main.account_holds WHERE campaign != :campaign "
    f"AND in_flight UNION ALL SELECT account FROM c.jobs WHERE {_IN_FLIGHT} "
    # at the limit by successes alone: one range of daily_counts_day, no sort
    "UNION ALL SELECT account FROM main.daily_counts WHERE day = :day AND count >= :limit "
    # ...or with the (few) accounts' unconfirmed jobs added
    "UNION ALL SELECT u.account FROM (SELECT account, SUM(n) AS n FROM ("
    "SELECT account, COUNT(*) AS n FROM main.account_holds "
    "WHERE campaign != :campaign AND status = 'unconfirmed' GROUP BY account "
    "UNION ALL SELECT account, COUNT(*) FROM c.jobs WHERE status = 'unconfirmed' "
    "GROUP BY account) GROUP BY account) AS u WHERE u.n + coalesce((SELECT d.count "
    "FROM main.daily_counts AS d WHERE d.account = u.account AND d.day = :day), 0) >= :limit"
)


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
