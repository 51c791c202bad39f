"""The in-memory job store: the reference semantics every other store is compared with.

Simple and obviously right on purpose: one lock, plain dicts, and every job change made by a
pure function of postpilot.jobs (or one of the two small rules below). The SQLite and
PostgreSQL stores must give the same observable results for the same calls; the contract tests
and the hypothesis state machine check that. Several MemoryJobStore objects (one per campaign)
share one MemoryLedger the way campaigns share `.postpilot/ledger.db`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from postpilot.errors import StoreError
from postpilot.jobs import (
    Job,
    JobStatus,
    apply_expiry,
    apply_success,
    due_at,
    is_claimable,
    may_be_in_flight,
)
from postpilot.store.base import AccountState, ClaimOutlook, ClaimRequest, HistoricPost, Recovery
from postpilot.store.cas import CasStore
from postpilot.store.dashboard import OperatorAction
from postpilot.store.memory_dashboard import MemoryDashboardMixin

# The pure rules every store shares, importable from here as before.
from postpilot.store.rules import (  # noqa: F401 - re-exported
    DUPLICATE_CONTENT,
    apply_duplicate,
    apply_not_posted,
    claim_order,
    new_token,
    next_seqs,
    status_counts,
)


# -- the shared ledger ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Lease:
    """One account's publish lease (I2)."""

    campaign: str
    job_id: str
    token: str
    expires_at: datetime


