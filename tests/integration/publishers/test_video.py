"""Video preflight: real MP4/MOV headers pass, broken or oversize files are content errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from postpilot.publishers.errors import ContentError
from postpilot.video import VideoLimits, preflight, read_header
from tests.fakes.mp4 import box, header, mp4_bytes, write_mp4

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NO_LIMITS = VideoLimits()


def test_example_videos_pass_with_their_duration() -> None:
    """Every example video (real small MP4s) passes, with a positive duration."""
    videos = sorted(EXAMPLES.rglob("*.mp4"))
    assert len(videos) >= 12
    for video in videos[:20]:
        info = preflight(video, NO_LIMITS)
        assert info.mime_type == "video/mp4"
        assert info.duration_seconds is not None
        assert info.duration_seconds > 0


@pytest.mark.parametrize("version", [0, 1])
def test_mvhd_versions_give_the_duration(tmp_path: Path, version: int) -> None:
    """Both mvhd layouts (32- and 64-bit times) give the stated duration."""
    video = tmp_path / "v.mp4"
    video.write_bytes(mp4_bytes(12.5, version=version))
    info = preflight(video, NO_LIMITS)
    assert info.duration_seconds == pytest.approx(12.5)
    assert info.size == video.stat().st_size


def test_largesize_boxes_and_moov_after_mdat(tmp_path: Path) -> None:
    """A 64-bit mdat before the moov (not faststart) is walked without reading the media."""
    video = write_mp4(tmp_path / "v.mp4", 50 * 1024 * 1024, duration_seconds=30, moov_last=True)
    info = preflight(video, NO_LIMITS)
    assert info.duration_seconds == pytest.approx(30)


def test_largesize_moov(tmp_path: Path) -> None:
    """A moov box with a 64-bit size header is read too."""
    video = tmp_path / "v.mp4"
    video.write_bytes(header(3.0, largesize_moov=True) + box(b"mdat", b"x" * 10))
    assert preflight(video, NO_LIMITS).duration_seconds == pytest.approx(3.0)


def test_quicktime_files_with_and_without_ftyp(tmp_path: Path) -> None:
    """A 'qt  ' brand and an old QuickTime file starting with 'wide' are MOV."""
    qt = tmp_path / "a.mov"
    qt.write_bytes(mp4_bytes(2.0, brand=b"qt  "))
    old = tmp_path / "b.mov"
    old.write_bytes(box(b"wide", b"") + box(b"mdat", b"x" * 8) + header(4.0, with_ftyp=False))
    assert read_header(qt) == ("video/quicktime", pytest.approx(2.0))
    assert read_header(old) == ("video/quicktime", pytest.approx(4.0))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "no MP4/QuickTime header"),
        (b"hello world, not a video at all", "no MP4/QuickTime header"),
        (mp4_bytes(5.0)[:-20], "truncated"),
        (header(5.0)[:40], "truncated"),
        (box(b"ftyp", b"isom\x00\x00\x02\x00") + box(b"mdat", b"x"), "no 'moov'"),
        (box(b"ftyp", b"isom") + b"\x00\x00\x00\x04abcd", "impossible size"),
    ],
)
def test_broken_files_are_content_errors_naming_the_file(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    """Empty, foreign, truncated and malformed files are final content errors naming the file."""
    video = tmp_path / "bad.mp4"
    video.write_bytes(content)
    with pytest.raises(ContentError) as info:
        preflight(video, NO_LIMITS)
    assert reason in str(info.value)
    assert str(video) in str(info.value)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    """A missing file and one without read permission are content errors."""
    with pytest.raises(ContentError, match="does not exist"):
        preflight(tmp_path / "nope.mp4", NO_LIMITS)
    video = tmp_path / "locked.mp4"
    video.write_bytes(mp4_bytes(1.0))
    video.chmod(0)
    try:
        if os.access(video, os.R_OK):
            # root reads a mode-000 file: preflight follows what the OS grants this user.
            assert preflight(video, NO_LIMITS).size == video.stat().st_size
        else:
            with pytest.raises(ContentError, match="not readable"):
                preflight(video, NO_LIMITS)
    finally:
        video.chmod(0o600)


def test_limits_on_size_and_duration(tmp_path: Path) -> None:
    """Too large, too long and too short videos are refused before any upload."""
    video = tmp_path / "v.mp4"
    video.write_bytes(mp4_bytes(90.0))
    size = video.stat().st_size
    assert preflight(video, VideoLimits(max_bytes=size, max_duration_seconds=90)).size == size
    with pytest.raises(ContentError) as info:
        preflight(video, VideoLimits(max_bytes=size - 1))
    assert info.value.error_type == "video_too_large"
    with pytest.raises(ContentError) as info:
        preflight(video, VideoLimits(max_duration_seconds=60))
    assert info.value.error_type == "video_too_long"
    assert "60 s" in str(info.value)
    with pytest.raises(ContentError) as info:
        preflight(video, VideoLimits(min_duration_seconds=120))
    assert info.value.error_type == "video_too_short"
