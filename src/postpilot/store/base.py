"""The job store contract: what every store (memory, SQLite, PostgreSQL) promises.

A store is opened for one campaign's jobs and shares a project ledger with every other campaign
of the project: daily success counters per (account, local day), the hashes of content already
posted per account, per-account leases (one publish per account at a time, I2) and per-account
blocks (needs re-auth, quota exhausted until a time).

Every state change of a claimed job is a compare-and-set on its lease token (I7): a worker whose
lease expired or was taken over gets False back and must not act on the job again.
The transition rules themselves live in postpilot.jobs; stores only apply them atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from postpilot.jobs import Failure, Job, JobStatus, RetryPolicy

#: Reasons an account cannot take work now (used in reports of blocked jobs).
BLOCK_NEEDS_REAUTH = "needs_reauth"
BLOCK_RATE_LIMIT = "rate_limit"


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """Everything a claim decision depends on besides the store's rows."""

    worker_id: str
    now: datetime
    lease: timedelta
    #: The campaign's max_posts_per_account_per_day (I3, counted across campaigns).
    daily_limit: int
    #: The local calendar day of `now` in the campaign's timezone (postpilot.jobs.local_day).
    day: str
    run_id: str = ""
    #: When set, only jobs of these accounts may be claimed (accounts removed mid-day).
    accounts: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class AccountState:
    """The ledger's view of one account."""

    account: str
    #: Holder of the account's publish lease: (campaign, job_id), or None when free.
    leased_by: tuple[str, str] | None = None
    lease_expires_at: datetime | None = None
    #: "" when the account may publish; else BLOCK_NEEDS_REAUTH or BLOCK_RATE_LIMIT.
    block: str = ""
    #: For rate blocks: when the window resets. None with a block means until cleared.
    blocked_until: datetime | None = None
    block_reason: str = ""
    #: A publish that may still be running on the account (postpilot.jobs.may_be_in_flight):
    #: (campaign, job_id) of the first such job, or None. No claim of any campaign takes the
    #: account meanwhile.
    held_by: tuple[str, str] | None = None
    #: Unconfirmed jobs of the account across campaigns: each counts toward its daily limit.
    unconfirmed: int = 0


@dataclass(frozen=True, slots=True)
class Recovery:
    """What recover_expired did: jobs back in the queue, jobs that need reconciling."""

    released: Sequence[str] = field(default_factory=tuple)
    unconfirmed: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ClaimOutlook:
    """What a worker whose claim found nothing may wait for in the same pass."""

    #: A claim of this campaign is running, or the account of a due waiting job (among
    #: request.accounts) is leased by a live publish of any campaign: its end may free a job.
    in_flight: bool
    #: next_due_at(request.now): the earliest time a waiting job becomes due by its own state.
    next_due: datetime | None = None