@dataclass(slots=True)
class MemoryLedger:
    """The project ledger shared by the MemoryJobStores of several campaigns."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    daily: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (account, sha256) -> the (campaign, job_id) pairs that posted it.
    posted: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    #: account -> (block, reason, blocked_until)
    blocks: dict[str, tuple[str, str, datetime | None]] = field(default_factory=dict)
    #: campaign -> its store's jobs, so an account lease can be checked against its job.
    campaigns: dict[str, dict[str, Job]] = field(default_factory=dict)
    #: (account, key, campaign, source) of prior history already recorded (record_history).
    history: set[tuple[str, str, str, str]] = field(default_factory=set)


class MemoryJobStore(MemoryDashboardMixin, CasStore[None]):
    """One campaign's jobs in memory, plus a (possibly shared) MemoryLedger."""

    def __init__(
        self,
        campaign: str,
        ledger: MemoryLedger | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.campaign = campaign
        self.ledger = ledger if ledger is not None else MemoryLedger()
        self._rng = rng
        self._lock = self.ledger.lock
        with self._lock:
            self._jobs: dict[str, Job] = self.ledger.campaigns.setdefault(campaign, {})
        self._actions: dict[str, OperatorAction] = {}
        self._paused: dict[str, str] | None = None
        self._closed = False

    # -- seeding and reading ------------------------------------------------------------
    def insert_jobs(self, jobs: Iterable[Job]) -> int:
        """Insert jobs whose job_id is absent; a job without seq gets the next one."""
        with self._lock:
            top = max((j.seq for j in self._jobs.values()), default=0)
            new = next_seqs(jobs, set(self._jobs), top)
            for job, seq in new:
                self._jobs[job.job_id] = job.evolve(campaign=self.campaign, seq=seq)
            return len(new)

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        with self._lock:
            return self._jobs.get(job_id)

    def list_jobs(self, statuses: Iterable[JobStatus] | None = None) -> list[Job]:
        """Jobs in seq order (ties in insertion order), optionally filtered by status."""
        with self._lock:
            wanted = None if statuses is None else {JobStatus(s) for s in statuses}
            jobs = [j for j in self._sorted() if wanted is None or j.status in wanted]
            return jobs

    def counts(self) -> dict[str, int]:
        """{"total": n, <every status>: n}."""
        with self._lock:
            return status_counts(j.status for j in self._jobs.values())

    def status_breakdown(self) -> list[tuple[str, str, str, int]]:
        """Counts grouped by (account, status, error_type)."""
        with self._lock:
            grouped: dict[tuple[str, str, str], int] = {}
            for job in self._jobs.values():
                key = (job.account, str(job.status), job.error_type)
                grouped[key] = grouped.get(key, 0) + 1
            return sorted((a, s, e, n) for (a, s, e), n in grouped.items())

    # -- the claim cycle ----------------------------------------------------------------
    def claim(self, request: ClaimRequest) -> Job | None:
        """Take the earliest-due claimable job (claim_order) whose account passes the ledger
        checks."""
        now = request.now
        with self._lock:
            self._recover(now)
            held, unconfirmed = self._held_accounts()
            for job in sorted(self._jobs.values(), key=claim_order):
                if not is_claimable(job, now):
                    continue
                if request.accounts is not None and job.account not in request.accounts:
                    continue
                if job.account in held or not self._account_free(job.account, now):
                    continue
                waiting = unconfirmed.get(job.account, 0)
                if self._daily(job.account, request.day) + waiting >= request.daily_limit:
                    continue
                if self._posted_by_other(job):
                    self._jobs[job.job_id] = apply_duplicate(job, now)
                    continue
                token = new_token()
                expires = now + request.lease
                claimed = job.evolve(
                    status=JobStatus.CLAIMED,
                    worker_id=request.worker_id,
                    claimed_at=now,
                    run_id=request.run_id,
                    lease_token=token,
                    lease_expires_at=expires,
                    publish_started_at=None,
                )
                self._jobs[job.job_id] = claimed
                self.ledger.leases[job.account] = Lease(self.campaign, job.job_id, token, expires)
                return claimed
            return None

    def heartbeat(self, job_id: str, token: str, now: datetime, lease: timedelta) -> bool:
        """Extend the job's and its account's lease; False when the token is stale or the
        account lease was taken by another holder meanwhile."""
        with self._lock:
            job = self._held(None, job_id, token)
            if job is None:
                return False
            current = self.ledger.leases.get(job.account)
            if (
                current is not None
                and not self._is_ours(current, job)
                and current.expires_at > now
                and not self._orphan(current)
            ):
                return False
            expires = now + lease
            self._jobs[job_id] = job.evolve(lease_expires_at=expires)
            self.ledger.leases[job.account] = Lease(self.campaign, job_id, token, expires)
            return True

    def complete(
        self,
        job_id: str,
        token: str,
        now: datetime,
        *,
        day: str,
        remote_id: str = "",
        remote_url: str = "",
    ) -> bool:
        """Ledger first (count, posted hash), then the job as success; frees the account."""
        with self._lock:
            job = self._held(None, job_id, token, settling=True)
            if job is None:
                return False
            self._record_posted(job, day)
            self._drop_lease(None, job)
            self._jobs[job_id] = apply_success(job, now, remote_id, remote_url)
            return True

    def recover_expired(self, now: datetime) -> Recovery:
        """Expired claims of this campaign back to the queue, or unconfirmed."""
        with self._lock:
            return self._recover(now)

    def clear(self) -> int:
        """Delete every job; refuses while one is claimed."""
        with self._lock:
            claimed = [j.job_id for j in self._sorted() if j.status is JobStatus.CLAIMED]
            if claimed:
                raise StoreError(
                    f"Cannot clear campaign '{self.campaign}': {len(claimed)} job(s) are "
                    f"claimed by a running worker (first: {claimed[0]}); stop the run first"
                )
            n = len(self._jobs)
            self._jobs.clear()
            for account, lease in list(self.ledger.leases.items()):
                if lease.campaign == self.campaign:
                    del self.ledger.leases[account]
            return n

    # -- the ledger -----------------------------------------------------------------------
    def daily_count(self, account: str, day: str) -> int:
        """Successes of the account on the day, across campaigns."""
        with self._lock:
            return self._daily(account, day)

    def is_posted(self, account: str, content_sha256: str) -> bool:
        """Whether this content was already posted to this account."""
        with self._lock:
            return bool(content_sha256) and bool(self.ledger.posted.get((account, content_sha256)))

    def posted_content(self) -> set[tuple[str, str, str]]:
        """(job_id, account, sha256) of every post this campaign made, on any day."""
        with self._lock:
            return {
                (job_id, account, sha)
                for (account, sha), holders in self.ledger.posted.items()
                for campaign, job_id in holders
                if campaign == self.campaign
            }

    def next_due_at(self, now: datetime) -> datetime | None:
        """The earliest time after `now` a waiting job becomes due by its own state."""
        with self._lock:
            times = [due_at(job) for job in self._jobs.values()]
            return min((t for t in times if t is not None and t > now), default=None)

    def outlook(self, request: ClaimRequest) -> ClaimOutlook:
        """Whether a claim of this campaign runs or a due job's account is leased live."""
        now, wanted = request.now, request.accounts
        with self._lock:
            busy = any(j.status is JobStatus.CLAIMED for j in self._jobs.values())
            for job in self._jobs.values():
                if busy:
                    break
                if is_claimable(job, now) and (wanted is None or job.account in wanted):
                    lease = self.ledger.leases.get(job.account)
                    busy = lease is not None and lease.expires_at > now
            return ClaimOutlook(busy, self.next_due_at(now))

    def record_history(self, posts: Iterable[HistoricPost]) -> int:
        """Prior posts into the ledger, each once (see postpilot.store.base.HistoricPost)."""
        added = 0
        with self._lock:
            for post in posts:
                ident = (post.account, post.key, post.campaign, post.source)
                if ident in self.ledger.history:
                    continue
                self.ledger.history.add(ident)
                added += 1
                holders = self.ledger.posted.setdefault((post.account, post.key), set())
                holders.add((post.campaign, post.source))
                if post.counts_day and post.day:
                    day_key = (post.account, post.day)
                    self.ledger.daily[day_key] = self.ledger.daily.get(day_key, 0) + 1
        return added

    def account_states(self, accounts: Iterable[str]) -> dict[str, AccountState]:
        """The ledger's raw view of each account (expiry left for the caller to judge)."""
        with self._lock:
            holders: dict[str, tuple[str, str]] = {}
            waiting: dict[str, int] = {}
            for campaign, jobs in self.ledger.campaigns.items():
                for job in jobs.values():
                    if may_be_in_flight(job):
                        key = (campaign, job.job_id)
                        holders[job.account] = min(holders.get(job.account, key), key)
                    if job.status is JobStatus.UNCONFIRMED:
                        waiting[job.account] = waiting.get(job.account, 0) + 1
            states = {}
            for account in accounts:
                lease = self.ledger.leases.get(account)
                block, reason, until = self.ledger.blocks.get(account, ("", "", None))
                states[account] = AccountState(
                    account=account,
                    leased_by=(lease.campaign, lease.job_id) if lease else None,
                    lease_expires_at=lease.expires_at if lease else None,
                    block=block,
                    blocked_until=until,
                    block_reason=reason,
                    held_by=holders.get(account),
                    unconfirmed=waiting.get(account, 0),
                )
            return states

    def block_account(
        self, account: str, block: str, reason: str, until: datetime | None = None
    ) -> None:
        """Stop claims for the account until `until`, or until cleared."""
        with self._lock:
            self.ledger.blocks[account] = (block, reason, until)

    def unblock_account(self, account: str) -> None:
        """Lift any block on the account."""
        with self._lock:
            self.ledger.blocks.pop(account, None)

    def close(self) -> None:
        """Nothing to release; the data stays in the ledger object."""
        self._closed = True

    # -- internals (callers hold the lock) ------------------------------------------------
    # -- the CasStore hooks (postpilot.store.cas) -------------------------------------------
    @contextmanager
    def _cas(self, action: str) -> Iterator[None]:
        with self._lock:
            yield None

    def _held(self, tx: None, job_id: str, token: str, settling: bool = False) -> Job | None:
        """The claimed job when `token` is its current lease token (I7), else None. With
        `settling`, also an unconfirmed job that kept the token (a stalled holder's answer)."""
        job = self._jobs.get(job_id)
        allowed = (JobStatus.CLAIMED, JobStatus.UNCONFIRMED) if settling else (JobStatus.CLAIMED,)
        if job is None or not token or job.status not in allowed:
            return None
        return job if job.lease_token == token else None

    def _is_ours(self, lease: Lease, job: Job) -> bool:
        return (
            lease.campaign == self.campaign
            and lease.job_id == job.job_id
            and lease.token == job.lease_token
        )

    def _held_accounts(self) -> tuple[set[str], dict[str, int]]:
        """Accounts with a publish that may be in flight, and unconfirmed jobs per account,
        across every campaign of the ledger."""
        held: set[str] = set()
        unconfirmed: dict[str, int] = {}
        for jobs in self.ledger.campaigns.values():
            for job in jobs.values():
                if may_be_in_flight(job):
                    held.add(job.account)
                if job.status is JobStatus.UNCONFIRMED:
                    unconfirmed[job.account] = unconfirmed.get(job.account, 0) + 1
        return held, unconfirmed

    def _account_free(self, account: str, now: datetime) -> bool:
        lease = self.ledger.leases.get(account)
        if lease is not None and lease.expires_at > now and not self._orphan(lease):
            return False
        block = self.ledger.blocks.get(account)
        if block is not None and block[0]:
            until = block[2]
            if until is None or until > now:
                return False
        return True

    def _orphan(self, lease: Lease) -> bool:
        """A lease of this campaign whose job is not claimed with its token (the SQLite store
        can leave one behind after a crash between its two commits); it counts as free."""
        if lease.campaign != self.campaign:
            return False
        job = self._jobs.get(lease.job_id)
        return not (
            job is not None and job.status is JobStatus.CLAIMED and job.lease_token == lease.token
        )

    def _daily(self, account: str, day: str) -> int:
        return self.ledger.daily.get((account, day), 0)

    def _posted_by_other(self, job: Job) -> bool:
        if not job.content_sha256:
            return False
        holders = self.ledger.posted.get((job.account, job.content_sha256), set())
        return any(holder != (self.campaign, job.job_id) for holder in holders)

    def _record_posted(self, job: Job, day: str) -> None:
        key = (job.account, day)
        self.ledger.daily[key] = self.ledger.daily.get(key, 0) + 1
        if job.content_sha256:
            holders = self.ledger.posted.setdefault((job.account, job.content_sha256), set())
            holders.add((self.campaign, job.job_id))

    def _drop_lease(self, tx: None, job: Job) -> None:
        lease = self.ledger.leases.get(job.account)
        if lease is not None and self._is_ours(lease, job):
            del self.ledger.leases[job.account]

    def _unconfirmed_job(self, tx: None, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.status is JobStatus.UNCONFIRMED else None

    def _write_job(self, tx: None, old: Job, new: Job) -> bool:
        self._jobs[old.job_id] = new
        return True

    def _record_resolved(
        self, tx: None, job: Job, day: str, now: datetime, remote_id: str, remote_url: str
    ) -> None:
        self._record_posted(job, day)

    def _failed_jobs(self, tx: None) -> Sequence[Job]:
        return [job for job in self._sorted() if job.status is JobStatus.FAILED]

    def _write_many(self, tx: None, pairs: Sequence[tuple[Job, Job]]) -> None:
        for old, new in pairs:
            self._jobs[old.job_id] = new

    def _recover(self, now: datetime) -> Recovery:
        released: list[str] = []
        unconfirmed: list[str] = []
        for job in self._sorted():
            if job.status is not JobStatus.CLAIMED:
                continue
            if job.lease_expires_at is not None and job.lease_expires_at > now:
                continue
            self._drop_lease(None, job)
            updated = apply_expiry(job, now)
            self._jobs[job.job_id] = updated
            if updated.status is JobStatus.UNCONFIRMED:
                unconfirmed.append(job.job_id)
            else:
                released.append(job.job_id)
        for account, lease in list(self.ledger.leases.items()):
            if self._orphan(lease):
                del self.ledger.leases[account]
        return Recovery(released=tuple(released), unconfirmed=tuple(unconfirmed))
