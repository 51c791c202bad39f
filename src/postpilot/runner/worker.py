"""A worker process: claim -> publish -> record, until nothing is left to claim.

Started by the orchestrator as `python -m postpilot.runner.worker SPEC_FILE WORKER_ID`. The spec
file carries everything the worker needs (it never re-reads campaign files, so every worker of a
run works from the same settings).

Safety rules (DESIGN.md I1, I6, I7):
- every write about a claimed job is a compare-and-set on its lease token;
- a heartbeat thread, with its own store connection, renews the lease every lease/3 and enforces
  the per-job timeout;
- a publish that may have happened and whose result is not recorded becomes `unconfirmed`, never
  retried; a failure to record a success is never turned into a failed or retried job.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from postpilot.config import PostingContext
from postpilot.errors import StoreError
from postpilot.jobs import (
    ErrorCategory,
    Failure,
    Job,
    JobStatus,
    RetryPolicy,
    classify_error,
    is_claimable,
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
from postpilot.runner.unconfirmed import hold_if_needed
from postpilot.store import open_store
from postpilot.store.base import (
    BLOCK_NEEDS_REAUTH,
    BLOCK_RATE_LIMIT,
    ClaimRequest,
    JobStore,
    WorkerRegistry,
)

log = logging.getLogger("postpilot.worker")

#: Exit codes the orchestrator tells apart.
EXIT_DRAINED = 0
EXIT_CRASHED = 1
EXIT_JOB_TIMEOUT = 3
EXIT_STORE_UNAVAILABLE = 4
EXIT_BAD_SPEC = 5

#: How often a success is retried against a failing store before giving up (then the lease
#: expires and the job is settled by reconcile, never re-published blindly).
RECORD_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What a worker needs, written by the orchestrator as JSON."""

    run_id: str
    campaign_name: str | None
    progress_file: str
    project_root: str
    store_dsn: str | None
    publisher: Mapping[str, Any]
    timezone: str
    daily_limit: int
    accounts: list[str]
    lease_seconds: float
    job_timeout_seconds: float
    idle_poll_seconds: float
    backoff_base_seconds: float
    backoff_cap_seconds: float
    extra_sys_path: list[str] = field(default_factory=list)

    def context(self) -> PostingContext:
        """The PostingContext the store and publisher are opened with."""
        return PostingContext(
            progress_file=self.progress_file,
            accounts_file="",
            campaign_name=self.campaign_name,
            project_root=self.project_root,
            timezone=self.timezone,
            max_posts_per_account_per_day=self.daily_limit,
            publisher=self.publisher,
            store_dsn=self.store_dsn,
        )

    def write(self, path: Path) -> None:
        """Write the spec atomically."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def read(cls, path: Path) -> WorkerSpec:
        """Read a spec written by write()."""
        return cls(**json.loads(path.read_text(encoding="utf-8")))


class StoreCheckpoint:
    """The publisher's view of its job's checkpoint, written under the job's lease."""

    def __init__(self, store: JobStore, job: Job, lost: threading.Event) -> None:
        self._store = store
        self._job = job
        self._lost = lost
        self._data: dict[str, str] = dict(job.checkpoint)
        self.started = threading.Event()

    @property
    def data(self) -> Mapping[str, str]:
        """What was saved so far."""
        return dict(self._data)

    def save(self, data: Mapping[str, str]) -> None:
        """Durably replace the checkpoint; LeaseLost if the lease is gone."""
        if self._lost.is_set() or not self._store.save_checkpoint(
            self._job.job_id, self._job.lease_token, dict(data)
        ):
            raise LeaseLost(f"lease lost for job {self._job.job_id}")
        self._data = dict(data)

    def start_publish(self) -> None:
        """Record that the irreversible step starts now; LeaseLost if the lease is gone."""
        if self.started.is_set():
            return
        if self._lost.is_set() or not self._store.start_publish(
            self._job.job_id, self._job.lease_token, utcnow()
        ):
            raise LeaseLost(f"lease lost for job {self._job.job_id}")
        self.started.set()


