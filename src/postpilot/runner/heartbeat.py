"""The lease side of a worker process: the publisher's checkpoint written under a job's lease,
and the one heartbeat thread per process that renews every in-flight lease and enforces the
per-job timeout. Split from runner/worker.py, which keeps the claim loop and records results."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from postpilot.errors import StoreError
from postpilot.jobs import ErrorCategory, Failure, Job, RetryPolicy, utcnow
from postpilot.publishers.errors import LeaseLost
from postpilot.runner.outage import Outage, ride_out
from postpilot.runner.unconfirmed import hold_if_needed
from postpilot.runner.worker_spec import WorkerSpec
from postpilot.store.base import JobStore, WorkerRegistry

#: The worker's logger: heartbeat lines are the worker process's lines.
log = logging.getLogger("postpilot.worker")


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
        # Set before asking the store and `lost` checked after: a job timeout that fires in
        # between either sees the publish started (unconfirmed, never a retry) or is seen here
        # (nothing is sent). The other order could retry a job whose request then went out.
        self.started.set()
        try:
            ok = not self._lost.is_set() and self._store.start_publish(
                self._job.job_id, self._job.lease_token, utcnow()
            )
        except BaseException:
            self.started.clear()  # nothing was recorded, nothing sent
            raise
        if not ok or self._lost.is_set():
            raise LeaseLost(f"lease lost for job {self._job.job_id}")


@dataclass
class _Watch:
    """One in-flight job the heartbeat renews."""

    job: Job
    checkpoint: StoreCheckpoint
    lost: threading.Event
    #: time.monotonic() at which the job times out, and at which its lease is renewed next.
    deadline: float
    renew_at: float


class Settled:
    """What a process's idle slots sleep on: a slot with nothing to claim while others publish
    waits until one of them settles a job (its account may be free again, or the pass over)
    or the process stops, instead of polling out its whole idle delay."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        """Read before the claim a slot may sleep after."""
        with self._changed:
            return self._generation

    def bump(self) -> None:
        """A job was settled, or the process stops: wake the sleeping slots."""
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def wait(self, since: int, timeout: float, stopping: threading.Event) -> None:
        """Sleep up to `timeout` unless something was settled after `since` or stopping is set."""
        with self._changed:
            self._changed.wait_for(lambda: self._generation != since or stopping.is_set(), timeout)


class Heartbeat(threading.Thread):
    """Renews the lease of every in-flight job of its process every lease/3 and enforces the
    per-job timeout.

    It uses its own store connection. On timeout it settles the job itself (failed-and-retry
    if the publish had not started, unconfirmed if it had) and hands the slot to `on_timeout`:
    a hung publish cannot be interrupted safely from inside, so its thread is abandoned (it can
    record nothing any more: the lease is gone) and the process gives the slot a fresh thread.
    The other publishes of the process run on untouched.
    """

    def __init__(self, spec: WorkerSpec, store: JobStore, outage: Outage | None = None) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self._spec = spec
        #: The process's view of store outages, shared by every store of the process.
        self.outage = outage or Outage(spec.store_outage_seconds, log.warning)
        self._store = ride_out(store, self.outage)
        self._lock = threading.Lock()
        self._watches: dict[str, _Watch] = {}
        self._wake = threading.Event()
        #: (host, worker id) of every slot in a shared store's registry.
        self.registered: list[tuple[str, str]] = []
        #: Bumped whenever a slot of the process (or a job timeout here) settles a job.
        self.settled = Settled()
        #: Called with the slot's worker id once a timed-out job is settled.
        self.on_timeout: Callable[[str], None] = lambda _worker_id: None

    def watch(
        self, worker_id: str, job: Job, checkpoint: StoreCheckpoint, lost: threading.Event
    ) -> None:
        """Start renewing `job`'s lease (the job of slot `worker_id`)."""
        now = time.monotonic()
        deadline = now + self._spec.job_timeout_seconds
        # The claim has just given the job a whole lease: its first renewal is one interval on.
        watch = _Watch(job, checkpoint, lost, deadline, now + self._interval)
        with self._lock:
            self._watches[worker_id] = watch
        if deadline < now + self._interval:
            self._wake.set()  # a job timeout shorter than the interval: sleep less

    def unwatch(self, worker_id: str, job: Job) -> None:
        """Stop renewing (the job's result is recorded or abandoned)."""
        with self._lock:
            watch = self._watches.get(worker_id)
            if watch is not None and watch.job.lease_token == job.lease_token:
                del self._watches[worker_id]

    @property
    def _interval(self) -> float:
        return max(0.05, self._spec.lease_seconds / 3)

    def run(self) -> None:
        """Each job's lease is renewed one interval after its claim or last renewal, and each
        job is checked against its timeout when that falls due: a job starting elsewhere in
        the process costs no write for the others (measured: waking on every new job renewed
        all 32 leases of a process each time, most of a 64-slot pool's store writes)."""
        lease = timedelta(seconds=self._spec.lease_seconds)
        registry_due = 0.0
        while True:
            self._wake.wait(self._sleep())
            self._wake.clear()
            now = time.monotonic()
            if isinstance(self._store, WorkerRegistry) and now >= registry_due:
                registry_due = now + self._interval
                for host, worker_id in list(self.registered):
                    try:
                        self._store.worker_heartbeat(host, worker_id, utcnow())
                    except StoreError as exc:
                        log.warning("worker registry heartbeat failed: %s", exc)
            with self._lock:
                due = [
                    (worker_id, watch)
                    for worker_id, watch in self._watches.items()
                    if now >= min(watch.renew_at, watch.deadline)
                ]
            for worker_id, watch in due:
                current_slot.name = worker_id  # its lines go to that slot's log
                watch.renew_at = now + self._interval
                self._beat(worker_id, watch, lease)
            current_slot.name = None

    def _sleep(self) -> float:
        """Seconds until the next renewal or timeout falls due (at most one interval)."""
        with self._lock:
            times = [min(w.renew_at, w.deadline) for w in self._watches.values()]
        until = min(times, default=time.monotonic() + self._interval) - time.monotonic()
        return min(self._interval, max(0.01, until))

    def _beat(self, worker_id: str, watch: _Watch, lease: timedelta) -> None:
        job = watch.job
        if time.monotonic() >= watch.deadline:
            self._time_out(worker_id, watch)
            return
        try:
            ok = self._store.heartbeat(job.job_id, job.lease_token, utcnow(), lease)
        except StoreError as exc:
            log.warning("heartbeat for %s failed: %s", job.job_id, exc)
            return
        if not ok:
            with self._lock:
                settled = self._watches.get(worker_id) is not watch
            if settled:
                # The slot recorded the job's result while this renewal waited (a store outage
                # ridden out): the token is gone because the job is done, not because it was lost.
                return
            log.error("lease lost for job %s; abandoning it", job.job_id)
            watch.lost.set()
            self.unwatch(worker_id, job)

    def _time_out(self, worker_id: str, watch: _Watch) -> None:
        job, seconds, now = watch.job, self._spec.job_timeout_seconds, utcnow()
        watch.lost.set()  # the hung publish can write nothing more under this lease
        self.unwatch(worker_id, job)
        try:
            if watch.checkpoint.started.is_set():
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
        except StoreError as exc:
            # The lease expires on its own; recovery settles the job by the same rule.
            log.error("could not settle timed-out job %s: %s", job.job_id, exc)
        finally:
            self.settled.bump()
            self.on_timeout(worker_id)


def _hold(store: JobStore, spec: WorkerSpec, account: str, now: datetime) -> None:
    hold_if_needed(store, account, now=now, timezone=spec.timezone, daily_limit=spec.daily_limit)


def _policy(spec: WorkerSpec) -> RetryPolicy:
    return RetryPolicy(spec.backoff_base_seconds, spec.backoff_cap_seconds)


#: The slot a thread is working for; the process's log lines carry it (one log per slot).
current_slot = threading.local()
