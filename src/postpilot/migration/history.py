"""Prior history into jobs and ledger entries: newest row per job id, paths that resolve on
this machine, and every imported success as a post the ledger remembers.

Rules (docs/migrating.md explains them to the operator):
- per job id the newest row wins: by its completed/claimed time; a row without one is as new
  as its file (an archive's name day, else its modification time; the current file is the
  newest); equal times go to the newer file. Older rows are "superseded", still accounted;
- every success row (winner or not) becomes a HistoricPost: the video's sha256 when its file
  resolves, and always its file name key, on the local day it was completed;
- a pending/retrying/failed winner is imported only when its video resolves and its
  (account, video) pair is not already posted; `skipped` and unassigned rows are left to
  seeding, which plans them like new videos.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PureWindowsPath
from typing import Any
from zoneinfo import ZoneInfo

from postpilot import clock
from postpilot.campaign import compute_sha256
from postpilot.jobs import IMPORTED_FROM, Job, JobStatus, local_day
from postpilot.store.base import HistoricPost, name_key
from postpilot.video_paths import to_stored

_NEWEST = datetime.max.replace(tzinfo=UTC)
_HASHES: dict[tuple[Path, int, int], str] = {}


def _sha256(path: Path) -> str:
    """A video's content hash, read once while the file is unchanged (many rows of many
    files name the same video)."""
    info = path.stat()
    key = (path, info.st_mtime_ns, info.st_size)
    if key not in _HASHES:
        _HASHES[key] = compute_sha256(path)
    return _HASHES[key]


def video_name(raw: str) -> str:
    """The file name of a prior video path (Windows or POSIX separators)."""
    return PureWindowsPath(raw.strip()).name


# -- paths ------------------------------------------------------------------------------------
class PathResolver:
    """Finds a prior video path on this machine: --path-map prefixes first, then the path
    itself (relative ones against `bases`), then by relative sub-path or file name under
    `videos_dir`."""

    def __init__(
        self,
        videos_dir: Path | None,
        bases: Sequence[Path],
        path_map: Sequence[tuple[str, str]],
        *,
        store_relative_to: Path | None = None,
    ) -> None:
        self.bases = list(bases)
        #: The migrated campaign's videos folder: jobs store their paths relative to it.
        self.store_relative_to = store_relative_to
        self.path_map = [(old.replace("\\", "/").rstrip("/"), new) for old, new in path_map]
        self.by_name: dict[str, list[tuple[str, Path]]] = defaultdict(list)
        if videos_dir is not None and videos_dir.is_dir():
            for folder, dirs, files in os.walk(videos_dir):
                dirs.sort()
                for name in sorted(files):
                    full = Path(folder) / name
                    rel = full.relative_to(videos_dir).as_posix()
                    self.by_name[name].append((rel, full))

    def stored(self, path: Path) -> str:
        """What a migrated job stores for a resolved video (postpilot.video_paths)."""
        base = self.store_relative_to
        return to_stored(str(path), str(base) if base is not None else None)

    def resolve(self, raw: str) -> tuple[Path | None, str]:
        """(the file, "") or (None, why not)."""
        text = raw.strip()
        if not text:
            return None, "empty video_path"
        norm = text.replace("\\", "/")
        for old, new in self.path_map:
            if norm.lower() == old.lower() or norm.lower().startswith(old.lower() + "/"):
                candidate = Path(new + norm[len(old) :])
                if candidate.is_file():
                    return candidate, ""
        windows = bool(PureWindowsPath(text).drive)
        plain = Path(norm)
        if not windows and plain.is_absolute() and plain.is_file():
            return plain, ""
        if not windows and not plain.is_absolute():
            for base in self.bases:
                if (base / plain).is_file():
                    return base / plain, ""
        parts = [p for p in norm.split("/") if p]
        found = self.by_name.get(parts[-1], []) if parts else []
        if len(found) == 1:
            return found[0][1], ""
        if found:
            # Several files of that name: the one sharing the longest tail of folders wins.
            def tail(rel: str) -> int:
                n = 0
                for a, b in zip(reversed(rel.split("/")), reversed(parts), strict=False):
                    if a != b:
                        break
                    n += 1
                return n

            scored = sorted(((tail(rel), full) for rel, full in found), key=lambda t: -t[0])
            if scored[0][0] > scored[1][0]:
                return scored[0][1], ""
            return None, f"{len(found)} files named {parts[-1]}; give --path-map OLD=NEW"
        return None, "video not found (give --path-map OLD=NEW, or put it in the videos folder)"


# -- rows -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Row:
    """One prior record of a job: where it came from and how new it is."""

    job: Job
    source: str
    line: int
    #: (effective time, file rank, line) — larger is newer.
    order: tuple[datetime, tuple[int, str, int], int]

    @property
    def at(self) -> str:
        """`line N` (or `jobs[N]` for the state file)."""
        return f"jobs[{self.line}]" if self.source.endswith(".json") else f"line {self.line}"

    @property
    def where(self) -> str:
        """`file line N` (or `file jobs[N]` for the state file)."""
        if self.source.endswith(".json"):
            return f"{self.source} jobs[{self.line}]"
        return f"{self.source} line {self.line}"


def make_row(
    job: Job, source: str, line: int, as_of: datetime | None, rank: tuple[int, str, int]
) -> Row:
    """A row with its newness: its own latest time, else its file's."""
    times = [t for t in (job.completed_at, job.claimed_at) if t is not None]
    when = max(times) if times else (as_of or _NEWEST)
    return Row(job=job, source=source, line=line, order=(when, rank, line))


