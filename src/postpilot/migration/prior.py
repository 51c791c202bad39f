"""The prior system's project layout: where its campaign folders, progress CSVs, posted ledger
and scheduler state live, found by name (never by directory-listing order).

Also two guards the rest of postpilot uses:
- `resolve_state_file`: legacy mode reads `scheduler_state.json`, or the prior parallel
  system's `scheduler_state_parallel.json` when only that one exists;
- `unimported_progress`: prior progress CSVs in a campaign folder (or a legacy root) that
  were never imported, so that seeding refuses instead of re-posting their history. Imports
  are remembered by content hash in `.postpilot/imported_progress.json`: a file changed
  after its import counts as not imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from postpilot import clock
from postpilot.config import Config, PostingContext
from postpilot.errors import PostpilotError

#: The prior system's names (docs/migrating.md has the whole table).
PRIOR_STATE_FILES = ("scheduler_state.json", "scheduler_state_parallel.json")
PRIOR_LEDGER_FILE = "all_posted_videos.txt"
CAMPAIGN_PROGRESS = "progress.csv"
LEGACY_PROGRESS = "parallel_progress.csv"
REGISTRY_FILE = "imported_progress.json"

_DATE_IN_NAME = re.compile(r"(20\d{6})(?:_(\d+))?")
#: CSV files of a prior campaign folder that are never its captions.
_NOT_CAPTIONS = re.compile(r"^(progress|parallel_progress|follow_progress|tmp)", re.IGNORECASE)


def resolve_state_file(root: Path) -> Path:
    """Legacy mode's scheduler state file: scheduler_state.json, else the prior parallel
    system's scheduler_state_parallel.json when only that one exists."""
    for name in PRIOR_STATE_FILES:
        if (root / name).is_file():
            return root / name
    return root / Config.STATE_FILE


# -- progress files ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ProgressFile:
    """A prior progress CSV and how new its contents are relative to its siblings."""

    path: Path
    #: Sort key: (is the current file, date in the name or modification time, _n suffix).
    rank: tuple[int, str, int]
    #: When a row without its own timestamp was last known in this state: the end of the
    #: day in the name (archives), the modification time otherwise; None = the newest file.
    as_of: datetime | None


def progress_files(folder: Path, current: str, timezone: str) -> list[ProgressFile]:
    """The prior progress CSVs directly in `folder` (`progress*.csv` for a campaign,
    `parallel_progress*.csv` for the legacy root), oldest first."""
    stem = current.removesuffix(".csv")
    found: list[ProgressFile] = []
    tz = ZoneInfo(timezone)
    for path in sorted(folder.glob(f"{stem}*.csv")):
        if not path.is_file():
            continue
        if path.name == current:
            found.append(ProgressFile(path, (1, "", 0), None))
            continue
        match = _DATE_IN_NAME.search(path.name.removeprefix(stem))
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if match:
            day = datetime.strptime(match.group(1), "%Y%m%d").date()
            end = datetime.combine(day + timedelta(days=1), time.min, tz) - timedelta(
                microseconds=1
            )
            found.append(ProgressFile(path, (0, day.isoformat(), int(match.group(2) or 0)), end))
        else:
            found.append(ProgressFile(path, (0, mtime.date().isoformat(), 0), mtime))
    found.sort(key=lambda f: (f.rank, f.path.name))
    return found


