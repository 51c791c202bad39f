"""The seed's ctx-taking functions called directly (as other code would), and the logging rules:
configured only by the entry point, every line naming the context."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from postpilot import operations
from postpilot.campaign import CampaignConfig
from postpilot.config import PostingContext, get_config
from postpilot.errors import ConflictError
from postpilot.runner.locks import RunLock
from tests.acceptance.helpers import copy_examples, make_campaign, run_inprocess


def _ctx(root: Path, name: str) -> PostingContext:
    return PostingContext.from_campaign(CampaignConfig.from_folder(root / "campaigns" / name, root))


def test_seed_names_keep_the_seed_return_types(project_root: Path, tmp_path: Path) -> None:
    """seed_progress_file -> int, retry_all_failed -> int, export_progress -> int,
    reset_day -> (ok, message), import_progress -> summary dict."""
    make_campaign(project_root, "c1", ["a", "b"], 2)
    ctx = _ctx(project_root, "c1")
    parallel = get_config(num_workers=2)
    assert operations.seed_progress_file(ctx, parallel) == 2
    assert operations.seed_progress_file(ctx, parallel) == 0  # pending jobs: refused
    assert operations.retry_all_failed(ctx) == 0
    target = tmp_path / "jobs.csv"
    assert operations.export_progress(ctx, target) == 2
    ok, message = operations.reset_day(ctx)
    assert ok
    assert message.startswith("Reset complete for campaign 'c1'")
    summary = operations.import_progress(ctx, target)
    assert summary["imported"] == 2
    ok, message = operations.reset_day(PostingContext.legacy())
    assert not ok
    assert message.startswith("Progress file not found")


def test_seeding_is_refused_while_a_run_holds_the_campaign(project_root: Path) -> None:
    """seed_progress_file raises ConflictError naming the holder while the run lock is held."""
    make_campaign(project_root, "c1", ["a"], 1)
    ctx = _ctx(project_root, "c1")
    with RunLock(ctx) as holder, pytest.raises(ConflictError, match=f"PID {holder.pid}"):
        operations.seed_progress_file(ctx, get_config(), force_reseed=True)
    assert not Path(ctx.progress_file).exists()


def test_seed_that_creates_nothing_leaves_no_store(project_root: Path) -> None:
    """Videos without captions: nothing seeded, the problem reported, no progress.db left."""
    folder = make_campaign(project_root, "c1", ["a"], 1)
    (folder / "captions.csv").write_text("filename,post_caption\nother.mp4,x\n", encoding="utf-8")
    outcome = operations.seed_campaign(_ctx(project_root, "c1"))
    assert outcome.created == 0
    assert "1 videos without captions" in outcome.problems
    assert "1 captions without videos" in outcome.problems
    assert not (folder / "progress.db").exists()


def test_load_campaign_or_exit_exits_1_with_the_message(
    project_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The seed's helper logs why and exits 1 when the campaign cannot be used."""
    copy_examples(project_root, "demo")
    assert operations.load_campaign_or_exit("demo").name == "demo"
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as exited:
        operations.load_campaign_or_exit("missing")
    assert exited.value.code == 1
    assert "Campaign folder not found: missing" in caplog.text


def test_list_campaigns_command_returns_what_it_printed(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """list_campaigns_command prints the listing and returns the same data."""
    copy_examples(project_root)
    data = operations.list_campaigns_command(as_json=True)
    assert [c["name"] for c in data["campaigns"]] == ["demo", "podcast"]
    assert '"name": "podcast"' in capsys.readouterr().out


def test_confirm_job_refuses_jobs_that_are_not_unconfirmed(project_root: Path) -> None:
    """confirm_job only settles unconfirmed jobs."""
    make_campaign(project_root, "c1", ["a"], 1)
    ctx = _ctx(project_root, "c1")
    operations.seed_progress_file(ctx, get_config())
    with pytest.raises(operations.OperationFailed, match="is pending, not unconfirmed"):
        operations.confirm_job(ctx, "c1-000.mp4_c1", posted=True)


def test_importing_modules_configures_no_logging() -> None:
    """Only main() configures logging (the prior system's E1): importing every module in a
    fresh interpreter installs no handler anywhere."""
    code = (
        "import logging, postpilot.cli, postpilot.report, postpilot.operations, "
        "postpilot.runner.orchestrator, postpilot.runner.worker, postpilot.store.sqlite; "
        "print(len(logging.getLogger().handlers), len(logging.getLogger('postpilot').handlers))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split() == ["0", "0"]


def test_every_log_line_names_the_context(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each stderr line of a command carries ctx.describe(), in campaign and legacy mode, and
    the handler is removed again when the command ends."""
    copy_examples(project_root, "demo")
    result = run_inprocess(
        capsys, "--campaign", "demo", "--seed-only", "--accounts", "x", "--state-file", "s"
    )
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) >= 3
    stamped = re.compile(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO|WARNING|ERROR) +\[campaign 'demo'\]"
    )
    assert all(stamped.match(line) for line in lines), lines
    result = run_inprocess(capsys, "--seed-only")
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert lines
    assert all("[legacy mode (root files)]" in line for line in lines), lines
    assert logging.getLogger("postpilot").handlers == []