class Heartbeat(threading.Thread):
    """Renews the job's lease every lease/3 and enforces the per-job timeout.

    It uses its own store connection. On timeout it settles the job itself (failed-and-retry
    if the publish had not started, unconfirmed if it had) and ends the process: a hung publish
    cannot be interrupted safely from inside, and the orchestrator starts a fresh worker.
    """

    def __init__(self, spec: WorkerSpec, store: JobStore) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self._spec = spec
        self._store = store
        self._lock = threading.Lock()
        self._job: Job | None = None
        self._checkpoint: StoreCheckpoint | None = None
        self._deadline = 0.0
        self.lost = threading.Event()
        self._wake = threading.Event()
        #: (host, worker id) once the worker is in a shared store's registry.
        self.registered: tuple[str, str] | None = None

    def watch(self, job: Job, checkpoint: StoreCheckpoint, lost: threading.Event) -> None:
        """Start renewing `job`'s lease."""
        with self._lock:
            self._job, self._checkpoint, self.lost = job, checkpoint, lost
            self._deadline = time.monotonic() + self._spec.job_timeout_seconds
        self._wake.set()

    def unwatch(self) -> None:
        """Stop renewing (the job's result is recorded or abandoned)."""
        with self._lock:
            self._job = self._checkpoint = None

    def run(self) -> None:
        interval = max(0.05, self._spec.lease_seconds / 3)
        lease = timedelta(seconds=self._spec.lease_seconds)
        while True:
            self._wake.wait(interval)
            self._wake.clear()
            if self.registered is not None and isinstance(self._store, WorkerRegistry):
                try:
                    self._store.worker_heartbeat(*self.registered, utcnow())
                except StoreError as exc:
                    log.warning("worker registry heartbeat failed: %s", exc)
            with self._lock:
                job, checkpoint, deadline = self._job, self._checkpoint, self._deadline
                if job is None or checkpoint is None:
                    continue
                if time.monotonic() >= deadline:
                    self._time_out(job, checkpoint)
                try:
                    ok = self._store.heartbeat(job.job_id, job.lease_token, utcnow(), lease)
                except StoreError as exc:
                    log.warning("heartbeat for %s failed: %s", job.job_id, exc)
                    continue
                if not ok:
                    log.error("lease lost for job %s; abandoning it", job.job_id)
                    self.lost.set()
                    self._job = None

    def _time_out(self, job: Job, checkpoint: StoreCheckpoint) -> None:
        seconds = self._spec.job_timeout_seconds
        now = utcnow()
        try:
            if checkpoint.started.is_set():
                if self._store.mark_unconfirmed(
                    job.job_id,
                    job.lease_token,
                    now,
                    f"publish exceeded the job timeout of {seconds:g}s after it started",
                ):
                    _hold(self._store, self._spec, job.account, now)
                log.error("job %s timed out during publish: marked unconfirmed", job.job_id)
            else:
                failure = Failure(
                    ErrorCategory.INFRASTRUCTURE,
                    "job_timeout",
                    f"publish exceeded the job timeout of {seconds:g}s before it started",
                )
                self._store.fail(job.job_id, job.lease_token, now, failure, _policy(self._spec))
                log.error("job %s timed out before publishing: will retry", job.job_id)
        finally:
            logging.shutdown()
            os._exit(EXIT_JOB_TIMEOUT)


def _hold(store: JobStore, spec: WorkerSpec, account: str, now: datetime) -> None:
    hold_if_needed(store, account, now=now, timezone=spec.timezone, daily_limit=spec.daily_limit)


def _policy(spec: WorkerSpec) -> RetryPolicy:
    return RetryPolicy(spec.backoff_base_seconds, spec.backoff_cap_seconds)


