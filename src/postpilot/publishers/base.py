"""The publisher seam: every channel (outbox, webhook, YouTube, Instagram, TikTok) is one class.

A publisher saves its remote handle through `checkpoint` before any irreversible step, so that a
crash resumes or reconciles instead of posting again (invariant I1). Errors it raises are the
typed PublishError subclasses in postpilot.publishers.errors; anything else is classified from its
message as a fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from postpilot.jobs import Job


@dataclass(frozen=True, slots=True)
class Published:
    """A confirmed post: the platform's id and, where it has one, the post's URL."""

    remote_id: str
    url: str = ""


class ReconcileResult(StrEnum):
    """What the platform says about a post whose result was never recorded."""

    POSTED = "posted"
    NOT_POSTED = "not_posted"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Reconciled:
    """The answer of reconcile(); remote_id/url are set when POSTED and the platform says so."""

    result: ReconcileResult
    remote_id: str = ""
    url: str = ""


class Checkpoint(Protocol):
    """The job's durable resume handle, written under the job's lease."""

    @property
    def data(self) -> Mapping[str, str]:
        """What was saved so far (empty on a first attempt)."""
        ...

    def save(self, data: Mapping[str, str]) -> None:
        """Durably replace the saved data. Raises LeaseLost when the job's lease is gone:
        the publisher must stop without taking any further remote step."""
        ...

    def start_publish(self) -> None:
        """Mark that the first irreversible remote step is about to happen. From here on an
        interruption makes the job unconfirmed rather than retried. Raises LeaseLost."""
        ...


@dataclass(frozen=True, slots=True)
class Account:
    """The account a job publishes to. Credentials are loaded by the publisher itself."""

    name: str


@runtime_checkable
class Publisher(Protocol):
    """One publishing channel."""

    #: The `type` in campaign.json's publisher block.
    name: str

    def publish(self, job: Job, account: Account, checkpoint: Checkpoint) -> Published:
        """Publish `job` to `account`, resuming from `checkpoint.data` when it has any.
        Must call checkpoint.start_publish() before its first irreversible step."""
        ...

    def reconcile(self, job: Job, checkpoint: Mapping[str, str]) -> Reconciled:
        """Decide from the platform whether an interrupted publish happened."""
        ...

    def close(self) -> None:
        """Release network clients and files."""
        ...


#: A channel class's `from_config(block, project_root)`: builds the publisher from
#: campaign.json's `publisher` block (as written, `type` included) and the project root (the
#: folder relative paths in the block are resolved against). postpilot.publishers.build_publisher
#: calls it for the built-in channels and for `"type": "custom"`.
PublisherFactory = Callable[[Mapping[str, Any], Path], Publisher]
