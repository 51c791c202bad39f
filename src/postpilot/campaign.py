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

Choices worth knowing:
- captions keep their text byte for byte (inner newlines, CRLF inside quotes, emoji); only the
  whitespace around the whole caption is stripped, as the prior system did;
- a caption filename that appears twice: the FIRST row wins, later rows are reported;
- explicitly configured columns (campaign.json captions.filename_column / caption_column) win over
  header detection; without them the header must have filename + post_caption or filename +
  caption (case-insensitive).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from postpilot import paths, publisher_config, validation
from postpilot.errors import CampaignNotFound, ConfigError
from postpilot.schedule import Schedule, build_schedule

#: Video file suffixes (compared lower-case, so .MP4 and .Mov count too).
VIDEO_SUFFIXES = frozenset({".mp4", ".mov"})

#: Header detection, in order: (filename column, caption column).
CAPTION_HEADERS: tuple[tuple[str, str], ...] = (
    ("filename", "post_caption"),
    ("filename", "caption"),
)

_HASH_CHUNK = 1024 * 1024


# -- accounts.txt ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AccountsFile:
    """The accounts of one accounts file, in file order, each once; repeated names reported."""

    accounts: list[str]
    duplicates: list[str] = field(default_factory=list)


def read_accounts_file(path: Path) -> AccountsFile:
    """Read an accounts file: one name per line, stripped; blank lines and `#` lines ignored.

    Names are case-sensitive. A repeated name keeps its first position and is listed in
    `duplicates` (once per extra occurrence)."""
    text = _read_text(path, "Create this file with one account name per line")
    accounts: list[str] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        bad = next((ch for ch in name if unicodedata.category(ch) == "Cc"), None)
        if bad is not None:
            # A NUL or other control character never matches a platform account: its jobs
            # would wait forever. Refuse the file instead.
            raise ConfigError(
                f"{path} line {number}: the account name contains the control character "
                f"U+{ord(bad):04X}\n  Remove it (save the file as plain UTF-8 text)"
            )
        if name in seen:
            duplicates.append(name)
            continue
        seen.add(name)
        accounts.append(name)
    return AccountsFile(accounts=accounts, duplicates=duplicates)


def _read_text(path: Path, how_to_create: str) -> str:
    """A UTF-8 text file (BOM or not); ConfigError naming the file when absent or undecodable."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"File not found: {path}\n  {how_to_create}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}") from None


# -- campaign.json -----------------------------------------------------------------------------
class _CaptionsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    file: str | None = None
    filename_column: str | None = None
    caption_column: str | None = None


class _ScheduleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    times: list[str]
    days: list[str] | None = None
    start: str | None = None
    end: str | None = None


DISTRIBUTIONS = ("once", "every_account")


class CampaignFile(BaseModel):
    """campaign.json as written by the user; every key optional, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(default=None, min_length=1)
    enabled: bool = True
    max_posts_per_account_per_day: int = Field(default=paths.MAX_POSTS_PER_ACCOUNT_PER_DAY, ge=1)
    timezone: str = paths.TIMEZONE
    max_attempts: int = Field(default=paths.MAX_ATTEMPTS, ge=1)
    captions: _CaptionsModel | None = None
    videos_dir: str | None = Field(default=None, min_length=1)
    #: One strict model per channel (publisher_config); the channel gets the keys as written.
    publisher: Annotated[
        publisher_config.PublisherBlock | None, BeforeValidator(publisher_config.with_default_type)
    ] = None
    store: str | None = None
    #: "once": each video once, to one account; "every_account": each video to every account.
    distribution: str = "once"
    #: Posting times (postpilot.schedule); absent: every job is due at once.
    schedule: _ScheduleModel | None = None


def _allowed_keys(loc: tuple[str, ...]) -> list[str]:
    """The keys allowed where an unknown key was found (for the message's list)."""
    if not loc:
        return [info.alias or name for name, info in CampaignFile.model_fields.items()]
    if loc[0] == "captions":
        return list(_CaptionsModel.model_fields)
    if loc[0] == "schedule":
        return list(_ScheduleModel.model_fields)
    if loc[0] == "publisher" and len(loc) >= 2:
        return publisher_config.allowed_keys(loc[1])
    return []


