"""Duplicates and lost jobs per 1000 jobs under each channel fault. Prints JSON; not a test.

    python bench/fault_bench.py [--jobs 200] [--youtube-jobs 100] [--platform-jobs 100]
                                [--only NAME,...]

Every case is driven through the real CLI as a user would: `postpilot --campaign bench --run`
twice (the second run reconciles), against the fault suite's non-idempotent journaling webhook
receiver (it stores every post before injecting the fault, 20% of jobs), or the YouTube,
Instagram and TikTok fakes (they record every video, Reel or completed upload before they inject
the fault, 20% of the irreversible requests, and never deduplicate); the kill -9 cases SIGKILL
every worker each time a publish hangs after the post exists. A duplicate is a post the
receiver stored, or a post a fake created, beyond the first for one job; a lost job is one
left pending/retrying/claimed, unconfirmed without a reason, or failed although it was posted;
a misrecorded job is a success whose post does not exist exactly once.

Reference, measured in the same run: for the webhook, the same fault with
`"receiver_deduplicates": true`, i.e. a sender that resends the same webhook-id after an
ambiguous answer (what postpilot did before the publish-outcome rule, and still does for a
receiver that opts in): against a receiver that does not really dedupe, those resends are the
duplicates the rule prevents. For the platforms, the same campaign without faults.

`stall_holds_account` measures how long a publish stalled past its lease (its worker SIGSTOPped
the moment its media_publish reached the Instagram fake) keeps its account from every campaign
of the project: from the stall to the moment the ledger frees the account.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from postpilot.jobs import Job, JobStatus  # noqa: E402 - after the sys.path set-up above
from tests.acceptance.helpers import run_postpilot  # noqa: E402
from tests.fakes.after_fault import After  # noqa: E402
from tests.fakes.instagram import FakeInstagram  # noqa: E402
from tests.fakes.journaling_receiver import Fault, JournalingReceiver  # noqa: E402
from tests.fakes.tiktok import FakeTikTok  # noqa: E402
from tests.fakes.youtube import FakeYouTube  # noqa: E402
from tests.faults.harness import FAST, WHSEC, campaign_jobs, make_fault_campaign  # noqa: E402
from tests.faults.platforms import (  # noqa: E402
    account_busy,
    finish_cli_run,
    instagram_campaign,
    instagram_posts,
    kill_storm,
    stall_during_publish,
    start_cli_run,
    tiktok_campaign,
    tiktok_posts,
)
from tests.faults.test_youtube_faults import delivered, youtube_campaign  # noqa: E402

NAME = "bench"
JOB_TIMEOUT_FIRST = {"POSTPILOT_JOB_TIMEOUT": "2", "POSTPILOT_LEASE_SECONDS": "3"}
#: name -> (fault, extra publisher keys, extra environment)
WEBHOOK_CASES: dict[str, tuple[Fault, dict[str, Any], dict[str, str]]] = {
    "webhook_lost_response": (Fault.DROP, {}, {}),
    "webhook_hang_read_timeout_first": (Fault.HANG, {"timeout": 2}, {}),
    "webhook_hang_job_timeout_first": (Fault.HANG, {}, JOB_TIMEOUT_FIRST),
    "webhook_500_after_store": (Fault.ERROR, {}, {}),
}


def _run(root: Path, env: dict[str, str]) -> dict[str, Any]:
    result = run_postpilot(
        root,
        "--campaign",
        NAME,
        "--run",
        "--json",
        "--retry-delay",
        "0",
        "--max-passes",
        "2",
        "--workers",
        "4",
        **{**FAST, **env},
    )
    # Exit 3 means the run left failed or unconfirmed jobs (expected under faults).
    if result.code not in (0, 3) or "Traceback" in result.err:
        raise SystemExit(f"postpilot --run failed ({result.code}):\n{result.err[-2000:]}")
    summary: dict[str, Any] = result.json()
    return summary


def _lost(delivered: Counter[str], jobs: dict[str, Job]) -> int:
    lost = 0
    for job in jobs.values():
        if job.status is JobStatus.SUCCESS:
            continue
        if job.status is JobStatus.UNCONFIRMED:
            lost += not job.error
        elif job.status is JobStatus.FAILED:
            lost += delivered[job.job_id] != 0
        else:
            lost += 1
    return lost


def _figures(
    delivered: Counter[str], jobs: dict[str, Job], seconds: float, faulted: int
) -> dict[str, Any]:
    duplicates = sum(n - 1 for n in delivered.values() if n > 1)
    lost = _lost(delivered, jobs)
    misrecorded = sum(
        1 for j in jobs.values() if j.status is JobStatus.SUCCESS and delivered[j.job_id] != 1
    )
    count = len(jobs)
    by_status = Counter(str(j.status) for j in jobs.values())
    return {
        "jobs": count,
        "faulted_jobs": faulted,
        "duplicates": duplicates,
        "duplicates_per_1000_jobs": round(duplicates * 1000 / count, 1),
        "lost_jobs": lost,
        "lost_per_1000_jobs": round(lost * 1000 / count, 1),
        "misrecorded_success": misrecorded,
        "after_second_run": dict(sorted(by_status.items())),
        "seconds": round(seconds, 1),
    }


def webhook_case(
    jobs: int, fault: Fault, extra: dict[str, Any], env: dict[str, str], *, dedupe: bool
) -> dict[str, Any]:
    """Two CLI runs against the journaling receiver; the figures."""
    with tempfile.TemporaryDirectory() as tmp, JournalingReceiver(WHSEC, fault=fault) as hook:
        root = Path(tmp)
        block: dict[str, Any] = {"type": "webhook", "url": f"{hook.url}/hook", **extra}
        if dedupe:
            block["receiver_deduplicates"] = True
        else:
            block["status_url"] = f"{hook.url}/status/{{job_id}}"
        make_fault_campaign(root, NAME, jobs, block)
        start = time.perf_counter()
        _run(root, env)
        _run(root, env)
        seconds = time.perf_counter() - start
        return _figures(hook.counts(), campaign_jobs(root, NAME), seconds, len(hook.faulted()))


def youtube_case(jobs: int, arm: Callable[[FakeYouTube], None] | None) -> dict[str, Any]:
    """Two CLI runs against the YouTube fake (healed between them); the figures."""
    with tempfile.TemporaryDirectory() as tmp, FakeYouTube() as fake:
        root = Path(tmp)
        youtube_campaign(root, fake, NAME, jobs)
        if arm is not None:
            arm(fake)
        start = time.perf_counter()
        _run(root, {})
        faulted = fake.completed // 5 if arm is not None else 0
        fake.heal()
        _run(root, {})
        seconds = time.perf_counter() - start
        counts = delivered(fake, root, NAME)
        return _figures(counts, campaign_jobs(root, NAME), seconds, faulted)


Fake = FakeYouTube | FakeInstagram | FakeTikTok
#: name -> (platform, route, fault kind, extra publisher keys, kill -9 storm)
PLATFORM_CASES: dict[str, tuple[str, str, After, dict[str, Any], bool]] = {
    "youtube_final_500_after_create": ("youtube", "final", After.ERROR, {}, False),
    "youtube_final_hang_read_timeout": ("youtube", "final", After.HANG, {"timeout": 2}, False),
    "youtube_kill_9_storm": ("youtube", "final", After.HANG, {}, True),
    "instagram_container_answer_lost": ("instagram", "create", After.DROP, {}, False),
    "instagram_publish_answer_lost": ("instagram", "publish", After.DROP, {}, False),
    "instagram_publish_500_after_post": ("instagram", "publish", After.ERROR, {}, False),
    "instagram_publish_hang_read_timeout": (
        "instagram",
        "publish",
        After.HANG,
        {"timeout": 2},
        False,
    ),
    "instagram_kill_9_storm": ("instagram", "publish", After.HANG, {}, True),
    "tiktok_init_answer_lost": ("tiktok", "init", After.DROP, {}, False),
    "tiktok_final_chunk_answer_lost": ("tiktok", "put", After.DROP, {}, False),
    "tiktok_final_chunk_500_after_upload": ("tiktok", "put", After.ERROR, {}, False),
    "tiktok_final_chunk_hang_read_timeout": ("tiktok", "put", After.HANG, {"timeout": 2}, False),
    "tiktok_status_answer_lost": ("tiktok", "status", After.DROP, {}, False),
    "tiktok_kill_9_storm": ("tiktok", "put", After.HANG, {}, True),
}


def _platform_fake(platform: str) -> Fake:
    if platform == "youtube":
        return FakeYouTube()
    if platform == "instagram":
        return FakeInstagram(single_use_containers=False)
    return FakeTikTok(polls_to_finish=0, rate_limits=False)


def _campaign(root: Path, fake: Fake, jobs: int, extra: dict[str, Any]) -> None:
    if isinstance(fake, FakeYouTube):
        youtube_campaign(root, fake, NAME, jobs)
        if extra:
            folder = root / "campaigns" / NAME
            settings = json.loads((folder / "campaign.json").read_text(encoding="utf-8"))
            settings["publisher"].update(extra)
            (folder / "campaign.json").write_text(json.dumps(settings), encoding="utf-8")
    elif isinstance(fake, FakeInstagram):
        instagram_campaign(
            root, fake, NAME, jobs, **{f"publisher_{k}": v for k, v in extra.items()}
        )
    else:
        tiktok_campaign(root, fake, NAME, jobs, **{f"publisher_{k}": v for k, v in extra.items()})


def _posts(fake: Fake, root: Path) -> Counter[str]:
    if isinstance(fake, FakeYouTube):
        return delivered(fake, root, NAME)
    if isinstance(fake, FakeInstagram):
        return instagram_posts(fake, root, NAME)
    return tiktok_posts(fake, root, NAME)


def platform_case(
    platform: str, jobs: int, route: str, kind: After | None, extra: dict[str, Any], kill: bool
) -> dict[str, Any]:
    """Two CLI runs against a platform fake (healed between them); the figures. With `kill`,
    every worker is SIGKILLed each time a publish hangs after the post exists (5 storms)."""
    fake = _platform_fake(platform)
    with tempfile.TemporaryDirectory() as tmp, fake:
        root = Path(tmp)
        _campaign(root, fake, jobs, extra)
        if kind is not None:
            if isinstance(fake, FakeYouTube):
                fake.fault_after_final(kind)
            else:
                fake.fault_after(route, kind)
        start = time.perf_counter()
        killed = 0
        if kill:
            run = start_cli_run(root, NAME)
            try:
                killed = kill_storm(
                    root,
                    NAME,
                    lambda: len(fake.after.keys(route)),
                    rounds=max(1, min(5, jobs // 5 - 1)),
                    deadline=time.monotonic() + 300,
                    run=run,
                )
            finally:
                fake.heal()
            finish_cli_run(run, timeout=600)
        else:
            _run(root, {})
        faulted = len(fake.after.keys(route))
        fake.heal()
        _run(root, {})
        seconds = time.perf_counter() - start
        figures = _figures(_posts(fake, root), campaign_jobs(root, NAME), seconds, faulted)
        if kill:
            figures["workers_killed"] = killed
        return figures


def stall_case(stall_seconds: float, lease_seconds: float) -> dict[str, Any]:
    """How long a publish stalled past its lease keeps its account from every campaign."""
    env = {"POSTPILOT_LEASE_SECONDS": f"{lease_seconds:g}"}
    with tempfile.TemporaryDirectory() as tmp, FakeInstagram(single_use_containers=False) as fake:
        root = Path(tmp)
        instagram_campaign(root, fake, "one", 1, accounts=1, daily_limit=1)
        instagram_campaign(root, fake, "two", 1, accounts=1, daily_limit=1)
        run, began = stall_during_publish(root, fake, "one", stall_seconds=stall_seconds, **env)
        deadline = time.monotonic() + 300
        while began() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        stalled_at = began()
        if stalled_at is None:
            raise SystemExit("the stalled publish never reached media_publish")
        free_during_stall = False
        freed_at: float | None = None
        while time.monotonic() < deadline and freed_at is None:
            if not account_busy(root, "two", "acct00"):
                freed_at = time.monotonic()
                free_during_stall = freed_at - stalled_at < stall_seconds
            elif run.poll() is not None:
                break
            time.sleep(0.05)
        first = finish_cli_run(run, timeout=600)
        reconciled_at: float | None = None
        if freed_at is None:
            _run_named(root, "one", env)  # the next --run reconciles it
            if not account_busy(root, "two", "acct00"):
                reconciled_at = time.monotonic()
        jobs = campaign_jobs(root, "one")
        end = freed_at or reconciled_at
        return {
            "stall_seconds": stall_seconds,
            "lease_seconds": lease_seconds,
            "account_held_seconds": None if end is None else round(end - stalled_at, 2),
            "freed_by": "late answer" if freed_at else "next --run" if reconciled_at else None,
            "free_during_stall": free_during_stall,
            "first_run_unconfirmed": first.get("unconfirmed", 0),
            "job_status": str(next(iter(jobs.values())).status),
            "reels_on_account": fake.published_count(),
        }


def _run_named(root: Path, name: str, env: dict[str, str]) -> None:
    result = run_postpilot(
        root, "--campaign", name, "--run", "--json", "--retry-delay", "0", **{**FAST, **env}
    )
    if result.code not in (0, 3):
        raise SystemExit(f"postpilot --run failed ({result.code}):\n{result.err[-2000:]}")


def main() -> int:
    """Run the cases and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200, help="webhook jobs per case")
    parser.add_argument("--youtube-jobs", type=int, default=100, help="YouTube jobs per case")
    parser.add_argument(
        "--platform-jobs", type=int, default=100, help="Instagram/TikTok jobs per case"
    )
    parser.add_argument("--only", default="", help="comma-separated case names")
    args = parser.parse_args()
    wanted = {n for n in args.only.split(",") if n}
    results: dict[str, Any] = {}
    for name, (fault, extra, env) in WEBHOOK_CASES.items():
        if wanted and name not in wanted:
            continue
        results[name] = {
            "never_twice": webhook_case(args.jobs, fault, extra, env, dedupe=False),
            "reference_resend_same_webhook_id": webhook_case(
                args.jobs, fault, extra, env, dedupe=True
            ),
        }
    youtube: dict[str, Callable[[FakeYouTube], None]] = {
        "youtube_lost_final_answer": lambda f: f.lose_final_every(5),
        "youtube_final_answers_lost_until_healed": lambda f: f.lose_final_every(
            5, until_healed=True
        ),
    }
    reference: dict[str, Any] | None = None
    for name, arm in youtube.items():
        if wanted and name not in wanted:
            continue
        if reference is None:
            reference = youtube_case(args.youtube_jobs, None)
        results[name] = {
            "never_twice": youtube_case(args.youtube_jobs, arm),
            "reference_no_fault": reference,
        }
    references: dict[str, dict[str, Any]] = {}
    for name, (platform, route, kind, extra, kill) in PLATFORM_CASES.items():
        if wanted and name not in wanted:
            continue
        jobs = args.youtube_jobs if platform == "youtube" else args.platform_jobs
        if platform not in references:
            references[platform] = platform_case(platform, jobs, route, None, {}, False)
        results[name] = {
            "never_twice": platform_case(platform, jobs, route, kind, extra, kill),
            "reference_no_fault": references[platform],
        }
    if not wanted or "stall_holds_account" in wanted:
        results["stall_holds_account"] = stall_case(stall_seconds=8, lease_seconds=1)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
