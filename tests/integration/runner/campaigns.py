"""Builds small campaign folders for runner tests, published through the counting channel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from postpilot.campaign import CampaignConfig
from postpilot.config import PostingContext
from tests.fakes.mp4 import mp4_bytes

REPO = Path(__file__).resolve().parents[3]
COUNTING = "tests.fakes.counting_publisher:CountingPublisher"


def make_campaign(
    root: Path,
    name: str,
    accounts: list[str],
    videos: int,
    *,
    daily_limit: int = 1,
    publisher: dict[str, Any] | None = None,
    max_attempts: int = 3,
) -> Path:
    """A campaign under <root>/campaigns/<name> with `videos` distinct small videos."""
    folder = root / "campaigns" / name
    (folder / "videos").mkdir(parents=True)
    (folder / "accounts.txt").write_text("\n".join(accounts) + "\n", encoding="utf-8")
    rows = ["filename,post_caption"]
    for i in range(videos):
        video = folder / "videos" / f"{name}-{i:04d}.mp4"
        video.write_bytes(mp4_bytes(payload=f"video {name} {i}".encode() * 8))
        rows.append(f'{video.name},"caption {i} for {name}\nsecond line 🎬"')
    (folder / "captions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    block = publisher or {}
    block = {"type": "custom", "class": COUNTING, "journal": str(root / "journal.log"), **block}
    config = {
        "max_posts_per_account_per_day": daily_limit,
        "max_attempts": max_attempts,
        "publisher": block,
    }
    (folder / "campaign.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def context(folder: Path) -> PostingContext:
    """The PostingContext main() would build for the campaign folder."""
    return PostingContext.from_campaign(CampaignConfig.from_folder(folder))


def run_env(**extra: str) -> dict[str, str]:
    """Environment for a runner subprocess: fast leases and backoff, tests importable."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "POSTPILOT_LEASE_SECONDS": "2",
            "POSTPILOT_BACKOFF_SECONDS": "0",
            "POSTPILOT_SHUTDOWN_TIMEOUT": "20",
        }
    )
    env.update(extra)
    return env


def start_run(folder: Path, workers: int, passes: int = 3, **env: str) -> subprocess.Popen[str]:
    """Start an orchestrator for the campaign in its own process."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.runner.drive",
            str(folder),
            str(workers),
            str(passes),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run_env(**env),
        cwd=REPO,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, dict[str, Any]]:
    """Wait for a started run; its exit code and results dict."""
    out, err = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise AssertionError(f"run printed no results (exit {proc.returncode}):\n{err[-3000:]}")
    return proc.returncode, json.loads(lines[-1])


def seeded_spec(root: Path, name: str, accounts: list[str]) -> tuple[Path, PostingContext]:
    """A campaign of one instant video per account, seeded, and the spec file of a run of it
    (what a worker process is started with: `python -m postpilot.runner.worker SPEC SLOTS`)."""
    from postpilot.jobs import utcnow
    from postpilot.runner.worker_spec import WorkerSpec
    from postpilot.seeding import seed_store
    from postpilot.store import open_store

    folder = make_campaign(root, name, accounts, len(accounts), publisher={"latency_seconds": 0})
    ctx = context(folder)
    store = open_store(ctx)
    try:
        assert seed_store(ctx, store, utcnow()).created == len(accounts)
    finally:
        store.close()
    path = root / "run.spec.json"
    WorkerSpec(
        run_id="r", settings=WorkerSpec.settings_of(ctx.settings), store_dsn=None,
        accounts=ctx.get_accounts(), lease_seconds=30.0, job_timeout_seconds=600.0,
        idle_poll_seconds=0.05, backoff_base_seconds=0.0, backoff_cap_seconds=0.0,
    ).write(path)  # fmt: skip
    return path, ctx
