"""`postpilot --run` end to end through the console entry: both example campaigns publish to the
outbox, a second run publishes nothing new, --reset-day then --run seeds a new day, a held
campaign is refused, and --accounts restricts a legacy run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from postpilot.campaign import CampaignConfig
from postpilot.config import PostingContext
from postpilot.runner.locks import RunLock, registry_path
from tests.acceptance.helpers import (
    REPO,
    Result,
    assert_no_traceback,
    copy_examples,
    copy_legacy_example,
    make_campaign,
    run_inprocess,
    run_postpilot,
)

FAST = {"POSTPILOT_BACKOFF_SECONDS": "0", "POSTPILOT_LEASE_SECONDS": "10"}


def _posts(root: Path, store_name: str) -> list[Path]:
    """The complete outbox folders (one per published job) of a campaign."""
    return sorted(p.parent for p in (root / "outbox" / store_name).glob("*/*/post.json"))


@pytest.mark.slow
def test_demo_run_publishes_to_the_outbox_and_a_second_run_adds_nothing(
    project_root: Path,
) -> None:
    """--run --json on the demo: exit 0, one JSON object, every seeded job published once;
    the second run publishes nothing new."""
    copy_examples(project_root, "demo")
    first = run_postpilot(
        project_root,
        "--campaign",
        "demo",
        "--run",
        "--json",
        "--retry-delay",
        "0",
        "--max-passes",
        "2",
        "--workers",
        "2",
        **FAST,
    )
    assert first.code == 0, first.err
    results = first.json()
    assert results["exit_code"] == 0
    assert results["retry_summary"]["config"] == {"max_passes": 2, "retry_delay_seconds": 0.0}
    assert results["seeded"] > 0
    assert results["success"] == results["seeded"]
    assert len(_posts(project_root, "demo")) == results["success"]
    assert "[campaign 'demo']" in first.err
    assert_no_traceback(first)
    second = run_postpilot(
        project_root, "--campaign", "demo", "--run", "--json", "--retry-delay", "0", **FAST
    )
    assert second.code == 0, second.err
    assert second.json()["seeded"] == 0
    assert second.json()["success"] == results["success"]
    assert len(_posts(project_root, "demo")) == results["success"]


@pytest.mark.slow
def test_podcast_run_prints_plain_progress_and_the_summary(project_root: Path) -> None:
    """Without a terminal: timestamped plain lines naming the campaign on stderr, the final
    summary on stdout; the podcast's daily limit of 2 lets each account post twice."""
    copy_examples(project_root, "podcast")
    result = run_postpilot(
        project_root,
        "--campaign",
        "podcast",
        "--run",
        "--workers",
        "2",
        "--retry-delay",
        "0",
        **FAST,
    )
    assert result.code == 0, result.err
    assert "FINAL RESULTS - campaign 'podcast'" in result.out
    assert "\x1b[" not in result.out + result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    stamped = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \w+ +\[campaign 'podcast'\] ")
    assert lines
    assert all(stamped.match(line) for line in lines), lines
    accounts = [p.parent.name for p in _posts(project_root, "podcast")]
    assert accounts
    assert max(accounts.count(a) for a in set(accounts)) <= 2