@runtime_checkable
class JobStore(Protocol):
    """One campaign's jobs plus the shared project ledger."""

    #: The campaign this store holds (legacy mode uses the name "legacy").
    campaign: str

    # -- seeding and reading ------------------------------------------------------------
    def insert_jobs(self, jobs: Iterable[Job]) -> int:
        """Insert jobs whose job_id is absent; existing rows are untouched. Returns how many
        were new. `campaign` of each job is overwritten with the store's campaign."""
        ...

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        ...

    def list_jobs(self, statuses: Iterable[JobStatus] | None = None) -> list[Job]:
        """Jobs in seeding order (seq), optionally only those with the given statuses."""
        ...

    def counts(self) -> dict[str, int]:
        """{"total": n, <every JobStatus value>: n}, zeros included."""
        ...

    # -- the claim cycle ----------------------------------------------------------------
    def claim(self, request: ClaimRequest) -> Job | None:
        """Atomically take the first claimable job and return it with a fresh lease_token, or
        None when nothing is claimable now. First: by due time (postpilot.jobs.due_at; a job
        without one first), then seq, then insert order (postpilot.store.rules.claim_order).
        Served from each account's first waiting job: neither the rows not yet due nor the
        due rows of an account that cannot take work are read.

        Claimable: status pending, or retrying with retry_at <= now; scheduled_at unset or
        <= now; a non-empty
        account in request.accounts (when given); the account not leased by any campaign (an
        expired account lease counts as free), not held by a publish of any campaign that may
        still be running (postpilot.jobs.may_be_in_flight: claimed with its publish started,
        even when that lease expired, or unconfirmed by such an expiry), not blocked (rate
        blocks end at blocked_until), and its successes on request.day plus its unconfirmed
        jobs (any day), across all campaigns, below request.daily_limit. A job whose
        content_sha256 was already posted to its account (by another job) is marked skipped
        (error_type "duplicate_content") instead of claimed. Expired leases of this campaign
        are recovered first, as recover_expired does.

        The claim sets status=claimed, worker_id, claimed_at=now, run_id, lease_token,
        lease_expires_at=now+lease, publish_started_at=None, and takes the account's lease.
        """
        ...

    def heartbeat(self, job_id: str, token: str, now: datetime, lease: timedelta) -> bool:
        """Extend the job's and its account's lease to now+lease. False if the token is not
        the job's current token (the lease was lost: stop working on the job)."""
        ...

    def start_publish(self, job_id: str, token: str, now: datetime) -> bool:
        """Record that the irreversible publish step is about to start. False (and nothing
        written) when the token is stale or the lease already expired at `now`."""
        ...

    def save_checkpoint(self, job_id: str, token: str, data: Mapping[str, str]) -> bool:
        """Replace the job's checkpoint (the publisher's resume handle) under the lease."""
        ...

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
        """Record a confirmed publish: first the ledger (the account's count for `day` + 1,
        the content hash as posted), then the job as success; release the account lease.
        Also accepted for an unconfirmed job that still carries `token` (its lease expired
        after the publish started and the stalled holder answers late). False, with nothing
        written, when the token is stale."""
        ...

    def fail(
        self, job_id: str, token: str, now: datetime, failure: Failure, policy: RetryPolicy
    ) -> Job | None:
        """Apply postpilot.jobs.apply_failure under the token and release the account lease
        (also for an unconfirmed job still carrying `token`, as complete()).
        Returns the updated job, or None when the token is stale."""
        ...

    def release(self, job_id: str, token: str) -> bool:
        """Give a claim back before its publish started (shutdown, lost account lease). A job
        whose publish started is not released; use mark_unconfirmed. False if stale."""
        ...

    def mark_unconfirmed(self, job_id: str, token: str, now: datetime, reason: str) -> bool:
        """The publish may have happened but its result is unknown: status unconfirmed (the
        caller's attempt is over: it no longer holds the account, but counts toward its daily
        limit until settled). True (nothing changed) for a job already unconfirmed with this
        token. False when the token no longer holds, or when the store finds the publish
        already recorded as a success (a store whose success spans two commits, see
        store/sqlite.py): the job is then a success and the caller holds nothing."""
        ...

    def recover_expired(self, now: datetime) -> Recovery:
        """Every claimed job of this campaign whose lease expired: back to pending/retrying if
        its publish had not started (its account lease released), else unconfirmed with its
        token kept (postpilot.jobs.apply_expiry) and still holding its account."""
        ...

    def resolve_unconfirmed(
        self,
        job_id: str,
        posted: bool,
        now: datetime,
        *,
        day: str,
        remote_id: str = "",
        remote_url: str = "",
    ) -> bool:
        """Settle an unconfirmed job (reconcile or operator): posted -> success with the ledger
        updated as complete() does; not posted -> pending with its checkpoint kept so the
        publisher can resume. Either way the account's hold ends. False if the job is not
        unconfirmed."""
        ...

    # -- bulk operations ----------------------------------------------------------------
    def rearm_failed(self, include_non_retryable: bool, pass_number: int | None = None) -> int:
        """Put failed jobs back (postpilot.jobs.is_rearmable / apply_rearm). Never touches
        unconfirmed jobs. Returns how many."""
        ...

    def clear(self) -> int:
        """Delete every job of this campaign (reset-day, after archiving). Refuses while a
        job is claimed (StoreError). The ledger keeps its history."""
        ...

    # -- the ledger -----------------------------------------------------------------------
    def daily_count(self, account: str, day: str) -> int:
        """Successes of `account` on `day`, across every campaign of the project."""
        ...

    def is_posted(self, account: str, content_sha256: str) -> bool:
        """Whether this content was already posted to this account (I4)."""
        ...

    def posted_content(self) -> set[tuple[str, str, str]]:
        """(job_id, account, sha256) of every post this campaign made, on any day (survives
        clear): what `once` never publishes again."""
        ...

    def next_due_at(self, now: datetime) -> datetime | None:
        """The earliest time after `now` a waiting job (pending or retrying) becomes claimable
        by its own state (scheduled_at, retry_at), or None; a worker with nothing due sleeps
        until then instead of listing the waiting jobs."""
        ...

    def outlook(self, request: ClaimRequest) -> ClaimOutlook:
        """After a claim found nothing: whether waiting can make a job claimable in this pass,
        and the next due time; a few index probes, never a read of the waiting jobs."""
        ...

    def account_states(self, accounts: Iterable[str]) -> dict[str, AccountState]:
        """The ledger's state of each named account (a free account included)."""
        ...

    def block_account(
        self, account: str, block: str, reason: str, until: datetime | None = None
    ) -> None:
        """Stop claims for the account: until `until` (rate limits), or until cleared."""
        ...

    def unblock_account(self, account: str) -> None:
        """Lift any block on the account (after re-authorizing it)."""
        ...

    def close(self) -> None:
        """Release connections. The store must not be used afterwards."""
        ...


