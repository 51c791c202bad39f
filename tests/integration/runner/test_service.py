"""`postpilot --serve` in real processes: it publishes, notices new files, is alone per project,
and stops on signals like --run (exit 130/143), draining what it is publishing."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postpilot.jobs import Job, JobStatus, local_day
from postpilot.runner.locks import service_holder, service_registry_path, service_status
from postpilot.runner.service import Service
from postpilot.store import open_store
from postpilot.store.csv_io import import_csv
from tests.acceptance.helpers import assert_no_traceback, run_postpilot
from tests.fakes.counting_publisher import read_entries, read_journal
from tests.integration.runner.campaigns import context, make_campaign
from tests.integration.runner.service_proc import Served

pytestmark = pytest.mark.slow


@pytest.fixture
def served() -> Iterator[list[Served]]:
    """Services started by a test; killed afterwards if the test failed with one running."""
    started: list[Served] = []
    yield started
    for service in started:
        service.stop()


def _serve(served: list[Served], root: Path, *args: str, **env: str) -> Served:
    service = Served(root, *args, **env)
    served.append(service)
    return service


def _statuses(folder: Path) -> Counter[str]:
    store = open_store(context(folder))
    try:
        return Counter(str(job.status) for job in store.list_jobs())
    finally:
        store.close()


def test_serve_publishes_every_enabled_campaign_and_sigterm_exits_143(
    project_root: Path, served: list[Served]
) -> None:
    """Both enabled campaigns are published (each job once), the disabled one is not touched,
    and SIGTERM ends the service with 143, its lock free and its log in <root>/logs."""
    make_campaign(project_root, "one", ["a1", "a2"], 2)
    make_campaign(project_root, "two", ["b1", "b2", "b3"], 3)
    off = make_campaign(project_root, "off", ["c1"], 1)
    settings = json.loads((off / "campaign.json").read_text(encoding="utf-8"))
    (off / "campaign.json").write_text(json.dumps({**settings, "enabled": False}), "utf-8")
    journal = project_root / "journal.log"

    service = _serve(served, project_root)
    ids = service.wait_journal(journal, 5)
    assert sorted(ids) == sorted(
        [f"one-{i:04d}.mp4_one" for i in range(2)] + [f"two-{i:04d}.mp4_two" for i in range(3)]
    )
    assert not (off / "progress.db").exists()
    holder = service_holder(project_root)
    assert holder is not None
    assert holder.pid == service.pid

    service.proc.send_signal(signal.SIGTERM)
    assert service.finish() == 143
    assert service_holder(project_root) is None
    assert not service_registry_path(project_root).exists()
    assert sorted(read_journal(journal)) == sorted(ids)
    log_text = (project_root / "logs" / "service.log").read_text(encoding="utf-8")
    assert "Service stopped (SIGTERM)" in log_text


def test_new_captions_row_and_video_are_published_without_a_restart(
    project_root: Path, served: list[Served]
) -> None:
    """A row and its video added while the service sleeps are seeded and published by the
    same service; what was published before is not published again."""
    folder = make_campaign(project_root, "grow", ["a1", "a2"], 2, daily_limit=5)
    journal = project_root / "journal.log"
    service = _serve(served, project_root, "--campaign", "grow")
    first = service.wait_journal(journal, 2)

    (folder / "videos" / "late.mp4").write_bytes(b"a video added later" * 8)
    with (folder / "captions.csv").open("a", encoding="utf-8") as handle:
        handle.write('late.mp4,"added while the service sleeps"\n')
    ids = service.wait_journal(journal, 3)
    assert sorted(ids) == sorted([*first, "late.mp4_grow"])

    service.proc.send_signal(signal.SIGINT)
    assert service.finish() == 130
    assert Counter(read_journal(journal)) == Counter({job: 1 for job in ids})
    assert _statuses(folder) == Counter({"success": 3})


def test_second_service_is_refused_naming_the_holder_and_stop_all_stops_it(
    project_root: Path, served: list[Served]
) -> None:
    """A second --serve on the same project exits 1 naming the first one's pid; --status shows
    the running service; --stop-all stops it (143) and --status no longer shows it."""
    make_campaign(project_root, "solo", ["a1"], 1)
    journal = project_root / "journal.log"
    service = _serve(served, project_root)
    service.wait_journal(journal, 1)

    second = run_postpilot(project_root, "--serve", **_fast())
    assert second.code == 1
    assert f"PID {service.pid}" in second.err
    assert "already running" in second.err
    assert_no_traceback(second)

    status = run_postpilot(project_root, "--campaign", "solo", "--status", "--json")
    assert status.code == 0
    shown = status.json()["service"]
    assert shown["pid"] == service.pid
    assert "solo" in shown["next_runs"]

    stop = run_postpilot(project_root, "--campaign", "solo", "--stop-all", "--json")
    assert stop.code == 0, stop.err
    assert any(f"PID {service.pid}" in line for line in stop.json()["stopped"])
    assert service.finish() == 143
    after = run_postpilot(project_root, "--campaign", "solo", "--status", "--json")
    assert after.json()["service"] is None


def test_sigterm_lets_the_running_publish_finish(project_root: Path, served: list[Served]) -> None:
    """SIGTERM during a publish: no new claims, the running publish completes and is recorded
    as a success (not unconfirmed), the other job stays pending, and the exit code is 143."""
    folder = make_campaign(
        project_root, "slow", ["a1"], 2, daily_limit=2, publisher={"latency_seconds": 2.0}
    )
    service = _serve(served, project_root)
    service.wait_for("a publish to start", lambda: _publish_started(folder))

    service.proc.send_signal(signal.SIGTERM)
    assert service.finish() == 143
    entries = read_entries(project_root / "journal.log")
    assert len(entries) == 1
    assert _statuses(folder) == Counter({"success": 1, "pending": 1})


def _set(folder: Path, **settings: object) -> None:
    path = folder / "campaign.json"
    path.write_text(json.dumps({**json.loads(path.read_text("utf-8")), **settings}), "utf-8")


def _success_days(folder: Path, timezone: str) -> list[str]:
    """The local day of every success, once per job: in the archives of earlier days (a new
    day archives the previous one's jobs before seeding) and in the store (read while a
    rollover runs, a job may be in both)."""
    done: dict[str, Job] = {}
    for archive in sorted((folder / "archive").glob("progress_*.csv")):
        for job in import_csv(archive, folder.name).jobs:
            if job.status is JobStatus.SUCCESS:
                done[job.job_id] = job
    store = open_store(context(folder))
    try:
        done.update((j.job_id, j) for j in store.list_jobs([JobStatus.SUCCESS]))
    finally:
        store.close()
    return sorted(local_day(j.completed_at, timezone) for j in done.values() if j.completed_at)


def test_each_campaign_rolls_over_at_its_own_local_midnight(
    project_root: Path, served: list[Served]
) -> None:
    """Started (POSTPILOT_NOW) fifteen seconds before midnight UTC: the UTC campaign posts its
    daily one, then the next video on the new day without a restart; the Tokyo campaign, whose
    day is only half gone, keeps its second video for Tokyo's midnight (its next run)."""
    utc = make_campaign(project_root, "utc", ["a1"], 2)
    tokyo = make_campaign(project_root, "tokyo", ["t1"], 2)
    _set(utc, timezone="UTC")
    _set(tokyo, timezone="Asia/Tokyo")
    service = _serve(served, project_root, POSTPILOT_NOW="2026-03-01T23:59:45+00:00")
    service.wait_for("the UTC campaign's second day", lambda: len(_success_days(utc, "UTC")) == 2)
    assert _success_days(utc, "UTC") == ["2026-03-01", "2026-03-02"]
    assert _success_days(tokyo, "Asia/Tokyo") == ["2026-03-02"]

    status = run_postpilot(project_root, "--campaign", "tokyo", "--status", "--json")
    assert status.json()["service"]["next_runs"]["tokyo"] == "2026-03-02T15:00:00+00:00"
    service.proc.send_signal(signal.SIGTERM)
    assert service.finish() == 143
    assert Counter(read_journal(project_root / "journal.log")) == Counter(
        {"utc-0000.mp4_utc": 1, "utc-0001.mp4_utc": 1, "tokyo-0000.mp4_tokyo": 1}
    )


