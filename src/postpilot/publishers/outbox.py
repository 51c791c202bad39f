"""The outbox publisher (the default): each post becomes a folder another tool can pick up.

    <project>/outbox/<campaign>/<account>/<job_id>/
        <video file>      hard link to the source when possible, else a copy
        post.json         caption, account, job id, sha256, published_at

The folder is built under a temporary name and renamed into place: the rename is the one
irreversible step, so a folder either is complete or does not exist. Publishing is idempotent
per job id, and reconcile() says "posted" exactly when the folder is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from postpilot import paths
from postpilot.jobs import Job, utcnow
from postpilot.publishers.base import (
    Account,
    Checkpoint,
    Published,
    Reconciled,
    ReconcileResult,
)
from postpilot.publishers.errors import ContentError, TransientError
from postpilot.publishers.video import VideoLimits, preflight

POST_FILE = "post.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")


def safe_component(name: str) -> str:
    """A path component for `name` that cannot escape its folder (no separators, no dot-dirs).

    Names that had to change get a short hash so two different names never share a folder.
    """
    cleaned = _UNSAFE.sub("_", name).strip(".")
    if cleaned == name and cleaned:
        return cleaned
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned[:80] or 'item'}-{digest}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OutboxPublisher:
    """Publishes into a local folder tree (see the module docstring)."""

    name = "outbox"

    def __init__(self, root: Path, campaign: str) -> None:
        self.root = root
        self.campaign = campaign

    @classmethod
    def from_config(
        cls, block: Mapping[str, Any], project_root: Path, campaign: str
    ) -> OutboxPublisher:
        """`{"type": "outbox", "dir": "<optional folder, relative to the project root>"}`."""
        folder = block.get("dir") or paths.OUTBOX_DIR
        if not isinstance(folder, str):
            raise ContentError("publisher.dir must be a folder path (text)")
        return cls(project_root / folder, campaign)

    def post_dir(self, job: Job) -> Path:
        """Where the job's post folder goes."""
        return (
            self.root
            / safe_component(self.campaign)
            / safe_component(job.account)
            / safe_component(job.job_id)
        )

    def _complete(self, folder: Path) -> dict[str, Any] | None:
        try:
            post = json.loads((folder / POST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(post, dict):
            return None
        video = folder / str(post.get("video_file", ""))
        return post if video.is_file() else None

    def _published(self, job: Job, folder: Path) -> Published:
        return Published(remote_id=job.job_id, url=folder.as_uri())

    def publish(self, job: Job, account: Account, checkpoint: Checkpoint) -> Published:
        """Write the post folder atomically; a complete existing folder is reused."""
        final = self.post_dir(job)
        if self._complete(final) is not None:
            return self._published(job, final)
        source = Path(job.video_path)
        if not source.is_file():
            raise ContentError(f"video file not found: {source}", error_type="corrupted_video")
        # Like every channel: an empty, non-MP4/MOV or truncated file is a content error,
        # never a "published" post another tool then chokes on.
        preflight(source, VideoLimits())
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
        try:
            staging.mkdir()
            target = staging / safe_component(source.name)
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)
            post = {
                "campaign": self.campaign,
                "account": account.name,
                "job_id": job.job_id,
                "caption": job.caption,
                "video_file": target.name,
                "sha256": job.content_sha256,
                "published_at": utcnow().isoformat(),
            }
            data = json.dumps(post, ensure_ascii=False, indent=2).encode("utf-8")
            with open(staging / POST_FILE, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            checkpoint.start_publish()
            os.rename(staging, final)
            _fsync_dir(final.parent)
        except OSError as exc:
            if self._complete(final) is not None:
                return self._published(job, final)
            raise TransientError(f"could not write the outbox folder {final}: {exc}") from exc
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(staging)
        return self._published(job, final)

    def reconcile(
        self,
        job: Job,
        checkpoint: Mapping[str, str],  # noqa: ARG002  Publisher's signature; the folder decides
    ) -> Reconciled:
        """Posted exactly when the job's folder is complete."""
        final = self.post_dir(job)
        if self._complete(final) is not None:
            return Reconciled(ReconcileResult.POSTED, remote_id=job.job_id, url=final.as_uri())
        return Reconciled(ReconcileResult.NOT_POSTED)

    def close(self) -> None:
        """Nothing to release."""
