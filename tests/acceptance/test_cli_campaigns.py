"""The command line before any job exists: listing, resolving and refusing campaigns, usage
errors, the seed's edge cases 1-4, and "bad input never changes any file"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.helpers import (
    assert_no_traceback,
    copy_examples,
    make_campaign,
    run_inprocess,
    run_postpilot,
    tree_digest,
)


@pytest.fixture
def examples(project_root: Path) -> Path:
    """A project root holding copies of the example campaigns (demo, podcast)."""
    copy_examples(project_root)
    return project_root


def test_list_campaigns_without_campaigns_prints_how_to_create_one(project_root: Path) -> None:
    """--list-campaigns on an empty project: the seed's help text, exit 0 (real entry point)."""
    result = run_postpilot(project_root, "--list-campaigns")
    assert result.code == 0
    assert "No campaigns found in campaigns/ directory" in result.out
    assert "  - accounts.txt (one account per line)" in result.out
    assert_no_traceback(result)


def test_list_campaigns_json_lists_both_examples_and_invalid_folders(examples: Path) -> None:
    """--list-campaigns --json: one object with every campaign and each invalid folder's error."""
    (examples / "campaigns" / "broken").mkdir()
    result = run_postpilot(examples, "--list-campaigns", "--json")
    assert result.code == 0
    data = result.json()
    by_name = {c["name"]: c for c in data["campaigns"]}
    assert set(by_name) == {"demo", "podcast"}
    assert by_name["demo"]["accounts"] == 6
    assert by_name["podcast"]["daily_limit"] == 2
    assert by_name["podcast"]["timezone"] == "America/New_York"
    assert data["invalid"][0]["folder"] == "broken"
    assert "missing accounts.txt" in data["invalid"][0]["error"]