#: Prefix of a ledger key that names a video by file name (prior history whose file did not
#: resolve to content); a sha256 hex digest never starts with it.
NAME_KEY_PREFIX = "name:"


def name_key(filename: str) -> str:
    """The ledger key of a video known only by its file name (migrated prior history)."""
    return f"{NAME_KEY_PREFIX}{filename}"


@dataclass(frozen=True, slots=True)
class HistoricPost:
    """A post made before postpilot (the prior system's history), for the project ledger.

    `key` is the content's sha256 or name_key(file name). `source` identifies the history
    entry (file and job, account, day) so importing it again changes nothing. `day` is the
    local day it counts on; "" when unknown (it then blocks re-posting but counts on no day).
    Only entries with `counts_day` add to the daily counter (one per post, not per key)."""

    account: str
    key: str
    campaign: str
    source: str
    day: str
    posted_at: datetime
    counts_day: bool = True


@runtime_checkable
class SupportsWaitingHeads(Protocol):
    """Stores that find each account's next job in the store itself (--status on a large
    campaign would otherwise read every waiting job; postpilot.rollover.first_waiting)."""

    def waiting_heads(self, now: datetime) -> list[Job]:
        """Each account's first waiting job (pending or retrying) by due time (scheduled_at,
        or `now` when unset), then seq, then insert order; the result in seq order."""
        ...


@runtime_checkable
class SupportsCompleteAndClaim(Protocol):
    """Stores that record a success and take the slot's next job in one transaction: a
    publishing slot that goes on after a success then pays one commit per job, not two."""

    def complete_and_claim(
        self,
        job_id: str,
        token: str,
        now: datetime,
        *,
        day: str,
        remote_id: str = "",
        remote_url: str = "",
        request: ClaimRequest,
    ) -> tuple[bool, Job | None]:
        """complete(job_id, token, now, ...) then claim(request), atomically: the claim sees
        the success (the account it freed, its count). Returns what each would have."""
        ...


def complete_and_claim(
    store: JobStore,
    job_id: str,
    token: str,
    now: datetime,
    *,
    day: str,
    remote_id: str = "",
    remote_url: str = "",
    request: ClaimRequest | None,
) -> tuple[bool, Job | None]:
    """Record a success (complete) and, given a request, claim the next job with it: in one
    transaction where the store has complete_and_claim, else complete then claim (the memory
    reference); the two give the same answers and leave the same state."""
    combined = None if request is None else getattr(store, "complete_and_claim", None)
    if combined is not None:
        done, job = combined(
            job_id, token, now, day=day, remote_id=remote_id, remote_url=remote_url,
            request=request,
        )  # fmt: skip
        return bool(done), job
    done = store.complete(job_id, token, now, day=day, remote_id=remote_id, remote_url=remote_url)
    return done, None if request is None else store.claim(request)


@runtime_checkable
class SupportsHistory(Protocol):
    """Stores that accept prior history into the project ledger (postpilot --migrate)."""

    def record_history(self, posts: Iterable[HistoricPost]) -> int:
        """Add each post not yet recorded (by account, key, campaign, source): its ledger
        key as posted and, with counts_day, +1 on its day. Returns how many were new."""
        ...


@runtime_checkable
class CoordinatedStore(Protocol):
    """A store shared by several hosts (PostgreSQL) also elects one orchestrator per campaign
    and keeps a worker registry, so --status can show every host's pool."""

    def try_acquire_orchestrator(self) -> bool:
        """Take the campaign's orchestrator role for this process's life; False if another
        host holds it (this host then joins as a worker pool)."""
        ...

    def release_orchestrator(self) -> None:
        """Give the role up (also released by the database when the session dies)."""
        ...


@runtime_checkable
class WorkerRegistry(Protocol):
    """Stores shared by several hosts record their live workers, for --status."""

    def register_worker(self, host: str, pid: int, worker_id: str, now: datetime) -> None:
        """Record a worker of `host` (process `pid`)."""
        ...

    def worker_heartbeat(self, host: str, worker_id: str, now: datetime) -> bool:
        """Refresh a registered worker's last heartbeat; False if it is not registered."""
        ...

    def unregister_worker(self, host: str, worker_id: str) -> None:
        """Remove a worker that exits cleanly (a killed one just goes stale)."""
        ...

    def list_workers(
        self, stale_after: timedelta, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Live worker pools, one dict per host: host, workers, worker_ids, pids,
        last_heartbeat."""
        ...
