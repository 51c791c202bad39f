"""FolderWatch: what the service notices on disk between two polls (real files, no mocks)."""

from __future__ import annotations

import os
from pathlib import Path

from postpilot.runner.watch import FolderWatch


def _bump(path: Path) -> None:
    """Move a path's mtime forward a whole second (coarse filesystem clocks)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    captions = tmp_path / "captions.csv"
    captions.write_text("filename,post_caption\na.mp4,one\n", encoding="utf-8")
    videos = tmp_path / "videos"
    (videos / "nested" / "deeper").mkdir(parents=True)
    (videos / "a.mp4").write_bytes(b"a")
    return captions, videos


def test_nothing_changed_is_quiet(tmp_path: Path) -> None:
    """Polls without any change on disk report no change, again and again."""
    captions, videos = _tree(tmp_path)
    watch = FolderWatch([captions], [videos])
    assert [watch.changed() for _ in range(3)] == [False, False, False]


def test_appended_captions_row_is_noticed_once(tmp_path: Path) -> None:
    """A row appended to the captions file is one change; the next poll is quiet again."""
    captions, videos = _tree(tmp_path)
    watch = FolderWatch([captions], [videos])
    with captions.open("a", encoding="utf-8") as handle:
        handle.write("b.mp4,two\n")
    assert watch.changed() is True
    assert watch.changed() is False


def test_new_video_deep_in_the_tree_is_noticed(tmp_path: Path) -> None:
    """A video added two folders down changes that folder, which the watch stats each poll."""
    captions, videos = _tree(tmp_path)
    watch = FolderWatch([captions], [videos])
    (videos / "nested" / "deeper" / "b.mp4").write_bytes(b"b")
    _bump(videos / "nested" / "deeper")
    assert watch.changed() is True
    assert watch.changed() is False


def test_new_subfolder_is_watched_from_then_on(tmp_path: Path) -> None:
    """A folder created after the watch started is listed, and a video added in it later is
    noticed too."""
    captions, videos = _tree(tmp_path)
    watch = FolderWatch([captions], [videos])
    (videos / "later").mkdir()
    _bump(videos)
    assert watch.changed() is True
    (videos / "later" / "c.mp4").write_bytes(b"c")
    _bump(videos / "later")
    assert watch.changed() is True


def test_removed_and_recreated_files_are_changes(tmp_path: Path) -> None:
    """A watched file that disappears is a change, and so is its coming back."""
    captions, videos = _tree(tmp_path)
    watch = FolderWatch([captions, tmp_path / "campaign.json"], [videos])
    captions.unlink()
    assert watch.changed() is True
    (tmp_path / "campaign.json").write_text("{}", encoding="utf-8")
    assert watch.changed() is True
    assert watch.changed() is False
