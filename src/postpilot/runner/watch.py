"""Noticing that a campaign's files changed, by polling a few stat() calls (no extra library).

The service asks `changed()` every few seconds while it sleeps. A poll costs one stat per
watched file and one per folder of the videos tree: a folder is listed again only when its own
mtime moved (a file or subfolder was added, removed or renamed in it), so a large, quiet tree
costs as many stat calls as it has folders, not files. Writes inside an existing video file are
not watched: a new video is what the service must notice, and rewriting one in place while it is
being published is not supported anyway.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

#: (mtime_ns, size) of a path, or None when it does not exist.
Stamp = tuple[int, int] | None


def _stamp(path: Path) -> Stamp:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class FolderWatch:
    """Watches some files and some folder trees; `changed()` says whether any moved since the
    previous call (the first call after construction compares with the state at construction)."""

    def __init__(self, files: Iterable[Path], trees: Iterable[Path] = ()) -> None:
        self._files = sorted(set(files))
        self._roots = sorted(set(trees))
        self._file_stamps = {path: _stamp(path) for path in self._files}
        #: Every folder of every tree -> (its stamp, its subfolders when it was listed).
        self._dirs: dict[Path, tuple[Stamp, tuple[Path, ...]]] = {}
        for root in self._roots:
            self._scan(root)

    def _scan(self, folder: Path) -> None:
        """List `folder` (and, recursively, its subfolders) into the cache."""
        stamp = _stamp(folder)
        subdirs: list[Path] = []
        if stamp is not None:
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            subdirs.append(Path(entry.path))
            except OSError:
                pass
        self._dirs[folder] = (stamp, tuple(sorted(subdirs)))
        for sub in subdirs:
            self._scan(sub)

    def _forget(self, folder: Path) -> None:
        entry = self._dirs.pop(folder, None)
        if entry is not None:
            for sub in entry[1]:
                self._forget(sub)

    def changed(self) -> bool:
        """Whether a watched file or a folder of a watched tree changed since the last call."""
        moved = False
        for path in self._files:
            stamp = _stamp(path)
            if stamp != self._file_stamps[path]:
                self._file_stamps[path] = stamp
                moved = True
        for root in self._roots:
            moved = self._check(root) or moved
        return moved

    def _check(self, folder: Path) -> bool:
        known = self._dirs.get(folder)
        stamp = _stamp(folder)
        if known is None or stamp != known[0]:
            if known is not None:
                for sub in known[1]:
                    self._forget(sub)
            self._scan(folder)
            return True
        moved = False
        for sub in known[1]:
            moved = self._check(sub) or moved
        return moved
