"""The campaign plan: which video goes to which account at which slot, day after day.

`plan_campaign` is pure and deterministic: the same inputs give the same plan. Seeding uses the
plan's first day (the jobs of today), `--plan` shows N days of it, and since each day's plan is
computed from what was really published before it, a run without failures publishes exactly
the plan shown on day one. `plan_for(ctx, store, now, days)` gathers the inputs (folder, store,
ledger; postpilot.plan_io) and is what the CLI, the service and the dashboard call. The data
types live in postpilot.plan_model and are importable from here.

Rules (docs/scheduling.md has the worked example):
- distribution `once`: each video is published once in the campaign, to one account. Slots are
  filled in time order (accounts in accounts.txt order within one instant); each takes the
  first video of the pool (captions order) that this campaign has not published yet and that
  the slot's account does not already have (I4). Nothing this campaign published on an earlier
  day is ever planned again: the ledger remembers it after the day's jobs are archived.
- distribution `every_account`: each account works through the pool in order, one video per
  slot, skipping what it already has; the daily limit paces it.
- Slots come from postpilot.schedule (times, days, start, end, staggering, DST rule).
- captions.csv pins: `account` sends the row only to that account (at its next free slot);
  `publish_at` fixes the instant (the row's day then has one slot fewer for that account).
  A pinned time already past is due at once. A pin naming an unknown account, or an unreadable
  time, is a problem with the line number (seeding refuses it; --plan lists it as unplaced).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from postpilot.jobs import Job
from postpilot.plan_model import (
    EVERY_ACCOUNT,
    ONCE,
    OPEN_STATUSES,
    REASON_BAD_PUBLISH_AT,
    REASON_BEYOND,
    REASON_EVERY_ACCOUNT_HAS_IT,
    REASON_NO_ACCOUNTS,
    REASON_PAST_END,
    REASON_UNKNOWN_ACCOUNT,
    REASON_UNREADABLE,
    Plan,
    PlanEntry,
    PlanInputs,
    PlanVideo,
)
from postpilot.schedule import account_times, local_date, parse_publish_at, slot_instant
from postpilot.store.base import name_key

__all__ = [
    "EVERY_ACCOUNT",
    "ONCE",
    "REASON_BAD_PUBLISH_AT",
    "REASON_BEYOND",
    "REASON_EVERY_ACCOUNT_HAS_IT",
    "REASON_NO_ACCOUNTS",
    "REASON_PAST_END",
    "REASON_UNKNOWN_ACCOUNT",
    "REASON_UNREADABLE",
    "Plan",
    "PlanEntry",
    "PlanInputs",
    "PlanVideo",
    "job_id_for",
    "plan_campaign",
    "remaining_count",
]


def job_id_for(campaign: str, distribution: str, filename: str, account: str) -> str:
    """`<file>_<campaign>` (once: one job per video) or `<file>_<campaign>@<account>`."""
    base = f"{filename}_{campaign}"
    return base if distribution == ONCE else f"{base}@{account}"


def plan_campaign(inputs: PlanInputs, now: datetime, days: int) -> Plan:
    """The plan for the `days` local days starting with today (see the module docstring)."""
    return _Planner(inputs, now).run(days)


class _Planner:
    """One planning pass (state kept here so plan_campaign stays a plain function)."""

    def __init__(self, inputs: PlanInputs, now: datetime) -> None:
        self.i = inputs
        self.now = now
        self.today = local_date(now, inputs.timezone)
        self.accounts = [a for a in dict.fromkeys(inputs.accounts) if a]
        self.active = [a for a in self.accounts if a not in inputs.excluded]
        self.index = {a: n for n, a in enumerate(self.accounts)}
        self.has: set[tuple[str, str]] = {(a, sha) for _, a, sha in inputs.campaign_posted}
        self.done_videos = {sha for _, _, sha in inputs.campaign_posted}
        self.posted_ids = {job_id for job_id, _, _ in inputs.campaign_posted}
        self._hashes: dict[str, str] = {}
        self.problems: list[str] = []
        self.unplaced: list[tuple[str, str]] = []
        self.entries: list[PlanEntry] = []
        self._posted_cache: dict[tuple[str, str], bool] = {}
        self._taken: set[int] = set()
        self._head = 0
        self._instants: dict[tuple[date, time], datetime] = {}
        #: content hash (or path, before hashing) -> the name key of the video's file
        self._names: dict[str, str] = {}
        self._zone = ZoneInfo(inputs.timezone)
        self._shown: dict[datetime, tuple[str, str]] = {}

    def _sha(self, video: PlanVideo) -> str:
        """The video's content hash, computed once when first needed ("" if unreadable)."""
        # Migrated history whose file did not resolve is keyed by the video's file name.
        key = video.sha256 or video.video_path
        if key not in self._names:
            self._names[key] = name_key(_basename(video.video_path))
        if video.sha256:
            return video.sha256
        if video.video_path not in self._hashes:
            try:
                found = self.i.hash_content(video.video_path) if self.i.hash_content else ""
            except OSError:
                found = ""
            self._hashes[video.video_path] = found
            if found:
                self._names.setdefault(found, self._names[video.video_path])
            if not found:
                self.unplaced.append((video.filename, REASON_UNREADABLE))
        return self._hashes[video.video_path]

    def _already(self, account: str, sha: str) -> bool:
        if not sha:
            return True  # unreadable: nobody can take it
        name = self._names.get(sha)
        return self._has(account, sha) or (name is not None and self._has(account, name))

    def _has(self, account: str, sha: str) -> bool:
        if (account, sha) in self.has:
            return True
        if self.i.is_posted is None:
            return False
        key = (account, sha)
        if key not in self._posted_cache:
            self._posted_cache[key] = self.i.is_posted(account, sha)
        return self._posted_cache[key]

    # -- the pool -----------------------------------------------------------------------
    def _pool(self) -> tuple[list[PlanVideo], list[tuple[PlanVideo, datetime]]]:
        """(videos for slots, videos with a pinned instant), both still to publish."""
        existing_ids = {job.job_id for job in self.i.existing}
        for job in self.i.existing:
            if job.content_sha256:
                self.has.add((job.account, job.content_sha256))
                if self.i.distribution == ONCE:
                    self.done_videos.add(job.content_sha256)
        free: list[PlanVideo] = []
        timed: list[tuple[PlanVideo, datetime]] = []
        for video in self.i.videos:
            if video.account and video.account not in self.index:
                where = f"line {video.line}" if video.line else "its row"
                self.problems.append(
                    f"captions {where}: account {video.account!r} is not in accounts.txt"
                )
                self.unplaced.append(
                    (video.filename, f"{REASON_UNKNOWN_ACCOUNT} {video.account!r}")
                )
                continue
            when: datetime | None = None
            if video.publish_at:
                try:
                    when = parse_publish_at(video.publish_at, self.i.timezone)
                except ValueError as exc:
                    self.problems.append(f"captions line {video.line}: {exc}")
                    self.unplaced.append((video.filename, REASON_BAD_PUBLISH_AT))
                    continue
            if self.i.distribution == ONCE:
                job_id = job_id_for(self.i.campaign, ONCE, video.filename, "")
                if job_id in self.posted_ids or job_id in existing_ids:
                    continue
                if video.sha256 and video.sha256 in self.done_videos:
                    continue
            if when is not None:
                timed.append((video, when))
            else:
                free.append(video)
        return free, timed

    # -- slots --------------------------------------------------------------------------
    def _room_today(self, account: str) -> int:
        if self.i.room_today is None:
            return self.i.daily_limit
        return self.i.room_today.get(account, self.i.daily_limit)

    def _day_slots(self, day: date, used: Mapping[str, int]) -> list[tuple[datetime, int, str]]:
        """(instant, account order, account) of the day's free slots, in time order."""
        occupied: dict[str, list[datetime]] = defaultdict(list)
        if day == self.today:
            for job in self.i.existing:
                if job.scheduled_at is not None:
                    occupied[job.account].append(job.scheduled_at)
        slots: list[tuple[datetime, int, str]] = []
        for account in self.active:
            times = account_times(self.i.schedule, day, self.index[account], self.i.daily_limit)
            instants = [self._instant(day, t) for t in times]
            if day == self.today:
                taken = list(occupied[account])
                kept = []
                for t in instants:  # one job takes one slot (several may share an instant)
                    if t in taken:
                        taken.remove(t)
                    else:
                        kept.append(t)
                instants = kept[: max(0, self._room_today(account) - used[account])]
            else:
                instants = instants[: max(0, self.i.daily_limit - used[account])]
            slots.extend((t, self.index[account], account) for t in instants)
        slots.sort()
        return slots

    def _local(self, instant: datetime) -> tuple[str, str]:
        """(date, HH:MM) of an instant in the campaign's zone; slots share a few instants."""
        shown = self._shown.get(instant)
        if shown is None:
            local = instant.astimezone(self._zone)
            shown = self._shown[instant] = (local.date().isoformat(), local.strftime("%H:%M"))
        return shown

    def _entry(self, video: PlanVideo, account: str, instant: datetime) -> PlanEntry:
        day, at = self._local(instant)
        sha = self._sha(video)
        self.has.add((account, sha))
        return PlanEntry(
            date=day,
            time=at,
            scheduled_at=instant,
            account=account,
            video=video.filename,
            job_id=job_id_for(self.i.campaign, self.i.distribution, video.filename, account),
            video_path=video.video_path,
            caption=video.caption,
            sha256=sha,
        )

    def _pick(self, pool: list[PlanVideo], account: str) -> PlanVideo | None:
        """The first video of `pool` not taken yet that this account may take (pins, I4).
        Taken videos are marked, not deleted, and the scan starts at the first untaken one:
        a pool of 100k videos costs O(1) per slot, not a list shift."""
        n = self._head
        while n < len(pool):
            if n in self._taken:
                n += 1
                continue
            video = pool[n]
            if video.account and video.account != account:
                n += 1
                continue
            sha = self._sha(video)
            if not sha:
                self._take(n)  # unreadable (already listed as unplaced)
            elif not self._already(account, sha):
                self._take(n)
                return video
            n += 1
        return None

    def _take(self, n: int) -> None:
        self._taken.add(n)
        while self._head in self._taken:
            self._head += 1

    def _instant(self, day: date, at: time) -> datetime:
        key = (day, at)
        if key not in self._instants:
            self._instants[key] = slot_instant(day, at, self.i.timezone)
        return self._instants[key]

    def _place_timed(
        self, video: PlanVideo, when: datetime, used: dict[date, dict[str, int]]
    ) -> None:
        """A pinned instant: its account (or the first with room that lacks it), taking one
        slot of that account's day. A time on an earlier day is due at once."""
        instant = max(when, self.now) if local_date(when, self.i.timezone) < self.today else when
        day = max(local_date(when, self.i.timezone), self.today)
        targets = [video.account] if video.account else list(self.active)
        placed = False
        for account in targets:
            if self._already(account, self._sha(video)):
                continue
            room = self._room_today(account) if day == self.today else self.i.daily_limit
            if not video.account and used[day][account] >= room:
                continue
            used[day][account] += 1
            self.entries.append(self._entry(video, account, instant))
            placed = True
            if self.i.distribution == ONCE:
                break
        if not placed and self._sha(video):
            self.unplaced.append((video.filename, REASON_EVERY_ACCOUNT_HAS_IT))

    def run(self, days: int) -> Plan:
        free, timed = self._pool()
        for job in self.i.existing:
            if job.status in OPEN_STATUSES:
                shown_day, shown_at = self._local(job.scheduled_at or self.now)
                self.entries.append(
                    PlanEntry(
                        date=shown_day,
                        time=shown_at,
                        scheduled_at=job.scheduled_at or self.now,
                        account=job.account,
                        video=_filename(job),
                        job_id=job.job_id,
                        video_path=job.video_path,
                        caption=job.caption,
                        sha256=job.content_sha256,
                        existing=True,
                    )
                )
        if not self.active:
            self.unplaced.extend((v.filename, REASON_NO_ACCOUNTS) for v in free)
            self.unplaced.extend((v.filename, REASON_NO_ACCOUNTS) for v, _ in timed)
            return self._finish(free, timed)
        last = self.today + timedelta(days=max(0, days - 1))
        used: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        later: list[tuple[PlanVideo, datetime]] = []
        for video, when in timed:
            if local_date(when, self.i.timezone) > last:
                later.append((video, when))
            else:
                self._place_timed(video, when, used)
        # every_account: each account walks the pool with its own cursor.
        cursors: dict[str, int] = defaultdict(int)
        day = self.today
        while day <= last and (self._head < len(free) or self.i.distribution == EVERY_ACCOUNT):
            for instant, _, account in self._day_slots(day, used[day]):
                if self.i.distribution == ONCE:
                    chosen = self._pick(free, account)
                else:
                    chosen = self._next_for(free, account, cursors)
                if chosen is not None:
                    used[day][account] += 1
                    self.entries.append(self._entry(chosen, account, instant))
            day += timedelta(days=1)
        self.unplaced.extend((v.filename, REASON_BEYOND) for v, _ in later)
        left = [v for n, v in enumerate(free) if n not in self._taken]
        return self._finish(left, [], cursors)

    def _next_for(
        self, pool: list[PlanVideo], account: str, cursors: dict[str, int]
    ) -> PlanVideo | None:
        while cursors[account] < len(pool):
            video = pool[cursors[account]]
            cursors[account] += 1
            if video.account and video.account != account:
                continue
            if self.posted_ids and self._job_id(video, account) in self.posted_ids:
                continue
            if not self._already(account, self._sha(video)):
                return video
        return None

    def _job_id(self, video: PlanVideo, account: str) -> str:
        return job_id_for(self.i.campaign, self.i.distribution, video.filename, account)

    def _finish(
        self,
        free: list[PlanVideo],
        timed: list[tuple[PlanVideo, datetime]],
        cursors: Mapping[str, int] | None = None,
    ) -> Plan:
        schedule = self.i.schedule
        ended = schedule is not None and schedule.end is not None
        for video in free:
            if video.video_path in self._hashes and not self._hashes[video.video_path]:
                continue  # unreadable, already listed
            if self.i.distribution == EVERY_ACCOUNT:
                lacking = [
                    a
                    for a in self.active
                    if (not video.account or video.account == a)
                    and self._job_id(video, a) not in self.posted_ids
                    and (a, video.sha256 or self._hashes.get(video.video_path, "")) not in self.has
                ]
                if not lacking:
                    continue  # done: every account has it
                reason = REASON_BEYOND
            else:
                lacking = [
                    a
                    for a in self.active
                    if (a, self._hashes.get(video.video_path, "")) not in self.has
                ]
                reason = REASON_BEYOND if lacking else REASON_EVERY_ACCOUNT_HAS_IT
            if ended and reason == REASON_BEYOND:
                reason = REASON_PAST_END
            self.unplaced.append((video.filename, reason))
        del timed, cursors
        self.entries.sort(key=lambda e: (e.scheduled_at, self.index.get(e.account, 0), e.job_id))
        return Plan(
            entries=self.entries,
            unplaced=self.unplaced,
            problems=self.problems,
            remaining=self._remaining(),
            total=len(self.i.videos),
        )

    def _remaining(self) -> int:
        """Videos (once) or account posts (every_account) not yet published."""
        return remaining_count(
            self.i.campaign, self.i.distribution, self.i.videos, self.active, self.posted_ids
        )


def remaining_count(
    campaign: str,
    distribution: str,
    videos: Sequence[PlanVideo],
    accounts: Sequence[str],
    posted_ids: set[str] | frozenset[str],
) -> int:
    """Videos (once) or account posts (every_account) this campaign has not published yet;
    by job id, so no video file is read."""
    if distribution == ONCE:
        return sum(
            1 for v in videos if job_id_for(campaign, ONCE, v.filename, "") not in posted_ids
        )
    return sum(
        1
        for v in videos
        for a in accounts
        if (not v.account or v.account == a)
        and job_id_for(campaign, distribution, v.filename, a) not in posted_ids
    )


def _basename(path: str) -> str:
    """The file name of a POSIX or Windows path (prior history may hold either), without
    building a PureWindowsPath per video."""
    tail = path.replace("\\", "/").rsplit("/", 1)[-1]
    if len(tail) > 1 and tail[1] == ":" and tail[0].isalpha():
        tail = tail[2:]  # "C:name.mp4": a drive-relative Windows path
    return tail


def _filename(job: Job) -> str:
    suffix = f"_{job.campaign}"
    base = job.job_id.split("@", 1)[0]
    return base[: -len(suffix)] if job.campaign and base.endswith(suffix) else base
