"""The orchestrator: one process per campaign run that decides its passes.

    lock -> recover expired leases -> reconcile unconfirmed jobs -> re-arm failed -> seed if the
    day has no jobs -> passes (workers claim until nothing is claimable) -> report

`--workers N` publishing slots run in worker processes that runner/supervisor.py starts at
the first pass and keeps until the run ends; the workers whose process dies have their claims
settled at once (I1, I6). A pass ends when nothing is claimable and nothing is in flight.
Between passes the orchestrator waits for the earliest retry time (bounded, runner/waiting.py);
jobs that cannot move in this run are reported with their reason, never looped on, so every
run terminates (I5). The results are runner/results.py's.

Store outages are ridden out for POSTPILOT_STORE_OUTAGE_SECONDS (runner/outage.py), here and
in the workers; past that, or on a full disk, the run stops like a first SIGTERM with one
message, and the claims it could not give back are given back by the next run
(runner/leftover.py).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from postpilot.config import ParallelConfig, PostingContext, RetryConfig
from postpilot.errors import ConfigError, ConflictError, StoreFull, StoreUnavailable
from postpilot.jobs import utcnow
from postpilot.publishers import build_publisher
from postpilot.publishers.base import Publisher
from postpilot.runner import leftover
from postpilot.runner.display import LogDisplay, RunDisplay
from postpilot.runner.locks import RunLock
from postpilot.runner.outage import Outage, fault_line, ride_out
from postpilot.runner.reconcile import reconcile
from postpilot.runner.results import (
    Blocked,
    PassSummary,
    RunFacts,
    RunResult,
    collect,
    conflict,
    no_jobs,
    outages_json,
    store_failed,
)
from postpilot.runner.seed_day import roll_over_day, schedule_summary, seed_day
from postpilot.runner.shutdown import Shutdown, signals_to
from postpilot.runner.supervisor import Slot, Workers
from postpilot.runner.unconfirmed import hold_if_needed
from postpilot.runner.waiting import MAX_RETRY_WAIT_SECONDS, classify, wait_before_next_pass
from postpilot.store import open_store
from postpilot.store.base import CoordinatedStore, JobStore, Recovery
from postpilot.store.dashboard import is_paused

__all__ = [
    "MAX_RETRY_WAIT_SECONDS",
    "POOL_SEED_WAIT_SECONDS",
    "SUPERVISE_TICK",
    "Blocked",
    "Orchestrator",
    "RunDisplay",
    "RunResult",
    "Shutdown",
    "run_parallel_posting",
]

SUPERVISE_TICK = 0.1
#: How long a worker-pool host waits for the orchestrator host to seed an empty day.
POOL_SEED_WAIT_SECONDS = 30.0


#: A lease should be this many times the store outage budget (docs/never-twice.md).
LEASE_OVER_OUTAGE = 1.5


class Orchestrator:
    """Runs one campaign: see the module docstring."""

    def __init__(
        self,
        ctx: PostingContext,
        parallel: ParallelConfig,
        retry: RetryConfig,
        lock: RunLock,
        display: RunDisplay,
        shutdown: Shutdown | None = None,
    ) -> None:
        self.ctx = ctx
        self.parallel = parallel
        self.retry = retry
        self.lock = lock
        self.display = display
        self.run_id = utcnow().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.shutdown = shutdown if shutdown is not None else Shutdown()
        self.passes: list[PassSummary] = []
        self.errors: list[str] = []
        #: "orchestrator", or "worker_pool" when another host holds the role (PostgreSQL).
        self.role = "orchestrator"
        self.outage = Outage(
            parallel.store_outage_seconds,
            lambda line: self.display.event(f"{self.ctx.describe()}: {line}"),
            interrupted=lambda: self.shutdown.signum is not None,
        )
        #: The store failure that stopped the run (a fault line), its own or a worker's.
        self._store_fault: str | None = None
        self.workers = Workers(
            ctx,
            parallel,
            retry,
            self.run_id,
            lock,
            display,
            self.shutdown,
            hold=self._hold,
            stop_for_store=self._stop_for_store,
        )

    # -- the run ------------------------------------------------------------------------
    def run(
        self, force_reseed: bool, retry_all_failed: bool, include_non_retryable: bool
    ) -> dict[str, Any]:
        """Do the run and return the results dict."""
        try:
            store = ride_out(self.outage.call(open_store, self.ctx)[0], self.outage)
        except (StoreUnavailable, StoreFull) as exc:
            return self._store_failed(exc)
        publisher = build_publisher(
            self.ctx.publisher, Path(self.ctx.project_root), self.ctx.store_name
        )
        try:
            with signals_to(self.shutdown):
                try:
                    return self._run(
                        store, publisher, force_reseed, retry_all_failed, include_non_retryable
                    )
                except (StoreUnavailable, StoreFull) as exc:
                    return self._store_failed(exc)
        finally:
            if self.role == "orchestrator" and isinstance(store, CoordinatedStore):
                store.release_orchestrator()
            self.workers.end(store)
            with contextlib.suppress(StoreUnavailable, StoreFull):
                leftover.forget_run(self.ctx, store, self.run_id)
            publisher.close()
            store.close()
            self.workers.close_logs()

    def _run(
        self,
        store: JobStore,
        publisher: Publisher,
        force_reseed: bool,
        retry_all_failed: bool,
        include_non_retryable: bool,
    ) -> dict[str, Any]:
        desc = self.ctx.describe()
        self.display.event(f"Starting posting for {desc} (run {self.run_id})")
        recovery = self._start(store, desc)
        self._prestart_workers(store)
        orchestrating = self.role == "orchestrator"
        reconciled = (
            reconcile(self.ctx, store, publisher, self.display, self._hold) if orchestrating else {}
        )
        rearmed = 0
        if orchestrating and retry_all_failed:
            rearmed = store.rearm_failed(include_non_retryable)
        if rearmed:
            self.display.event(f"{desc}: re-armed {rearmed} failed jobs")
        seeded, later = 0, False
        if not orchestrating and not self._wait_for_seeding(store):
            return no_jobs(
                self.ctx.campaign_name,
                f"No jobs for {desc} yet: the orchestrator host has not seeded the day",
                role=self.role,
            )
        if orchestrating:
            roll_over_day(self.ctx, store, self.display)
        if orchestrating and (store.counts()["total"] == 0 or force_reseed):
            day = seed_day(self.ctx, store, self.display)
            if day.failure is not None:
                return no_jobs(self.ctx.campaign_name, day.failure)
            # A day without slots (day.later): no pass, the results say when jobs go out.
            later, seeded = day.later, 0 if day.later else day.created
        if not later:
            self._passes(store, desc)
        self.workers.release()  # no pass follows: the processes exit while results are read
        return self._results(
            store,
            recovery_counts=(len(recovery.released), len(recovery.unconfirmed)),
            reconciled=reconciled,
            rearmed=rearmed,
            seeded=seeded,
        ).to_json()

    def _start(self, store: JobStore, desc: str) -> Recovery:
        """Before any pass: warn of a lease too short for the outage budget, take the
        orchestrator role or join as a worker pool, and settle the claims earlier runs left."""
        lease, budget = self.parallel.lease_seconds, self.parallel.store_outage_seconds
        if lease < LEASE_OVER_OUTAGE * budget:
            # Renewed every third of its length, a lease outlasts only an outage of about
            # two thirds of it: past that, a publish in flight ends unconfirmed.
            self.display.event(
                f"{desc}: warning: POSTPILOT_LEASE_SECONDS={lease:g} is below "
                f"{LEASE_OVER_OUTAGE:g} x POSTPILOT_STORE_OUTAGE_SECONDS={budget:g}; a lease "
                "may expire while a store outage is ridden out, and a publish in flight then "
                "ends unconfirmed (docs/never-twice.md)"
            )
        if isinstance(store, CoordinatedStore) and not store.try_acquire_orchestrator():
            # Another host orchestrates (seeding, reconcile, pass decisions): lend it workers.
            self.role = "worker_pool"
            self.display.event(
                f"{desc}: another host is the orchestrator; joining as a worker pool "
                f"with {self.parallel.num_workers} workers"
            )
        given_back, settled, posted = leftover.give_back(
            self.ctx, store, self.run_id, lambda account, now: self._hold(store, account, now)
        )
        if given_back or settled or posted:
            self.display.event(
                f"{desc}: settled the claims an earlier run left: gave back {len(given_back)} "
                f"whose publish had not started, {len(settled)} became unconfirmed, "
                f"{len(posted)} were already recorded as posted"
            )
        leftover.note_run(self.ctx, self.run_id)
        recovery = store.recover_expired(utcnow())
        if given_back or settled:
            recovery = Recovery(
                [*given_back, *recovery.released], [*settled, *recovery.unconfirmed]
            )
        if recovery.released or recovery.unconfirmed:
            self.display.event(
                f"{desc}: recovered {len(recovery.released)} expired claims, "
                f"{len(recovery.unconfirmed)} became unconfirmed"
            )
        return recovery

    def _prestart_workers(self, store: JobStore) -> None:
        """Start the worker processes before reconciling and seeding: they wait for the first
        pass, and their start overlaps this process's work. Not when no pass can start
        (paused), nor when the spec or a process cannot be had now: the first pass then
        starts them and reports the error as before."""
        if is_paused(store):
            return
        try:
            slots = self.workers.prestart(self.workers.spec_file())
        except (ConfigError, OSError):
            return
        self.lock.set_worker_pids([s.proc.pid for s in slots if s.proc is not None])

    def _passes(self, store: JobStore, desc: str) -> None:
        """The passes, each until nothing is claimable, with the wait for retries between."""
        for pass_number in range(1, self.retry.max_passes + 1):
            if self.shutdown.event.is_set():
                break
            if is_paused(store):
                # Paused from the dashboard: start no pass (workers check it at every claim).
                self.display.event(f"{desc}: paused; no jobs are claimed until it is resumed")
                break
            started = time.monotonic()
            before = store.counts()
            self.display.event(
                f"{desc}: pass {pass_number} starting with {self.parallel.num_workers} workers"
            )
            self._run_pass(store, pass_number)
            after = store.counts()
            self.passes.append(
                PassSummary(
                    pass_number=pass_number,
                    succeeded=after["success"] - before["success"],
                    failed=after["failed"] - before["failed"],
                    retrying=after["retrying"],
                    unconfirmed=after["unconfirmed"],
                    duration_seconds=round(time.monotonic() - started, 3),
                )
            )
            if self.shutdown.event.is_set() or pass_number == self.retry.max_passes:
                break
            wait = wait_before_next_pass(self.ctx, self.retry, store)
            if wait is None:
                break
            self.display.event(
                f"{desc}: waiting {wait:.1f}s for retries before pass {pass_number + 1}"
            )
            if self.shutdown.event.wait(wait):
                break

    def _wait_for_seeding(self, store: JobStore) -> bool:
        """A worker pool that started before the orchestrator host seeded the day waits a
        little for the jobs to appear (hosts are started by hand, rarely in order)."""
        deadline = time.monotonic() + POOL_SEED_WAIT_SECONDS
        while store.counts()["total"] == 0:
            if time.monotonic() >= deadline or self.shutdown.event.wait(0.5):
                return False
        return True

    def _hold(self, store: JobStore, account: str, now: datetime) -> None:
        hold_if_needed(
            store,
            account,
            now=now,
            timezone=self.ctx.timezone,
            daily_limit=self.ctx.max_posts_per_account_per_day,
        )

    # -- a pass ---------------------------------------------------------------------------
    def _run_pass(self, store: JobStore, pass_number: int) -> None:
        workers = self.workers
        spec = workers.spec_file()
        slots = workers.begin_pass(store, spec)
        self.lock.set_worker_pids([s.proc.pid for s in slots if s.proc])
        last_update = 0.0
        terminated = False
        while True:
            now_mono = time.monotonic()
            for slot in slots:
                workers.supervise(store, slot, spec, now_mono)
            if workers.pids_changed:
                workers.pids_changed = False
                self.lock.set_worker_pids([s.proc.pid for s in slots if s.proc is not None])
            if workers.log_failures and not self.shutdown.event.is_set():
                self._fail_run(workers.log_failures[0])
            if workers.store_faults and self._store_fault is None:
                self._stop_for_store(workers.store_faults[0])
            if self.shutdown.event.is_set():
                terminated = self._stop_workers(store, slots, spec, now_mono, terminated)
            active = workers.active(slots)
            if now_mono - last_update >= 0.5:
                self._show(store, active, pass_number)
                last_update = now_mono
            if all(s.done for s in slots):
                break
            if workers.wake.wait(SUPERVISE_TICK):
                workers.wake.clear()  # a process drained or ended: look again now
        self._show(store, 0, pass_number)
        if all(s.gave_up for s in slots):
            self.errors.append(f"pass {pass_number}: every worker crashed; see {self.ctx.logs_dir}")

    def _stop_workers(
        self, store: JobStore, slots: list[Slot], spec: Path, now_mono: float, terminated: bool
    ) -> bool:
        """A stop was asked: the first time the workers are told to stop (running publishes
        finish); a second signal or the shutdown deadline kills them. True: they were told."""
        if not terminated:
            self.workers.stop(slots, failed=bool(self.errors))
        elif self.shutdown.count >= 2 or (
            self.shutdown.deadline is not None and now_mono >= self.shutdown.deadline
        ):
            self.workers.kill(store, slots, spec)
        return True

    def _fail_run(self, message: str) -> None:
        """A fault the run cannot work past (a full disk): one clear message, then the same
        clean stop as a first SIGTERM (no new claims, running publishes finish)."""
        self.errors.append(message)
        self.display.event(f"{self.ctx.describe()}: {message}")
        self.shutdown.event.set()

    def _stop_for_store(self, fault: str) -> None:
        """The store failed past what the run rides out (`fault`: a fault_line): stop as
        _fail_run does, but leave the message to the run's result (the CLI prints it once)."""
        if self._store_fault is None:
            self._store_fault = fault
            self.errors.append(fault.partition(" ")[2])
        self.shutdown.event.set()

    def _show(self, store: JobStore, active: int, pass_number: int) -> None:
        try:
            counts = store.counts()
        except (StoreUnavailable, StoreFull) as exc:
            self._stop_for_store(fault_line(exc))
            return
        self.display.update(counts, active, pass_number)

    # -- results --------------------------------------------------------------------------
    def _store_failed(self, exc: StoreUnavailable | StoreFull) -> dict[str, Any]:
        """The result of a run whose store stopped it (no counts: the store cannot give them)."""
        return store_failed(
            self.ctx.campaign_name,
            self.ctx.describe(),
            self.run_id,
            self.role,
            self._store_fault or fault_line(exc),
            outages_json(self.outage),
        )

    def _results(
        self,
        store: JobStore,
        *,
        recovery_counts: tuple[int, int],
        reconciled: dict[str, int],
        rearmed: int,
        seeded: int,
    ) -> RunResult:
        facts = RunFacts(
            campaign=self.ctx.campaign_name,
            context=self.ctx.describe(),
            run_id=self.run_id,
            role=self.role,
            seeded=seeded,
            rearmed=rearmed,
            recovery_counts=recovery_counts,
            reconciled=reconciled,
            max_passes=self.retry.max_passes,
            retry_delay_seconds=self.retry.retry_delay_seconds,
            passes=self.passes,
            signum=self.shutdown.signum,
            errors=self.errors,
            store_outages=outages_json(self.outage),
            store_fault=self._store_fault,
        )
        return collect(
            store,
            facts,
            blocked=lambda: classify(self.ctx, store, utcnow())[1],
            schedule=lambda: schedule_summary(self.ctx, store),
        )


def run_parallel_posting(
    ctx: PostingContext,
    num_workers: int = 3,
    force_reseed: bool = False,
    retry_all_failed: bool = True,
    retry_include_non_retryable: bool = False,
    retry_config: RetryConfig | None = None,
    *,
    display: RunDisplay | None = None,
    shutdown: Shutdown | None = None,
) -> dict[str, Any]:
    """Main entry point for parallel posting (the specification's signature, plus a display, and the
    stop request of a service that runs campaigns in threads).

    Returns the results dict; "error" is set when the run could not do its job, and
    "exit_code" is what the CLI should exit with (0 done, 1 failed, 130/143 interrupted).
    """
    parallel = ParallelConfig.from_env(num_workers)
    retry = retry_config or RetryConfig()
    shown: RunDisplay = display if display is not None else LogDisplay()
    lock = RunLock(ctx)
    try:
        lock.acquire()
    except ConflictError as exc:
        return conflict(ctx.campaign_name, str(exc))
    try:
        return Orchestrator(ctx, parallel, retry, lock, shown, shutdown).run(
            force_reseed, retry_all_failed, retry_include_non_retryable
        )
    finally:
        shown.close()
        lock.release()
