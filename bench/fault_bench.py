"""Duplicates and lost jobs per 1000 jobs under each channel fault. Prints JSON; not a test.

    python bench/fault_bench.py [--jobs 200] [--youtube-jobs 100] [--only NAME,...]

Every case is driven through the real CLI as a user would: `postpilot --campaign bench --run`
twice (the second run reconciles), against the fault suite's non-idempotent journaling webhook
receiver (it stores every post before injecting the fault, 20% of jobs) or the YouTube fake
(20% of uploads lose the final answer). A duplicate is a post the receiver stored, or a video
the fake created, beyond the first for one job; a lost job is one left pending/retrying/claimed,
unconfirmed without a reason, or failed although it was posted; a misrecorded job is a success
whose post does not exist exactly once.

Reference, measured in the same run: for the webhook, the same fault with
`"receiver_deduplicates": true`, i.e. a sender that resends the same webhook-id after an
ambiguous answer (what postpilot did before the publish-outcome rule, and still does for a
receiver that opts in): against a receiver that does not really dedupe, those resends are the
duplicates the rule prevents. For YouTube, the same campaign without faults.
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
from tests.fakes.journaling_receiver import Fault, JournalingReceiver  # noqa: E402
from tests.fakes.youtube import FakeYouTube  # noqa: E402
from tests.faults.harness import FAST, WHSEC, campaign_jobs, make_fault_campaign  # noqa: E402
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


def main() -> int:
    """Run the cases and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200, help="webhook jobs per case")
    parser.add_argument("--youtube-jobs", type=int, default=100, help="YouTube jobs per case")
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
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
