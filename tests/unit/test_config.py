"""PostingContext: the single source of truth for paths, in campaign and legacy mode."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from postpilot.campaign import CampaignConfig
from postpilot.config import (
    Config,
    ContextSettings,
    ParallelConfig,
    PostingContext,
    RetryConfig,
    get_config,
)
from postpilot.errors import ConfigError


def _campaign(root: Path, folder_name: str = "demo", **settings: object) -> Path:
    folder = root / "campaigns" / folder_name
    (folder / "videos").mkdir(parents=True)
    (folder / "accounts.txt").write_text("acct_a\n# comment\n\nacct_b\n", encoding="utf-8")
    (folder / "captions.csv").write_text("filename,post_caption\nv.mp4,hi\n", encoding="utf-8")
    (folder / "videos" / "v.mp4").write_bytes(b"video")
    if settings:
        (folder / "campaign.json").write_text(json.dumps(settings), encoding="utf-8")
    return folder


def test_from_campaign_takes_every_path_and_setting_from_the_campaign(project_root: Path) -> None:
    """from_campaign copies the campaign's paths and settings; nothing is derived elsewhere."""
    folder = _campaign(
        project_root, max_posts_per_account_per_day=2, timezone="Europe/Berlin", max_attempts=5
    )
    campaign = CampaignConfig.from_folder(folder, project_root)
    ctx = PostingContext.from_campaign(campaign)
    assert ctx.progress_file == str(folder / Config.CAMPAIGN_PROGRESS_FILE)
    assert ctx.accounts_file == str(folder / "accounts.txt")
    assert ctx.captions_file == str(folder / "captions.csv")
    assert ctx.videos_dir == str(folder / "videos")
    assert ctx.max_posts_per_account_per_day == 2
    assert ctx.timezone == "Europe/Berlin"
    assert ctx.max_attempts == 5
    assert ctx.campaign_name == "demo"
    assert ctx.campaign_config is campaign
    assert ctx.is_campaign_mode()
    assert ctx.describe() == "campaign 'demo'"
    assert ctx.get_accounts() == ["acct_a", "acct_b"]
    assert ctx.store_name == "demo"
    assert ctx.archive_dir == folder / "archive"
    assert ctx.logs_dir == project_root / "logs" / "demo"
    assert ctx.runtime_dir == project_root / ".postpilot" / "runs" / "demo"
    assert ctx.ledger_file == project_root / ".postpilot" / "ledger.db"


def test_a_campaign_context_holds_the_campaign_itself(project_root: Path) -> None:
    """from_campaign keeps the settings in the CampaignConfig alone: the fields read it."""
    campaign = CampaignConfig.from_folder(_campaign(project_root, max_attempts=4), project_root)
    ctx = PostingContext.from_campaign(campaign)
    assert ctx.settings is campaign
    assert [f.name for f in dataclasses.fields(ctx)] == [
        "settings",
        "accounts_override",
        "store_dsn",
        "ignore_prior_progress",
    ]
    again = dataclasses.replace(ctx, ignore_prior_progress=True)
    assert again.settings is campaign
    assert again.ignore_prior_progress
    assert again.max_attempts == 4


def test_the_specification_constructor_holds_its_campaign(project_root: Path) -> None:
    """PostingContext(progress_file=..., campaign_config=c), as the specification writes it,
    holds c; a keyword that disagrees with c is refused rather than kept as a second copy."""
    campaign = CampaignConfig.from_folder(_campaign(project_root), project_root)
    ctx = PostingContext(
        progress_file=campaign.progress_file,
        accounts_file=campaign.accounts_file,
        state_file=campaign.state_file,
        videos_dir=campaign.videos_dir,
        captions_file=campaign.captions_file,
        max_posts_per_account_per_day=campaign.max_posts_per_account_per_day,
        campaign_name=campaign.name,
        campaign_config=campaign,
    )
    assert ctx.settings is campaign
    assert ctx == PostingContext.from_campaign(campaign)
    with pytest.raises(ValueError, match="max_posts_per_account_per_day=9 differs"):
        PostingContext(
            progress_file=campaign.progress_file,
            accounts_file=campaign.accounts_file,
            max_posts_per_account_per_day=9,
            campaign_config=campaign,
        )


def test_keywords_without_a_campaign_build_its_settings(tmp_path: Path) -> None:
    """A worker's context (keywords, no CampaignConfig) holds a ContextSettings of them."""
    ctx = PostingContext(
        progress_file=str(tmp_path / "p.db"),
        accounts_file="",
        videos_dir=str(tmp_path / "videos"),
        campaign_name="demo",
        project_root=str(tmp_path),
        max_posts_per_account_per_day=2,
        publisher={"type": "outbox"},
    )
    assert isinstance(ctx.settings, ContextSettings)
    assert ctx.campaign_config is None
    assert ctx.is_campaign_mode()
    assert ctx.store_name == "demo"
    assert ctx.max_posts_per_account_per_day == 2
    assert ctx.timezone == Config.TIMEZONE
    assert ctx.max_attempts == Config.MAX_ATTEMPTS
    with pytest.raises(TypeError, match="accounts_file"):
        PostingContext(progress_file="p.db")


