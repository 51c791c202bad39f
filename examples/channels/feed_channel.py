"""An example custom channel: every post becomes one line of a JSON Lines feed file.

It uses only the plugin API that `postpilot.publishers` exports, and shows the three things
every channel must get right (docs/publishers.md, "Custom channels"):

1. `from_config(block, project_root)` checks its own keys: postpilot passes a custom block on
   unchecked. A bad block is a ConfigError naming the key and the fix.
2. `publish` is safe to call again for the same job: a post already in the feed is returned,
   never written twice. It calls `checkpoint.start_publish()` just before its one irreversible
   step (the append); a failure after that point may have posted, so it raises OutcomeUnknown
   and the job becomes `unconfirmed` instead of being retried.
3. `reconcile` answers from the destination itself (is the job's line in the feed?).

Use it from a campaign.json (the module must be importable, e.g. through PYTHONPATH):

    "publisher": {"type": "custom", "class": "feed_channel:FeedChannel", "file": "feed.jsonl"}

    PYTHONPATH=examples/channels postpilot --campaign demo --run

tests/acceptance/test_custom_channel.py runs a campaign through it with the real command line.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from postpilot.publishers import (
    Account,
    Checkpoint,
    ConfigError,
    ContentError,
    Job,
    OutcomeUnknown,
    Published,
    Reconciled,
    ReconcileResult,
    TransientError,
)

KEYS = frozenset({"type", "class", "file"})


class FeedChannel:
    """Appends `{"job_id", "account", "caption", "video"}` lines to one feed file."""

    name = "feed"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def from_config(cls, block: Mapping[str, Any], project_root: Path) -> FeedChannel:
        """`file`: the feed, relative to the project root (default feed.jsonl)."""
        unknown = sorted(set(block) - KEYS)
        if unknown:
            raise ConfigError(
                f"publisher: feed_channel does not know {', '.join(unknown)}; "
                f"its keys are: {', '.join(sorted(KEYS))}"
            )
        file = block.get("file", "feed.jsonl")
        if not isinstance(file, str) or not file:
            raise ConfigError('publisher.file must be a file name, e.g. "feed.jsonl"')
        return cls(project_root / file)

    def _posted(self, job_id: str) -> dict[str, Any] | None:
        """The feed's line for `job_id`, if it has one."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash mid-write holds no complete post
            if isinstance(entry, dict) and entry.get("job_id") == job_id:
                return entry
        return None

    def _published(self, job_id: str) -> Published:
        return Published(remote_id=job_id, url=f"{self.path.as_uri()}#{job_id}")

    def publish(self, job: Job, account: Account, checkpoint: Checkpoint) -> Published:
        """Append the job's line once; a job already in the feed is returned as it is."""
        if self._posted(job.job_id) is not None:
            return self._published(job.job_id)
        video = Path(job.video_path)
        if not video.is_file():
            raise ContentError(f"video file not found: {video}", error_type="corrupted_video")
        line = json.dumps(
            {
                "job_id": job.job_id,
                "account": account.name,
                "caption": job.caption,
                "video": video.name,
            },
            ensure_ascii=False,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            # Nothing was written: a plain retry.
            raise TransientError(f"cannot open the feed {self.path}: {exc}") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            checkpoint.start_publish()
            try:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as exc:
                # Part of the line may be on disk: only reconcile may decide.
                raise OutcomeUnknown(f"writing the feed {self.path} failed: {exc}") from None
        return self._published(job.job_id)

    def reconcile(self, job: Job, checkpoint: Mapping[str, str]) -> Reconciled:
        """Posted when the feed holds the job's line, else not posted."""
        if self._posted(job.job_id) is None:
            return Reconciled(ReconcileResult.NOT_POSTED)
        published = self._published(job.job_id)
        return Reconciled(ReconcileResult.POSTED, published.remote_id, published.url)

    def close(self) -> None:
        """Nothing to release: the feed is opened per post."""
