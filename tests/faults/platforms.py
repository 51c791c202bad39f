"""Campaigns publishing to the Instagram and TikTok fakes, the posts those fakes created per
job, and the kill -9 driver of the fault suite (shared with bench/fault_bench.py)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from postpilot.campaign import CampaignConfig
from postpilot.config import PostingContext
from postpilot.jobs import JobStatus
from postpilot.runner.locks import registry_path
from postpilot.store import open_store
from tests.acceptance.helpers import REPO
from tests.fakes.instagram import FakeInstagram
from tests.fakes.tiktok import FakeTikTok
from tests.faults.harness import (
    FAST,
    assert_never_twice,
    campaign_jobs,
    make_fault_campaign,
    run_campaign,
    statuses,
)
from tests.pause import pause_between_transactions


def _add_credentials(root: Path, accounts: dict[str, dict[str, Any]]) -> None:
    """Merge `accounts` into the project's credentials.json (0600)."""
    path = root / "credentials.json"
    data: dict[str, Any] = {"accounts": {}}
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("accounts", {}).update(accounts)
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(0o600)


def ig_user_of(account: str) -> str:
    """The Instagram professional account id the fault suite gives `account`."""
    return "17841" + "".join(f"{ord(c):03d}" for c in account)[-11:].rjust(11, "0")


def instagram_campaign(
    root: Path, fake: FakeInstagram, name: str, jobs: int, **options: Any
) -> Path:
    """A Reels campaign on the fake (accounts acct00.. with long-lived tokens); `options` go
    to make_fault_campaign (accounts, daily_limit) or, prefixed `publisher_`, to the block."""
    block = {
        "type": "instagram",
        "api_base": fake.api_base,
        "upload_base": fake.url,
        "poll_interval": 0,
        **{
            k.removeprefix("publisher_"): v
            for k, v in options.items()
            if k.startswith("publisher_")
        },
    }
    kept = {k: v for k, v in options.items() if not k.startswith("publisher_")}
    folder = make_fault_campaign(root, name, jobs, block, **kept)
    expires = (datetime.now(UTC) + timedelta(days=50)).isoformat()
    accounts = {}
    for account in (folder / "accounts.txt").read_text(encoding="utf-8").split():
        token = f"IGQVJ-fault-{account}-token-0001"
        fake.add_token(token)
        accounts[account] = {
            "platform": "instagram",
            "access_token": token,
            "expires_at": expires,
            "client_id": "fault-app",
            "client_secret": "fault-app-secret-0001",
            "ig_user_id": ig_user_of(account),
        }
    _add_credentials(root, accounts)
    return folder


def instagram_posts(fake: FakeInstagram, root: Path, *names: str) -> Counter[str]:
    """job id -> Reels the fake published for it (by account and caption), over `names`."""
    by_caption = {}
    for name in names:
        for job in campaign_jobs(root, name).values():
            by_caption[(ig_user_of(job.account), job.caption)] = job.job_id
    with fake._lock:
        media = list(fake.media.values())
    return Counter(by_caption[(m.ig_user, m.caption)] for m in media)


def tiktok_campaign(root: Path, fake: FakeTikTok, name: str, jobs: int, **options: Any) -> Path:
    """A Direct Post campaign on the fake (accounts acct00.. each a creator with live
    tokens); `options` as for instagram_campaign."""
    block = {
        "type": "tiktok",
        "api_base": fake.url,
        "token_url": fake.token_url,
        "poll_interval": 0,
        **{
            k.removeprefix("publisher_"): v
            for k, v in options.items()
            if k.startswith("publisher_")
        },
    }
    kept = {k: v for k, v in options.items() if not k.startswith("publisher_")}
    folder = make_fault_campaign(root, name, jobs, block, **kept)
    expires = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    accounts = {}
    for account in (folder / "accounts.txt").read_text(encoding="utf-8").split():
        access, refresh = f"act.fault-{account}-0001", f"rft.fault-{account}-0001"
        if f"open-{account}" not in fake.creators:
            fake.add_creator(f"open-{account}", access, refresh, client_key="fault-ck")
        accounts[account] = {
            "platform": "tiktok",
            "access_token": access,
            "refresh_token": refresh,
            "expires_at": expires,
            "client_key": "fault-ck",
            "client_secret": "fault-client-secret-0001",
            "open_id": f"open-{account}",
        }
    _add_credentials(root, accounts)
    return folder


def tiktok_posts(fake: FakeTikTok, root: Path, *names: str) -> Counter[str]:
    """job id -> uploads the fake completed for it (each one a post), over `names`."""
    by_content = {}
    for name in names:
        for job in campaign_jobs(root, name).values():
            by_content[(f"open-{job.account}", job.content_sha256)] = job.job_id
    with fake._lock:
        uploads = list(fake.uploads)
    return Counter(by_content[(open_id, sha)] for open_id, sha, _publish_id in uploads)


def per_account(posts: Counter[str], root: Path, *names: str) -> Counter[str]:
    """account -> posts, from a job id -> posts counter."""
    account = {j: job.account for n in names for j, job in campaign_jobs(root, n).items()}
    counts: Counter[str] = Counter()
    for job_id, n in posts.items():
        counts[account[job_id]] += n
    return counts