@dataclass
class FileReport:
    """What happened to every row of one prior file."""

    path: str
    rows: int = 0
    imported: int = 0
    superseded: int = 0
    left_to_seeding: int = 0
    not_imported: int = 0
    posts: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    #: One line per row that was not imported, changed, or superseded, with its line.
    details: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return dataclasses.asdict(self)


@dataclass
class StorePlan:
    """What one job store (a campaign, or legacy mode) receives."""

    store: str
    timezone: str
    jobs: list[Job] = field(default_factory=list)
    posts: list[HistoricPost] = field(default_factory=list)
    #: (account, video file name) pairs the history shows as posted.
    posted_pairs: set[tuple[str, str]] = field(default_factory=set)
    files: dict[str, FileReport] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)


def _post_entries(row: Row, store: str, timezone: str, resolved: Path | None) -> list[HistoricPost]:
    job = row.job
    when = job.completed_at or job.claimed_at
    day = local_day(when, timezone) if when is not None else ""
    source = f"{job.job_id}|{job.account}|{day}"
    moment = when or clock.now()
    posts = [
        HistoricPost(job.account, name_key(video_name(job.video_path)), store, source, day, moment)
    ]
    if resolved is not None:
        sha = _sha256(resolved)
        posts.append(HistoricPost(job.account, sha, store, source, day, moment, counts_day=False))
    return posts


def merge_rows(
    plan: StorePlan, rows: Iterable[Row], resolver: PathResolver, known_posts: set[tuple[str, str]]
) -> None:
    """Pick the newest row per job id and fill `plan` (jobs, posts, per-file reports).

    `known_posts` are (account, file name) pairs posted according to other sources (the
    ledger file); pairs found here are added to plan.posted_pairs."""
    by_id: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_id[row.job.job_id].append(row)
    resolved_cache: dict[str, tuple[Path | None, str]] = {}

    def resolve(raw: str) -> tuple[Path | None, str]:
        if raw not in resolved_cache:
            resolved_cache[raw] = resolver.resolve(raw)
        return resolved_cache[raw]

    # Every success first, so the pairs protect winners of other job ids too.
    for group in by_id.values():
        for row in group:
            job = row.job
            if job.status is JobStatus.SUCCESS and job.account:
                path, _ = resolve(job.video_path)
                plan.posts += _post_entries(row, plan.store, plan.timezone, path)
                plan.posted_pairs.add((job.account, video_name(job.video_path)))
                plan.files[row.source].posts += 1
    posted = plan.posted_pairs | known_posts
    for job_id in sorted(by_id, key=lambda i: min(r.order for r in by_id[i])):
        group = sorted(by_id[job_id], key=lambda r: r.order)
        winner = group[-1]
        for older in group[:-1]:
            report = plan.files[older.source]
            report.superseded += 1
            report.details.append(
                f"{older.at}: job {job_id} {older.job.status}: superseded by "
                f"{winner.job.status} in {winner.where}"
            )
        _place(plan, winner, resolve, posted, resolver.stored)


