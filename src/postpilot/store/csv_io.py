"""The prior system's 17-column progress CSV: export, import, and reset-day archive names.

The CSV is no longer the job store (rewriting it per change was slow and lost updates between
processes); it stays as the format people
open in a spreadsheet and as the reset-day archive. Export writes atomically (a temp file in the
same folder, fsync, os.replace) with the csv module's default dialect, so multi-line captions and
errors are quoted and survive a round trip. Lease tokens, lease expiry and publisher checkpoints
are never exported: they are live coordination data, and a checkpoint may hold a session URL.

Import accepts the schema drift seen in real archives (13 to 17 known columns, extra columns such
as `platform`) and refuses to guess on corrupt rows (fields shifted by badly quoted multi-line
text, unknown statuses): such rows are reported with their line number and not imported.
Rows the prior system left mid-publish (`claimed`, `in_progress`, `verification_pending`) may
have been posted, so they come in as `unconfirmed` with a reason naming the file and line: they
hold their account until --confirm settles them (no postpilot publisher made that publish, so
none reconciles it); they are never published again blindly.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from postpilot.errors import ConfigError
from postpilot.jobs import (
    DEFAULT_MAX_ATTEMPTS,
    IMPORTED_FROM,
    MAX_ERROR_LENGTH,
    ErrorCategory,
    Job,
    JobStatus,
)
from postpilot.video_paths import for_export, to_stored

#: The prior ProgressTracker.COLUMNS, in order.
COLUMNS: tuple[str, ...] = (
    "job_id",
    "account",
    "video_path",
    "caption",
    "status",
    "worker_id",
    "claimed_at",
    "completed_at",
    "error",
    "attempts",
    "max_attempts",
    "retry_at",
    "error_type",
    "error_category",
    "pass_number",
    "run_id",
    "video_id",
)

#: Columns a file must have to be a progress CSV at all.
REQUIRED_COLUMNS: tuple[str, ...] = ("job_id", "account", "video_path", "caption", "status")

_TIME_COLUMNS = ("claimed_at", "completed_at", "retry_at")

#: The prior system's statuses of a job it may have been publishing when it stopped.
IN_FLIGHT_STATUSES = frozenset({"claimed", "in_progress", "verification_pending"})


def _fmt_time(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _row(job: Job, videos_dir: str | None) -> list[str]:
    return [
        job.job_id,
        job.account,
        for_export(job.video_path, videos_dir),
        job.caption,
        str(job.status),
        job.worker_id,
        _fmt_time(job.claimed_at),
        _fmt_time(job.completed_at),
        job.error,
        str(job.attempts),
        str(job.max_attempts),
        _fmt_time(job.retry_at),
        job.error_type,
        job.error_category,
        "" if job.pass_number is None else str(job.pass_number),
        job.run_id,
        job.video_id,
    ]


def export_csv(jobs: Iterable[Job], path: Path, *, videos_dir: str | None = None) -> int:
    """Write `jobs` as a 17-column progress CSV at `path`, atomically. Returns the row count.

    Video paths are written absolute, as the prior files had them: a path stored relative to
    the campaign's `videos_dir` is resolved against it."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            # LF line ends, like the prior system's files (csv's default is CRLF).
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS)
            for job in jobs:
                writer.writerow(_row(job, videos_dir))
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return count


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The importable jobs of a progress CSV, and what was not imported or not understood."""

    jobs: list[Job]
    #: Header columns that are not progress columns (their values are not imported).
    unknown_columns: list[str] = field(default_factory=list)
    #: One line per row not imported or changed on the way in, with its line number.
    warnings: list[str] = field(default_factory=list)
    #: The first line number of each job's row (parallel to `jobs`).
    lines: list[int] = field(default_factory=list)


class _BadRow(ValueError):
    """A field that cannot be what its column says (the row is corrupt)."""


def _parse_time(column: str, text: str, tz: tzinfo = UTC) -> datetime | None:
    if not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _BadRow(f"{column} {text[:40]!r} is not an ISO timestamp") from None
    # The prior system wrote naive local time: read it in the campaign's timezone
    # (docs/migrating.md).
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _parse_int(column: str, text: str, default: int | None) -> int | None:
    if not text.strip():
        return default
    try:
        return int(text.strip())
    except ValueError:
        raise _BadRow(f"{column} {text[:40]!r} is not a whole number") from None


def import_csv(
    path: Path, campaign: str, *, timezone: str = "UTC", videos_dir: str | None = None
) -> ImportResult:
    """Read a prior progress CSV into jobs of `campaign` (nothing is written anywhere).

    A video path below the campaign's `videos_dir` is kept relative to it, like seeded jobs.

    Timestamps without an offset are local time in `timezone` (the campaign's).

    Missing trailing columns take their defaults; rows that were mid-publish (claimed,
    in_progress, verification_pending) come in as `unconfirmed`; a repeated job_id keeps its
    first row."""
    path = Path(path)
    records = _read_records(path)
    if not records:
        raise ConfigError(f"{path} is empty: expected a header with {', '.join(COLUMNS)}")
    _, header = records[0]
    names = [h.strip() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ConfigError(
            f"{path}: not a progress CSV: missing column(s) {', '.join(missing)}; "
            f"columns found: {', '.join(names) or '(none)'}"
        )
    unknown = [n for n in names if n not in COLUMNS]
    index = {name: i for i, name in reversed(list(enumerate(names)))}
    jobs: list[Job] = []
    lines: list[int] = []
    zone = ZoneInfo(timezone)
    warnings: list[str] = []
    seen: set[str] = set()
    statuses = {str(s) for s in JobStatus} | IN_FLIGHT_STATUSES
    for line, record in records[1:]:
        if not record or all(not value.strip() for value in record):
            continue
        if len(record) != len(names):
            warnings.append(
                f"line {line}: {len(record)} fields where the header has {len(names)} "
                "(shifted columns, probably an unquoted multi-line field); not imported"
            )
            continue

        def get(column: str, record: list[str] = record) -> str:
            i = index.get(column)
            return record[i] if i is not None else ""

        job_id = get("job_id").strip()
        status = get("status").strip()
        if not job_id:
            warnings.append(f"line {line}: empty job_id; not imported")
            continue
        if status not in statuses:
            warnings.append(
                f"line {line}: job {job_id} has unknown status {status[:40]!r}; not imported"
            )
            continue
        if job_id in seen:
            warnings.append(f"line {line}: job {job_id} appears again; the first row is kept")
            continue
        try:
            claimed_at, completed_at, retry_at = (
                _parse_time(c, get(c), zone) for c in _TIME_COLUMNS
            )
            attempts = _parse_int("attempts", get("attempts"), 0)
            max_attempts = _parse_int("max_attempts", get("max_attempts"), DEFAULT_MAX_ATTEMPTS)
            pass_number = _parse_int("pass_number", get("pass_number"), None)
        except _BadRow as exc:
            warnings.append(f"line {line}: job {job_id}: {exc}; not imported")
            continue
        error, error_type, error_category = get("error"), get("error_type"), get("error_category")
        if status in IN_FLIGHT_STATUSES:
            warnings.append(
                f"line {line}: job {job_id} was {status} (possibly posted); imported as "
                "unconfirmed: the next --run reconciles it, or settle it with --confirm"
            )
            job_status = JobStatus.UNCONFIRMED
            error = (
                f"imported from {path} line {line} with status {status!r}: the prior system "
                "may have posted it; reconcile or --confirm JOB_ID posted|not-posted settles it"
            )[:MAX_ERROR_LENGTH]
            error_type, error_category = "unconfirmed", str(ErrorCategory.INFRASTRUCTURE)
            # No postpilot publisher made this publish, so none may reconcile it.
            checkpoint = {IMPORTED_FROM: f"{path} line {line}"}
        else:
            job_status, checkpoint = JobStatus(status), {}
        seen.add(job_id)
        lines.append(line)
        jobs.append(
            Job(
                job_id=job_id,
                account=get("account").strip(),
                video_path=to_stored(get("video_path"), videos_dir),
                caption=get("caption"),
                status=job_status,
                worker_id=get("worker_id").strip(),
                claimed_at=claimed_at,
                completed_at=completed_at,
                error=error,
                attempts=attempts or 0,
                max_attempts=max_attempts or DEFAULT_MAX_ATTEMPTS,
                retry_at=retry_at,
                error_type=error_type.strip(),
                error_category=error_category.strip(),
                pass_number=pass_number,
                run_id=get("run_id").strip(),
                video_id=get("video_id").strip(),
                campaign=campaign,
                # 0: the store appends imported jobs after its own, in file order.
                seq=0,
                checkpoint=checkpoint,
            )
        )
    return ImportResult(jobs=jobs, unknown_columns=unknown, warnings=warnings, lines=lines)


def _read_records(path: Path) -> list[tuple[int, list[str]]]:
    """Every CSV record of `path` with the line it starts on; ConfigError when unreadable."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            records: list[tuple[int, list[str]]] = []
            start = 1
            for record in reader:
                records.append((start, record))
                start = reader.line_num + 1  # line_num is the record's last physical line
    except FileNotFoundError:
        raise ConfigError(f"Progress CSV not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    except csv.Error as exc:
        raise ConfigError(f"{path}: not a readable CSV file: {exc}") from None
    return records


def archive_csv_path(archive_dir: Path, day: date | str) -> Path:
    """`progress_YYYYMMDD.csv` in `archive_dir`, or `_1`, `_2`, ... when that day is taken
    (by a CSV or by a db snapshot of the same name)."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    stem = f"progress_{day:%Y%m%d}"
    n = 0
    while True:
        name = stem if n == 0 else f"{stem}_{n}"
        if not any((archive_dir / f"{name}{ext}").exists() for ext in (".csv", ".db")):
            return archive_dir / f"{name}.csv"
        n += 1
