"""File and folder names of a project, and the defaults of a campaign: a leaf module.

Everything that needs a path name imports it from here (config.Config re-exposes the same
names for older callers), so campaign.py, the outbox and config.py no longer import each other
for a constant. This module imports nothing of postpilot at module level (tests/unit/
test_import_graph.py checks it); the environment is read on use.
"""

from __future__ import annotations

import os
from pathlib import Path

CAMPAIGNS_DIR = "campaigns"
ACCOUNTS_FILE = "accounts.txt"
STATE_FILE = "scheduler_state.json"
#: Legacy mode's job store at the project root (the prior system's parallel_progress.csv).
PROGRESS_FILE = "parallel_progress.db"
CAMPAIGN_PROGRESS_FILE = "progress.db"
CAPTIONS_FILE = "captions.csv"
VIDEOS_DIR = "videos"
CAMPAIGN_JSON = "campaign.json"
PROJECT_JSON = "postpilot.json"
STATE_DIR = ".postpilot"
LEDGER_FILE = "ledger.db"
OUTBOX_DIR = "outbox"
ARCHIVE_DIR = "archive"
LOGS_DIR = "logs"
CREDENTIALS_FILE = "credentials.json"
LEGACY_CAMPAIGN_NAME = "legacy"

MAX_POSTS_PER_ACCOUNT_PER_DAY = 1
MAX_ATTEMPTS = 3
TIMEZONE = "UTC"


def project_root() -> Path:
    """POSTPILOT_HOME, else the current directory, as an absolute path."""
    # Imported on use: --help imports no pydantic (postpilot.settings is a pydantic model).
    from postpilot import settings

    home = settings.load().home
    return (home.expanduser() if home else Path(os.getcwd())).resolve()


def root_for_campaign(folder: Path) -> Path | None:
    """The project a campaign folder belongs to: `<root>` when the folder is
    `<root>/campaigns/<name>`, else None (then POSTPILOT_HOME or the current directory)."""
    resolved = folder.resolve()
    if resolved.parent.name == CAMPAIGNS_DIR:
        return resolved.parent.parent
    return None


def ledger_path(root: Path) -> Path:
    """The project ledger shared by every campaign of the project."""
    return root / STATE_DIR / LEDGER_FILE