@pytest.mark.slow
def test_reset_day_then_run_seeds_the_new_day(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After --reset-day the store is empty and --run seeds it again (the prior system's B6)."""
    copy_examples(project_root, "demo")
    assert run_inprocess(capsys, "--campaign", "demo", "--seed-only").code == 0
    assert run_inprocess(capsys, "--campaign", "demo", "--reset-day").code == 0
    result = run_postpilot(
        project_root, "--campaign", "demo", "--run", "--json", "--retry-delay", "0", **FAST
    )
    assert result.code == 0, result.err
    assert result.json()["seeded"] > 0
    assert result.json()["success"] == result.json()["seeded"]


def test_run_is_refused_while_another_run_holds_the_campaign(project_root: Path) -> None:
    """A second --run on a held campaign exits 1 naming the holder's pid, and posts nothing."""
    copy_examples(project_root, "demo")
    ctx = PostingContext.from_campaign(
        CampaignConfig.from_folder(project_root / "campaigns" / "demo", project_root)
    )
    with RunLock(ctx) as holder:
        result = run_postpilot(project_root, "--campaign", "demo", "--run", "--json", **FAST)
    assert result.code == 1
    assert result.json()["error"] == "orchestrator_conflict"
    assert f"PID {holder.pid}" in result.err
    assert not (project_root / "outbox").exists()


@pytest.mark.slow
def test_legacy_run_with_accounts_publishes_only_for_those_accounts(project_root: Path) -> None:
    """--accounts restricts a legacy run: every outbox post belongs to the named account."""
    copy_legacy_example(project_root)
    result = run_postpilot(
        project_root, "--accounts", "legacy_two", "--run", "--json", "--retry-delay", "0", **FAST
    )
    assert result.code == 0, result.err
    assert result.json()["success"] == 1
    assert {p.parent.name for p in _posts(project_root, "legacy")} == {"legacy_two"}


def _slow_campaign(root: Path, jobs: int = 6) -> Path:
    folder = make_campaign(
        root,
        "slow",
        ["a", "b", "c"],
        jobs,
        {
            "max_posts_per_account_per_day": jobs // 3,
            "publisher": {
                "type": "custom",
                "class": "tests.fakes.counting_publisher:CountingPublisher",
                "journal": str(root / "journal.log"),
                "latency_seconds": 1.0,
            },
        },
    )
    return folder


def _start_run(root: Path, name: str) -> subprocess.Popen[str]:
    env = dict(os.environ, POSTPILOT_HOME=str(root), PYTHONPATH=str(REPO), **FAST)
    return subprocess.Popen(
        [sys.executable, "-m", "postpilot", "--campaign", name, "--run", "--json"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_workers(ctx: PostingContext, proc: subprocess.Popen[str]) -> None:
    """Until the run registry lists worker pids (bounded: the run must not have ended)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            data = json.loads(registry_path(ctx).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if data.get("worker_pids"):
            return
        time.sleep(0.05)
    raise AssertionError("the run never started its workers")


@pytest.mark.slow
def test_stop_all_stops_a_running_campaign_and_the_run_exits_143(project_root: Path) -> None:
    """--stop-all (another process) stops this campaign's run: it reports what it stopped, exit
    0, and the interrupted run exits 143 with its results object."""
    # Twenty seconds of publishing: the stopper's own start-up (seconds on a loaded machine)
    # must not outlast the run it is meant to stop.
    folder = _slow_campaign(project_root, jobs=60)
    ctx = PostingContext.from_campaign(CampaignConfig.from_folder(folder, project_root))
    proc = _start_run(project_root, "slow")
    try:
        _wait_for_workers(ctx, proc)
        env = dict(os.environ, POSTPILOT_HOME=str(project_root), PYTHONPATH=str(REPO))
        stopper = subprocess.Popen(
            [sys.executable, "-m", "postpilot", "--campaign", "slow", "--stop-all", "--json"],
            cwd=project_root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Reap the run as soon as it exits: --stop-all waits for the pid to disappear.
        out, err = proc.communicate(timeout=120)
        stop_out, stop_err = stopper.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert stopper.returncode == 0, stop_err
    assert any("orchestrator PID" in line for line in json.loads(stop_out)["stopped"])
    assert proc.returncode == 143, err
    results = json.loads(out)
    assert results["interrupted"] is True
    assert results["exit_code"] == 143


@pytest.mark.slow
def test_ctrl_c_during_a_run_exits_130(project_root: Path) -> None:
    """SIGINT to `postpilot --run` finishes running publishes and exits 130, not 0."""
    folder = _slow_campaign(project_root)
    ctx = PostingContext.from_campaign(CampaignConfig.from_folder(folder, project_root))
    proc = _start_run(project_root, "slow")
    try:
        _wait_for_workers(ctx, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert json.loads(out)["interrupted"] is True
    assert_no_traceback(Result(proc.returncode, out, err))


def test_a_lease_shorter_than_the_outage_budget_allows_is_warned_about(
    project_root: Path,
) -> None:
    """A lease below 1.5 x POSTPILOT_STORE_OUTAGE_SECONDS gets one warning naming both
    settings at the run's start (the run still publishes); the defaults get none."""
    make_campaign(project_root, "lease", ["a1"], 1)
    short = run_postpilot(
        project_root, "--campaign", "lease", "--run", "--json",
        POSTPILOT_LEASE_SECONDS="20", POSTPILOT_STORE_OUTAGE_SECONDS="30",
    )  # fmt: skip
    assert short.code == 0, short.err
    assert json.loads(short.out)["success"] == 1
    warned = [line for line in short.err.splitlines() if "POSTPILOT_LEASE_SECONDS=20" in line]
    assert len(warned) == 1, short.err
    assert "POSTPILOT_STORE_OUTAGE_SECONDS=30" in warned[0]
    make_campaign(project_root, "plain", ["a1"], 1)
    plain = run_postpilot(project_root, "--campaign", "plain", "--run", "--json")
    assert plain.code == 0, plain.err
    assert "POSTPILOT_LEASE_SECONDS" not in plain.err