def start_cli_run(root: Path, name: str, **env: str) -> subprocess.Popen[str]:
    """`postpilot --campaign NAME --run --json` in the background, as a user starts it."""
    environ = dict(os.environ)
    environ.update({"POSTPILOT_HOME": str(root), "PYTHONPATH": str(REPO), "COLUMNS": "200"})
    environ.pop("POSTPILOT_STORE", None)
    environ.update({**FAST, **env})
    args = ["--campaign", name, "--run", "--json", "--retry-delay", "0", "--max-passes", "2"]
    return subprocess.Popen(
        [sys.executable, "-m", "postpilot", *args, "--workers", "4"],
        cwd=root,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_cli_run(proc: subprocess.Popen[str], timeout: float = 240) -> dict[str, Any]:
    """Wait for a start_cli_run; its JSON summary (exit 0, or 3 with unsettled jobs)."""
    out, err = proc.communicate(timeout=timeout)
    assert "Traceback" not in err, err[-3000:]
    assert proc.returncode in (0, 3), (proc.returncode, err[-3000:])
    summary: dict[str, Any] = json.loads(out)
    return summary


def _context(root: Path, name: str) -> PostingContext:
    return PostingContext.from_campaign(CampaignConfig.from_folder(root / "campaigns" / name, root))


def worker_pids(root: Path, name: str) -> list[int]:
    """The worker processes the campaign's running orchestrator registered."""
    try:
        data = json.loads(registry_path(_context(root, name)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # not written yet, or being replaced
    return [int(p) for p in data.get("worker_pids", [])]


def started_publishes(root: Path, name: str) -> int:
    """Claimed jobs whose publish has started (the irreversible request may be out)."""
    store = open_store(_context(root, name))
    try:
        return sum(1 for j in store.list_jobs([JobStatus.CLAIMED]) if j.publish_started_at)
    finally:
        store.close()


def kill_storm(
    root: Path,
    name: str,
    faulted: Callable[[], int],
    *,
    rounds: int,
    deadline: float,
    run: subprocess.Popen[str] | None = None,
) -> int:
    """`rounds` times: once the fake hung one more publish (`faulted()` grew) and the store
    shows a publish started, SIGKILL every worker of the run (until `run` ends, if given).
    How many processes were killed."""
    killed = seen = 0
    for _ in range(rounds):
        while time.monotonic() < deadline and (run is None or run.poll() is None):
            pids = worker_pids(root, name)
            if pids and faulted() > seen and started_publishes(root, name) > 0:
                break
            time.sleep(0.05)
        else:
            break
        seen = faulted()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        # Wait for the orchestrator to reap them before looking for the next hang.
        while time.monotonic() < deadline and set(worker_pids(root, name)) & set(pids):
            time.sleep(0.05)
    return killed


def storm_then_reconcile(
    root: Path,
    name: str,
    *,
    faulted: Callable[[], int],
    heal: Callable[[], None],
    posts: Callable[[], Counter[str]],
    daily_limit: int,
) -> None:
    """The kill -9 storm every platform's fault suite runs (the fake already hangs every 2nd
    irreversible request after acting on it): start the run, SIGKILL every worker at each of
    3 hangs, heal the fake. The killed jobs end unconfirmed and nothing is posted twice; the
    next --run reconciles them: every job posted exactly once, each account within
    `daily_limit`."""
    run = start_cli_run(root, name)
    try:
        killed = kill_storm(root, name, faulted, rounds=3, deadline=time.monotonic() + 180, run=run)
    finally:
        heal()
    finish_cli_run(run)
    assert killed >= 3
    jobs = campaign_jobs(root, name)
    assert_never_twice(posts(), jobs)
    assert JobStatus.UNCONFIRMED in set(statuses(jobs).values())

    second = run_campaign(root, name)
    jobs = campaign_jobs(root, name)
    after = posts()
    assert_never_twice(after, jobs)
    assert second["reconciled"].get("posted", 0) >= 3, second
    assert set(statuses(jobs).values()) == {JobStatus.SUCCESS}, second
    assert max(per_account(after, root, name).values()) <= daily_limit


def account_busy(root: Path, name: str, account: str) -> bool:
    """Whether the project ledger keeps `account` from any other publish right now: leased,
    held by a publish that may be in flight, or blocked."""
    store = open_store(_context(root, name))
    try:
        state = store.account_states([account]).get(account)
    finally:
        store.close()
    return state is not None and bool(state.leased_by or state.held_by or state.block)


def stall_during_publish(
    root: Path, fake: FakeInstagram, name: str, *, stall_seconds: float, **env: str
) -> tuple[subprocess.Popen[str], Callable[[], float | None]]:
    """Start `name`'s run; the moment its media_publish reaches the fake, SIGSTOP its workers
    (as a VM pause does) and SIGCONT them `stall_seconds` later: the Reel exists, the worker
    sleeps past its lease before it reads the answer. Returns the run and a function giving
    the monotonic time the stall began (None before)."""
    began: list[float] = []

    def stop_workers() -> None:
        # The registry names the workers once the orchestrator wrote it; on a loaded machine
        # the publish may get here first, so wait for it rather than stall nobody.
        wait_until = time.monotonic() + 30
        pids = worker_pids(root, name)
        while not pids and time.monotonic() < wait_until:
            time.sleep(0.01)
            pids = worker_pids(root, name)
        pause_between_transactions(pids, root)
        began.append(time.monotonic())

        def resume() -> None:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

        threading.Timer(stall_seconds, resume).start()

    fake.on_next("publish", stop_workers)
    run = start_cli_run(root, name, **env)
    return run, lambda: began[0] if began else None
