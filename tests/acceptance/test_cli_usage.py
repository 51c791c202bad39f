"""Commands that cannot surprise: one action per call, options that apply, safe exports, job
ids starting with '-', and exit codes a scheduler can trust (0, 3, 1, 2)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.acceptance.helpers import (
    assert_no_traceback,
    make_campaign,
    run_inprocess,
    run_postpilot,
    tree_digest,
)

FAST = {"POSTPILOT_BACKOFF_SECONDS": "0", "POSTPILOT_LEASE_SECONDS": "10"}


def _counting(root: Path, name: str, fail: dict[str, str], videos: int = 3) -> Path:
    return make_campaign(
        root,
        name,
        [f"{name}_a", f"{name}_b", f"{name}_c"],
        videos,
        {
            "publisher": {
                "type": "custom",
                "class": "tests.fakes.counting_publisher:CountingPublisher",
                "journal": str(root / f"{name}.journal"),
                "fail_jobs": fail,
            }
        },
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--status", "--reset-day"], "--reset-day and --status cannot be combined"),
        (["--list-campaigns", "--run"], "--run and --list-campaigns cannot be combined"),
        (["--status", "--force-reseed"], "--force-reseed does not apply to --status"),
        (["--status", "--workers", "4"], "--workers does not apply to --status"),
        (["--seed-only", "--max-passes", "2"], "--max-passes does not apply to --seed-only"),
        (["--status", "--force"], "--force does not apply to --status; it works with --export"),
        (
            ["--status", "--retry-include-non-retryable"],
            "it works with --retry-all-failed or --run",
        ),
    ],
)
def test_conflicting_or_idle_options_are_usage_errors(
    project_root: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    """Two actions, or an option the action would ignore: exit 2 with the reason, no change."""
    make_campaign(project_root, "c", ["a"], 1)
    before = tree_digest(project_root)
    result = run_inprocess(capsys, "--campaign", "c", *args)
    assert result.code == 2
    assert expected in result.err
    assert tree_digest(project_root) == before


def test_list_campaigns_refuses_a_campaign_option(capsys: pytest.CaptureFixture[str]) -> None:
    """--list-campaigns lists every campaign: --campaign with it is a usage error."""
    result = run_inprocess(capsys, "--list-campaigns", "--campaign", "c")
    assert result.code == 2
    assert "--campaign does not apply to --list-campaigns" in result.err


@pytest.mark.slow
def test_run_with_a_failed_job_exits_3_and_names_it(project_root: Path) -> None:
    """A run that finishes with a failed job exits 3; the summary names the job and why."""
    _counting(project_root, "c", {"c-001.mp4_c": "content"})
    result = run_postpilot(
        project_root, "--campaign", "c", "--run", "--retry-delay", "0", "--max-passes", "1", **FAST
    )
    assert result.code == 3, result.err
    assert "Failed jobs (fix the cause, then --retry-all-failed) (1):" in result.out
    assert "c-001.mp4_c (" in result.out
    assert "the test channel refuses this video" in result.out
    assert "Exit code 3: 1 failed and 0 unconfirmed" in result.out
    assert_no_traceback(result)


@pytest.mark.slow
def test_run_json_reports_exit_3_and_the_failed_jobs(project_root: Path) -> None:
    """--json carries exit_code 3 and failed_jobs with each job's reason; a clean run is 0."""
    _counting(project_root, "c", {"c-000.mp4_c": "content"})
    _counting(project_root, "ok", {})
    args = ("--run", "--json", "--retry-delay", "0", "--max-passes", "1")
    bad = run_postpilot(project_root, "--campaign", "c", *args, **FAST)
    assert bad.code == 3, bad.err
    data = bad.json()
    assert data["exit_code"] == 3
    assert [(f["job_id"], f["error_type"]) for f in data["failed_jobs"]] == [
        ("c-000.mp4_c", data["failed_jobs"][0]["error_type"])
    ]
    assert data["failed_jobs"][0]["reason"]
    good = run_postpilot(project_root, "--campaign", "ok", *args, **FAST)
    assert good.code == 0, good.err
    assert good.json()["failed_jobs"] == []


def test_export_never_replaces_a_campaign_input_or_the_store(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--export-csv onto accounts.txt, captions.csv, campaign.json or progress.db is refused,
    even with --force, and the file is left as it was."""
    folder = make_campaign(project_root, "c", ["a"], 1, {"max_attempts": 2})
    assert run_inprocess(capsys, "--campaign", "c", "--seed-only").code == 0
    for name in ("accounts.txt", "captions.csv", "campaign.json", "progress.db"):
        before = tree_digest(project_root)
        for extra in ([], ["--force"]):
            result = run_inprocess(
                capsys, "--campaign", "c", "--export-csv", str(folder / name), *extra
            )
            assert result.code == 1, name
            assert "an export never replaces it" in result.err
        assert tree_digest(project_root) == before


def test_export_refuses_an_existing_file_unless_forced_and_writes_lf(
    project_root: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An existing file is kept unless --force; the export's line ends are LF."""
    make_campaign(project_root, "c", ["a"], 2)
    assert run_inprocess(capsys, "--campaign", "c", "--seed-only").code == 0
    target = tmp_path / "out.csv"
    target.write_text("keep me\n", encoding="utf-8")
    result = run_inprocess(capsys, "--campaign", "c", "--export-csv", str(target))
    assert result.code == 1
    assert "add --force to replace it" in result.err
    assert target.read_text(encoding="utf-8") == "keep me\n"
    result = run_inprocess(capsys, "--campaign", "c", "--export-csv", str(target), "--force")
    assert result.code == 0, result.err
    data = target.read_bytes()
    assert data.startswith(b"job_id,")
    assert b"\r\n" not in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert len(rows) == 2  # header + one job (one account, limit 1)


def test_confirm_takes_a_job_id_starting_with_a_dash(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--confirm -clip.mp4_c posted` reaches the job (argparse would read it as an option)."""
    folder = project_root / "campaigns" / "c"
    (folder / "videos").mkdir(parents=True)
    (folder / "accounts.txt").write_text("a\n", encoding="utf-8")
    (folder / "videos" / "-clip.mp4").write_bytes(b"a video")
    (folder / "captions.csv").write_text("filename,post_caption\n-clip.mp4,hi\n", "utf-8")
    assert run_inprocess(capsys, "--campaign", "c", "--seed-only").code == 0
    result = run_inprocess(capsys, "--campaign", "c", "--confirm", "-clip.mp4_c", "posted")
    assert result.code == 1
    assert "Job '-clip.mp4_c' of campaign 'c' is pending, not unconfirmed" in result.err
    result = run_inprocess(capsys, "--campaign", "c", "--confirm", "-clip.mp4_c", "maybe")
    assert result.code == 2


@pytest.mark.parametrize("action", ["--seed-only", "--run"])
def test_nothing_seeded_names_the_rejected_files_and_the_reasons(
    project_root: Path, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    """A caption naming ../../../etc/passwd is named (not just counted) and "nothing seeded"
    gives its reasons with counts, the same on --seed-only and --run."""
    folder = make_campaign(project_root, "c", ["a"], 0)
    (folder / "videos" / "uncaptioned.mp4").write_bytes(b"x")
    (folder / "captions.csv").write_text(
        "filename,post_caption\n../../../etc/passwd,steal\n", encoding="utf-8"
    )
    result = run_inprocess(capsys, "--campaign", "c", action)
    assert result.code == 1
    assert "rejected filename '../../../etc/passwd': escapes the videos folder (..)" in result.err
    assert "1 videos without captions" in result.err
