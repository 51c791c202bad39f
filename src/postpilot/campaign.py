"""The campaign model: a campaign folder (accounts, captions, videos, campaign.json), checked.

    campaigns/<name>/
      campaign.json   optional; validated at the boundary (unknown keys, wrong types -> ConfigError)
      accounts.txt    one account per line; blank lines and full-line # comments ignored
      captions.csv    header filename + post_caption (or caption), or the configured columns
      videos/         *.mp4 / *.mov in any case, nested folders allowed

Every path is fixed by name (or by campaign.json), never by directory-listing order (the prior
system's picks changed with it). Nothing here is silent: duplicate accounts, duplicate or empty
caption rows, videos without
captions, captions without videos and caption filenames that would escape the videos folder are
all counted and returned in `AccountsFile`, `CaptionsFile` and `MatchReport` for the caller to show.

Each file has its module: accounts_file.py (accounts.txt), campaign_json.py (campaign.json),
captions.py (captions.csv), video_match.py (the videos and their pairing with captions); this
module builds the CampaignConfig from them and scans the project's campaigns.

Choices worth knowing:
- captions keep their text byte for byte (inner newlines, CRLF inside quotes, emoji); only the
  whitespace around the whole caption is stripped, as the prior system did;
- a caption filename that appears twice: the FIRST row wins, later rows are reported;
- explicitly configured columns (campaign.json captions.filename_column / caption_column) win over
  header detection; without them the header must have filename + post_caption or filename +
  caption (case-insensitive).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postpilot import paths
from postpilot.accounts_file import AccountsFile, read_accounts_file
from postpilot.accounts_file import read_text as _read_text
from postpilot.campaign_json import (
    DISTRIBUTIONS,
    CampaignValues,
    CaptionsValues,
    load_campaign_file,
)
from postpilot.captions import (
    ACCOUNT_COLUMN,
    CAPTION_HEADERS,
    MAX_FIELD,
    PUBLISH_AT_COLUMN,
    CaptionRow,
    CaptionsFile,
    _csv_error,
    _detect_columns,
    _records,
    _strict_record,
    load_captions,
    read_captions_header,
)
from postpilot.errors import CampaignNotFound, ConfigError
from postpilot.schedule import Schedule, build_schedule
from postpilot.video_match import (
    _HASH_CHUNK,
    VIDEO_SUFFIXES,
    MatchedVideo,
    MatchReport,
    _Found,
    _unsafe_reason,
    _walk_videos,
    compute_sha256,
    list_videos,
    match_videos,
)

#: Kept importable from here: accounts.txt is read in accounts_file.py, campaign.json in
#: campaign_json.py, captions.csv in captions.py, the videos and their matching in
#: video_match.py.
__all__ = [
    "ACCOUNT_COLUMN",
    "CAPTION_HEADERS",
    "DISTRIBUTIONS",
    "MAX_FIELD",
    "PUBLISH_AT_COLUMN",
    "VIDEO_SUFFIXES",
    "_HASH_CHUNK",
    "AccountsFile",
    "CampaignConfig",
    "CampaignValues",
    "CaptionRow",
    "CaptionsFile",
    "CaptionsValues",
    "MatchReport",
    "MatchedVideo",
    "_Found",
    "_csv_error",
    "_detect_columns",
    "_read_text",
    "_records",
    "_strict_record",
    "_unsafe_reason",
    "_walk_videos",
    "compute_sha256",
    "list_videos",
    "load_campaign_file",
    "load_captions",
    "match_videos",
    "read_accounts_file",
    "read_captions_header",
    "scan_campaigns",
]


# -- the campaign ------------------------------------------------------------------------------
def _shown(path: Path, project_root: Path) -> str:
    """A path as messages show it: relative to the project root when inside it."""
    try:
        return path.relative_to(project_root).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True, slots=True)
class CampaignConfig:
    """One campaign folder, checked. Paths are absolute strings (PostingContext's types)."""

    name: str
    base_dir: str
    project_root: str
    progress_file: str
    accounts_file: str
    state_file: str
    captions_file: str
    videos_dir: str
    enabled: bool = True
    max_posts_per_account_per_day: int = paths.MAX_POSTS_PER_ACCOUNT_PER_DAY
    timezone: str = paths.TIMEZONE
    max_attempts: int = paths.MAX_ATTEMPTS
    #: Configured caption columns; None: detected from the header.
    filename_column: str | None = None
    caption_column: str | None = None
    publisher: Mapping[str, Any] = field(default_factory=lambda: {"type": "outbox"})
    store: str | None = None
    distribution: str = "once"
    schedule: Schedule | None = None

    @classmethod
    def from_folder(
        cls, path: str | Path, project_root: str | Path | None = None
    ) -> CampaignConfig:
        """Load and check a campaign folder; ConfigError says what is missing and how to fix it.

        `project_root` (for the ledger and messages) defaults to POSTPILOT_HOME / the current
        directory."""
        root = Path(project_root).resolve() if project_root else paths.project_root()
        base = Path(path)
        base = (base if base.is_absolute() else Path.cwd() / base).resolve()
        if not base.is_dir():
            raise CampaignNotFound(f"Campaign folder not found: {base}")
        config_path = base / paths.CAMPAIGN_JSON
        model = (
            load_campaign_file(config_path, _shown(config_path, root))
            if config_path.exists()
            else CampaignValues()
        )
        name = model.name or base.name
        captions_cfg = model.captions or CaptionsValues()

        accounts_file = base / paths.ACCOUNTS_FILE
        if not accounts_file.is_file():
            raise ConfigError(
                f"Campaign '{name}' missing accounts.txt\n"
                f"  Expected: {accounts_file}\n"
                f"  Create this file with one account name per line"
            )
        captions_file = base / (captions_cfg.file or paths.CAPTIONS_FILE)
        if not captions_file.is_file():
            raise ConfigError(
                f"Campaign '{name}' missing {captions_file.name}\n"
                f"  Expected: {captions_file}\n"
                f"  Create this file with filename,post_caption columns"
            )
        videos_dir = base / (model.videos_dir or paths.VIDEOS_DIR)
        if not videos_dir.is_dir():
            holding = [
                d.name
                for d in sorted(base.iterdir())
                if d.is_dir() and not d.name.startswith(".") and list_videos(d)
            ]
            hint = (
                f'\n  {holding[0]}/ holds videos: set "videos_dir": "{holding[0]}" in '
                f"{paths.CAMPAIGN_JSON} (postpilot --migrate does this for prior campaigns)"
                if holding and model.videos_dir is None
                else ""
            )
            raise ConfigError(
                f"Campaign '{name}' missing videos folder\n"
                f"  Expected: {videos_dir}\n"
                f"  Create this folder and put the .mp4/.mov files in it (subfolders allowed)"
                f"{hint}"
            )
        # The header is checked now so --list-campaigns can show a bad file as invalid.
        read_captions_header(
            captions_file, captions_cfg.filename_column, captions_cfg.caption_column
        )
        return cls(
            name=name,
            base_dir=str(base),
            project_root=str(root),
            progress_file=str(base / paths.CAMPAIGN_PROGRESS_FILE),
            accounts_file=str(accounts_file),
            state_file=str(base / paths.STATE_FILE),
            captions_file=str(captions_file),
            videos_dir=str(videos_dir),
            enabled=model.enabled,
            max_posts_per_account_per_day=model.max_posts_per_account_per_day,
            timezone=model.timezone,
            max_attempts=model.max_attempts,
            filename_column=captions_cfg.filename_column,
            caption_column=captions_cfg.caption_column,
            publisher=model.publisher if model.publisher is not None else {"type": "outbox"},
            store=model.store,
            distribution=model.distribution,
            schedule=(
                build_schedule(
                    model.schedule.times,
                    model.schedule.days,
                    model.schedule.start,
                    model.schedule.end,
                )
                if model.schedule is not None
                else None
            ),
        )

    @classmethod
    def scan_campaigns(
        cls, project_root: str | Path | None = None
    ) -> tuple[list[CampaignConfig], list[tuple[str, str]]]:
        """Every folder under campaigns/: the valid campaigns (by name) and (folder, error) for
        the invalid ones, so a listing can show them instead of skipping them silently."""
        root = Path(project_root).resolve() if project_root else paths.project_root()
        campaigns_dir = root / paths.CAMPAIGNS_DIR
        valid: list[CampaignConfig] = []
        invalid: list[tuple[str, str]] = []
        by_name: dict[str, CampaignConfig] = {}
        if not campaigns_dir.is_dir():
            return valid, invalid
        for folder in sorted(campaigns_dir.iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            try:
                campaign = cls.from_folder(folder, root)
            except ConfigError as exc:
                invalid.append((folder.name, str(exc)))
                continue
            if campaign.name in by_name:
                # Same name = same job ids and ledger rows: one of them must be renamed.
                invalid.append(
                    (
                        folder.name,
                        f"Campaign name '{campaign.name}' is already used by folder "
                        f"{Path(by_name[campaign.name].base_dir).name}\n"
                        f'  Set a different "name" in {folder / paths.CAMPAIGN_JSON}',
                    )
                )
                continue
            by_name[campaign.name] = campaign
            valid.append(campaign)
        valid.sort(key=lambda c: c.name)
        return valid, invalid

    @classmethod
    def list_campaigns(cls, project_root: str | Path | None = None) -> list[CampaignConfig]:
        """The valid campaigns under campaigns/, sorted by name."""
        return cls.scan_campaigns(project_root)[0]

    # -- reading the folder's contents ---------------------------------------------------------
    def read_accounts(self) -> AccountsFile:
        """accounts.txt with its duplicates."""
        if not Path(self.accounts_file).is_file():
            raise ConfigError(
                f"Campaign '{self.name}' missing accounts.txt\n"
                f"  Expected: {self.accounts_file}\n"
                f"  Create this file with one account name per line"
            )
        return read_accounts_file(Path(self.accounts_file))

    def get_accounts(self) -> list[str]:
        """Account names in file order (possibly empty; PostingContext.get_accounts refuses
        an empty list)."""
        return self.read_accounts().accounts

    def load_captions(self) -> CaptionsFile:
        """The captions file, parsed."""
        return load_captions(Path(self.captions_file), self.filename_column, self.caption_column)

    def match_videos(self) -> MatchReport:
        """Videos paired with captions, with everything that did not pair."""
        return match_videos(self.load_captions(), Path(self.videos_dir))


def scan_campaigns(
    project_root: str | Path | None = None,
) -> tuple[list[CampaignConfig], list[tuple[str, str]]]:
    """Module-level form of CampaignConfig.scan_campaigns."""
    return CampaignConfig.scan_campaigns(project_root)