# -- the registry of imported files ----------------------------------------------------------------
def file_sha256(path: Path) -> str:
    """The content hash that identifies an imported file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _registry_path(project_root: Path) -> Path:
    return project_root / Config.STATE_DIR / REGISTRY_FILE


def imported_hashes(project_root: Path) -> set[str]:
    """Content hashes of every prior progress file imported into this project."""
    path = _registry_path(project_root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return set()
    files = data.get("files", {}) if isinstance(data, dict) else {}
    return {str(v.get("sha256")) for v in files.values() if isinstance(v, dict)}


def record_imported(project_root: Path, paths: list[Path]) -> None:
    """Remember these files as imported (atomic rewrite of the registry)."""
    if not paths:
        return
    path = _registry_path(project_root)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        data = {}
    files = data.setdefault("files", {})
    now = clock.now().isoformat()
    for item in paths:
        files[str(item.resolve())] = {"sha256": file_sha256(item), "imported_at": now}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def unimported_progress(folder: Path, legacy: bool, project_root: Path) -> list[Path]:
    """Prior progress CSVs in `folder` whose current content was never imported."""
    current = LEGACY_PROGRESS if legacy else CAMPAIGN_PROGRESS
    files = [f.path for f in progress_files(folder, current, "UTC")]
    if not files:
        return []
    done = imported_hashes(project_root)
    return [path for path in files if file_sha256(path) not in done]


class PriorProgressNotImported(PostpilotError):
    """Seeding refused: the folder holds prior progress that was never imported."""


def check_prior_progress(ctx: PostingContext) -> None:
    """Refuse seeding while the campaign folder (or legacy root) holds prior progress CSVs
    never imported: seeding would ignore their history and post those videos again."""
    if ctx.ignore_prior_progress:
        return
    legacy = ctx.campaign_config is None
    folder = ctx.base_dir
    left = unimported_progress(folder, legacy, Path(ctx.project_root))
    if not left:
        return
    names = ", ".join(p.name for p in left[:10]) + (
        f" and {len(left) - 10} more" if len(left) > 10 else ""
    )
    root = folder.parent.parent if not legacy else folder
    raise PriorProgressNotImported(
        f"Not seeding {ctx.describe()}: {folder} holds {len(left)} prior progress file(s) that "
        f"were never imported: {names}\n"
        "  Seeding now would ignore what they record as posted. Import them first, from a new "
        f"project folder: postpilot --migrate {root}\n"
        "  (or one file at a time: --import-progress FILE), or seed anyway with "
        "--ignore-prior-progress"
    )


# -- campaign folders ------------------------------------------------------------------------------
@dataclass
class PriorCampaign:
    """One prior campaign folder, as the prior system would have read it."""

    folder: Path
    accounts_file: Path | None = None
    captions_file: Path | None = None
    videos_dir: Path | None = None
    #: campaign.json as written (None: absent).
    settings: dict[str, Any] | None = None
    #: Why the folder cannot be migrated ("" when it can).
    refused: str = ""
    notes: list[str] = field(default_factory=list)


def _has_video(folder: Path) -> bool:
    for _base, _dirs, files in os.walk(folder):
        if any(Path(name).suffix.lower() in {".mp4", ".mov"} for name in files):
            return True
    return False


def read_prior_campaign(folder: Path) -> PriorCampaign:
    """Find the accounts, captions, videos folder and campaign.json of a prior campaign."""
    found = PriorCampaign(folder=folder)
    accounts = folder / "accounts.txt"
    if not accounts.is_file():
        found.refused = "no accounts.txt (the prior system refused it too)"
        return found
    found.accounts_file = accounts
    settings_path = folder / Config.CAMPAIGN_JSON
    if settings_path.is_file():
        try:
            raw = json.loads(settings_path.read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            found.refused = f"{Config.CAMPAIGN_JSON} is not valid JSON: {exc}"
            return found
        if not isinstance(raw, dict):
            found.refused = f"{Config.CAMPAIGN_JSON} must hold a JSON object"
            return found
        found.settings = raw
    captions = [
        p
        for p in sorted(folder.glob("*.csv"))
        if p.is_file() and not _NOT_CAPTIONS.match(p.name) and "progress" not in p.name
    ]
    preferred = folder / Config.CAPTIONS_FILE
    if preferred in captions:
        found.captions_file = preferred
    elif captions:
        found.captions_file = captions[0]
        found.notes.append(f"captions file: {captions[0].name} (copied as captions.csv)")
    else:
        found.refused = "no captions CSV (a *.csv that is not a progress file)"
        return found
    if len(captions) > 1:
        others = ", ".join(p.name for p in captions if p != found.captions_file)
        found.notes.append(f"other CSV files not used as captions: {others}")
    subdirs = [d for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    with_videos = [d for d in subdirs if d.name not in {"archive", "logs"} and _has_video(d)]
    if (folder / Config.VIDEOS_DIR) in with_videos:
        found.videos_dir = folder / Config.VIDEOS_DIR
    elif with_videos:
        found.videos_dir = with_videos[0]
    else:
        found.refused = "no sub-folder holds a .mp4 video"
        return found
    if len(with_videos) > 1:
        others = ", ".join(d.name for d in with_videos if d != found.videos_dir)
        found.notes.append(f"videos_dir: {found.videos_dir.name}; also holding videos: {others}")
    return found
