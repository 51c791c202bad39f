"""The dashboard's reuse of computed views (postpilot.web.cache): kept while the campaign's
store and files are unchanged, recomputed after another process commits, a file changes or a
moment the status names comes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from postpilot.jobs import Job
from postpilot.store.dashboard import JobQuery
from postpilot.web import views
from postpilot.web.cache import Campaigns, expiry
from tests.web.helpers import make_unconfirmed, seeded_demo, store_of


def _never() -> Any:
    raise AssertionError("recomputed although nothing changed")


def test_a_view_is_reused_until_another_connection_commits(project_root: Path) -> None:
    """While the store is unchanged the cached status is served without computing it again
    (reads do not change the version); after another store object commits, it is recomputed
    and shows the change."""
    ctx = seeded_demo(project_root)
    campaigns = Campaigns(project_root)
    try:
        first = campaigns.status(ctx)
        assert first["counts"]["unconfirmed"] == 0
        views.jobs_page(campaigns, ctx, JobQuery(search="mp4"))
        version = campaigns.version(ctx)
        assert campaigns.cached("status", "demo", _never, version) is not None
        make_unconfirmed(ctx)
        assert campaigns.version(ctx) != version
        deadline = time.monotonic() + 60
        while campaigns.status(ctx)["counts"]["unconfirmed"] != 1:
            assert time.monotonic() < deadline, "the change never showed"
            time.sleep(0.05)
    finally:
        campaigns.close()


def test_a_changed_accounts_file_changes_the_version(project_root: Path) -> None:
    """Editing a file the status reads (the accounts list) makes cached views stale."""
    ctx = seeded_demo(project_root)
    campaigns = Campaigns(project_root)
    try:
        version = campaigns.version(ctx)
        accounts = Path(ctx.accounts_file)
        accounts.write_text(accounts.read_text(encoding="utf-8") + "newcomer\n", encoding="utf-8")
        assert campaigns.version(ctx) != version
    finally:
        campaigns.close()


def test_job_pages_follow_inserted_jobs(project_root: Path) -> None:
    """A search answered from the cache is answered anew once a matching job is inserted by
    another connection."""
    ctx = seeded_demo(project_root)
    campaigns = Campaigns(project_root)
    try:
        query = JobQuery(search="zebra")
        assert views.jobs_page(campaigns, ctx, query)["total"] == 0
        with store_of(ctx) as store:
            store.insert_jobs([Job("zebra.mp4_demo", "acc", "zebra.mp4", "a zebra")])
        assert views.jobs_page(campaigns, ctx, query)["total"] == 1
    finally:
        campaigns.close()


def test_a_status_expires_at_the_first_moment_it_names() -> None:
    """A block's end, a lease's end or a scheduled slot ends a status's reuse; without any,
    the next local midnight of the campaign's timezone does."""
    now = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    soon, later = now + timedelta(minutes=5), now + timedelta(hours=2)
    status: dict[str, Any] = {
        "blocked": [{"until": later.isoformat()}, {"until": None}],
        "busy": [{"lease_expires_at": soon.isoformat()}],
        "schedule": {"accounts": [{"next_slot": (now - timedelta(hours=1)).isoformat()}]},
        "remaining": {"next_slot": None},
    }
    assert expiry(status, "UTC", now) == soon
    assert expiry({}, "Europe/Berlin", now) == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
