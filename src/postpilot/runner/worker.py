"""A publishing slot: claim -> publish -> record, until nothing is left to claim.

A worker process (runner/worker_process.py) runs several slots as threads; each slot is one
of the run's `--workers N` concurrent publishes and has its own store connection and channel.
The spec file (runner/worker_spec.py) carries everything a worker needs (it never re-reads
campaign files, so every worker of a run works from the same settings).

Safety rules:
- every write about a claimed job is a compare-and-set on its lease token;
- one heartbeat thread per process (runner/heartbeat.py), with its own store connection, renews
  the lease of every in-flight job every lease/3 and enforces the per-job timeout;
- a publish that may have happened and whose result is not recorded becomes `unconfirmed`, never
  retried; a failure to record a success is never turned into a failed or retried job.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from postpilot.errors import StoreError, StoreFull, StoreUnavailable
from postpilot.jobs import (
    ErrorCategory,
    Failure,
    Job,
    classify_error,
    local_day,
    utcnow,
)
from postpilot.publishers import build_publisher
from postpilot.publishers.base import Account, Publisher
from postpilot.publishers.errors import (
    AuthError,
    LeaseLost,
    OutcomeUnknown,
    PublishError,
    RateLimited,
)
from postpilot.runner.heartbeat import (
    Heartbeat,
    StoreCheckpoint,
    _hold,
    _policy,
    current_slot,
)
from postpilot.runner.outage import ride_out
from postpilot.runner.worker_spec import (
    EXIT_BAD_SPEC,
    EXIT_CRASHED,
    EXIT_DRAINED,
    EXIT_JOB_TIMEOUT,
    EXIT_STORE_UNAVAILABLE,
    WorkerSpec,
)
from postpilot.store import JobStore
from postpilot.store.base import (
    BLOCK_NEEDS_REAUTH,
    BLOCK_RATE_LIMIT,
    ClaimRequest,
    WorkerRegistry,
    complete_and_claim,
)
from postpilot.store.dashboard import is_paused
from postpilot.video_paths import VideoPathError, locate

#: Kept importable from here: the spec and exit codes live in runner/worker_spec.py, the
#: checkpoint and heartbeat in runner/heartbeat.py.
__all__ = [
    "EXIT_BAD_SPEC",
    "EXIT_CRASHED",
    "EXIT_DRAINED",
    "EXIT_JOB_TIMEOUT",
    "EXIT_STORE_UNAVAILABLE",
    "RECORD_ATTEMPTS",
    "Heartbeat",
    "StoreCheckpoint",
    "Worker",
    "WorkerSpec",
    "current_slot",
    "main",
]

log = logging.getLogger("postpilot.worker")

#: How often a success is retried against a failing store before giving up (then the lease
#: expires and the job is settled by reconcile, never re-published blindly).
RECORD_ATTEMPTS = 5


class Worker:
    """One publishing slot: its claim loop, with its own store connection and channel.

    A worker process (runner/worker_process.py) runs several slots as threads and shares one
    heartbeat between them. Construct and run a Worker in the thread it works in."""

    def __init__(
        self,
        spec: WorkerSpec,
        worker_id: str,
        heartbeat: Heartbeat,
        stopping: threading.Event,
        store: JobStore | None = None,
    ) -> None:
        self.spec = spec
        self.worker_id = worker_id
        self.ctx = spec.context()
        self.stopping = stopping
        #: Set when the heartbeat gave this slot's hung publish up: this thread claims no more.
        self.abandoned = threading.Event()
        self.heartbeat = heartbeat
        self._parent = os.getppid()
        #: The process's shared store (store.shared_by_threads) or one of this slot's own.
        self._owns_store = store is None
        if store is None:
            store = ride_out(heartbeat.outage.call(spec.open_store)[0], heartbeat.outage)
        self.store = store
        try:
            self.publisher: Publisher = build_publisher(
                spec.publisher, Path(spec.project_root), self.ctx.store_name
            )
        except BaseException:
            if self._owns_store:
                self.store.close()
            raise
        self.accounts = frozenset(spec.accounts) if spec.accounts else None
        self.videos_dir = spec.videos_dir

    def run(self) -> int:
        """Claim and publish until drained, stopped or abandoned; the exit code."""
        current_slot.name = self.worker_id
        log.info(
            "worker %s started for %s (run %s, pid %d)",
            self.worker_id,
            self.ctx.describe(),
            self.spec.run_id,
            os.getpid(),
        )
        # A job claimed in the transaction that recorded the previous success (so past this
        # loop's checks); given back unstarted when the loop ends before its publish.
        job: Job | None = None
        try:
            while not self.stopping.is_set() and not self.abandoned.is_set():
                if job is None:
                    if not self._may_go_on():
                        return EXIT_DRAINED
                    request = self._request(utcnow())
                    settled = self.heartbeat.settled.generation
                    job = self.store.claim(request)
                    if job is None:
                        outlook = self.store.outlook(request)
                        if not outlook.in_flight:
                            log.info(
                                "worker %s: nothing left to claim in this pass", self.worker_id
                            )
                            return EXIT_DRAINED
                        # A publish is in flight: its end may free an account or the job may
                        # retry. One ending in this process wakes the slot at once
                        # (heartbeat.Settled).
                        delay = self._idle_delay(request.now, outlook.next_due)
                        self.heartbeat.settled.wait(settled, delay, self.stopping)
                        continue
                claimed, job = job, None
                try:
                    job = self.process(claimed)
                finally:
                    self.heartbeat.settled.bump()
            return EXIT_DRAINED
        finally:
            if job is not None:
                self._give_back(job)

    def _may_go_on(self, say: bool = True) -> bool:
        """Whether this slot may claim another job: not stopping or abandoned, its
        orchestrator alive, the campaign not paused (logged when `say`)."""
        if self.stopping.is_set() or self.abandoned.is_set():
            return False
        if os.getppid() != self._parent:
            log.warning("orchestrator is gone; stopping")
            self.stopping.set()
            return False
        if is_paused(self.store):
            if say:
                log.info("worker %s: campaign paused; claiming nothing", self.worker_id)
            return False
        return True

    def _request(self, now: datetime) -> ClaimRequest:
        return ClaimRequest(
            worker_id=self.worker_id,
            now=now,
            lease=timedelta(seconds=self.spec.lease_seconds),
            daily_limit=self.spec.daily_limit,
            day=local_day(now, self.spec.timezone),
            run_id=self.spec.run_id,
            accounts=self.accounts,
        )

    def _give_back(self, job: Job) -> None:
        """Release a claim whose publish never started (else its lease expiry does it)."""
        with contextlib.suppress(StoreError):
            if self.store.release(job.job_id, job.lease_token):
                log.info("job %s: claim given back unstarted", job.job_id)

    @property
    def registry_id(self) -> str:
        """The worker's id in a shared registry: unique per run and slot."""
        return f"{self.spec.run_id}:{self.worker_id}"

    def register(self) -> None:
        """Make the slot visible to --status on every host (shared stores only)."""
        if isinstance(self.store, WorkerRegistry):
            host = socket.gethostname()
            self.store.register_worker(host, os.getpid(), self.registry_id, utcnow())
            self.heartbeat.registered.append((host, self.registry_id))

    def _idle_delay(self, now: datetime, due: datetime | None) -> float:
        """Sleep until the earliest due time (a slot or a retry), at most idle_poll_seconds
        (the end of a publish in flight frees no slot at a known time); store.outlook, which
        said whether to wait at all, never lists the waiting jobs (or reads the 99% of them
        whose account is capped or that are not due)."""
        delay = self.spec.idle_poll_seconds
        if due is not None:
            delay = min(delay, max(0.01, (due - now).total_seconds()))
        return delay

    def process(self, job: Job) -> Job | None:
        """Publish one claimed job and record the outcome under its lease; the slot's next
        job when the transaction recording a success claimed it (Worker.run)."""
        lost = threading.Event()
        checkpoint = StoreCheckpoint(self.store, job, lost)
        self.heartbeat.watch(self.worker_id, job, checkpoint, lost)
        log.info("job %s -> %s: publishing", job.job_id, job.account)
        try:
            # The publisher sees this host's path of the video; the store keeps the stored one.
            located = locate(job, self.videos_dir)
        except VideoPathError as exc:
            self.heartbeat.unwatch(self.worker_id, job)
            failure = Failure(ErrorCategory.CONTENT, "invalid_video_path", str(exc))
            self._failed(job, failure, None)
            return None
        try:
            published = self.publisher.publish(located, Account(job.account), checkpoint)
        except LeaseLost:
            log.error("job %s: lease lost; leaving it to recovery", job.job_id)
            return None
        except OutcomeUnknown as exc:
            self._unconfirmed(job, exc.to_failure().message)
            return None
        except PublishError as exc:
            if checkpoint.started.is_set() and exc.maybe_delivered:
                # A lost answer after the publish started is never a retry (never-twice.md).
                self._unconfirmed(job, f"the answer to a publish request was lost: {exc}")
            else:
                self._failed(job, exc.to_failure(), exc)
            return None
        except Exception as exc:  # a publisher bug must not kill the worker
            message = f"{type(exc).__name__}: {exc}"
            if checkpoint.started.is_set():
                self._unconfirmed(job, f"publish raised after it started: {message}")
            else:
                category, error_type = classify_error(message)
                self._failed(job, Failure(category, error_type, message), None)
            return None
        finally:
            self.heartbeat.unwatch(self.worker_id, job)
        return self._succeeded(job, published.remote_id, published.url)

    def _succeeded(self, job: Job, remote_id: str, url: str) -> Job | None:
        """Record the success; when the slot goes on, claim its next job in the same
        transaction (store.base.complete_and_claim: one commit per job instead of two)."""
        failure: StoreError | None = None
        chain = self._may_go_on(say=False)
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            now = utcnow()
            day = local_day(now, self.spec.timezone)
            try:
                ok, following = complete_and_claim(
                    self.store,
                    job.job_id,
                    job.lease_token,
                    now,
                    day=day,
                    remote_id=remote_id,
                    remote_url=url,
                    request=self._request(now) if chain else None,
                )
            except StoreError as exc:
                log.warning("recording success of %s failed (%d): %s", job.job_id, attempt, exc)
                failure = exc
                chain = False  # nothing was written; the success alone is tried again
                time.sleep(min(2.0**attempt * 0.1, 5.0))
                continue
            if ok:
                log.info("job %s -> %s: success %s", job.job_id, job.account, remote_id)
            else:
                log.error(
                    "job %s published but its lease was lost: reconcile settles it", job.job_id
                )
            return following
        # Never turn this into a failure: the lease will expire after publish_started_at, the
        # job becomes unconfirmed and reconcile() finds the post.
        log.error("could not record the success of %s; leaving it to reconcile", job.job_id)
        self.stopping.set()
        if isinstance(failure, StoreUnavailable | StoreFull):
            raise failure  # the slot reports it: the run stops with its message
        return None

    def _unconfirmed(self, job: Job, reason: str) -> None:
        log.error("job %s: outcome unknown (%s): marked unconfirmed", job.job_id, reason)
        now = utcnow()
        if self.store.mark_unconfirmed(job.job_id, job.lease_token, now, reason):
            _hold(self.store, self.spec, job.account, now)

    def _failed(
        self,
        job: Job,
        failure: Failure,
        exc: PublishError | None,
    ) -> None:
        now = utcnow()
        if isinstance(exc, AuthError):
            # The reason records which credentials failed: new ones lift the block by
            # themselves at the next run (postpilot.preflight.heal_reauth_blocks).
            from postpilot.credentials import reauth_reason
            from postpilot.preflight import credentials_store

            reason = reauth_reason(credentials_store(self.ctx), job.account, str(exc))
            self.store.block_account(job.account, BLOCK_NEEDS_REAUTH, reason)
        elif isinstance(exc, RateLimited) and exc.account_wide:
            # A window without a stated reset is retried after an hour rather than never.
            until = exc.retry_at or now + timedelta(hours=1)
            self.store.block_account(job.account, BLOCK_RATE_LIMIT, str(exc), until=until)
        updated = self.store.fail(job.job_id, job.lease_token, now, failure, _policy(self.spec))
        if updated is None:
            log.error("job %s failed but its lease was lost: %s", job.job_id, failure.message)
            return
        log.warning(
            "job %s -> %s: %s (%s/%s)%s",
            job.job_id,
            job.account,
            updated.status,
            failure.category,
            failure.error_type,
            f", retry at {updated.retry_at.isoformat()}" if updated.retry_at else "",
        )

    def close(self) -> None:
        """Release the publisher and the store (and the slot's registry entry)."""
        self.publisher.close()
        if isinstance(self.store, WorkerRegistry):
            for host, worker_id in list(self.heartbeat.registered):
                if worker_id == self.registry_id:
                    self.heartbeat.registered.remove((host, worker_id))
                    with contextlib.suppress(StoreError):
                        self.store.unregister_worker(host, worker_id)
        if self._owns_store:
            self.store.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m postpilot.runner.worker`: the worker process (runner/worker_process.py)."""
    from postpilot.runner.worker_process import main as process_main

    return process_main(argv)


def _run_as_process() -> None:
    """`python -m postpilot.runner.worker`: run, then exit without the interpreter's teardown
    (runner/worker_process.py exit_now)."""
    from postpilot.runner.worker_process import exit_now

    exit_now(main())


if __name__ == "__main__":
    _run_as_process()
