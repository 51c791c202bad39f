"""`postpilot --serve` across a campaign's local midnight, end to end: the service itself
archives the previous day and publishes the new day's slot, without a restart and nothing
twice (the clock seam puts midnight a few seconds after the start)."""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postpilot.jobs import JobStatus
from postpilot.runner.locks import service_status
from postpilot.store import open_store
from postpilot.store.csv_io import import_csv
from tests.fakes.counting_publisher import read_journal
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


def test_service_rolls_the_day_over_at_midnight_and_publishes_the_next_days_slot(
    project_root: Path, served: list[Served]
) -> None:
    """Started eight seconds before local midnight (Europe/Berlin) with one account, a daily
    limit of 1 and a 00:00 slot: day one's slot is published at once, at midnight the service
    archives day one to archive/progress_20260301.csv and publishes day two's 00:00 slot, the
    third video waits for day three, and no video is published twice."""
    folder = make_campaign(project_root, "night", ["a1"], 3)
    path = folder / "campaign.json"
    settings = json.loads(path.read_text(encoding="utf-8"))
    settings.update(timezone="Europe/Berlin", schedule={"times": ["00:00"]})
    path.write_text(json.dumps(settings), encoding="utf-8")
    journal = project_root / "journal.log"
    service = Served(project_root, POSTPILOT_NOW="2026-03-01T23:59:52+01:00")
    served.append(service)

    [first] = service.wait_journal(journal, 1)
    archive = folder / "archive" / "progress_20260301.csv"
    service.wait_for("day one's archive", archive.exists)
    [second] = [i for i in service.wait_journal(journal, 2) if i != first]

    archived = import_csv(archive, "night").jobs
    assert [(j.job_id, j.status) for j in archived] == [(first, JobStatus.SUCCESS)]
    store = open_store(context(folder))
    try:
        job = store.get(second)
    finally:
        store.close()
    assert job is not None
    assert job.status is JobStatus.SUCCESS
    day_two_slot = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # 00:00 in Berlin on March 2
    assert job.scheduled_at == day_two_slot
    assert job.publish_started_at is not None
    assert job.publish_started_at >= day_two_slot

    def next_run() -> str | None:
        holder = service_status(project_root)
        return holder["next_runs"].get("night") if holder else None

    day_three = "2026-03-02T23:00:00+00:00"
    service.wait_for("the next run to be day three's midnight", lambda: next_run() == day_three)
    service.proc.send_signal(signal.SIGTERM)
    assert service.finish() == 143
    published = read_journal(journal)
    assert Counter(published) == Counter({first: 1, second: 1})
    assert sorted(published) == ["night-0000.mp4_night", "night-0001.mp4_night"]
