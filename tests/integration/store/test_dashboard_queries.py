"""The dashboard's store queries (postpilot.store.dashboard), the same on every store kind:
paging and filters in the store, outcomes per day, the action log and the pause switch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from postpilot.jobs import ErrorCategory, Failure, Job, JobStatus, RetryPolicy
from postpilot.store.base import ClaimRequest, JobStore
from postpilot.store.dashboard import (
    JobQuery,
    OperatorAction,
    SupportsDashboard,
    SupportsDataVersion,
    is_paused,
)

StoreFactory = Callable[[str], JobStore]
NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
DAY = "2024-05-01"


def _dash(store: JobStore) -> SupportsDashboard:
    assert isinstance(store, SupportsDashboard)
    return store


def _seed(store: JobStore, n: int) -> None:
    store.insert_jobs(
        Job(
            job_id=f"job-{i:04d}",
            account=f"acc{i % 3}",
            video_path=f"/videos/clip_{i:04d}.mp4",
            caption="50% off_sale" if i == 7 else f"caption {i}",
            seq=i + 1,
        )
        for i in range(n)
    )


def _claim(store: JobStore, account: str) -> Job:
    job = store.claim(
        ClaimRequest(
            worker_id="w",
            now=NOW,
            lease=timedelta(minutes=5),
            daily_limit=10,
            day=DAY,
            accounts=frozenset({account}),
        )
    )
    assert job is not None
    return job


def test_pages_cover_every_match_once_in_seq_order(make_store: StoreFactory) -> None:
    """Consecutive pages of a filtered query are disjoint, in seq order, and add up to the
    total; search matches literally (% and _ are not wildcards)."""
    store = make_store("c1")
    _seed(store, 95)
    dash = _dash(store)
    seen: list[str] = []
    for offset in range(0, 40, 7):
        page = dash.job_page(JobQuery(account="acc1", offset=offset, limit=7))
        assert page.total == 32
        seen += [j.job_id for j in page.jobs]
    expected = [j.job_id for j in store.list_jobs() if j.account == "acc1"]
    assert seen == expected
    assert [j.job_id for j in dash.job_page(JobQuery(search="0% OFF_")).jobs] == ["job-0007"]
    assert dash.job_page(JobQuery(search="o%f")).total == 0
    assert dash.job_page(JobQuery(search="CLIP_009")).total == 5
    assert dash.job_page(JobQuery(status=JobStatus.SUCCESS)).total == 0
    assert dash.job_page(JobQuery(offset=1000)).jobs == []


def test_status_filter_and_outcomes_follow_the_jobs(make_store: StoreFactory) -> None:
    """A completed and a failed job show in the status filter, in outcomes per day (success
    from the ledger, failure from the job) and as the account's last error."""
    store = make_store("c1")
    _seed(store, 6)
    ok = _claim(store, "acc0")
    assert store.complete(ok.job_id, ok.lease_token, NOW, day=DAY)
    bad = _claim(store, "acc1")
    failure = Failure(ErrorCategory.ACCOUNT, "terminated", "raw: account gone\nhint: re-auth")
    assert store.fail(bad.job_id, bad.lease_token, NOW, failure, RetryPolicy()) is not None
    dash = _dash(store)
    assert [j.job_id for j in dash.job_page(JobQuery(status=JobStatus.SUCCESS)).jobs] == [ok.job_id]
    rows = dash.outcomes_per_day()
    assert ("2024-05-01", "acc0", "success", 1) in rows
    assert ("2024-05-01", "acc1", "failed", 1) in rows
    errors = dash.last_errors()
    assert set(errors) == {"acc1"}
    assert "hint: re-auth" in errors["acc1"].error


def test_actions_are_kept_once_per_key_per_campaign(make_store: StoreFactory) -> None:
    """The first action under a key is kept and returned for a replay; another campaign's
    log does not see it; recent_actions lists the latest first."""
    one, two = _dash(make_store("c1")), _dash(make_store("c2"))
    first = OperatorAction("key-1", "unblock", "acc0", "alice", NOW, {"ok": True})
    again = OperatorAction("key-1", "pause", "c1", "bob", NOW + timedelta(1), {"ok": False})
    later = OperatorAction("key-2", "pause", "c1", "bob", NOW + timedelta(2), {"n": 2})
    assert one.record_action(first).actor == "alice"
    kept = one.record_action(again)
    assert (kept.action, kept.actor, dict(kept.result)) == ("unblock", "alice", {"ok": True})
    one.record_action(later)
    assert two.find_action("key-1") is None
    assert [a.key for a in one.recent_actions(10)] == ["key-2", "key-1"]
    found = one.find_action("key-1")
    assert found is not None
    assert found.at == NOW


def test_pause_stops_nothing_but_is_seen_by_every_store_object(make_store: StoreFactory) -> None:
    """Pausing is a per-campaign flag visible through a second store object of the campaign
    (another process would open one); resume clears it."""
    a, b = make_store("c1"), make_store("c2")
    _dash(a).set_paused(True, "alice", NOW)
    assert is_paused(a)
    assert not is_paused(b)
    state = _dash(a).pause_state()
    assert state is not None
    assert state["by"] == "alice"
    _dash(a).set_paused(False, "alice", NOW)
    assert not is_paused(a)


def test_waiting_jobs_are_counted_per_account_and_slot_hour(make_store: StoreFactory) -> None:
    """waiting_by_hour groups pending jobs by account and UTC slot hour ("" when unscheduled)
    and leaves finished jobs out."""
    store = make_store("c1")
    store.insert_jobs(
        [
            Job("j1", "a", "/v/1.mp4", "c", seq=1),
            Job("j2", "a", "/v/2.mp4", "c", seq=2, scheduled_at=NOW + timedelta(hours=2)),
            Job(
                "j3", "a", "/v/3.mp4", "c", seq=3, scheduled_at=NOW + timedelta(hours=2, minutes=5)
            ),
            Job("j4", "b", "/v/4.mp4", "c", seq=4),
        ]
    )
    done = _claim(store, "b")
    assert store.complete(done.job_id, done.lease_token, NOW, day=DAY)
    assert _dash(store).waiting_by_hour() == [("a", "", 1), ("a", "2024-05-01T10", 2)]


def test_data_version_moves_with_every_commit_of_another_connection(
    store_kind: str, make_store: StoreFactory
) -> None:
    """A store object's data_version changes after another store object commits a job change
    or a ledger change of another campaign (SQLite: and stays put while nothing is written)."""
    watcher = make_store("c1")
    if not isinstance(watcher, SupportsDataVersion):
        # Memory stores live inside one process: the dashboard never watches one.
        assert store_kind == "memory"
        return
    writer, other = make_store("c1"), make_store("c2")
    before = watcher.data_version()
    _seed(writer, 3)
    seeded = watcher.data_version()
    assert seeded != before
    if store_kind == "sqlite":  # the shared PostgreSQL server has other writers
        watcher.counts()
        _dash(watcher).job_page(JobQuery())
        assert watcher.data_version() == seeded
    _seed(other, 3)
    done = _claim(other, "acc0")
    assert other.complete(done.job_id, done.lease_token, NOW, day=DAY)
    assert watcher.data_version() != seeded
