"""Never twice through the webhook, driven from the CLI against a non-idempotent receiver that
journals every accepted delivery before it injects the fault: lost responses, hangs after
accept (HTTP read timeout first, and job timeout first), 500s after storing the post."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postpilot.jobs import JobStatus
from tests.fakes.journaling_receiver import Fault, JournalingReceiver
from tests.faults.harness import (
    WHSEC,
    assert_never_twice,
    campaign_jobs,
    make_fault_campaign,
    retry_all_failed,
    run_campaign,
    statuses,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[JournalingReceiver]:
    """A journaling receiver faulting every 5th new webhook-id (parametrize with a Fault)."""
    fault, every = getattr(request, "param", (Fault.DROP, 5))
    with JournalingReceiver(WHSEC, fault=fault, every=every) as server:
        yield server


def webhook(receiver: JournalingReceiver, *, status_url: bool, **extra: Any) -> dict[str, Any]:
    """The campaign.json publisher block aimed at the receiver."""
    block: dict[str, Any] = {"type": "webhook", "url": f"{receiver.url}/hook", **extra}
    if status_url:
        block["status_url"] = f"{receiver.url}/status/{{job_id}}"
    return block


@pytest.mark.parametrize("status_url", [True, False], ids=["status_url", "no_status_url"])
def test_lost_responses_on_20_of_100_jobs_deliver_nothing_twice(
    project_root: Path, receiver: JournalingReceiver, status_url: bool
) -> None:
    """The connection drops after the receiver stored 20 of 100 posts: those 20 end
    unconfirmed (never resent), the rest succeed; the next --run (even with
    --retry-all-failed) delivers nothing again, and with status_url it settles all 20 posted."""
    make_fault_campaign(project_root, "lost", 100, webhook(receiver, status_url=status_url))
    first = run_campaign(project_root, "lost")
    jobs = campaign_jobs(project_root, "lost")
    assert first["seeded"] == len(jobs) == 100
    assert_never_twice(receiver.counts(), jobs)
    lost = receiver.faulted()
    assert len(lost) == 20
    assert {j for j, s in statuses(jobs).items() if s is JobStatus.UNCONFIRMED} == lost
    assert all("answer was lost" in jobs[j].error for j in lost)
    delivered = len(receiver.journal)

    assert retry_all_failed(project_root, "lost") == 0
    second = run_campaign(project_root, "lost")
    jobs = campaign_jobs(project_root, "lost")
    assert len(receiver.journal) == delivered == 100
    assert_never_twice(receiver.counts(), jobs)
    if status_url:
        assert second["reconciled"] == {"posted": 20}
        assert set(statuses(jobs).values()) == {JobStatus.SUCCESS}
        assert all(jobs[j].remote_id == f"post-{j}" for j in lost)
    else:
        assert second["reconciled"] == {"unknown": 20}
        assert all("--confirm" in jobs[j].error for j in lost)


@pytest.mark.parametrize("receiver", [(Fault.DROP, 1)], indirect=True)
def test_every_answer_lost_delivers_each_job_once_and_never_rearms(
    project_root: Path, receiver: JournalingReceiver
) -> None:
    """Every answer is lost: each job is delivered exactly once and ends unconfirmed (never
    failed); a second --run --retry-all-failed re-arms and resends none of them."""
    make_fault_campaign(project_root, "allost", 12, webhook(receiver, status_url=False))
    run_campaign(project_root, "allost")
    assert retry_all_failed(project_root, "allost") == 0
    run_campaign(project_root, "allost")
    jobs = campaign_jobs(project_root, "allost")
    assert_never_twice(receiver.counts(), jobs)
    assert len(receiver.journal) == 12
    assert set(statuses(jobs).values()) == {JobStatus.UNCONFIRMED}


@pytest.mark.parametrize("receiver", [(Fault.HANG, 5)], indirect=True)
@pytest.mark.parametrize("timer", ["http_read_timeout", "job_timeout"])
def test_a_hang_after_accept_is_unconfirmed_whichever_timer_fires_first(
    project_root: Path, receiver: JournalingReceiver, timer: str
) -> None:
    """The receiver stores the post, then never answers (4 of 20 jobs). Whether the HTTP read
    timeout fires first (timeout 2 s, job timeout default) or the job timeout does (2 s, read
    timeout default 30 s), those jobs end unconfirmed, none is resent, the others succeed."""
    env: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if timer == "http_read_timeout":
        extra["timeout"] = 2
    else:
        env = {"POSTPILOT_JOB_TIMEOUT": "2", "POSTPILOT_LEASE_SECONDS": "3"}
    make_fault_campaign(project_root, "hang", 20, webhook(receiver, status_url=False, **extra))
    run_campaign(project_root, "hang", **env)
    assert retry_all_failed(project_root, "hang") == 0
    run_campaign(project_root, "hang", **env)
    jobs = campaign_jobs(project_root, "hang")
    assert_never_twice(receiver.counts(), jobs)
    hung = receiver.faulted()
    assert len(hung) == 4
    unconfirmed = {j for j, s in statuses(jobs).items() if s is JobStatus.UNCONFIRMED}
    assert unconfirmed == hung
    assert {s for j, s in statuses(jobs).items() if j not in hung} == {JobStatus.SUCCESS}
    reason = "no answer in time" if timer == "http_read_timeout" else "job timeout"
    assert all(reason in jobs[j].error for j in hung)


@pytest.mark.parametrize("receiver", [(Fault.ERROR, 5)], indirect=True)
def test_500_after_storing_the_post_is_settled_by_status_url_not_resent(
    project_root: Path, receiver: JournalingReceiver
) -> None:
    """The receiver stores the post and answers 500 (10 of 50): unconfirmed, not retried; the
    next --run asks status_url before anything else and records them posted."""
    make_fault_campaign(project_root, "err", 50, webhook(receiver, status_url=True))
    run_campaign(project_root, "err")
    jobs = campaign_jobs(project_root, "err")
    assert_never_twice(receiver.counts(), jobs)
    failed = receiver.faulted()
    assert len(failed) == 10
    assert {j for j, s in statuses(jobs).items() if s is JobStatus.UNCONFIRMED} == failed
    second = run_campaign(project_root, "err")
    jobs = campaign_jobs(project_root, "err")
    assert second["reconciled"] == {"posted": 10}
    assert len(receiver.journal) == 50
    assert set(statuses(jobs).values()) == {JobStatus.SUCCESS}


@pytest.mark.parametrize("receiver", [(Fault.DROP, 5)], indirect=True)
def test_only_the_dedupe_opt_in_resends_a_webhook_id(
    project_root: Path, receiver: JournalingReceiver
) -> None:
    """With "receiver_deduplicates": true the sender trusts the receiver's promise and resends
    the same webhook-id after a lost answer (this receiver breaks that promise, so the resend
    shows in its journal): every job succeeds and only the faulted ids were sent twice."""
    block = webhook(receiver, status_url=False, receiver_deduplicates=True)
    make_fault_campaign(project_root, "dedupe", 20, block)
    run_campaign(project_root, "dedupe")
    jobs = campaign_jobs(project_root, "dedupe")
    assert set(statuses(jobs).values()) == {JobStatus.SUCCESS}
    twice = {j for j, n in receiver.counts().items() if n == 2}
    assert twice == receiver.faulted()
    assert len(twice) == 4
    assert {d.webhook_id for d in receiver.journal} == set(jobs)
