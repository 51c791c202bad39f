"""The publisher block: one strict model per channel, checked when the campaign is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postpilot.campaign import CampaignConfig
from postpilot.errors import ConfigError
from tests.acceptance.helpers import make_campaign, run_inprocess, tree_digest


def _load_error(root: Path, publisher: object) -> str:
    folder = make_campaign(root, "c", ["a1"], 1, {"publisher": publisher})
    with pytest.raises(ConfigError) as info:
        CampaignConfig.from_folder(folder, root)
    return str(info.value)


@pytest.mark.parametrize(
    ("publisher", "expected"),
    [
        (
            {"type": "youtube", "made_for_kids": "false"},
            "key 'publisher.made_for_kids' must be true or false (got \"false\")",
        ),
        (
            {"type": "instagram", "shar_to_feed": True},
            "unknown key 'publisher.shar_to_feed' (did you mean 'share_to_feed'?)",
        ),
        ({"type": "tiktok", "timeout": 0}, "key 'publisher.timeout' must be a number > 0 (got 0)"),
        ({"type": "tiktok", "is_aigc": 1}, "key 'publisher.is_aigc' must be true or false"),
        ({"dirr": "out"}, "unknown key 'publisher.dirr' (did you mean 'dir'?)"),
        ({"type": "outbox", "dir": 5}, "key 'publisher.dir' must be a string (got 5)"),
        ({"type": "webhook"}, "key 'publisher.url' is required"),
        (
            {"type": "webhook", "url": "ftp://x"},
            "key 'publisher.url' must be an http:// or https:// URL (got \"ftp://x\")",
        ),
        (
            {"type": "webhook", "url": "https://x", "mode": "json"},
            'mode "json" needs "video_url_base"',
        ),
        (
            {"type": "youtube", "privacy_status": "secret"},
            "key 'publisher.privacy_status' must be one of private, unlisted, public",
        ),
        ({"type": "youtube", "chunk_size": "8"}, "key 'publisher.chunk_size' must be an integer"),
        ({"type": "custom"}, "key 'publisher.class' is required"),
        (
            {"type": "custom", "class": "nodots"},
            "key 'publisher.class' must look like 'package.module:ClassName'",
        ),
        ({"type": "selenium"}, "key 'publisher.type' must be one of outbox, webhook, youtube"),
    ],
)
def test_bad_publisher_keys_name_campaign_json_the_key_and_the_type(
    project_root: Path, publisher: object, expected: str
) -> None:
    """Each wrong publisher key or value is a ConfigError naming campaign.json and the key."""
    message = _load_error(project_root, publisher)
    assert message.startswith("campaigns/c/campaign.json: ")
    assert expected in message


def test_channel_gets_exactly_the_keys_written(project_root: Path) -> None:
    """Defaults stay the channel's: the block handed on holds only what the user wrote."""
    written = {"type": "instagram", "share_to_feed": False, "poll_interval": 2}
    folder = make_campaign(project_root, "c", ["a1"], 1, {"publisher": written})
    campaign = CampaignConfig.from_folder(folder, project_root)
    assert dict(campaign.publisher) == written
    folder = make_campaign(project_root, "d", ["a1"], 1, {"publisher": {"dir": "out"}})
    assert dict(CampaignConfig.from_folder(folder, project_root).publisher) == {
        "type": "outbox",
        "dir": "out",
    }


def test_custom_block_keeps_its_own_keys(project_root: Path) -> None:
    """`custom` needs `class` and passes every other key on untouched."""
    written = {"type": "custom", "class": "my.pkg:Channel", "region": "eu", "retries": 2}
    folder = make_campaign(project_root, "c", ["a1"], 1, {"publisher": written})
    assert dict(CampaignConfig.from_folder(folder, project_root).publisher) == written


def test_list_campaigns_shows_a_bad_publisher_block_as_invalid(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--list-campaigns reports the campaign with the bad key instead of listing it as valid."""
    make_campaign(
        project_root, "c", ["a1"], 1, {"publisher": {"type": "instagram", "shar_to_feed": True}}
    )
    result = run_inprocess(capsys, "--list-campaigns", "--json")
    data = result.json()
    assert data["campaigns"] == []
    assert [i["folder"] for i in data["invalid"]] == ["c"]
    assert "did you mean 'share_to_feed'" in data["invalid"][0]["error"]


@pytest.mark.parametrize("action", ["--seed-only", "--run", "--status"])
def test_bad_publisher_block_stops_every_command_before_a_file_changes(
    project_root: Path, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    """--seed-only, --run and --status refuse a bad block (exit 1) and create no file."""
    make_campaign(
        project_root, "c", ["a1"], 1, {"publisher": {"type": "youtube", "made_for_kids": "no"}}
    )
    before = tree_digest(project_root)
    result = run_inprocess(capsys, "--campaign", "c", action)
    assert result.code == 1
    assert "campaigns/c/campaign.json: key 'publisher.made_for_kids'" in result.err
    assert tree_digest(project_root) == before


def test_legacy_postpilot_json_uses_the_same_models(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """postpilot.json's publisher block is checked by the same models (legacy mode)."""
    (project_root / "postpilot.json").write_text(
        json.dumps({"publisher": {"type": "tiktok", "timout": 5}}), encoding="utf-8"
    )
    result = run_inprocess(capsys, "--status")
    assert result.code == 1
    assert "unknown key 'publisher.timout' (did you mean 'timeout'?)" in result.err
