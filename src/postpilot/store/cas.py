"""The compare-and-set operations every job store shares, written once over a few hooks.

A holder changes its claimed job only under the job's current lease token (I7): read the job
held under the token, apply a pure transition of postpilot.jobs, write the result together
with its ledger side effects, all in one transaction of the backend. `CasStore` implements
fail, release, mark_unconfirmed, save_checkpoint, start_publish, resolve_unconfirmed and
rearm_failed that way; a backend supplies the transaction and the reads and writes below, and
overrides an operation only when its storage can do it better (PostgreSQL's single-statement
start_publish and save_checkpoint). claim, complete, heartbeat and recovery stay in each
backend: they are where the backends genuinely differ.

Hook order inside one transaction does not matter: each backend commits a transaction's
writes together (SQLite's ledger-before-jobs commit order is postpilot.store.sqlite's
concern, not the order of these calls).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Generic, TypeVar

from postpilot.jobs import (
    Failure,
    Job,
    JobStatus,
    RetryPolicy,
    apply_failure,
    apply_rearm,
    apply_release,
    apply_success,
    apply_unconfirmed,
    is_rearmable,
)
from postpilot.store.rules import apply_not_posted

__all__ = ["CasStore"]

#: The backend's transaction handle (a connection; None for the in-memory store).
Tx = TypeVar("Tx")


class CasStore(ABC, Generic[Tx]):
    """The shared compare-and-set half of a job store (see the module doc)."""

    _rng: random.Random | None

    # -- hooks ------------------------------------------------------------------------------
    @abstractmethod
    def _cas(self, action: str) -> AbstractContextManager[Tx]:
        """One write transaction; yields the handle the other hooks take. `action` words
        what is being done, for the backend's error messages."""

    @abstractmethod
    def _held(self, tx: Tx, job_id: str, token: str, settling: bool = False) -> Job | None:
        """The claimed job when `token` (never empty here) is its current lease token, else
        None; locked until the transaction ends where the backend locks rows. With
        `settling`, also an unconfirmed job that kept the token (a stalled holder's answer)."""

    @abstractmethod
    def _unconfirmed_job(self, tx: Tx, job_id: str) -> Job | None:
        """The job when it is unconfirmed (locked likewise), else None."""

    @abstractmethod
    def _write_job(self, tx: Tx, old: Job, new: Job) -> bool:
        """Write `new` over `old` (read in this transaction); False when the row no longer
        has `old`'s status and token (a backend that locked the row always writes)."""

    @abstractmethod
    def _record_resolved(
        self, tx: Tx, job: Job, day: str, now: datetime, remote_id: str, remote_url: str
    ) -> None:
        """Count an unconfirmed job found posted in the ledger (once per unconfirmed episode)."""

    @abstractmethod
    def _failed_jobs(self, tx: Tx) -> Sequence[Job]:
        """The campaign's failed jobs in seq order (locked likewise)."""

    @abstractmethod
    def _write_many(self, tx: Tx, pairs: Sequence[tuple[Job, Job]]) -> None:
        """Write each (old, new) pair; bulk where the backend can."""

    def _drop_lease(self, tx: Tx, job: Job) -> None:
        """Drop the account lease `job` holds (a backend whose lease lives in the job row
        has nothing to do)."""

    def _hold(self, tx: Tx, job: Job) -> None:
        """Record `job`, as written, among its account's unsettled publishes."""

    def _unhold(self, tx: Tx, job: Job) -> None:
        """Drop `job` from its account's unsettled publishes."""

    def _settled_by_ledger(
        self,
        tx: Tx,  # noqa: ARG002  the hook's arguments: this default settles nothing
        job: Job,  # noqa: ARG002
        now: datetime,  # noqa: ARG002
    ) -> bool:
        """Settle `job` as the success the ledger already records, when it does (a backend
        whose complete() writes ledger and job at once never has one)."""
        return False

    # -- the operations -----------------------------------------------------------------------
    def start_publish(self, job_id: str, token: str, now: datetime) -> bool:
        """Mark the publish as started; False when stale or the lease expired at `now`."""
        if not token:
            return False
        with self._cas("mark a publish as started") as tx:
            job = self._held(tx, job_id, token)
            if job is None or job.lease_expires_at is None or job.lease_expires_at <= now:
                return False
            started = job.evolve(publish_started_at=now)
            self._hold(tx, started)
            return self._write_job(tx, job, started)

    def save_checkpoint(self, job_id: str, token: str, data: Mapping[str, str]) -> bool:
        """Replace the job's checkpoint under the lease."""
        if not token:
            return False
        with self._cas("save a checkpoint") as tx:
            job = self._held(tx, job_id, token)
            if job is None:
                return False
            return self._write_job(tx, job, job.evolve(checkpoint=dict(data)))

    def fail(
        self, job_id: str, token: str, now: datetime, failure: Failure, policy: RetryPolicy
    ) -> Job | None:
        """apply_failure under the token; frees the account."""
        if not token:
            return None
        with self._cas("record a failure") as tx:
            job = self._held(tx, job_id, token, settling=True)
            if job is None:
                return None
            updated = apply_failure(job, failure, now, policy, self._rng)
            self._drop_lease(tx, job)
            self._unhold(tx, job)
            self._write_job(tx, job, updated)
            return updated

    def release(self, job_id: str, token: str) -> bool:
        """Give back a claim whose publish has not started."""
        if not token:
            return False
        with self._cas("release a claim") as tx:
            job = self._held(tx, job_id, token)
            if job is None or job.publish_started_at is not None:
                return False
            self._drop_lease(tx, job)
            return self._write_job(tx, job, apply_release(job))

    def mark_unconfirmed(self, job_id: str, token: str, now: datetime, reason: str) -> bool:
        """The publish may have happened: unconfirmed, account lease freed (the job holds its
        account and counts toward its daily limit until settled). False, with the job a
        success, when the ledger already records the publish under this token."""
        if not token:
            return False
        with self._cas("mark a job unconfirmed") as tx:
            job = self._held(tx, job_id, token, settling=True)
            if job is None:
                return False
            if job.status is JobStatus.UNCONFIRMED:
                return True
            if self._settled_by_ledger(tx, job, now):
                return False
            updated = apply_unconfirmed(job, now, reason)
            self._hold(tx, updated)
            self._drop_lease(tx, job)
            return self._write_job(tx, job, updated)

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
        """posted -> success with the ledger updated (one transaction); not posted -> pending."""
        with self._cas("resolve an unconfirmed job") as tx:
            job = self._unconfirmed_job(tx, job_id)
            if job is None:
                return False
            self._unhold(tx, job)
            if not posted:
                return self._write_job(tx, job, apply_not_posted(job))
            self._record_resolved(tx, job, day, now, remote_id, remote_url)
            return self._write_job(tx, job, apply_success(job, now, remote_id, remote_url))

    def rearm_failed(self, include_non_retryable: bool, pass_number: int | None = None) -> int:
        """Failed jobs back to retrying (never unconfirmed ones), in one transaction."""
        with self._cas("re-arm failed jobs") as tx:
            pairs = [
                (job, apply_rearm(job, pass_number))
                for job in self._failed_jobs(tx)
                if is_rearmable(job, include_non_retryable)
            ]
            if pairs:
                self._write_many(tx, pairs)
            return len(pairs)
