"""A campaign's captions.csv, read strictly: the header detection (or the columns campaign.json
names), one row per video file name (the first wins, later ones reported), captions kept byte for
byte apart from the whitespace around them, and bad CSV (an unclosed quote, NUL bytes, oversized
fields) refused with the line and the fix. Split from campaign.py."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postpilot.errors import ConfigError

#: Header detection, in order: (filename column, caption column).
CAPTION_HEADERS: tuple[tuple[str, str], ...] = (
    ("filename", "post_caption"),
    ("filename", "caption"),
)


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