@pytest.mark.usefixtures("examples")
def test_list_campaigns_human_listing(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's listing: name [ENABLED], accounts, videos, captions, progress, daily limit."""
    result = run_inprocess(capsys, "--list-campaigns")
    assert result.code == 0
    assert "AVAILABLE CAMPAIGNS" in result.out
    assert "  demo [ENABLED]" in result.out
    assert "  podcast [ENABLED]" in result.out
    assert "Daily limit:  2 posts/account" in result.out
    assert "Usage: postpilot --campaign <name> --run" in result.out


def test_missing_campaign_lists_available_ones_and_changes_nothing(examples: Path) -> None:
    """Not found: exit 1, the available campaigns on stderr, nothing on stdout, no traceback,
    no file touched (real entry point)."""
    before = tree_digest(examples)
    result = run_postpilot(examples, "--campaign", "nope", "--status")
    assert result.code == 1
    assert result.out == ""
    assert "Campaign folder not found: nope" in result.err
    assert "Available campaigns:" in result.err
    assert "  - demo" in result.err
    assert "  - podcast" in result.err
    assert "[campaign 'nope']" in result.err
    assert_no_traceback(result)
    assert tree_digest(examples) == before


@pytest.mark.usefixtures("examples")
def test_missing_campaign_with_json_prints_an_error_object(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With --json a failure is still one JSON object on stdout, with the error kind."""
    result = run_inprocess(capsys, "--campaign", "nope", "--status", "--json")
    assert result.code == 1
    data = result.json()
    assert data["ok"] is False
    assert data["error"] == "campaign_not_found"
    assert "Available campaigns:" in data["message"]


def test_disabled_campaign_is_refused_with_the_seed_hint(
    examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Edge case 3: a disabled campaign exits 1 with the seed's two lines."""
    config = examples / "campaigns" / "demo" / "campaign.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    config.write_text(json.dumps({**data, "enabled": False}), encoding="utf-8")
    result = run_inprocess(capsys, "--campaign", "demo", "--seed-only")
    assert result.code == 1
    assert "Campaign 'demo' is disabled" in result.err
    assert "Enable it by setting 'enabled: true' in campaign.json" in result.err
    assert not (examples / "campaigns" / "demo" / "progress.db").exists()


@pytest.mark.parametrize(
    ("remove", "expected"),
    [
        ("accounts.txt", "missing accounts.txt"),
        ("captions.csv", "missing captions.csv"),
        ("videos", "missing videos folder"),
    ],
)
def test_missing_campaign_files_are_explained(
    project_root: Path, capsys: pytest.CaptureFixture[str], remove: str, expected: str
) -> None:
    """Edge case 1: each missing file is named with its expected path and how to create it."""
    folder = make_campaign(project_root, "c1", ["a"], 1)
    target = folder / remove
    if target.is_dir():
        for child in target.iterdir():
            child.unlink()
        target.rmdir()
    else:
        target.unlink()
    result = run_inprocess(capsys, "--campaign", "c1", "--status")
    assert result.code == 1
    assert f"Campaign 'c1' {expected}" in result.err
    assert f"Expected: {target}" in result.err
    assert_no_traceback(result)


def test_invalid_campaign_json_names_the_key_and_file(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """campaign.json is validated: an unknown key or a wrong type names key and file."""
    make_campaign(project_root, "c1", ["a"], 1, {"max_posts_per_day": 2})
    result = run_inprocess(capsys, "--campaign", "c1", "--status", "--json")
    assert result.code == 1
    assert result.json()["error"] == "invalid_config"
    assert "unknown key 'max_posts_per_day'" in result.err
    assert "campaign.json" in result.err
    (project_root / "campaigns" / "c1" / "campaign.json").write_text(
        '{"max_posts_per_account_per_day": "two"}', encoding="utf-8"
    )
    result = run_inprocess(capsys, "--campaign", "c1", "--status")
    assert result.code == 1
    assert "max_posts_per_account_per_day" in result.err
    assert "must be an integer" in result.err


def test_empty_accounts_file_fails_seeding_naming_the_file(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Edge case 2: an empty accounts file stops --seed-only before any store is created."""
    folder = make_campaign(project_root, "c1", ["a"], 2)
    (folder / "accounts.txt").write_text("# nobody yet\n", encoding="utf-8")
    result = run_inprocess(capsys, "--campaign", "c1", "--seed-only")
    assert result.code == 1
    assert f"No accounts found in {folder / 'accounts.txt'}" in result.err
    assert not (folder / "progress.db").exists()


def test_campaign_given_as_a_path(
    examples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--campaign also takes a folder path (outside campaigns/)."""
    outside = tmp_path / "elsewhere" / "spring"
    outside.parent.mkdir()
    (examples / "campaigns" / "podcast").rename(outside)
    result = run_inprocess(capsys, "--campaign", str(outside), "--status", "--json")
    assert result.code == 0
    data = result.json()
    assert data["campaign"] == "spring"
    assert data["progress_file"] == str(outside / "progress.db")


def test_campaign_name_wins_over_a_same_named_folder_in_the_cwd(
    examples: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The seed's order: a name under campaigns/ first, then a path."""
    cwd = tmp_path / "cwd"
    (cwd / "demo").mkdir(parents=True)
    monkeypatch.chdir(cwd)
    result = run_inprocess(capsys, "--campaign", "demo", "--status", "--json")
    assert result.code == 0
    assert result.json()["progress_file"] == str(examples / "campaigns" / "demo" / "progress.db")


@pytest.mark.usefixtures("examples")
def test_campaign_with_legacy_flags_warns_as_the_seed_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Edge case 4: --state-file and --accounts with --campaign are ignored with a warning."""
    result = run_inprocess(
        capsys, "--campaign", "demo", "--stop-all", "--accounts", "x,y", "--state-file", "s.json"
    )
    assert result.code == 0
    assert "--state-file ignored when --campaign is specified" in result.err
    assert "--accounts ignored when --campaign is specified (using campaign accounts)" in result.err
    assert "No orchestrator is running for campaign 'demo'" in result.out


@pytest.mark.usefixtures("examples")
def test_stop_all_json_when_nothing_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """--stop-all with nothing running reports that, exit 0, as one JSON object."""
    result = run_inprocess(capsys, "--campaign", "demo", "--stop-all", "--json")
    assert result.code == 0
    data = result.json()
    assert data["stopped"] == []
    assert data["campaign"] == "demo"


def test_status_of_a_never_seeded_campaign_creates_nothing(
    examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--status before seeding says how to create the store and does not create it."""
    before = tree_digest(examples)
    result = run_inprocess(capsys, "--campaign", "demo", "--status")
    assert result.code == 0
    assert "PARALLEL POSTING STATUS - campaign 'demo'" in result.out
    assert f"Progress file not found: {examples / 'campaigns/demo/progress.db'}" in result.out
    assert "  Run with --seed-only or --run to create it" in result.out
    assert "Campaign Info:" in result.out
    assert tree_digest(examples) == before
    data = run_inprocess(capsys, "--campaign", "demo", "--status", "--json").json()
    assert data["exists"] is False
    assert data["accounts"] == 6
    assert data["counts"]["total"] == 0
    assert tree_digest(examples) == before


def test_usage_errors_exit_2_without_traceback(project_root: Path) -> None:
    """Bad flag values and no action at all are usage errors: exit 2, help on stderr."""
    result = run_postpilot(project_root, "--status", "--workers", "0")
    assert result.code == 2
    assert "--workers" in result.err
    assert_no_traceback(result)
    result = run_postpilot(project_root)
    assert result.code == 2
    assert result.out == ""
    assert "usage: postpilot" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--confirm", "job1", "maybe"], "posted or not-posted"),
        (["--status", "--max-passes", "0"], "--max-passes"),
        (["--status", "--retry-delay", "-1"], "--retry-delay"),
        (["--status", "--retry-delay", "nan"], "--retry-delay"),
        (["--seed-only", "--accounts", " , "], "--accounts needs at least one"),
        (["--status", "--campaign", " "], "--campaign needs"),
        (["--status", "--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_flag_values_are_usage_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Each malformed flag exits 2 with a message naming it."""
    result = run_inprocess(capsys, *args)
    assert result.code == 2
    assert message in result.err


def test_help_goes_to_stdout_with_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help is asked for: stdout, exit 0, and it names every seed flag."""
    result = run_inprocess(capsys, "--help")
    assert result.code == 0
    for flag in (
        "--campaign",
        "--list-campaigns",
        "--status",
        "--seed-only",
        "--force-reseed",
        "--run",
        "--stop-all",
        "--reset-day",
        "--retry-all-failed",
        "--retry-include-non-retryable",
        "--state-file",
        "--accounts",
        "--workers",
        "--max-passes",
        "--retry-delay",
        "--json",
        "--export-csv",
        "--import-progress",
        "--confirm",
    ):
        assert flag in result.out


@pytest.mark.parametrize(
    "args",
    [
        ["--campaign", "nope", "--seed-only"],
        ["--campaign", "demo", "--confirm", "x.mp4_demo", "posted"],
        ["--campaign", "demo", "--retry-all-failed"],
        ["--campaign", "demo", "--reset-day"],
        ["--campaign", "demo", "--export-csv", "out.csv"],
        ["--campaign", "demo", "--import-progress", "missing.csv"],
        ["--campaign", "demo", "--run", "--workers", "0"],
        ["--campaign", "broken", "--seed-only"],
        ["--seed-only"],
        ["--status", "--state-file", "nothing.json", "--accounts", ",,"],
    ],
)
def test_bad_input_never_changes_any_file(
    examples: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    """A failing command leaves every file of the project as it was, and explains itself."""
    (examples / "campaigns" / "broken" / "videos").mkdir(parents=True)
    (examples / "campaigns" / "broken" / "campaign.json").write_text("{nope", encoding="utf-8")
    monkeypatch.chdir(examples)
    before = tree_digest(examples)
    result = run_inprocess(capsys, *args)
    assert result.code in (1, 2)
    assert result.err.strip()
    assert_no_traceback(result)
    assert tree_digest(examples) == before


def test_legacy_settings_file_is_validated(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """postpilot.json (legacy settings): an unknown key is an error naming the file and key."""
    (project_root / "postpilot.json").write_text(
        json.dumps({"timezone": "UTC", "daily_limit": 2}), encoding="utf-8"
    )
    before = tree_digest(project_root)
    result = run_inprocess(capsys, "--status")
    assert result.code == 1
    assert "unknown key 'daily_limit'" in result.err
    assert str(project_root / "postpilot.json") in result.err
    (project_root / "postpilot.json").write_text('{"timezone": "Mars/Base"}', encoding="utf-8")
    result = run_inprocess(capsys, "--status")
    assert result.code == 1
    assert "unknown timezone 'Mars/Base'" in result.err
    (project_root / "postpilot.json").write_text(
        '{"publisher": {"type": "browser_bot"}}', encoding="utf-8"
    )
    result = run_inprocess(capsys, "--status")
    assert result.code == 1
    assert "key 'publisher.type' must be one of outbox, webhook" in result.err
    assert "browser_bot" in result.err
    (project_root / "postpilot.json").write_text('{"store": "sqlite:///x"}', encoding="utf-8")
    result = run_inprocess(capsys, "--status")
    assert result.code == 1
    assert "postgresql://" in result.err
    assert_no_traceback(result)
    assert (project_root / "postpilot.json").exists()
    assert not (project_root / "parallel_progress.db").exists()
    assert set(tree_digest(project_root)) == set(before)


def test_two_actions_are_a_usage_error_that_changes_nothing(
    examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several actions: exit 2 naming them, before anything is read or written."""
    before = tree_digest(examples)
    result = run_inprocess(capsys, "--campaign", "demo", "--run", "--stop-all", "--status")
    assert result.code == 2
    assert "--status and --stop-all and --run cannot be combined" in result.err
    assert tree_digest(examples) == before
