"""--check --online against the local TikTok fake: one harmless call per account, no post."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.helpers import run_inprocess, tree_digest
from tests.fakes.mp4 import write_mp4
from tests.fakes.tiktok import FakeTikTok
from tests.integration.publishers.leaks import everything_written
from tests.integration.publishers.test_tiktok import (
    ACCESS,
    ACCOUNT,
    OPEN_ID,
    REFRESH,
    SECRET,
    write_credentials,
)


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    """A running fake with one creator whose access token lives a day."""
    with FakeTikTok() as server:
        server.add_creator(
            OPEN_ID, ACCESS, REFRESH, client_key="ck-1", username="shop", access_ttl=86400
        )
        yield server


def _campaign(root: Path, fake: FakeTikTok) -> Path:
    folder = root / "campaigns" / "clips"
    (folder / "videos").mkdir(parents=True)
    (folder / "accounts.txt").write_text(f"{ACCOUNT}\n", encoding="utf-8")
    write_mp4(folder / "videos" / "v0.mp4", 5000, random_payload=True)
    (folder / "captions.csv").write_text("filename,post_caption\nv0.mp4,hi\n", encoding="utf-8")
    block = {"type": "tiktok", "api_base": fake.url}
    (folder / "campaign.json").write_text(json.dumps({"publisher": block}), encoding="utf-8")
    return folder


def test_online_check_calls_creator_info_once_per_account_and_posts_nothing(
    project_root: Path, fake: FakeTikTok, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check --online: creator_info once per account, nothing published, no token printed."""
    _campaign(project_root, fake)
    write_credentials(project_root)
    before = tree_digest(project_root)
    result = run_inprocess(capsys, "--campaign", "clips", "--check", "--online", "--json")
    assert result.code == 0, result.err
    assert result.json()["online"] == [{"account": ACCOUNT, "result": "creator_info ok (shop)"}]
    assert fake.count("creator_info") == 1
    assert fake.published_count() == 0
    assert tree_digest(project_root) == before
    written = everything_written(project_root, result.out, result.err)
    for secret in (ACCESS, REFRESH, SECRET):
        assert secret.encode() not in written


def test_online_check_reports_a_refused_token_as_a_problem(
    project_root: Path, fake: FakeTikTok, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token the platform refuses is a problem naming the account: exit 1."""
    _campaign(project_root, fake)
    write_credentials(project_root, access="act.unknown-token-0000")
    fake.fail_next("creator_info", "access_token_invalid", status=401, times=5)
    result = run_inprocess(capsys, "--campaign", "clips", "--check", "--online", "--json")
    assert result.code == 1
    assert [p["check"] for p in result.json()["problems"]] == [f"account {ACCOUNT} (online)"]