#: Keys of the prior orchestrator's campaign.json, with what they are here.
_PRIOR_KEYS = {
    "platform": (
        '; the prior "platform" is "publisher": {"type": ...} here '
        "(postpilot --migrate translates prior campaigns, docs/migrating.md)"
    ),
}


def describe_errors(exc: ValidationError) -> list[str]:
    """campaign.json's validation errors, one line each, keys as the user writes them."""
    lines = validation.describe(exc, _allowed_keys, publisher_config.strip_tag)
    for key, hint in _PRIOR_KEYS.items():
        lines = [line + hint if line.startswith(f"unknown key '{key}'") else line for line in lines]
    return lines


def load_campaign_file(path: Path, shown_as: str) -> CampaignFile:
    """Parse and validate campaign.json; ConfigError naming `shown_as`, the key and the type."""
    text = _read_text(path, "Remove it or write a JSON object")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{shown_as}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{shown_as}: must be a JSON object ({{...}}), got {type(raw).__name__}")
    try:
        model = CampaignFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{shown_as}: " + "\n  ".join(describe_errors(exc))) from None
    try:
        ZoneInfo(model.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{shown_as}: key 'timezone' must be an IANA time zone name such as "
            f"'Europe/Berlin' (got {json.dumps(model.timezone)})"
        ) from None
    if model.distribution not in DISTRIBUTIONS:
        raise ConfigError(
            f"{shown_as}: key 'distribution' must be one of {', '.join(DISTRIBUTIONS)} "
            f"(got {json.dumps(model.distribution)})"
        )
    if model.schedule is not None:
        try:
            build_schedule(
                model.schedule.times, model.schedule.days, model.schedule.start, model.schedule.end
            )
        except ValueError as exc:
            raise ConfigError(f"{shown_as}: key 'schedule': {exc}") from None
    if model.store is not None and not model.store.startswith(("postgresql://", "postgres://")):
        # Never echo the value: a DSN may carry a password.
        raise ConfigError(
            f"{shown_as}: key 'store' must be a PostgreSQL DSN starting with postgresql:// "
            "or postgres://"
        )
    return model


# -- captions.csv ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CaptionRow:
    """One usable caption row: the video it names and the caption text."""

    line: int
    filename: str
    caption: str
    #: The optional `publish_at` / `account` columns (raw text; checked when planning).
    publish_at: str = ""
    account: str = ""


#: Optional captions.csv columns that pin a row to a time and/or an account.
PUBLISH_AT_COLUMN = "publish_at"
ACCOUNT_COLUMN = "account"


@dataclass(frozen=True, slots=True)
class CaptionsFile:
    """The rows of a captions file and what was wrong with the others (never silently dropped)."""

    path: str
    filename_column: str
    caption_column: str
    columns: list[str]
    #: First row per filename, in file order, with a non-empty caption.
    rows: list[CaptionRow]
    #: Filenames repeated after their first row (one entry per ignored row).
    duplicates: list[str] = field(default_factory=list)
    #: (line, filename) of rows whose caption is empty.
    empty_captions: list[tuple[int, str]] = field(default_factory=list)
    #: Lines of rows with an empty filename.
    empty_filenames: list[int] = field(default_factory=list)


def _detect_columns(
    header: list[str], path: Path, filename_column: str | None, caption_column: str | None
) -> tuple[int, int, str, str]:
    """Indexes and names of the filename and caption columns (case-insensitive)."""
    lowered = [h.strip().lower() for h in header]
    repeated = sorted({h for h in lowered if h and lowered.count(h) > 1})
    if repeated:
        raise ConfigError(
            f"{path} line 1: the header repeats the column(s) {', '.join(repeated)}\n"
            "  Give every column its own name (a repeated column makes the row ambiguous)"
        )

    def index(name: str) -> int | None:
        return lowered.index(name.lower()) if name.lower() in lowered else None

    found = ", ".join(h.strip() for h in header) or "(none)"
    if filename_column or caption_column:
        # Configured columns win: the user said which ones to use.
        wanted = (filename_column or "filename", caption_column or "post_caption")
        fi, ci = index(wanted[0]), index(wanted[1])
        if fi is None or ci is None:
            missing = wanted[0] if fi is None else wanted[1]
            raise ConfigError(
                f"{path}: column '{missing}' (set in campaign.json captions) not in the header; "
                f"columns found: {found}"
            )
        return fi, ci, header[fi].strip(), header[ci].strip()
    for fname, cname in CAPTION_HEADERS:
        fi, ci = index(fname), index(cname)
        if fi is not None and ci is not None:
            return fi, ci, header[fi].strip(), header[ci].strip()
    raise ConfigError(
        f"{path}: the header needs a filename column and a post_caption (or caption) column, "
        f"or set captions.filename_column / captions.caption_column in campaign.json; "
        f"columns found: {found}"
    )


