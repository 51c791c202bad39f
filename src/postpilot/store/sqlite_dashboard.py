"""The SQLite store's side of the dashboard (postpilot.store.dashboard.SupportsDashboard).

A mixin of SqliteJobStore, kept apart so the claim cycle's module stays about the claim cycle;
it uses the store's connection (sqlite_connection.py) through `_read` / `_write`.
Paging, filtering and counting happen in SQL, so a page of a 100k-job campaign reads one page.
The action log lives in the campaign's file (c.operator_actions), the pause switch in its
c.meta table, so both travel with the campaign's progress file.
"""

# SQL here is built only from constant fragments; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from postpilot.store.dashboard import JobPage, JobQuery, OperatorAction, like_pattern
from postpilot.store.sqlite_connection import SqliteConnection
from postpilot.store.sqlite_rows import _SELECT, _SQ

if TYPE_CHECKING:
    from postpilot.jobs import Job

_PAUSE_KEY = "paused"


def _iso(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _action(row: tuple[Any, ...]) -> OperatorAction:
    key, action, target, actor, at, result = row
    moment = datetime.strptime(str(at), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return OperatorAction(
        str(key), str(action), str(target), str(actor), moment, json.loads(result)
    )


class SqliteDashboardMixin(SqliteConnection):
    """SupportsDashboard over SqliteJobStore's connection."""

    campaign: str

    if TYPE_CHECKING:

        @staticmethod
        def _job_of(row: Any) -> Job: ...

    def job_page(self, query: JobQuery) -> JobPage:
        """One page in seq order; the filters and the count run in SQL."""
        where: list[str] = []
        params: list[Any] = []
        if query.status is not None:
            where.append("status = ?")
            params.append(str(query.status))
        if query.account is not None:
            where.append("account = ?")
            params.append(query.account)
        if query.search:
            where.append(
                "(job_id LIKE ? ESCAPE '\\' OR video_path LIKE ? ESCAPE '\\' "
                "OR caption LIKE ? ESCAPE '\\')"
            )
            params.extend([like_pattern(query.search)] * 3)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._read() as conn:
            total = int(conn.execute(f"SELECT COUNT(*) FROM c.jobs{clause}", params).fetchone()[0])
            # Skip `offset` entries in an index (rowids only), then read just the page's rows.
            rows = conn.execute(
                f"{self._select()} WHERE rowid IN (SELECT rowid FROM c.jobs{clause} "
                "ORDER BY seq, rowid LIMIT ? OFFSET ?) ORDER BY seq, rowid",
                [*params, query.limit, query.offset],
            ).fetchall()
        return JobPage(total, [self._job_of(row) for row in rows])

    @staticmethod
    def _select() -> str:
        return _SELECT

    def outcomes_per_day(self) -> list[tuple[str, str, str, int]]:
        """Outcomes of the held jobs by UTC completion day, plus the ledger's posts from
        before the held jobs (days archived by --reset-day)."""
        with self._read() as conn:
            held = conn.execute(_SQ["outcomes_held"]).fetchall()
            archived = conn.execute(
                _SQ["outcomes_archived"],
                (self.campaign,),
            ).fetchall()
        counted: dict[tuple[str, str, str], int] = {}
        for day, account, status, n in [*held, *((d, a, "success", n) for d, a, n in archived)]:
            key = (str(day), str(account), str(status))
            counted[key] = counted.get(key, 0) + int(n)
        return sorted((d, a, o, n) for (d, a, o), n in counted.items())

    def waiting_by_hour(self) -> list[tuple[str, str, int]]:
        """One GROUP BY over the waiting jobs (timestamps are fixed-width UTC text)."""
        with self._read() as conn:
            rows = conn.execute(_SQ["waiting_by_hour"]).fetchall()
        return [(str(a), str(h), int(n)) for a, h, n in rows]

    def last_errors(self) -> dict[str, Job]:
        """One query: SQLite returns the row holding MAX(...) for the bare columns."""
        with self._read() as conn:
            rows = conn.execute(_SQ["last_errors"]).fetchall()
        jobs = [self._job_of(row) for row in rows]
        return {job.account: job for job in jobs}

    def data_version(self) -> tuple[int | str, ...]:
        """PRAGMA data_version of the ledger and the campaign file on this connection: a value
        changes when another connection commits to that file (this one only reads)."""
        with self._read() as conn:
            return tuple(
                int(conn.execute(f"PRAGMA {schema}.data_version").fetchone()[0])
                for schema in ("main", "c")
            )

    def record_action(self, action: OperatorAction) -> OperatorAction:
        """INSERT OR IGNORE under the key, then read back whichever action holds it."""
        with self._write() as conn:
            conn.execute(
                _SQ["insert_action"],
                (
                    action.key,
                    action.action,
                    action.target,
                    action.actor,
                    _iso(action.at),
                    json.dumps(dict(action.result), sort_keys=True, default=str),
                ),
            )
            row = conn.execute(_SQ["get_action"], (action.key,)).fetchone()
        return _action(tuple(row))

    def find_action(self, key: str) -> OperatorAction | None:
        """The action kept under `key`."""
        with self._read() as conn:
            row = conn.execute(_SQ["get_action"], (key,)).fetchone()
        return None if row is None else _action(tuple(row))

    def recent_actions(self, limit: int) -> list[OperatorAction]:
        """Latest first."""
        with self._read() as conn:
            rows = conn.execute(_SQ["recent_actions"], (limit,)).fetchall()
        return [_action(tuple(row)) for row in rows]

    def pause_state(self) -> Mapping[str, str] | None:
        """The pause record in c.meta, or None."""
        with self._read() as conn:
            row = conn.execute(_SQ["meta_value"], (_PAUSE_KEY,)).fetchone()
        if row is None:
            return None
        data: dict[str, str] = json.loads(row[0])
        return data

    def set_paused(self, paused: bool, actor: str, at: datetime) -> None:
        """Write or delete the pause record."""
        with self._write() as conn:
            if paused:
                conn.execute(
                    _SQ["put_meta"],
                    (_PAUSE_KEY, json.dumps({"by": actor, "at": _iso(at)})),
                )
            else:
                conn.execute(_SQ["delete_meta"], (_PAUSE_KEY,))
