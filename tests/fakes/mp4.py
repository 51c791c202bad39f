"""A minimal MP4 byte-builder for tests and benchmarks: ftyp + moov/mvhd + mdat.

The files are structurally valid ISO base media files (what preflight reads), not playable
video. `write_mp4` makes the mdat payload sparse (zeros via truncate) so a 1 GiB test video
costs no disk writes, or random when asked.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path


def box(kind: bytes, body: bytes, *, largesize: bool = False) -> bytes:
    """One box: 32-bit size header, or size=1 plus a 64-bit largesize."""
    if largesize:
        return struct.pack(">I4sQ", 1, kind, len(body) + 16) + body
    return struct.pack(">I4s", len(body) + 8, kind) + body


def mvhd(duration_seconds: float, *, timescale: int = 1000, version: int = 0) -> bytes:
    """A movie header box stating `duration_seconds`."""
    duration = round(duration_seconds * timescale)
    if version == 1:
        times = struct.pack(">QQIQ", 0, 0, timescale, duration)
    else:
        times = struct.pack(">IIII", 0, 0, timescale, duration)
    rest = b"\x00\x01\x00\x00" + b"\x01\x00" + b"\x00" * 10 + b"\x00" * 36 + b"\x00" * 24
    rest += struct.pack(">I", 2)
    return box(b"mvhd", bytes([version, 0, 0, 0]) + times + rest)


def header(
    duration_seconds: float = 5.0,
    *,
    version: int = 0,
    brand: bytes = b"isom",
    with_ftyp: bool = True,
    largesize_moov: bool = False,
) -> bytes:
    """ftyp (optional) + moov(mvhd): everything before the media data."""
    ftyp = box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand + b"mp41") if with_ftyp else b""
    moov = box(b"moov", mvhd(duration_seconds, version=version), largesize=largesize_moov)
    return ftyp + moov


def mp4_bytes(duration_seconds: float = 5.0, payload: bytes = b"\x00" * 64, **kw: object) -> bytes:
    """A whole small MP4 in memory."""
    return header(duration_seconds, **kw) + box(b"mdat", payload)  # type: ignore[arg-type]


def write_mp4(
    path: Path,
    size: int,
    *,
    duration_seconds: float = 5.0,
    random_payload: bool = False,
    moov_last: bool = False,
) -> Path:
    """Write an MP4 of exactly `size` bytes (sparse zeros unless `random_payload`)."""
    head = header(duration_seconds)
    moov_at_end = b""
    if moov_last:
        ftyp_len = struct.unpack(">I", head[:4])[0]
        head, moov_at_end = head[:ftyp_len], head[ftyp_len:]
    payload = size - len(head) - len(moov_at_end) - 16
    if payload < 0:
        raise ValueError(f"size {size} is too small for an MP4")
    with open(path, "wb") as handle:
        handle.write(head)
        handle.write(struct.pack(">I4sQ", 1, b"mdat", payload + 16))
        if random_payload:
            left = payload
            while left:
                n = min(left, 4 * 1024 * 1024)
                handle.write(os.urandom(n))
                left -= n
        else:
            handle.seek(payload, os.SEEK_CUR)
        handle.write(moov_at_end)
        handle.truncate(size)
    return path