#: The longest field accepted (csv's own limit): a caption this long is almost always an
#: unclosed quote that swallowed the rest of the file.
MAX_FIELD = csv.field_size_limit()
#: A line inside a quoted caption that starts like a new row ("clip.mp4,"): an unclosed quote.
_ROW_START = re.compile(r"^\s*[^,\n\"]+\.(mp4|mov)\s*,", re.IGNORECASE)


def _strict_record(path: Path, start: int, record: list[str]) -> None:
    """NUL bytes and rows swallowed by an unclosed quote are errors naming the line."""
    for value in record:
        if "\x00" in value:
            raise ConfigError(
                f"{path} line {start}: contains a NUL byte\n"
                "  Save the file as plain UTF-8 text (NUL bytes come from binary or UTF-16 files)"
            )
        inner = value.split("\n")[1:]
        for offset, text in enumerate(inner, start=1):
            if _ROW_START.match(text):
                raise ConfigError(
                    f"{path} line {start}: a quoted field opened here runs on into line "
                    f"{start + offset}, which looks like a new row ({text.strip()[:40]!r})\n"
                    "  Close the quote at the end of the caption (write a quote inside a "
                    'caption as "")'
                )


def _csv_error(path: Path, start: int, line: int, exc: csv.Error) -> ConfigError:
    text = str(exc)
    if "field larger than field limit" in text:
        return ConfigError(
            f"{path} line {start}: a field is longer than {MAX_FIELD // 1024} KiB\n"
            "  Usually a quote opened here is never closed; close it, or shorten the caption"
        )
    if "unexpected end of data" in text:
        return ConfigError(
            f"{path} line {start}: a quoted field opened here is never closed\n"
            "  Add the closing quote at the end of the caption"
        )
    return ConfigError(
        f"{path} line {line}: not valid CSV ({text})\n"
        '  Quote a caption that holds commas, quotes or line breaks: "text, with ""quotes"""'
    )


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of each CSV record; multi-line quoted fields kept whole.

    Strict: bad quoting, NUL bytes, oversized fields and rows swallowed by an unclosed quote
    are ConfigErrors naming the line and the fix."""
    start = 1
    reader: Any = None
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            for record in reader:
                _strict_record(path, start, record)
                yield start, record
                start = reader.line_num + 1
    except FileNotFoundError:
        raise ConfigError(
            f"File not found: {path}\n  Create this file with filename,post_caption columns"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    except csv.Error as exc:
        raise _csv_error(path, start, reader.line_num if reader else start, exc) from None


def read_captions_header(
    path: Path, filename_column: str | None = None, caption_column: str | None = None
) -> tuple[str, str]:
    """Check the header only (cheap): the filename and caption column names it will use."""
    for _, header in _records(path):
        _, _, fname, cname = _detect_columns(header, path, filename_column, caption_column)
        return fname, cname
    raise ConfigError(f"{path} is empty\n  Create this file with filename,post_caption columns")


def load_captions(
    path: Path, filename_column: str | None = None, caption_column: str | None = None
) -> CaptionsFile:
    """Read a captions file (see the module docstring for the rules)."""
    records = _records(path)
    header: list[str] | None = None
    fi = ci = 0
    pi: int | None = None
    ai: int | None = None
    fname = cname = ""
    rows: list[CaptionRow] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    empty_captions: list[tuple[int, str]] = []
    empty_filenames: list[int] = []
    for line, record in records:
        if header is None:
            header = record
            fi, ci, fname, cname = _detect_columns(header, path, filename_column, caption_column)
            lowered = [h.strip().lower() for h in header]
            pi = lowered.index(PUBLISH_AT_COLUMN) if PUBLISH_AT_COLUMN in lowered else None
            ai = lowered.index(ACCOUNT_COLUMN) if ACCOUNT_COLUMN in lowered else None
            continue
        if not record or all(not value.strip() for value in record):
            continue  # blank line between records
        filename = record[fi].strip() if fi < len(record) else ""
        caption = record[ci].strip() if ci < len(record) else ""
        publish_at = record[pi].strip() if pi is not None and pi < len(record) else ""
        account = record[ai].strip() if ai is not None and ai < len(record) else ""
        if not filename:
            empty_filenames.append(line)
        elif filename in seen:
            duplicates.append(filename)
        elif not caption:
            seen.add(filename)
            empty_captions.append((line, filename))
        else:
            seen.add(filename)
            rows.append(
                CaptionRow(
                    line=line,
                    filename=filename,
                    caption=caption,
                    publish_at=publish_at,
                    account=account,
                )
            )
    if header is None:
        raise ConfigError(f"{path} is empty\n  Create this file with filename,post_caption columns")
    return CaptionsFile(
        path=str(path),
        filename_column=fname,
        caption_column=cname,
        columns=[h.strip() for h in header],
        rows=rows,
        duplicates=duplicates,
        empty_captions=empty_captions,
        empty_filenames=empty_filenames,
    )


# -- videos and matching -----------------------------------------------------------------------
def list_videos(videos_dir: Path) -> list[Path]:
    """Every .mp4/.mov (any case) below `videos_dir`, sorted by relative path (deterministic)."""
    return [Path(entry.path) for entry in _walk_videos(videos_dir)]


@dataclass(frozen=True, slots=True)
class _Found:
    """A video file found below the videos folder, described with plain strings: a campaign of
    100k videos is listed without building and resolving a Path per file."""

    rel: str
    path: str
    name: str
    #: The file itself is a symbolic link (it may point outside the folder).
    symlink: bool


def _walk_videos(videos_dir: Path) -> list[_Found]:
    """`list_videos` as _Found entries, sorted by relative path. Like os.walk, symlinked
    folders are not entered, so only a file that is itself a link can lead outside."""
    found: list[_Found] = []
    base = str(videos_dir)
    stack = [(base, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir():
                    if not entry.is_symlink():
                        stack.append((entry.path, f"{prefix}{name}/"))
                    continue
            except OSError:
                continue
            dot = name.rfind(".")
            if name.startswith(".") or dot < 0 or name[dot:].lower() not in VIDEO_SUFFIXES:
                continue
            found.append(_Found(prefix + name, entry.path, name, entry.is_symlink()))
    found.sort(key=lambda item: item.rel)
    return found


@dataclass(frozen=True, slots=True)
class MatchedVideo:
    """A video with its caption: one future job per account assignment."""

    video_path: str
    #: Path relative to the videos folder, with forward slashes.
    relative_path: str
    #: The video's file name (the job id is `<filename>_<campaign>`).
    filename: str
    caption: str
    #: The caption row's identifier that matched (file name or stem).
    caption_filename: str
    #: The caption row's line and pins (see CaptionRow).
    line: int = 0
    publish_at: str = ""
    account: str = ""


@dataclass(frozen=True, slots=True)
class MatchReport:
    """How captions and videos matched; every list is something the operator should see."""

    matched: list[MatchedVideo]
    duplicate_captions: list[str] = field(default_factory=list)
    videos_without_captions: list[str] = field(default_factory=list)
    captions_without_videos: list[str] = field(default_factory=list)
    #: (caption filename or video path, why) for names that are absolute or escape the folder.
    rejected_filenames: list[tuple[str, str]] = field(default_factory=list)
    #: (line, filename) of caption rows with an empty caption.
    empty_captions: list[tuple[int, str]] = field(default_factory=list)
    #: Videos whose file name repeats an earlier video's (they would share a job id).
    duplicate_video_names: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Each list's length, for reports and --json."""
        return {
            "matched": len(self.matched),
            "duplicate_captions": len(self.duplicate_captions),
            "videos_without_captions": len(self.videos_without_captions),
            "captions_without_videos": len(self.captions_without_videos),
            "rejected_filenames": len(self.rejected_filenames),
            "empty_captions": len(self.empty_captions),
            "duplicate_video_names": len(self.duplicate_video_names),
        }

    def problems(self) -> list[str]:
        """One human line per non-empty problem list (empty when everything matched)."""
        lines = []
        for key, count in self.counts().items():
            if key != "matched" and count:
                lines.append(f"{count} {key.replace('_', ' ')}")
        return lines


