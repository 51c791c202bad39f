"""A campaign's videos and how they pair with its caption rows: the videos folder listed in a
fixed order (by relative path, never directory-listing order), each video matched by file name
then stem, names that are absolute or escape the folder (symlinks included) rejected, and every
mismatch counted in the MatchReport; plus a video's content hash (invariant I4). Split from
campaign.py."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from postpilot.captions import CaptionRow, CaptionsFile

#: Video file suffixes (compared lower-case, so .MP4 and .Mov count too).
VIDEO_SUFFIXES = frozenset({".mp4", ".mov"})

_HASH_CHUNK = 1024 * 1024


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
    import hashlib  # here: only seeding hashes videos (--status starts without it)

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