class Worker:
    """The claim loop of one worker process."""

    def __init__(self, spec: WorkerSpec, worker_id: str) -> None:
        self.spec = spec
        self.worker_id = worker_id
        self.ctx = spec.context()
        self.stopping = threading.Event()
        self._parent = os.getppid()
        self.store = open_store(self.ctx)
        self.heartbeat = Heartbeat(spec, open_store(self.ctx))
        self.publisher: Publisher = build_publisher(
            spec.publisher, Path(spec.project_root), self.ctx.store_name
        )
        self.accounts = frozenset(spec.accounts) if spec.accounts else None

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        """First SIGTERM/SIGINT: finish the running publish, claim nothing more."""
        log.info("signal %d: finishing the current job, then stopping", signum)
        self.stopping.set()

    def run(self) -> int:
        """Claim and publish until drained or stopped; the exit code."""
        self.heartbeat.start()
        log.info(
            "worker %s started for %s (run %s, pid %d)",
            self.worker_id,
            self.ctx.describe(),
            self.spec.run_id,
            os.getpid(),
        )
        self._register()
        lease = timedelta(seconds=self.spec.lease_seconds)
        while not self.stopping.is_set():
            if os.getppid() != self._parent:
                log.warning("orchestrator is gone; stopping")
                break
            now = utcnow()
            request = ClaimRequest(
                worker_id=self.worker_id,
                now=now,
                lease=lease,
                daily_limit=self.spec.daily_limit,
                day=local_day(now, self.spec.timezone),
                run_id=self.spec.run_id,
                accounts=self.accounts,
            )
            job = self.store.claim(request)
            if job is None:
                if not self._work_in_flight(now):
                    log.info("worker %s: nothing left to claim in this pass", self.worker_id)
                    return EXIT_DRAINED
                # A publish is in flight: its end may free an account or the job may retry.
                self.stopping.wait(self._idle_delay(now))
                continue
            self.process(job)
        return EXIT_DRAINED

    @property
    def registry_id(self) -> str:
        """The worker's id in a shared registry: unique per run and slot."""
        return f"{self.spec.run_id}:{self.worker_id}"

    def _register(self) -> None:
        """Make the worker visible to --status on every host (shared stores only)."""
        if isinstance(self.store, WorkerRegistry):
            host = socket.gethostname()
            self.store.register_worker(host, os.getpid(), self.registry_id, utcnow())
            self.heartbeat.registered = (host, self.registry_id)

    def _work_in_flight(self, now: datetime) -> bool:
        """Whether waiting can make something claimable in this pass: a claim of this campaign
        is running, or a waiting job's account is busy publishing (possibly for another
        campaign). Retry times and daily limits are the orchestrator's business between passes.
        """
        if self.store.counts()[str(JobStatus.CLAIMED)] > 0:
            return True
        waiting = self.store.list_jobs([JobStatus.PENDING, JobStatus.RETRYING])
        accounts = {j.account for j in waiting if j.account and is_claimable(j, now)}
        states = self.store.account_states(accounts).values()
        return any(
            s.leased_by is not None and (s.lease_expires_at is None or s.lease_expires_at > now)
            for s in states
        )

    def _idle_delay(self, now: datetime) -> float:
        due = [
            j.retry_at
            for j in self.store.list_jobs([JobStatus.RETRYING])
            if j.retry_at is not None and j.retry_at > now
        ]
        delay = self.spec.idle_poll_seconds
        if due:
            delay = min(delay, max(0.01, (min(due) - now).total_seconds()))
        return delay

    def process(self, job: Job) -> None:
        """Publish one claimed job and record the outcome under its lease."""
        lost = threading.Event()
        checkpoint = StoreCheckpoint(self.store, job, lost)
        self.heartbeat.watch(job, checkpoint, lost)
        log.info("job %s -> %s: publishing", job.job_id, job.account)
        try:
            published = self.publisher.publish(job, Account(job.account), checkpoint)
        except LeaseLost:
            log.error("job %s: lease lost; leaving it to recovery", job.job_id)
            return
        except OutcomeUnknown as exc:
            self._unconfirmed(job, exc.to_failure().message)
            return
        except PublishError as exc:
            if checkpoint.started.is_set() and exc.maybe_delivered:
                # A lost answer after the publish started is never a retry (never-twice.md).
                self._unconfirmed(job, f"the answer to a publish request was lost: {exc}")
            else:
                self._failed(job, exc.to_failure(), checkpoint, exc)
            return
        except Exception as exc:  # a publisher bug must not kill the worker
            message = f"{type(exc).__name__}: {exc}"
            if checkpoint.started.is_set():
                self._unconfirmed(job, f"publish raised after it started: {message}")
            else:
                category, error_type = classify_error(message)
                self._failed(job, Failure(category, error_type, message), checkpoint, None)
            return
        finally:
            self.heartbeat.unwatch()
        self._succeeded(job, published.remote_id, published.url)

    def _succeeded(self, job: Job, remote_id: str, url: str) -> None:
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            now = utcnow()
            try:
                ok = self.store.complete(
                    job.job_id,
                    job.lease_token,
                    now,
                    day=local_day(now, self.spec.timezone),
                    remote_id=remote_id,
                    remote_url=url,
                )
            except StoreError as exc:
                log.warning("recording success of %s failed (%d): %s", job.job_id, attempt, exc)
                time.sleep(min(2.0**attempt * 0.1, 5.0))
                continue
            if ok:
                log.info("job %s -> %s: success %s", job.job_id, job.account, remote_id)
            else:
                log.error(
                    "job %s published but its lease was lost: reconcile settles it", job.job_id
                )
            return
        # Never turn this into a failure: the lease will expire after publish_started_at, the
        # job becomes unconfirmed and reconcile() finds the post.
        log.error("could not record the success of %s; leaving it to reconcile", job.job_id)
        self.stopping.set()

    def _unconfirmed(self, job: Job, reason: str) -> None:
        log.error("job %s: outcome unknown (%s): marked unconfirmed", job.job_id, reason)
        now = utcnow()
        if self.store.mark_unconfirmed(job.job_id, job.lease_token, now, reason):
            _hold(self.store, self.spec, job.account, now)

    def _failed(
        self,
        job: Job,
        failure: Failure,
        checkpoint: StoreCheckpoint,
        exc: PublishError | None,
    ) -> None:
        now = utcnow()
        if isinstance(exc, AuthError):
            self.store.block_account(job.account, BLOCK_NEEDS_REAUTH, str(exc))
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
        """Release the publisher and the store."""
        self.publisher.close()
        if self.heartbeat.registered is not None and isinstance(self.store, WorkerRegistry):
            with contextlib.suppress(StoreError):
                self.store.unregister_worker(*self.heartbeat.registered)
        self.store.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of a worker process."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m postpilot.runner.worker SPEC_FILE WORKER_ID", file=sys.stderr)
        return EXIT_BAD_SPEC
    spec = WorkerSpec.read(Path(args[0]))
    sys.path[:0] = spec.extra_sys_path
    # Lets a publisher tell a worker process from the orchestrator (which reconciles).
    os.environ["POSTPILOT_WORKER_ID"] = args[1]
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        worker = Worker(spec, args[1])
    except StoreError as exc:
        log.error("cannot open the job store: %s", exc)
        return EXIT_STORE_UNAVAILABLE
    signal.signal(signal.SIGTERM, worker.request_stop)
    signal.signal(signal.SIGINT, worker.request_stop)
    try:
        return worker.run()
    except StoreError as exc:
        log.error("job store failed: %s", exc)
        return EXIT_STORE_UNAVAILABLE
    finally:
        worker.close()


if __name__ == "__main__":
    sys.exit(main())