def test_campaign_json_name_overrides_the_folder_name(project_root: Path) -> None:
    """describe() uses the campaign's name, which campaign.json may set."""
    folder = _campaign(project_root, "folder_x", name="spring")
    ctx = PostingContext.from_campaign(CampaignConfig.from_folder(folder, project_root))
    assert ctx.describe() == "campaign 'spring'"


def test_legacy_paths_resolve_against_the_project_root(project_root: Path) -> None:
    """Legacy mode uses the root files, relative to POSTPILOT_HOME, never the cwd."""
    ctx = PostingContext.legacy()
    assert ctx.progress_file == str(project_root / Config.PROGRESS_FILE)
    assert ctx.accounts_file == str(project_root / "accounts.txt")
    assert ctx.state_file == str(project_root / "scheduler_state.json")
    assert not ctx.is_campaign_mode()
    assert ctx.describe() == "legacy mode (root files)"
    assert ctx.store_name == "legacy"
    assert ctx.logs_dir == project_root / "logs" / "legacy"
    assert ctx.archive_dir == project_root / "archive"


def test_legacy_absolute_state_file_is_kept(tmp_path: Path) -> None:
    """An absolute --state-file path is used as given."""
    state = tmp_path / "elsewhere" / "state.json"
    ctx = PostingContext.legacy(state_file=str(state))
    assert ctx.state_file == str(state)


def test_legacy_accounts_override_replaces_accounts_txt(project_root: Path) -> None:
    """--accounts really applies in legacy mode: get_accounts returns exactly those names."""
    (project_root / "accounts.txt").write_text("x\ny\nz\n", encoding="utf-8")
    ctx = PostingContext.legacy(accounts=("y", "w"))
    assert ctx.get_accounts() == ["y", "w"]
    assert PostingContext.legacy().get_accounts() == ["x", "y", "z"]


def test_empty_accounts_file_raises_naming_the_file(project_root: Path) -> None:
    """The seed's edge case 2: no accounts is an error that names the accounts file."""
    (project_root / "accounts.txt").write_text("\n# only a comment\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"No accounts found in .*accounts\.txt"):
        PostingContext.legacy().get_accounts()


def test_empty_campaign_accounts_raise_naming_the_file(project_root: Path) -> None:
    """An empty campaign accounts.txt is refused by get_accounts, naming the file."""
    folder = _campaign(project_root)
    (folder / "accounts.txt").write_text("", encoding="utf-8")
    ctx = PostingContext.from_campaign(CampaignConfig.from_folder(folder, project_root))
    with pytest.raises(ConfigError, match=re.escape(str(folder / "accounts.txt"))):
        ctx.get_accounts()


def test_missing_legacy_accounts_file_is_a_config_error() -> None:
    """A missing accounts.txt in legacy mode says which file is missing."""
    with pytest.raises(ConfigError, match=r"accounts\.txt"):
        PostingContext.legacy().get_accounts()


def test_context_is_frozen() -> None:
    """Nothing can change a path after main() built the context (the seed's Implicit State)."""
    ctx = PostingContext.legacy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.progress_file = "elsewhere.db"  # type: ignore[misc]


def test_store_dsn_comes_from_the_environment(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POSTPILOT_STORE selects the distributed store for every context."""
    monkeypatch.setenv("POSTPILOT_STORE", "postgresql://127.0.0.1/test")
    assert PostingContext.legacy().store_dsn == "postgresql://127.0.0.1/test"
    folder = _campaign(project_root)
    ctx = PostingContext.from_campaign(CampaignConfig.from_folder(folder, project_root))
    assert ctx.store_dsn == "postgresql://127.0.0.1/test"


def test_parallel_config_refuses_zero_workers() -> None:
    """get_config validates the worker count."""
    with pytest.raises(ConfigError, match="--workers"):
        get_config(num_workers=0)
    assert get_config(num_workers=4) == ParallelConfig.from_env(4)


def test_env_overrides_must_be_whole_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed POSTPILOT_* override is a ConfigError naming the variable."""
    monkeypatch.setenv("POSTPILOT_LEASE_SECONDS", "soon")
    with pytest.raises(ConfigError, match="POSTPILOT_LEASE_SECONDS"):
        ParallelConfig.from_env(2)


def test_retry_config_defaults_match_the_seed() -> None:
    """--max-passes and --retry-delay default to the prior system's 3 passes and 30 s."""
    config = RetryConfig()
    assert config.max_passes == 3
    assert config.retry_delay_seconds == 30.0