def _place(
    plan: StorePlan,
    row: Row,
    resolve: Any,
    posted: set[tuple[str, str]],
    stored: Callable[[Path], str] = str,
) -> None:
    job, report = row.job, plan.files[row.source]
    status = job.status
    where = row.at
    if status is JobStatus.SKIPPED or (not job.account and status is not JobStatus.SUCCESS):
        why = "skipped" if status is JobStatus.SKIPPED else "has no account"
        report.left_to_seeding += 1
        report.details.append(f"{where}: job {job.job_id} {why}: seeded like a new video")
        return
    path, why = resolve(job.video_path)
    if path is None:
        plan.unresolved.append(f"{row.where}: {job.video_path}: {why}")
    if status in (JobStatus.SUCCESS, JobStatus.UNCONFIRMED):
        updates: dict[str, Any] = {}
        if path is not None:
            updates = {"video_path": stored(path), "content_sha256": _sha256(path)}
        if status is JobStatus.UNCONFIRMED:
            updates["checkpoint"] = {IMPORTED_FROM: row.where}
        plan.jobs.append(dataclasses.replace(job, seq=0, **updates))
        report.imported += 1
        if path is None:
            report.details.append(f"{where}: job {job.job_id}: {why} (kept as history)")
        return
    if (job.account, video_name(job.video_path)) in posted:
        report.not_imported += 1
        report.details.append(
            f"{where}: job {job.job_id} {status}: {job.account} already posted this video; "
            "not imported"
        )
        return
    if path is None:
        report.not_imported += 1
        report.details.append(f"{where}: job {job.job_id} {status}: {why}; not imported")
        return
    plan.jobs.append(
        dataclasses.replace(job, seq=0, video_path=stored(path), content_sha256=_sha256(path))
    )
    report.imported += 1


# -- the posted ledger file -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One `account|video|timestamp` line of all_posted_videos.txt."""

    line: int
    account: str
    video: str
    #: None for the literal `rebuilt` (or an unreadable time): no known day.
    when: datetime | None


def read_ledger_file(path: Path, timezone: str) -> tuple[list[LedgerEntry], list[str], int]:
    """(entries, problems with line numbers, comment/blank lines) of the prior ledger."""
    entries: list[LedgerEntry] = []
    problems: list[str] = []
    skipped = 0
    zone = ZoneInfo(timezone)
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            skipped += 1
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not parts[0] or not parts[1]:
            problems.append(f"line {number}: expected account|video|timestamp; not imported")
            continue
        account, video, stamp = parts
        when: datetime | None = None
        if stamp and stamp.lower() != "rebuilt":
            try:
                parsed = datetime.fromisoformat(stamp)
                when = parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
            except ValueError:
                problems.append(f"line {number}: timestamp {stamp[:40]!r} unreadable; no day")
        entries.append(LedgerEntry(number, account, video_name(video), when))
    return entries, problems, skipped


def ledger_posts(
    entries: Iterable[LedgerEntry],
    already: set[tuple[str, str]],
    timezone: str,
    source: str,
) -> tuple[list[HistoricPost], FileReport]:
    """HistoricPosts for ledger lines no progress CSV already accounts for."""
    report = FileReport(path=source)
    posts: list[HistoricPost] = []
    for entry in entries:
        report.rows += 1
        if (entry.account, entry.video) in already:
            report.superseded += 1
            continue
        day = local_day(entry.when, timezone) if entry.when is not None else ""
        moment = entry.when or clock.now()
        key = f"{entry.account}|{entry.video}"
        posts.append(HistoricPost(entry.account, name_key(entry.video), source, key, day, moment))
        already.add((entry.account, entry.video))
        report.imported += 1
        report.posts += 1
    return posts, report


def load_state_json(path: Path) -> dict[str, Any]:
    """The whole scheduler state file (both variants) as JSON."""
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
        raise ValueError('expected a JSON object with a "jobs" list')
    return data


def parse_time(value: Any, timezone: str) -> datetime | None:
    """A prior ISO timestamp; naive ones are local time in `timezone`. None if absent/bad."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(timezone))
