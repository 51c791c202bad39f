"""The plan's data: its inputs, its entries, the distribution rules' names and the reasons a
video is not placed (postpilot.planning computes plans from them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from postpilot.jobs import Job, JobStatus
from postpilot.schedule import Schedule

ONCE = "once"
EVERY_ACCOUNT = "every_account"

REASON_EVERY_ACCOUNT_HAS_IT = "no account left that lacks it"
REASON_PAST_END = "past the schedule's end"
REASON_BEYOND = "not within the planned days"
REASON_UNREADABLE = "fails preflight: the video file cannot be read"
REASON_UNKNOWN_ACCOUNT = "pinned to an unknown account"
REASON_BAD_PUBLISH_AT = "bad publish_at"
REASON_NO_ACCOUNTS = "no account can take new jobs"

#: Statuses of today's jobs that will still publish (shown in the plan as upcoming).
OPEN_STATUSES = frozenset({JobStatus.PENDING, JobStatus.RETRYING, JobStatus.CLAIMED})


@dataclass(frozen=True, slots=True)
class PlanVideo:
    """A video of the pool with its caption and pins."""

    filename: str
    video_path: str
    caption: str
    #: Content hash; "" means not computed yet (PlanInputs.hash_content computes it when the
    #: video is about to be placed, so a big pool is not read byte by byte for nothing).
    sha256: str
    line: int = 0
    publish_at: str = ""
    account: str = ""


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """One planned post."""

    date: str
    time: str
    scheduled_at: datetime
    account: str
    video: str
    job_id: str
    video_path: str = ""
    caption: str = ""
    sha256: str = ""
    #: True for a job already in the store (seeding skips it).
    existing: bool = False

    def to_json(self) -> dict[str, Any]:
        """The entry as `--plan --json` prints it."""
        return {
            "date": self.date,
            "time": self.time,
            "scheduled_at": self.scheduled_at.isoformat(),
            "account": self.account,
            "video": self.video,
            "job_id": self.job_id,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """Planned posts in time order and the videos that cannot be placed, with why."""

    entries: list[PlanEntry]
    unplaced: list[tuple[str, str]] = field(default_factory=list)
    #: Pins that are errors in the captions file (line-numbered messages).
    problems: list[str] = field(default_factory=list)
    #: Videos of the pool this campaign still has to publish (once) / posts left (every).
    remaining: int = 0
    total: int = 0

    def to_json(self) -> dict[str, Any]:
        """`{"plan": [...], "unplaced": [{"video", "reason"}]}`."""
        return {
            "plan": [entry.to_json() for entry in self.entries],
            "unplaced": [{"video": v, "reason": r} for v, r in self.unplaced],
        }


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """Everything a plan depends on besides the clock."""

    campaign: str
    accounts: Sequence[str]
    videos: Sequence[PlanVideo]
    distribution: str
    schedule: Schedule | None
    timezone: str
    daily_limit: int
    #: (job_id, account, sha256) this campaign has posted on any day (from the ledger).
    campaign_posted: frozenset[tuple[str, str, str]] = frozenset()
    #: Whether content was posted to an account by any campaign (I4); None: campaign_posted.
    is_posted: Callable[[str, str], bool] | None = None
    #: The store's jobs (the current day's).
    existing: Sequence[Job] = ()
    #: Room left today per account (ledger counts, open jobs); None: the daily limit.
    room_today: Mapping[str, int] | None = None
    #: Accounts that get nothing, with why.
    excluded: Mapping[str, str] = field(default_factory=dict)
    #: Computes a missing content hash from the video path (OSError: unreadable).
    hash_content: Callable[[str], str] | None = None
