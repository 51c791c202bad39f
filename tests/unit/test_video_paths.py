"""Video paths stored relative to the campaign's videos folder (postpilot.video_paths)."""

from __future__ import annotations

from pathlib import Path

import pytest

from postpilot.jobs import Job, JobStatus
from postpilot.store.csv_io import export_csv, import_csv
from postpilot.video_paths import VideoPathError, for_export, resolve, to_stored


def test_a_video_below_the_folder_is_stored_relative(tmp_path: Path) -> None:
    """Seeding stores the path below the videos folder, with forward slashes."""
    videos = tmp_path / "videos"
    assert to_stored(str(videos / "a" / "b.mp4"), str(videos)) == "a/b.mp4"


def test_a_video_elsewhere_or_without_folder_is_kept(tmp_path: Path) -> None:
    """A path outside the videos folder, or in legacy mode, stays as it was."""
    outside = str(tmp_path / "other" / "b.mp4")
    assert to_stored(outside, str(tmp_path / "videos")) == outside
    assert to_stored(outside, None) == outside


def test_relative_paths_resolve_against_this_hosts_folder(tmp_path: Path) -> None:
    """The same stored path names the file under whichever folder the host mounts."""
    assert resolve("a/b.mp4", str(tmp_path / "x")) == tmp_path / "x" / "a" / "b.mp4"
    assert resolve("a/b.mp4", str(tmp_path / "y")) == tmp_path / "y" / "a" / "b.mp4"


def test_an_absolute_path_is_used_as_is(tmp_path: Path) -> None:
    """Stores written before keep working: an absolute path is not re-based."""
    old = str(tmp_path / "old" / "b.mp4")
    assert resolve(old, str(tmp_path / "videos")) == Path(old)


@pytest.mark.parametrize("stored", ["../secret.mp4", "a/../../secret.mp4", "a\\..\\..\\x.mp4"])
def test_a_path_leaving_the_folder_is_refused(tmp_path: Path, stored: str) -> None:
    """`..` never reaches outside the videos folder."""
    with pytest.raises(VideoPathError, match="escapes the videos folder"):
        resolve(stored, str(tmp_path / "videos"))


def test_a_symlink_leaving_the_folder_is_refused(tmp_path: Path) -> None:
    """A link inside the folder pointing outside it is refused too."""
    videos = tmp_path / "videos"
    videos.mkdir()
    (tmp_path / "secret").mkdir()
    (videos / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(VideoPathError, match="outside the videos folder"):
        resolve("link/x.mp4", str(videos))


def test_progress_csv_round_trips_relative_paths(tmp_path: Path) -> None:
    """Export writes absolute paths like the prior files; import stores them relative again."""
    videos = tmp_path / "campaign" / "videos"
    job = Job(
        job_id="v.mp4_c",
        account="a",
        video_path="sub/v.mp4",
        caption="c",
        status=JobStatus.SUCCESS,
        campaign="c",
    )
    target = tmp_path / "export.csv"
    export_csv([job], target, videos_dir=str(videos))
    assert str(videos / "sub" / "v.mp4") in target.read_text(encoding="utf-8")
    assert for_export("../x.mp4", str(videos)) == "../x.mp4"
    back = import_csv(target, "c", videos_dir=str(videos))
    assert [j.video_path for j in back.jobs] == ["sub/v.mp4"]
