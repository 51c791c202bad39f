"""The legacy scheduler's scheduler_state.json, as seeding reads it: the jobs it still has to
post (pending, retrying), why each other job is not seeded, and where its video paths are on
this machine. Split from seeding.py, which plans and inserts the jobs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from postpilot.errors import ConfigError

#: Statuses of scheduler_state.json jobs that are imported (the others are done or running).
LEGACY_IMPORTED_STATUSES = frozenset({"pending", "retrying"})


@dataclass(frozen=True, slots=True)
class StateJob:
    """The part of a legacy scheduler job that seeding uses."""

    id: str
    video_path: str
    caption: str
    status: str
    #: The scheduler's own assignment; ignored (accounts come from accounts.txt / --accounts).
    account: str = ""
    #: Retry history, kept on the seeded job.
    attempts: int = 0
    last_error: str = ""


#: Why a state job of another status is not seeded (reported, never dropped silently).
LEGACY_NOT_SEEDED = {
    "success": "already posted according to the state file (success)",
    "in_progress": (
        "in_progress in the state file: it may have been posted; --migrate imports it as "
        "unconfirmed"
    ),
    "failed": "failed in the state file (the legacy scheduler gave up on it)",
}


def load_scheduler_state(path: Path, others: list[tuple[str, str]] | None = None) -> list[StateJob]:
    """The pending and retrying jobs of a scheduler_state.json, in file order; the other
    jobs go to `others` as (id, why not seeded) when given.

    Accepts both known variants (`saved_at` and `last_saved`, extra keys anywhere); ConfigError
    naming the file on invalid JSON, a missing `jobs` list or a job without id/video_path."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            f"Legacy state file not found: {path}\n"
            "  Give the legacy scheduler's file with --state-file, or use --campaign NAME"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
        raise ConfigError(f'{path}: expected a JSON object with a "jobs" list')
    jobs: list[StateJob] = []
    for index, raw in enumerate(data["jobs"]):
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: jobs[{index}] must be an object")
        status = raw.get("status", "")
        if status not in LEGACY_IMPORTED_STATUSES:
            if others is not None:
                why = LEGACY_NOT_SEEDED.get(str(status), f"status {status!r} in the state file")
                others.append((str(raw.get("id", f"jobs[{index}]")), why))
            continue
        job_id, video_path = raw.get("id"), raw.get("video_path")
        caption, account = raw.get("caption", ""), raw.get("account", "")
        if not isinstance(job_id, str) or not job_id.strip():
            raise ConfigError(f"{path}: jobs[{index}] key 'id' must be a non-empty string")
        if not isinstance(video_path, str) or not video_path.strip():
            raise ConfigError(f"{path}: jobs[{index}] key 'video_path' must be a non-empty string")
        if not isinstance(caption, str):
            raise ConfigError(f"{path}: jobs[{index}] key 'caption' must be a string")
        jobs.append(
            StateJob(
                id=job_id.strip(),
                video_path=video_path.strip(),
                caption=caption.strip(),
                status=status,
                account=account if isinstance(account, str) else "",
                attempts=_count(raw.get("attempts")),
                last_error=str(raw.get("last_error") or ""),
            )
        )
    return jobs


def _count(value: object) -> int:
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0


def legacy_video_path(video_path: str, project_root: Path) -> Path:
    """A state file's video path on this machine: backslashes become slashes, relative paths are
    relative to the project root. Windows absolute paths stay as given (they will not exist)."""
    if PureWindowsPath(video_path).drive:
        return Path(video_path)
    path = Path(video_path.replace("\\", "/"))
    return path if path.is_absolute() else project_root / path
