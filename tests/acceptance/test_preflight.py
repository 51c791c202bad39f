"""Preflight: every bad input is an error naming the file and the line or key, with the fix,
before any file is created; a credentials problem costs no job and blocks no account."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
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
YOUTUBE = {"publisher": {"type": "youtube", "api_base": "http://127.0.0.1:9"}}


def _write(folder: Path, name: str, data: str | bytes) -> None:
    path = folder / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", newline="")


def _credentials(root: Path, accounts: dict[str, object], mode: int = 0o600) -> Path:
    path = root / "credentials.json"
    path.write_text(json.dumps({"accounts": accounts}), encoding="utf-8")
    os.chmod(path, mode)
    return path


def _token() -> dict[str, str]:
    return {"platform": "youtube", "access_token": "tok-123", "refresh_token": "ref-456"}


def _youtube(root: Path, campaign: Path) -> None:  # noqa: ARG001  a set-up's signature
    _write(campaign, "campaign.json", json.dumps(YOUTUBE))


def _creds_0644(root: Path, campaign: Path) -> None:
    _youtube(root, campaign)
    _credentials(root, {"c_a": _token(), "c_b": _token()}, 0o644)


def _creds_not_json(root: Path, campaign: Path) -> None:
    _youtube(root, campaign)
    _write(root, "credentials.json", "{not json")
    os.chmod(root / "credentials.json", 0o600)


def _creds_wrong_shape(root: Path, campaign: Path) -> None:
    _youtube(root, campaign)
    _credentials(root, {"c_a": "a token"})


def _creds_one_missing(root: Path, campaign: Path) -> None:
    _youtube(root, campaign)
    _credentials(root, {"c_a": _token()})


def _captions(text: str) -> Callable[[Path, Path], None]:
    return lambda root, campaign: _write(campaign, "captions.csv", "filename,post_caption" + text)


#: name -> (set-up of the bad input, text the error must contain)
BAD_INPUTS: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "account with NUL": (
        lambda root, c: _write(c, "accounts.txt", "a1\nbad\x00name\n"),
        "accounts.txt line 2: the account name contains the control character U+0000",
    ),
    "account with a bell": (
        lambda root, c: _write(c, "accounts.txt", "a1\n\nb\x07ell\n"),
        "accounts.txt line 3: the account name contains the control character U+0007",
    ),
    "unterminated quote": (
        _captions('\nc-000.mp4,"never closed\n'),
        "captions.csv line 2: a quoted field opened here is never closed",
    ),
    "quote swallowing the next row": (
        _captions('\nc-000.mp4,"opened\nc-001.mp4,swallowed\nc-002.mp4,x"\n'),
        "captions.csv line 2: a quoted field opened here runs on into line 3",
    ),
    "duplicate columns": (
        _captions(",Filename\nc-000.mp4,a,b\n"),
        "captions.csv line 1: the header repeats the column(s) filename",
    ),
    "NUL in a caption": (
        _captions("\nc-000.mp4,a\x00b\n"),
        "captions.csv line 2: contains a NUL byte",
    ),
    "oversized caption": (
        _captions("\nc-000.mp4,ok\nc-001.mp4," + "x" * 200_000),
        "captions.csv line 3: a field is longer than 128 KiB",
    ),
    "bad quoting": (
        _captions('\nc-000.mp4,"a"b\n'),
        "captions.csv line 2: not valid CSV",
    ),
    "publisher key": (
        lambda root, c: _write(
            c, "campaign.json", json.dumps({"publisher": {"type": "outbox", "dri": "x"}})
        ),
        "campaign.json: unknown key 'publisher.dri' (did you mean 'dir'?)",
    ),
    "credentials missing": (_youtube, "credentials file not found"),
    "credentials mode 0644": (
        _creds_0644,
        "is readable by other users (mode 644); run: chmod 600",
    ),
    "credentials not JSON": (_creds_not_json, "is not valid JSON"),
    "credentials wrong shape": (_creds_wrong_shape, "has the wrong shape at: accounts.c_a"),
    "credentials without an account": (_creds_one_missing, "no credentials for 1 account(s)"),
    "webhook without a secret": (
        lambda root, c: _write(
            c, "campaign.json", json.dumps({"publisher": {"type": "webhook", "url": "http://x"}})
        ),
        "credentials file not found",
    ),
}


@pytest.mark.parametrize("action", ["--run", "--seed-only"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_named_and_changes_no_file(
    project_root: Path, capsys: pytest.CaptureFixture[str], case: str, action: str
) -> None:
    """Each bad input: exit 1, the message names the file and line or key, nothing written."""
    folder = make_campaign(project_root, "c", ["c_a", "c_b"], 3)
    setup, expected = BAD_INPUTS[case]
    setup(project_root, folder)
    before = tree_digest(project_root)
    result = run_inprocess(capsys, "--campaign", "c", action)
    assert result.code == 1, result.err
    assert expected in result.err
    assert "Traceback" not in result.err
    assert tree_digest(project_root) == before


def test_credentials_problem_costs_no_job_and_blocks_no_account(project_root: Path) -> None:
    """A 0644 credentials file stops the run (exit 1, no claim); after chmod 600 nothing needs
    --unblock and the tokens never appear in the output."""
    folder = make_campaign(project_root, "c", ["c_a", "c_b"], 2, YOUTUBE)
    assert folder.is_dir()
    creds = _credentials(project_root, {"c_a": _token(), "c_b": _token()}, 0o644)
    result = run_postpilot(project_root, "--campaign", "c", "--run", "--json", **FAST)
    assert result.code == 1
    assert "Nothing was claimed and no account was blocked" in result.json()["message"]
    assert "tok-123" not in result.out + result.err
    assert not (folder / "progress.db").exists()
    assert not (project_root / ".postpilot").exists()
    os.chmod(creds, 0o600)
    status = run_postpilot(project_root, "--campaign", "c", "--seed-only", "--json")
    assert status.code == 0, status.err
    listing = run_postpilot(project_root, "--campaign", "c", "--status", "--json").json()
    assert listing["blocked"] == []
    assert listing["counts"]["pending"] == 2
    assert_no_traceback(result)


@pytest.mark.slow
def test_outbox_refuses_empty_and_fake_videos_as_content_errors(project_root: Path) -> None:
    """An empty file and a text file named .mp4 are named before publishing and end failed
    (content), never published; the good video is published; the run exits 3."""
    folder = make_campaign(project_root, "c", ["c_a", "c_b", "c_c"], 3)
    (folder / "videos" / "c-000.mp4").write_bytes(b"")
    (folder / "videos" / "c-001.mp4").write_text("not a video at all\n", encoding="utf-8")
    result = run_postpilot(
        project_root, "--campaign", "c", "--run", "--json", "--max-passes", "1", **FAST
    )
    assert result.code == 3, result.err
    assert "2 videos will fail as content errors" in result.err
    assert "c-000.mp4: is empty (0 bytes)" in result.err
    data = result.json()
    assert (data["success"], data["failed"]) == (1, 2)
    failed = {f["job_id"]: f for f in data["failed_jobs"]}
    assert set(failed) == {"c-000.mp4_c", "c-001.mp4_c"}
    posts = sorted(p.parent.name for p in (project_root / "outbox" / "c").glob("*/*/post.json"))
    assert posts == ["c-002.mp4_c"]


def test_check_reports_every_problem_with_its_fix_and_changes_nothing(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check lists each problem (captions, credentials, an empty video) at once, exit 1,
    --json names them, and no file is created or changed."""
    folder = make_campaign(project_root, "c", ["c_a", "c_b"], 3, YOUTUBE)
    _credentials(project_root, {"c_a": _token()})
    (folder / "videos" / "c-001.mp4").write_bytes(b"")
    before = tree_digest(project_root)
    result = run_inprocess(capsys, "--campaign", "c", "--check", "--json")
    assert result.code == 1
    data = result.json()
    checks = {p["check"] for p in data["problems"]}
    assert checks == {"credentials", "video c-001.mp4"}
    assert any("no credentials for 1 account(s)" in p["message"] for p in data["problems"])
    human = run_inprocess(capsys, "--campaign", "c", "--check")
    assert "PROBLEM video c-001.mp4: video" in human.out
    assert "is empty (0 bytes)" in human.out
    assert tree_digest(project_root) == before


def test_check_passes_a_good_campaign(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A campaign with valid inputs checks clean (exit 0) and the check writes nothing."""
    make_campaign(project_root, "c", ["c_a"], 2)
    before = tree_digest(project_root)
    result = run_inprocess(capsys, "--campaign", "c", "--check")
    assert result.code == 0, result.err
    assert "Check of campaign 'c': no problems" in result.out
    assert "ok: videos: 2 fit the channel's limits" in result.out
    assert tree_digest(project_root) == before
    assert run_inprocess(capsys, "--campaign", "c", "--status", "--online").code == 2