def test_a_job_held_by_the_daily_limit_waits_for_midnight_not_for_rechecks(
    project_root: Path, served: list[Served]
) -> None:
    """Two campaigns share one account with a daily limit of 1: one posts, the other's job is
    blocked by the limit (across campaigns, I3), and both campaigns' next run is the local
    midnight rather than a recheck every few minutes."""
    make_campaign(project_root, "left", ["shared"], 1)
    make_campaign(project_root, "right", ["shared"], 1)
    service = _serve(served, project_root, POSTPILOT_NOW="2026-03-01T12:00:00+00:00")

    def next_runs() -> dict[str, str | None]:
        holder = service_status(project_root)
        return dict(holder["next_runs"]) if holder else {}

    service.wait_for(
        "both runs to end",
        lambda: len(next_runs()) == 2 and None not in next_runs().values(),
    )
    assert next_runs() == {
        "left": "2026-03-02T00:00:00+00:00",
        "right": "2026-03-02T00:00:00+00:00",
    }
    assert len(read_journal(project_root / "journal.log")) == 1
    service.proc.send_signal(signal.SIGTERM)
    assert service.finish() == 143


def test_sighup_reads_the_campaigns_again_and_runs_them_now(
    project_root: Path, served: list[Served]
) -> None:
    """SIGHUP (systemctl reload) makes the sleeping service run its campaign again at once;
    the run publishes nothing twice and the service keeps running."""
    make_campaign(project_root, "hup", ["a1"], 1)
    journal = project_root / "journal.log"
    service = _serve(served, project_root)
    service.wait_journal(journal, 1)
    service.wait_for("the first run to end", lambda: service.err().count("ended:") == 1)

    service.proc.send_signal(signal.SIGHUP)
    service.wait_for("a second run", lambda: service.err().count("ended:") == 2)
    assert "SIGHUP: re-reading every campaign" in service.err()
    assert service.proc.poll() is None
    assert read_journal(journal) == ["hup-0000.mp4_hup"]
    service.proc.send_signal(signal.SIGTERM)
    assert service.finish() == 143


