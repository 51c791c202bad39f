"""Finding campaigns: `--campaign` as a name or a folder, and the `--list-campaigns` data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from postpilot.config import Config
from postpilot.errors import CampaignDisabled, CampaignNotFound, PostpilotError

if TYPE_CHECKING:
    from postpilot.campaign import CampaignConfig


def _campaign_names(root: Path) -> tuple[list[str], list[str]]:
    from postpilot.campaign import scan_campaigns

    try:
        valid, invalid = scan_campaigns(root)
    except (PostpilotError, OSError):
        return [], []
    return [c.name for c in valid], [Path(folder).name for folder, _error in invalid]


def resolve_campaign_folder(arg: str, root: Path) -> Path:
    """`--campaign` as a name under <root>/campaigns first, then as a path (the specification's
    order)."""
    text = arg.strip()
    if not text:
        raise CampaignNotFound("--campaign needs a campaign name or folder")
    plain_name = "/" not in text and "\\" not in text and text not in {".", ".."}
    if plain_name:
        by_name = root / Config.CAMPAIGNS_DIR / text
        if by_name.is_dir():
            return by_name
    path = Path(text).expanduser()
    if path.is_dir():
        return path.resolve()
    looked = [str(root / Config.CAMPAIGNS_DIR / text)] if plain_name else []
    looked.append(str(path.resolve()))
    valid, invalid = _campaign_names(root)
    lines = [f"Campaign folder not found: {text}", f"  Looked in: {' and '.join(looked)}"]
    if valid or invalid:
        lines.append("Available campaigns:")
        lines += [f"  - {name}" for name in valid]
        lines += [f"  - {name} (invalid: see --list-campaigns)" for name in invalid]
    else:
        lines.append(f"Available campaigns: none in {root / Config.CAMPAIGNS_DIR}")
    raise CampaignNotFound("\n".join(lines))


def load_campaign(arg: str, root: Path | None = None) -> CampaignConfig:
    """The enabled campaign `arg` names; raises CampaignNotFound, CampaignDisabled or
    ConfigError (invalid campaign) with the operator's message."""
    from postpilot.campaign import CampaignConfig

    project = root if root is not None else Config.project_root()
    folder = resolve_campaign_folder(arg, project)
    # A folder under <root>/campaigns/ belongs to that project whatever the current directory
    # (one ledger, outbox and run lock per project, never one per working directory).
    project = Config.root_for_campaign(folder) or project
    campaign = CampaignConfig.from_folder(folder, project_root=project)
    if not campaign.enabled:
        raise CampaignDisabled(
            f"Campaign '{campaign.name}' is disabled\n"
            "Enable it by setting 'enabled: true' in campaign.json\n"
            f"  File: {Path(campaign.base_dir) / Config.CAMPAIGN_JSON}"
        )
    return campaign


def list_campaigns_data(root: Path | None = None) -> dict[str, Any]:
    """Every campaign under <root>/campaigns, and the folders that are not valid campaigns."""
    from postpilot.campaign import scan_campaigns

    project = root if root is not None else Config.project_root()
    valid, invalid = scan_campaigns(project)
    campaigns: list[dict[str, Any]] = []
    for c in valid:
        try:
            accounts: int | None = len(c.get_accounts())
        except (PostpilotError, OSError):
            accounts = 0
        campaigns.append(
            {
                "name": c.name,
                "enabled": c.enabled,
                "folder": str(c.base_dir),
                "accounts": accounts,
                "videos_dir": str(c.videos_dir),
                "captions_file": str(c.captions_file),
                "progress_file": str(c.progress_file),
                "daily_limit": c.max_posts_per_account_per_day,
                "timezone": c.timezone,
            }
        )
    return {
        "project_root": str(project),
        "campaigns": campaigns,
        "invalid": [{"folder": str(folder), "error": str(error)} for folder, error in invalid],
    }