def _unsafe_reason(identifier: str) -> str | None:
    """Why a caption filename may not be used as a path below the videos folder, or None."""
    if not any(c in identifier for c in "/\\:"):  # a plain file name (most rows): no Path
        return "escapes the videos folder (..)" if identifier == ".." else None
    if PurePosixPath(identifier).is_absolute() or PureWindowsPath(identifier).is_absolute():
        return "absolute path"
    if PureWindowsPath(identifier).drive or identifier.startswith(("/", "\\")):
        return "absolute path"
    if ".." in PurePosixPath(identifier.replace("\\", "/")).parts:
        return "escapes the videos folder (..)"
    return None


def match_videos(captions: CaptionsFile, videos_dir: Path) -> MatchReport:
    """Pair each video with a caption: exact file name first, then the stem.

    A caption filename with a folder part (`chunk_01a/x.mp4`) names a path below the videos
    folder. Names that are absolute, contain `..`, or resolve outside the folder (symlinks
    included) are rejected and reported; so are videos that resolve outside it."""
    root = videos_dir.resolve()
    by_name: dict[str, CaptionRow] = {}
    by_path: dict[str, CaptionRow] = {}
    by_name_ci: dict[str, CaptionRow] = {}
    rejected: list[tuple[str, str]] = []
    for row in captions.rows:
        reason = _unsafe_reason(row.filename)
        if reason:
            rejected.append((row.filename, reason))
            continue
        normalised = row.filename.replace("\\", "/")
        if "/" in normalised:
            target = (videos_dir / normalised).resolve()
            if not target.is_relative_to(root):
                rejected.append((row.filename, "resolves outside the videos folder"))
                continue
            by_path[normalised] = row
        else:
            by_name[normalised] = row
            dot = normalised.rfind(".")
            suffix = normalised[dot:] if 0 < dot < len(normalised) - 1 else ""
            if suffix.lower() in VIDEO_SUFFIXES:
                # `x.mp4` in the CSV still names `x.MP4` on disk (suffix case differs only).
                by_name_ci.setdefault(normalised[: -len(suffix)] + suffix.lower(), row)
    empty_names = {name.replace("\\", "/") for _line, name in captions.empty_captions}
    used: set[str] = set()
    matched: list[MatchedVideo] = []
    without: list[str] = []
    duplicate_names: list[str] = []
    names_taken: set[str] = set()
    absolute = str(videos_dir.absolute())
    for video in _walk_videos(videos_dir):
        rel, name = video.rel, video.name
        dot = name.rfind(".")
        stem, suffix = name[:dot], name[dot:]
        stem_rel = rel.rsplit(".", 1)[0]
        match = (
            by_path.get(rel)
            or by_name.get(name)
            or by_name_ci.get(stem + suffix.lower())
            or by_path.get(stem_rel)
            or by_name.get(stem)
        )
        if match is None:
            if not {rel, stem_rel, name, stem} & empty_names:
                without.append(rel)  # else already counted once, under empty_captions
            continue
        used.add(match.filename)
        # Listed folders are real folders below the root (links to folders are not entered):
        # only a file that is a link needs resolving.
        if video.symlink and not Path(video.path).resolve().is_relative_to(root):
            rejected.append((rel, "resolves outside the videos folder (symlink)"))
            continue
        if name in names_taken:
            duplicate_names.append(rel)
            continue
        names_taken.add(name)
        matched.append(
            MatchedVideo(
                video_path=os.path.join(absolute, rel),
                relative_path=rel,
                filename=name,
                caption=match.caption,
                caption_filename=match.filename,
                line=match.line,
                publish_at=match.publish_at,
                account=match.account,
            )
        )
    accounted = used | {name for name, _ in rejected}
    unused = [r.filename for r in captions.rows if r.filename not in accounted]
    return MatchReport(
        matched=matched,
        duplicate_captions=list(captions.duplicates),
        videos_without_captions=without,
        captions_without_videos=unused,
        rejected_filenames=rejected,
        empty_captions=list(captions.empty_captions),
        duplicate_video_names=duplicate_names,
    )


def compute_sha256(path: str | Path) -> str:
    """The content identity of a video (invariant I4), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
            else CampaignFile()
        )
        name = model.name or base.name
        captions_cfg = model.captions or _CaptionsModel()

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
            publisher=(
                publisher_config.as_block(model.publisher)
                if model.publisher is not None
                else {"type": "outbox"}
            ),
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
