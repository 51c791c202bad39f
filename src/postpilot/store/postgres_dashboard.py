"""The PostgreSQL store's side of the dashboard (postpilot.store.dashboard.SupportsDashboard).

A mixin of PostgresJobStore over its named queries (sql/queries.sql, `dashboard_*`); the
tables come from migration 0005. It never imports psycopg itself: the JSON result is handed
over through the store's `_jsonb`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from postpilot.store.dashboard import JobPage, JobQuery, OperatorAction, like_pattern
from postpilot.store.postgres_connection import PostgresConnection

if TYPE_CHECKING:
    from postpilot.jobs import Job


def _action(row: Mapping[str, Any]) -> OperatorAction:
    return OperatorAction(
        str(row["key"]),
        str(row["action"]),
        str(row["target"]),
        str(row["actor"]),
        row["at"],
        dict(row["result"]),
    )


class PostgresDashboardMixin(PostgresConnection):
    """SupportsDashboard over PostgresJobStore's queries."""

    campaign: str

    def job_page(self, query: JobQuery) -> JobPage:
        """One page in seq order; filters and count in SQL."""
        params = {
            "campaign": self.campaign,
            "status": str(query.status) if query.status is not None else None,
            "account": query.account,
            "pattern": like_pattern(query.search) if query.search else None,
            "limit": query.limit,
            "offset": query.offset,
        }
        total = self._query("dashboard_job_count", params, "count jobs")[0]["n"]
        rows = self._query("dashboard_job_page", params, "page jobs")
        return JobPage(int(total), [self._job_of(row) for row in rows])

    def outcomes_per_day(self) -> list[tuple[str, str, str, int]]:
        """Outcomes of the held jobs by UTC completion day, plus `posted` rows from before the
        held jobs (days archived by --reset-day)."""
        rows = self._query("dashboard_outcomes", {"campaign": self.campaign}, "count outcomes")
        counted: dict[tuple[str, str, str], int] = {}
        for row in rows:
            key = (str(row["day"]), str(row["account"]), str(row["outcome"]))
            counted[key] = counted.get(key, 0) + int(row["n"])
        return sorted((d, a, o, n) for (d, a, o), n in counted.items())

    def waiting_by_hour(self) -> list[tuple[str, str, int]]:
        """Waiting jobs per account and UTC slot hour."""
        rows = self._query("dashboard_waiting_by_hour", {"campaign": self.campaign}, "plan")
        return [(str(r["account"]), str(r["hour"]), int(r["n"])) for r in rows]

    def last_errors(self) -> dict[str, Job]:
        """Per account, the latest job with an error."""
        rows = self._query("dashboard_last_errors", {"campaign": self.campaign}, "read errors")
        jobs = [self._job_of(row) for row in rows]
        return {job.account: job for job in jobs}

    def data_version(self) -> tuple[int | str, ...]:
        """The server's current snapshot: unchanged while no transaction committed."""
        rows = self._query("dashboard_data_version", {}, "read the data version")
        return (str(rows[0]["snapshot"]),)

    def record_action(self, action: OperatorAction) -> OperatorAction:
        """Insert unless the key is taken; return the action kept under the key."""
        self._query(
            "dashboard_record_action",
            {
                "campaign": self.campaign,
                "key": action.key,
                "action": action.action,
                "target": action.target,
                "actor": action.actor,
                "at": action.at if action.at.tzinfo else action.at.replace(tzinfo=UTC),
                "result": self._jsonb(dict(action.result)),
            },
            "record an action",
        )
        kept = self.find_action(action.key)
        return kept if kept is not None else action

    def find_action(self, key: str) -> OperatorAction | None:
        """The action kept under `key`."""
        rows = self._query(
            "dashboard_find_action", {"campaign": self.campaign, "key": key}, "find an action"
        )
        return _action(rows[0]) if rows else None

    def recent_actions(self, limit: int) -> list[OperatorAction]:
        """Latest first."""
        rows = self._query(
            "dashboard_recent_actions",
            {"campaign": self.campaign, "limit": limit},
            "list actions",
        )
        return [_action(row) for row in rows]

    def pause_state(self) -> Mapping[str, str] | None:
        """{"by", "at"} while paused."""
        rows = self._query("dashboard_pause_state", {"campaign": self.campaign}, "read pause")
        if not rows:
            return None
        at: datetime = rows[0]["paused_at"]
        return {"by": str(rows[0]["paused_by"]), "at": at.astimezone(UTC).isoformat()}

    def set_paused(self, paused: bool, actor: str, at: datetime) -> None:
        """Pause or resume."""
        if paused:
            moment = at if at.tzinfo else at.replace(tzinfo=UTC)
            params = {"campaign": self.campaign, "actor": actor, "at": moment}
            self._query("dashboard_pause", params, "pause the campaign")
        else:
            self._query("dashboard_resume", {"campaign": self.campaign}, "resume the campaign")
