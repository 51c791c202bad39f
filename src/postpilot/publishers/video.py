"""Video preflight: check a file before any platform quota is spent on it.

`preflight(path, limits)` checks the file exists, is readable and non-empty, is MP4/MOV by its
header, and that its size and duration fit the channel's limits. Every failure is a
ContentError (final, never retried) whose message names the file.

The duration comes from the `moov/mvhd` box, read by the compact ISO base media (MP4/QuickTime)
box walker below: it reads 8-16 byte box headers and seeks over box bodies, so a multi-GB `mdat`
is never read into memory. Boxes are `[size:u32][type:4cc]`, with `size == 1` meaning a u64
`largesize` follows and `size == 0` meaning "to the end of the file".
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from postpilot.publishers.errors import ContentError

#: Top-level box types a file may start with: `ftyp` (MP4 and modern MOV) or, in old
#: QuickTime files without `ftyp`, a `wide`/`mdat`/`moov`/`free`/`skip` box.
_FIRST_BOXES = frozenset({b"ftyp", b"wide", b"mdat", b"moov", b"free", b"skip"})
#: Bounds how many boxes are walked at one level (a garbage file cannot make it spin).
_MAX_BOXES = 10_000
_QUICKTIME_BRAND = b"qt  "


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """A channel's limits; None means "no limit"."""

    max_bytes: int | None = None
    max_duration_seconds: float | None = None
    min_duration_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What preflight learned about a video."""

    path: Path
    size: int
    #: None when the header does not state it (e.g. a fragmented MP4 with duration 0).
    duration_seconds: float | None
    #: "video/mp4" or "video/quicktime".
    mime_type: str


class _Corrupt(Exception):
    """The box structure is broken (turned into a ContentError naming the file)."""


@dataclass(frozen=True, slots=True)
class _Box:
    kind: bytes
    #: Offset of the body (after the header) and its length.
    start: int
    length: int


def _boxes(handle: BinaryIO, start: int, end: int) -> Iterator[_Box]:
    """The boxes between `start` and `end`, reading only their headers."""
    offset = start
    for _ in range(_MAX_BOXES):
        if offset >= end:
            return
        if end - offset < 8:
            raise _Corrupt(f"{end - offset} stray bytes at offset {offset}")
        handle.seek(offset)
        header = handle.read(8)
        if len(header) < 8:
            raise _Corrupt(f"box header cut off at offset {offset}")
        size, kind = struct.unpack(">I4s", header)
        header_len = 8
        if size == 1:
            large = handle.read(8)
            if len(large) < 8:
                raise _Corrupt(f"64-bit box size cut off at offset {offset}")
            (size,) = struct.unpack(">Q", large)
            header_len = 16
        elif size == 0:
            size = end - offset
        if size < header_len:
            raise _Corrupt(f"box {kind!r} at offset {offset} has an impossible size {size}")
        if offset + size > end:
            raise _Corrupt(
                f"box {kind.decode('latin-1')!r} at offset {offset} runs past the end "
                f"({offset + size} > {end} bytes): the file is truncated"
            )
        yield _Box(kind, offset + header_len, size - header_len)
        offset += size
    raise _Corrupt("too many boxes")


def _find(handle: BinaryIO, parent: _Box, kind: bytes) -> _Box | None:
    for box in _boxes(handle, parent.start, parent.start + parent.length):
        if box.kind == kind:
            return box
    return None


def _mvhd_duration(handle: BinaryIO, box: _Box) -> float | None:
    handle.seek(box.start)
    head = handle.read(min(box.length, 32))
    if len(head) < 4:
        raise _Corrupt("mvhd box is too short")
    version = head[0]
    if version == 0 and len(head) >= 20:
        timescale, duration = struct.unpack(">II", head[12:20])
        unknown = duration == 0xFFFFFFFF
    elif version == 1 and len(head) >= 32:
        (timescale,) = struct.unpack(">I", head[20:24])
        (duration,) = struct.unpack(">Q", head[24:32])
        unknown = duration == 0xFFFFFFFFFFFFFFFF
    else:
        raise _Corrupt(f"mvhd box version {version} is unknown or too short")
    if timescale == 0:
        raise _Corrupt("mvhd timescale is 0")
    if unknown or duration == 0:
        return None
    return float(duration) / float(timescale)


def read_header(path: Path) -> tuple[str, float | None]:
    """(MIME type, duration in seconds or None) from an MP4/MOV file's boxes.

    Raises ContentError when the file is not MP4/MOV or its structure is broken.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            return _read_header(handle, size)
    except _Corrupt as exc:
        raise ContentError(
            f"video {path} is not a readable MP4/MOV file: {exc}",
            error_type="corrupted_video",
            hint="re-export or re-encode the video as MP4 (H.264/AAC)",
        ) from None


def _read_header(handle: BinaryIO, size: int) -> tuple[str, float | None]:
    head = handle.read(12)
    if len(head) < 8 or head[4:8] not in _FIRST_BOXES:
        raise _Corrupt("no MP4/QuickTime header (expected an 'ftyp' box first)")
    # Files without ftyp are old QuickTime; with ftyp the major brand tells MOV from MP4.
    quicktime = head[4:8] != b"ftyp" or head[8:12] == _QUICKTIME_BRAND
    mime = "video/quicktime" if quicktime else "video/mp4"
    # Walk every top-level box (headers only): a cut-off mdat after the moov is a broken file.
    top = list(_boxes(handle, 0, size))
    moov = next((b for b in top if b.kind == b"moov"), None)
    if moov is None:
        raise _Corrupt("no 'moov' box: the recording was not finished or the file is truncated")
    mvhd = _find(handle, moov, b"mvhd")
    if mvhd is None:
        raise _Corrupt("the 'moov' box has no 'mvhd' header")
    return mime, _mvhd_duration(handle, mvhd)


def preflight(path: Path, limits: VideoLimits) -> VideoInfo:
    """Check `path` against `limits` (see the module docstring); ContentError when it fails."""

    def refuse(reason: str, error_type: str = "corrupted_video", hint: str = "") -> ContentError:
        return ContentError(f"video {path} {reason}", error_type=error_type, hint=hint)

    try:
        info = path.stat()
    except FileNotFoundError:
        raise refuse("does not exist", hint="check the campaign's videos folder") from None
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror}") from None
    if not path.is_file():
        raise refuse("is not a regular file")
    if not os.access(path, os.R_OK):
        raise refuse("is not readable", hint=f"check the file's permissions (chmod u+r {path})")
    if info.st_size == 0:
        raise refuse("is empty (0 bytes)")
    if limits.max_bytes is not None and info.st_size > limits.max_bytes:
        raise refuse(
            f"is {info.st_size} bytes, over the channel's limit of {limits.max_bytes} bytes",
            error_type="video_too_large",
            hint="compress or shorten the video",
        )
    try:
        mime, duration = read_header(path)
    except PermissionError:
        raise refuse("is not readable") from None
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror}") from None
    if duration is not None:
        if limits.max_duration_seconds is not None and duration > limits.max_duration_seconds:
            raise refuse(
                f"lasts {duration:.1f} s, over the channel's limit of "
                f"{limits.max_duration_seconds:g} s",
                error_type="video_too_long",
                hint="trim the video",
            )
        if limits.min_duration_seconds is not None and duration < limits.min_duration_seconds:
            raise refuse(
                f"lasts {duration:.1f} s, under the channel's minimum of "
                f"{limits.min_duration_seconds:g} s",
                error_type="video_too_short",
            )
    return VideoInfo(path=path, size=info.st_size, duration_seconds=duration, mime_type=mime)
