"""Legacy mode (no --campaign): the project root's accounts.txt and scheduler_state.json,
--accounts really applied, --state-file, and postpilot.json settings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from postpilot.config import PostingContext
from postpilot.store import open_store
from tests.acceptance.helpers import (
    assert_no_traceback,
    copy_legacy_example,
    run_inprocess,
    run_postpilot,
    tree_digest,
)


@pytest.fixture
def legacy(project_root: Path) -> Path:
    """A project root holding the legacy example (2 accounts, 3 importable state jobs)."""
    copy_legacy_example(project_root)
    return project_root


def _accounts_of_jobs(root: Path) -> list[str]:
    store = open_store(PostingContext.legacy(project_root=str(root)))
    try:
        return [job.account for job in store.list_jobs()]
    finally:
        store.close()


def test_legacy_seed_and_status(legacy: Path) -> None:
    """Legacy --seed-only reads scheduler_state.json; --status names legacy mode (real entry)."""
    seeded = run_postpilot(legacy, "--seed-only", "--json")
    assert seeded.code == 0, seeded.err
    data = seeded.json()
    assert data["campaign"] is None
    assert data["context"] == "legacy mode (root files)"
    assert data["seeded"] == 2  # two accounts, daily limit 1: the third job waits, with a reason
    # The third job waits for a daily slot; the state's success job is reported, not dropped.
    reasons = sorted(item["reason"] for item in data["skipped"])
    assert len(reasons) == 2
    assert reasons[0] == "already posted according to the state file (success)"
    assert (legacy / "parallel_progress.db").exists()
    status = run_postpilot(legacy, "--status")
    assert status.code == 0
    assert "PARALLEL POSTING STATUS - legacy mode (root files)" in status.out
    assert "Campaign Info:" not in status.out
    assert "[legacy mode (root files)]" in status.err
    assert_no_traceback(status)
    assert sorted(_accounts_of_jobs(legacy)) == ["legacy_one", "legacy_two"]


def test_accounts_flag_restricts_seeding_in_legacy_mode(
    legacy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--accounts replaces accounts.txt in legacy mode: every job goes to the named account."""
    (legacy / "postpilot.json").write_text(
        json.dumps({"max_posts_per_account_per_day": 3}), encoding="utf-8"
    )
    result = run_inprocess(capsys, "--accounts", "legacy_two", "--seed-only", "--json")
    assert result.code == 0, result.err
    assert result.json()["seeded"] == 3
    assert _accounts_of_jobs(legacy) == ["legacy_two"] * 3
    status = run_inprocess(capsys, "--accounts", "legacy_two", "--status", "--json").json()
    assert status["accounts"] == 1
    assert status["daily"]["limit"] == 3
    assert list(status["per_account"]) == ["legacy_two"]


def test_state_file_path_is_relative_to_the_current_directory(
    legacy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--state-file PATH is read from where the user typed it."""
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    shutil.move(legacy / "scheduler_state.json", elsewhere / "old_state.json")
    monkeypatch.chdir(elsewhere)
    result = run_inprocess(capsys, "--state-file", "old_state.json", "--seed-only", "--json")
    assert result.code == 0, result.err
    assert result.json()["seeded"] == 2


def test_missing_state_file_fails_without_creating_a_store(
    legacy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing state file is explained and no store or lock file is created."""
    (legacy / "scheduler_state.json").unlink()
    before = tree_digest(legacy)
    result = run_inprocess(capsys, "--seed-only")
    assert result.code == 1
    assert "Legacy state file not found" in result.err
    assert "--state-file" in result.err
    assert tree_digest(legacy) == before
