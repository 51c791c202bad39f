"""The worker's own guard: whatever the channel, an error saying its request may have been
delivered, raised after the publish started, makes the job unconfirmed, never a retry."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from postpilot.jobs import JobStatus
from tests.acceptance.helpers import run_postpilot
from tests.fakes.counting_publisher import read_journal
from tests.faults.harness import (
    assert_never_twice,
    campaign_jobs,
    make_fault_campaign,
    run_campaign,
    statuses,
)


@pytest.mark.slow
def test_a_maybe_delivered_error_after_start_is_unconfirmed_then_reconciled(
    project_root: Path,
) -> None:
    """A channel that journals the post and then loses its answer (a raw maybe-delivered
    network error) gets no second publish: unconfirmed in the first run, reconciled posted in
    the second, journaled once."""
    journal = project_root / "journal.log"
    block = {
        "type": "custom",
        "class": "tests.fakes.counting_publisher:CountingPublisher",
        "journal": str(journal),
    }
    folder = make_fault_campaign(project_root, "guard", 10, block)
    seeded = run_postpilot(project_root, "--campaign", "guard", "--seed-only")
    assert seeded.code == 0, seeded.err
    lost = sorted(campaign_jobs(project_root, "guard"))[:3]
    settings = json.loads((folder / "campaign.json").read_text(encoding="utf-8"))
    settings["publisher"]["lose_answer_jobs"] = lost
    (folder / "campaign.json").write_text(json.dumps(settings), encoding="utf-8")

    run_campaign(project_root, "guard")
    jobs = campaign_jobs(project_root, "guard")
    assert_never_twice(Counter(read_journal(journal)), jobs)
    assert {j for j, s in statuses(jobs).items() if s is JobStatus.UNCONFIRMED} == set(lost)
    assert all("answer to a publish request was lost" in jobs[j].error for j in lost)

    second = run_campaign(project_root, "guard")
    jobs = campaign_jobs(project_root, "guard")
    assert second["reconciled"] == {"posted": 3}
    assert_never_twice(Counter(read_journal(journal)), jobs)
    assert set(statuses(jobs).values()) == {JobStatus.SUCCESS}
    assert len(read_journal(journal)) == 10