def test_a_slot_is_published_when_it_comes_due_not_before(
    project_root: Path, served: list[Served]
) -> None:
    """Started (POSTPILOT_NOW) fifteen seconds before the 09:00 slot: the job's publish starts
    at or after its slot, without a restart, and the campaign's next run is its midnight."""
    folder = make_campaign(project_root, "slots", ["a1"], 2)
    _set(folder, timezone="Europe/Berlin", schedule={"times": ["09:00"]})
    service = _serve(served, project_root, POSTPILOT_NOW="2026-03-02T08:59:45+01:00")
    [published] = service.wait_journal(project_root / "journal.log", 1)

    store = open_store(context(folder))
    try:
        job = store.get(published)
    finally:
        store.close()
    assert job is not None
    assert job.scheduled_at == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert job.publish_started_at is not None
    assert job.publish_started_at >= job.scheduled_at
    midnight = "2026-03-02T23:00:00+00:00"

    def next_run() -> str | None:
        holder = service_status(project_root)
        return holder["next_runs"].get("slots") if holder else None

    service.wait_for("the next run to be at midnight", lambda: next_run() == midnight)
    service.proc.send_signal(signal.SIGTERM)
    assert service.finish() == 143
    assert read_journal(project_root / "journal.log") == [published]


def test_campaign_folders_edited_added_and_disabled_while_serving(
    project_root: Path, served: list[Served]
) -> None:
    """A broken campaign.json is reported naming the file and the service keeps running; a
    campaign folder added later is served and published; a campaign disabled in its
    campaign.json stops being served."""
    first = make_campaign(project_root, "first", ["a1"], 1)
    journal = project_root / "journal.log"
    service = _serve(served, project_root)
    service.wait_journal(journal, 1)

    good = (first / "campaign.json").read_text(encoding="utf-8")
    (first / "campaign.json").write_text("{not json", encoding="utf-8")
    service.wait_for("the error", lambda: "not re-read" in service.err())
    [error] = [line for line in service.err().splitlines() if "not re-read" in line]
    assert "campaign.json" in error
    assert service.proc.poll() is None

    make_campaign(project_root, "second", ["b1"], 1)
    published = service.wait_journal(journal, 2)
    assert sorted(published) == ["first-0000.mp4_first", "second-0000.mp4_second"]

    (first / "campaign.json").write_text(
        json.dumps({**json.loads(good), "enabled": False}), encoding="utf-8"
    )
    dropped = "No longer serving campaign 'first'"
    service.wait_for("first to be dropped", lambda: dropped in service.err())
    holder = service_status(project_root)
    assert holder is not None
    assert sorted(holder["next_runs"]) == ["second"]
    service.proc.send_signal(signal.SIGTERM)
    assert service.finish() == 143


def test_serve_with_nothing_to_serve_is_refused_and_writes_nothing(project_root: Path) -> None:
    """Without an enabled campaign --serve exits 1 with what to do, creating no file."""
    result = run_postpilot(project_root, "--serve", **_fast())
    assert result.code == 1
    assert "No enabled campaign to serve" in result.err
    assert_no_traceback(result)
    assert list(project_root.iterdir()) == []


def _publish_started(folder: Path) -> bool:
    if not (folder / "progress.db").exists():
        return False
    store = open_store(context(folder))
    try:
        return any(j.publish_started_at is not None for j in store.list_jobs([JobStatus.CLAIMED]))
    finally:
        store.close()


def _fast() -> dict[str, str]:
    return {"POSTPILOT_SERVE_POLL_SECONDS": "0.2"}


def test_companion_runs_beside_the_service_and_stops_with_it(project_root: Path) -> None:
    """A companion (the dashboard's hook) runs in the service process, gets the stop event,
    and is stopped by the same SIGTERM as the service; one that fails does not stop publishing."""
    make_campaign(project_root, "comp", ["a1"], 1)
    seen: dict[str, object] = {}

    def dashboard(stop: threading.Event) -> None:
        seen["started"] = True
        # Wait for the campaign's first run, then ask the service to stop, as an operator would.
        while not read_journal(project_root / "journal.log"):
            if stop.wait(0.05):
                return
        os.kill(os.getpid(), signal.SIGTERM)
        seen["stopped"] = stop.wait(60)

    def broken(stop: threading.Event) -> None:  # noqa: ARG001  a companion's signature
        raise RuntimeError("port already in use")

    summary = Service(project_root, companions=[broken, dashboard]).run()
    assert summary.exit_code == 143
    assert summary.published == 1
    assert seen == {"started": True, "stopped": True}
    log_text = (project_root / "logs" / "service.log").read_text(encoding="utf-8")
    assert "A companion of the service failed" in log_text
