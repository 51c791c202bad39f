"""The orchestrator: one process per campaign run that supervises its worker processes.

`--workers N` publishing slots run as threads in min(N, POSTPILOT_WORKER_PROCESSES) worker
processes (runner/worker_process.py), started at the first pass and kept until the run ends:
between passes they wait on their stdin for the next one.

    lock -> recover expired leases -> reconcile unconfirmed jobs -> re-arm failed -> seed if the
    day has no jobs -> passes (workers claim until nothing is claimable) -> report

A pass ends when nothing is claimable and nothing is in flight. Between passes the orchestrator
waits for the earliest retry time (bounded); jobs that cannot move in this run (daily limit,
needs re-auth, a rate window that resets later) are reported with their reason, never looped on,
so every run terminates (I5). Workers whose process dies have their claims settled at once:
released when their publish had not started, unconfirmed when it had (I1, I6).

Store outages are ridden out for POSTPILOT_STORE_OUTAGE_SECONDS (runner/outage.py), here and
in the workers; past that, or on a full disk, the run stops like a first SIGTERM with one
message, and the claims it could not give back are given back by the next run
(runner/leftover.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any, Protocol

from postpilot.config import ParallelConfig, PostingContext, RetryConfig
from postpilot.errors import (
    ConflictError,
    PostpilotError,
    StoreFull,
    StoreUnavailable,
)
from postpilot.jobs import (
    IMPORTED_FROM,
    TERMINAL_STATUSES,
    Job,
    JobStatus,
    is_claimable,
    local_day,
    utcnow,
)
from postpilot.publishers import build_publisher
from postpilot.publishers.base import Publisher, ReconcileResult
from postpilot.runner import leftover
from postpilot.runner.locks import RunLock
from postpilot.runner.outage import STORE_FAULT_LINE, Outage, fault_line, ride_out
from postpilot.runner.unconfirmed import (
    BLOCK_UNCONFIRMED,
    hold_if_needed,
    release_if_settled,
)
from postpilot.runner.worker import (
    EXIT_DRAINED,
    EXIT_JOB_TIMEOUT,
    EXIT_STORE_UNAVAILABLE,
    WorkerSpec,
)
from postpilot.runner.worker_process import IDLE_LINE
from postpilot.store import open_store
from postpilot.store.base import (
    BLOCK_NEEDS_REAUTH,
    BLOCK_RATE_LIMIT,
    AccountState,
    CoordinatedStore,
    JobStore,
    Recovery,
)
from postpilot.store.dashboard import is_paused
from postpilot.video_paths import VideoPathError, locate

log = logging.getLogger("postpilot.runner")

#: Longest wait between passes for a retry time; later retries are reported, not waited for.
MAX_RETRY_WAIT_SECONDS = 15 * 60.0
SUPERVISE_TICK = 0.1
#: How long a worker-pool host waits for the orchestrator host to seed an empty day.
POOL_SEED_WAIT_SECONDS = 30.0


class RunDisplay(Protocol):
    """What the orchestrator shows while it runs (postpilot.report provides them)."""

    def update(self, counts: dict[str, int], active_workers: int, pass_number: int) -> None:
        """New counts."""

    def event(self, message: str) -> None:
        """Something happened worth a line."""

    def close(self) -> None:
        """The run is over."""


class _LogDisplay:
    """Fallback display: events go to the log."""

    def update(self, counts: dict[str, int], active_workers: int, pass_number: int) -> None:
        """Counts are reported in the summary only."""

    def event(self, message: str) -> None:
        """Log the event."""
        log.info("%s", message)

    def close(self) -> None:
        """Nothing to close."""


@dataclass
class _Slot:
    """One worker process and the publishing slots (worker ids) it runs as threads."""

    index: int
    slots: list[int] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    restart_at: float | None = None
    done: bool = False
    gave_up: bool = False
    pump: threading.Thread | None = None
    #: Set by the pump when the process reports that its slots are drained for this pass.
    idle: threading.Event = field(default_factory=threading.Event)


@dataclass
class Shutdown:
    """A stop request: the first signal's number, how many came, and an event to wait on.

    A run makes its own; the service (runner/service.py) shares one between its campaign runs,
    so a signal it receives stops every run it started."""

    signum: int | None = None
    count: int = 0
    deadline: float | None = None
    event: threading.Event = field(default_factory=threading.Event)

    def request(self, signum: int) -> None:
        """Record a SIGINT/SIGTERM: the first one drains, a second one stops at once."""
        self.count += 1
        if self.signum is None:
            self.signum = signum
        self.event.set()


@dataclass(frozen=True, slots=True)
class Blocked:
    """A job that cannot move in this run, and why."""

    job_id: str
    account: str
    reason: str
    until: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "job_id": self.job_id,
            "account": self.account,
            "reason": self.reason,
            "until": self.until.isoformat() if self.until else None,
        }


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
        self.passes: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._log_files: dict[int, IO[str]] = {}
        self._pids_changed = False
        #: Worker logs that could not be written (pump threads append): the run stops cleanly.
        self._log_failures: list[str] = []
        #: The worker processes, started at the first pass and kept for the whole run.
        self._procs: list[_Slot] = []
        #: "orchestrator", or "worker_pool" when another host holds the role (PostgreSQL).
        self.role = "orchestrator"
        self.outage = Outage(
            parallel.store_outage_seconds,
            lambda line: self.display.event(f"{self.ctx.describe()}: {line}"),
            interrupted=lambda: self.shutdown.signum is not None,
        )
        #: Store failures workers reported (pump threads append), and the run's own.
        self._store_faults: list[str] = []
        self._store_fault: str | None = None

    # -- signals ------------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.shutdown.request(signum)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            # Run from a service thread: the main thread owns the signals and shares `shutdown`.
            yield
            return
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

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
            with self._signals():
                try:
                    return self._run(
                        store, publisher, force_reseed, retry_all_failed, include_non_retryable
                    )
                except (StoreUnavailable, StoreFull) as exc:
                    return self._store_failed(exc)
        finally:
            if self.role == "orchestrator" and isinstance(store, CoordinatedStore):
                store.release_orchestrator()
            self._end_workers(store)
            with contextlib.suppress(StoreUnavailable, StoreFull):
                leftover.forget_run(self.ctx, store, self.run_id)
            publisher.close()
            store.close()
            for handle in self._log_files.values():
                with contextlib.suppress(OSError):  # a full disk was reported already
                    handle.close()

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
        orchestrating = self.role == "orchestrator"
        reconciled = self._reconcile(store, publisher) if orchestrating else {}
        rearmed = 0
        if orchestrating and retry_all_failed:
            rearmed = store.rearm_failed(include_non_retryable)
        if rearmed:
            self.display.event(f"{desc}: re-armed {rearmed} failed jobs")
        seeded = 0
        if not orchestrating and not self._wait_for_seeding(store):
            return {
                "error": "no_jobs",
                "exit_code": 1,
                "campaign": self.ctx.campaign_name,
                "role": self.role,
                "message": f"No jobs for {desc} yet: the orchestrator host has not seeded the day",
            }
        if orchestrating:
            self._roll_over(store)
        if orchestrating and (store.counts()["total"] == 0 or force_reseed):
            from postpilot.report import seed_lines
            from postpilot.seeding import REASON_DAILY_LIMIT, seed_store

            result = seed_store(self.ctx, store, utcnow())
            seeded = result.created
            self.display.event(f"{desc}: seeded {seeded} jobs")
            why = seed_lines(result)
            for line in why:  # the same reasons --seed-only gives, names included
                self.display.event(f"{desc}: {line}")
            summary = self._schedule_summary(store)
            waits = all(reason == REASON_DAILY_LIMIT for _, reason in result.skipped)
            later = summary and summary["total"] and (not summary["remaining"] or waits)
            if store.counts()["total"] == 0 and later:
                # A campaign day without slots (weekend, all published, today's slots used):
                # not an error; say what remains and when it goes out.
                self.display.event(f"{desc}: {summary['message']}")
                results = self._results(
                    store,
                    recovery_counts=(len(recovery.released), len(recovery.unconfirmed)),
                    reconciled=reconciled,
                    rearmed=rearmed,
                    seeded=0,
                )
                return results
            if store.counts()["total"] == 0:
                return {
                    "error": "no_jobs",
                    "exit_code": 1,
                    "campaign": self.ctx.campaign_name,
                    "message": "\n".join(
                        [f"No jobs to run for {desc}: nothing could be seeded", *why]
                    ),
                }

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
                {
                    "pass_number": pass_number,
                    "succeeded": after["success"] - before["success"],
                    "failed": after["failed"] - before["failed"],
                    "retrying": after["retrying"],
                    "unconfirmed": after["unconfirmed"],
                    "duration_seconds": round(time.monotonic() - started, 3),
                }
            )
            if self.shutdown.event.is_set() or pass_number == self.retry.max_passes:
                break
            wait = self._wait_before_next_pass(store)
            if wait is None:
                break
            self.display.event(
                f"{desc}: waiting {wait:.1f}s for retries before pass {pass_number + 1}"
            )
            if self.shutdown.event.wait(wait):
                break
        return self._results(
            store,
            recovery_counts=(len(recovery.released), len(recovery.unconfirmed)),
            reconciled=reconciled,
            rearmed=rearmed,
            seeded=seeded,
        )

    def _roll_over(self, store: JobStore) -> None:
        """A new local day: archive the previous one (as --reset-day does) before seeding."""
        from postpilot.rollover import Archived, roll_over

        done = roll_over(self.ctx, store, utcnow())
        if isinstance(done, Archived):
            self.display.event(
                f"{self.ctx.describe()}: new day: archived {done.archived} jobs of {done.day} "
                f"to {done.csv_path}"
            )
        elif isinstance(done, str):
            self.display.event(f"{self.ctx.describe()}: {done}")

    def _schedule_summary(self, store: JobStore) -> dict[str, Any]:
        from postpilot.rollover import schedule_summary

        return schedule_summary(self.ctx, store, utcnow())

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

    def _reconcile(self, store: JobStore, publisher: Publisher) -> dict[str, int]:
        tally: Counter[str] = Counter()
        unconfirmed = store.list_jobs([JobStatus.UNCONFIRMED])
        try:
            self._reconcile_jobs(store, publisher, unconfirmed, tally)
        finally:
            # Settled accounts get their daily slot back; the rest keep (or get) a hold.
            now = utcnow()
            for account in sorted({job.account for job in unconfirmed}):
                release_if_settled(store, account)
                self._hold(store, account, now)
        if tally:
            self.display.event(f"{self.ctx.describe()}: reconciled unconfirmed jobs: {dict(tally)}")
        return dict(tally)

    def _reconcile_jobs(
        self,
        store: JobStore,
        publisher: Publisher,
        unconfirmed: list[Job],
        tally: Counter[str],
    ) -> None:
        for job in unconfirmed:
            if job.checkpoint.get(IMPORTED_FROM):
                # The prior system made this publish, not our publisher: --confirm settles it.
                tally["needs_confirm"] += 1
                continue
            try:
                located = locate(job, self.ctx.videos_dir)
            except VideoPathError:
                located = job  # the publisher probes its saved session, not the file
            try:
                answer = publisher.reconcile(located, job.checkpoint)
            except PostpilotError as exc:
                log.warning("%s: reconcile of %s failed: %s", self.ctx.describe(), job.job_id, exc)
                tally["unknown"] += 1
                continue
            now = utcnow()
            day = local_day(now, self.ctx.timezone)
            if answer.result is ReconcileResult.POSTED:
                store.resolve_unconfirmed(
                    job.job_id,
                    True,
                    now,
                    day=day,
                    remote_id=answer.remote_id,
                    remote_url=answer.url,
                )
            elif answer.result is ReconcileResult.NOT_POSTED:
                store.resolve_unconfirmed(job.job_id, False, now, day=day)
            tally[str(answer.result)] += 1

    # -- a pass ---------------------------------------------------------------------------
    def _spec_file(self) -> Path:
        logs = self.ctx.logs_dir
        logs.mkdir(parents=True, exist_ok=True)
        path = logs / f"run_{self.run_id}.spec.json"
        if not path.exists():
            WorkerSpec(
                run_id=self.run_id,
                campaign_name=self.ctx.campaign_name,
                progress_file=self.ctx.progress_file,
                project_root=self.ctx.project_root,
                store_dsn=self.ctx.store_dsn,
                publisher=dict(self.ctx.publisher),
                timezone=self.ctx.timezone,
                daily_limit=self.ctx.max_posts_per_account_per_day,
                accounts=self.ctx.get_accounts(),
                lease_seconds=self.parallel.lease_seconds,
                job_timeout_seconds=self.parallel.job_timeout_seconds,
                idle_poll_seconds=self.parallel.idle_poll_seconds,
                backoff_base_seconds=self.retry.backoff_base_seconds,
                backoff_cap_seconds=self.retry.backoff_cap_seconds,
                extra_sys_path=[p for p in sys.path if p],
                videos_dir=self.ctx.videos_dir,
                store_outage_seconds=self.parallel.store_outage_seconds,
            ).write(path)
        return path

    def _handle(self, index: int) -> IO[str]:
        handle = self._log_files.get(index)
        if handle is None:
            # Kept open for the whole run (closed in run()); the pump thread appends to it.
            log_file = self.ctx.logs_dir / f"worker_{index}.log"
            handle = log_file.open("a", encoding="utf-8")
            self._log_files[index] = handle
        return handle

    def _start(self, slot: _Slot, spec: Path) -> None:
        handles = {str(i): self._handle(i) for i in slot.slots}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "postpilot.runner.worker",
                str(spec),
                ",".join(str(i) for i in slot.slots),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE,  # a line starts the next pass; end of file ends the process
            start_new_session=True,  # Ctrl+C reaches the orchestrator only; it decides
            env=_worker_env(),
        )
        slot.proc, slot.restart_at = proc, None
        slot.idle.clear()
        slot.pump = threading.Thread(
            target=_pump,
            args=(
                proc,
                handles,
                self.ctx.store_name,
                slot.idle,
                self._log_failures,
                self._store_faults,
            ),
            daemon=True,
        )
        slot.pump.start()

    def _layout(self) -> list[_Slot]:
        """W slots over P processes (POSTPILOT_WORKER_PROCESSES, default one per core)."""
        workers = self.parallel.num_workers
        count = max(1, min(workers, self.parallel.worker_processes))
        return [_Slot(p, slots=list(range(p, workers, count))) for p in range(count)]

    def _begin_pass(self, store: JobStore, spec: Path) -> list[_Slot]:
        """Wake the processes of the run for a new pass; start those not running."""
        if not self._procs:
            self._procs = self._layout()
        for slot in self._procs:
            slot.done = slot.gave_up = False
            slot.restarts, slot.restart_at = 0, None
            if slot.proc is not None and slot.proc.poll() is None and slot.idle.is_set():
                slot.idle.clear()
                try:
                    if slot.proc.stdin is not None:  # always: opened with PIPE
                        slot.proc.stdin.write(b"next\n")
                        slot.proc.stdin.flush()
                        continue
                except OSError:
                    slot.proc.wait()  # died between the passes: settled and restarted below
            if slot.proc is not None:
                self._settle_dead_worker(store, slot, slot.proc.wait())
                _close_stdin(slot.proc)
                slot.proc = None
            self._start(slot, spec)
        return self._procs

    def _end_workers(self, store: JobStore) -> None:
        """The run is over: close every process's stdin (it exits), kill what lingers."""
        for slot in self._procs:
            if slot.proc is not None:
                _close_stdin(slot.proc)
        deadline = time.monotonic() + 10
        for slot in self._procs:
            if slot.proc is None:
                continue
            try:
                slot.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                slot.proc.kill()
                slot.proc.wait()
            self._settle_dead_worker(store, slot, slot.proc.returncode)
            slot.proc = None
            if slot.pump is not None:
                slot.pump.join(timeout=5)
        if self._procs:
            self.lock.set_worker_pids([])

    def _run_pass(self, store: JobStore, pass_number: int) -> None:
        spec = self._spec_file()
        slots = self._begin_pass(store, spec)
        self.lock.set_worker_pids([s.proc.pid for s in slots if s.proc])
        last_update = 0.0
        terminated = False
        while True:
            now_mono = time.monotonic()
            for slot in slots:
                self._supervise(store, slot, spec, now_mono)
            if self._pids_changed:
                self._pids_changed = False
                self.lock.set_worker_pids([s.proc.pid for s in slots if s.proc is not None])
            if self._log_failures and not self.shutdown.event.is_set():
                self._fail_run(self._log_failures[0])
            if self._store_faults and self._store_fault is None:
                self._stop_for_store(self._store_faults[0])
            if self.shutdown.event.is_set():
                if not terminated:
                    terminated = True
                    self._stop_workers(slots)
                elif self.shutdown.count >= 2 or (
                    self.shutdown.deadline is not None and now_mono >= self.shutdown.deadline
                ):
                    self._kill_workers(store, slots, spec)
            active = sum(
                len(s.slots)
                for s in slots
                if s.proc is not None and s.proc.poll() is None and not s.idle.is_set()
            )
            if now_mono - last_update >= 0.5:
                self._show(store, active, pass_number)
                last_update = now_mono
            if all(s.done for s in slots):
                break
            time.sleep(SUPERVISE_TICK)
        self._show(store, 0, pass_number)
        if all(s.gave_up for s in slots):
            self.errors.append(f"pass {pass_number}: every worker crashed; see {self.ctx.logs_dir}")

    def _supervise(self, store: JobStore, slot: _Slot, spec: Path, now_mono: float) -> None:
        if slot.done:
            return
        if slot.proc is None:
            if slot.restart_at is not None and now_mono >= slot.restart_at:
                if self.shutdown.event.is_set():
                    slot.done = True
                else:
                    self._start(slot, spec)
                    self._pids_changed = True
            return
        code = slot.proc.poll()
        if code is None:
            if slot.idle.is_set():
                slot.done = True  # alive, its slots drained: it waits for the next pass
            return
        _close_stdin(slot.proc)
        slot.proc = None
        if slot.pump is not None:
            slot.pump.join(timeout=5)
        self._settle_dead_worker(store, slot, code)
        if code == EXIT_DRAINED or self.shutdown.event.is_set():
            slot.done = True
            return
        if code == EXIT_STORE_UNAVAILABLE and self._store_faults:
            slot.done = True  # it said why (the pump read it): the run stops, see _run_pass
            self._stop_for_store(self._store_faults[0])
            return
        if code == EXIT_JOB_TIMEOUT:
            self.display.event(
                f"{self.ctx.describe()}: {_name(slot)} hit the job timeout; restarting it"
            )
            slot.restart_at = now_mono
            return
        slot.restarts += 1
        if slot.restarts > self.parallel.max_worker_restarts:
            slot.done = slot.gave_up = True
            self.display.event(
                f"{self.ctx.describe()}: {_name(slot)} exited with code {code} "
                f"{slot.restarts} times; giving up on it "
                f"(logs: {self.ctx.logs_dir / f'worker_{slot.slots[0]}.log'}, ...)"
            )
            return
        delay = min(0.5 * 2 ** (slot.restarts - 1), 10.0)
        self.display.event(
            f"{self.ctx.describe()}: {_name(slot)} exited with code {code}; "
            f"restart {slot.restarts}/{self.parallel.max_worker_restarts} in {delay:.1f}s"
        )
        slot.restart_at = now_mono + delay

    def _settle_dead_worker(self, store: JobStore, slot: _Slot, code: int) -> None:
        """A reaped worker process holds no lease any more: settle the claims of its slots now,
        not at expiry. With the store down (or full) that waits for the next run."""
        try:
            self._settle_claims(store, slot, code)
        except (StoreUnavailable, StoreFull) as exc:
            self._stop_for_store(fault_line(exc))

    def _settle_claims(self, store: JobStore, slot: _Slot, code: int) -> None:
        ids = {str(i) for i in slot.slots}
        for job in store.list_jobs([JobStatus.CLAIMED]):
            if job.run_id != self.run_id or job.worker_id not in ids:
                continue
            if job.publish_started_at is not None:
                now = utcnow()
                if store.mark_unconfirmed(
                    job.job_id,
                    job.lease_token,
                    now,
                    f"worker {job.worker_id} exited (code {code}) while publishing",
                ):
                    self._hold(store, job.account, now)
                self.display.event(
                    f"{self.ctx.describe()}: job {job.job_id} is unconfirmed "
                    f"(worker {job.worker_id} died while publishing)"
                )
            else:
                store.release(job.job_id, job.lease_token)

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

    def _store_failed(self, exc: StoreUnavailable | StoreFull) -> dict[str, Any]:
        """The result of a run whose store stopped it (no counts: the store cannot give them)."""
        kind, _, message = (self._store_fault or fault_line(exc)).partition(" ")
        return {
            "error": kind,
            "exit_code": 1,
            "campaign": self.ctx.campaign_name,
            "context": self.ctx.describe(),
            "run_id": self.run_id,
            "role": self.role,
            "message": message,
            "errors": [message],
            "store_outages": self._outages(),
        }

    def _outages(self) -> dict[str, Any]:
        return {
            "count": self.outage.outages,
            "longest_seconds": round(self.outage.longest, 3),
            "gave_up": self.outage.gave_up is not None,
        }

    def _stop_workers(self, slots: list[_Slot]) -> None:
        self.shutdown.deadline = time.monotonic() + self.parallel.shutdown_timeout
        if self.shutdown.signum is not None or not self.errors:
            name = signal.Signals(self.shutdown.signum or signal.SIGTERM).name
            self.display.event(
                f"{self.ctx.describe()}: {name} received: no new claims; running publishes "
                f"have {self.parallel.shutdown_timeout:g}s to finish (send it again to stop now)"
            )
        else:
            self.display.event(
                f"{self.ctx.describe()}: stopping: no new claims; running publishes have "
                f"{self.parallel.shutdown_timeout:g}s to finish"
            )
        for slot in slots:
            slot.restart_at = None
            if slot.proc is not None and slot.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    slot.proc.send_signal(signal.SIGTERM)
            elif slot.proc is None:
                slot.done = True

    def _kill_workers(self, store: JobStore, slots: list[_Slot], spec: Path) -> None:
        for slot in slots:
            if slot.proc is not None and slot.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    slot.proc.kill()
                slot.proc.wait()
        for slot in slots:
            self._supervise(store, slot, spec, time.monotonic())

    # -- between passes -------------------------------------------------------------------
    def _wait_before_next_pass(self, store: JobStore) -> float | None:
        """Seconds to wait before the next pass, or None when no job can move in this run.
        The retry delay spaces out retries. A pending job that nothing holds back is waited
        for until its slot instead: at once when the slot came due as the pass ended, and
        when it comes due within `slot_wait` seconds, the workers staying up (the service
        starts a slot's run a few seconds early, runner/service.py, so they are ready)."""
        slot_wait = 15.0
        now = utcnow()
        movable, blocked = self._classify(store, now)
        held = {b.job_id for b in blocked}
        soon = [
            max(job.scheduled_at or now, now)
            for job in store.list_jobs([JobStatus.PENDING])
            if job.account
            and job.job_id not in held
            and (job.scheduled_at is None or (job.scheduled_at - now).total_seconds() <= slot_wait)
        ]
        if soon:
            return (min(soon) - now).total_seconds()
        if not movable:
            return None
        earliest = min(movable)
        wait = max(self.retry.retry_delay_seconds, (earliest - now).total_seconds())
        return wait if wait <= max(MAX_RETRY_WAIT_SECONDS, self.retry.retry_delay_seconds) else None

    def _classify(self, store: JobStore, now: datetime) -> tuple[list[datetime], list[Blocked]]:
        """When each waiting job may move, and the jobs that cannot move in this run."""
        waiting = [
            j for j in store.list_jobs([JobStatus.PENDING, JobStatus.RETRYING, JobStatus.CLAIMED])
        ]
        accounts = {j.account for j in waiting if j.account}
        states = store.account_states(accounts)
        day = local_day(now, self.ctx.timezone)
        allowed = set(self.ctx.get_accounts())
        movable: list[datetime] = []
        blocked: list[Blocked] = []
        counted: dict[str, int] = {}

        def daily(account: str) -> int:
            if account not in counted:
                counted[account] = store.daily_count(account, day)
            return counted[account]

        for job in waiting:
            if job.status is JobStatus.CLAIMED:
                movable.append(now)
                continue
            state = states.get(job.account)
            if not job.account or job.account not in allowed:
                blocked.append(
                    Blocked(job.job_id, job.account, "account not in the campaign's accounts")
                )
            elif state is not None and state.block == BLOCK_NEEDS_REAUTH:
                blocked.append(Blocked(job.job_id, job.account, "needs re-authorization"))
            elif state is not None and _held_unsettled(state, now):
                assert state.held_by is not None
                campaign, holder = state.held_by
                reason = (
                    f"held: the publish of job {holder} (campaign '{campaign}') may still be "
                    "running; its late answer, the next --run's reconcile or --confirm settles it"
                )
                blocked.append(Blocked(job.job_id, job.account, reason))
            elif (
                state is not None
                and state.block == BLOCK_UNCONFIRMED
                and (state.blocked_until is None or state.blocked_until > now)
            ):
                reason = "held: an unconfirmed publish may fill today's limit (reconcile first)"
                blocked.append(Blocked(job.job_id, job.account, reason, state.blocked_until))
            elif (
                state is not None
                and state.block == BLOCK_RATE_LIMIT
                and (state.blocked_until is None or state.blocked_until > now)
            ):
                until = state.blocked_until
                blocked.append(Blocked(job.job_id, job.account, "rate limit", until))
                if until is not None:
                    movable.append(until)
            elif daily(job.account) >= self.ctx.max_posts_per_account_per_day:
                blocked.append(Blocked(job.job_id, job.account, "daily limit reached"))
            elif (
                state is not None
                and daily(job.account) + state.unconfirmed >= self.ctx.max_posts_per_account_per_day
            ):
                reason = (
                    f"held: {state.unconfirmed} unconfirmed publish(es) may fill today's limit "
                    "(the next --run reconciles them, or settle them with --confirm)"
                )
                blocked.append(Blocked(job.job_id, job.account, reason))
            elif (
                state is not None
                and state.leased_by is not None
                and state.leased_by[0] != self.ctx.store_name
            ):
                blocked.append(
                    Blocked(
                        job.job_id,
                        job.account,
                        f"account busy in campaign '{state.leased_by[0]}'",
                        state.lease_expires_at,
                    )
                )
                movable.append(now)
            elif is_claimable(job, now):
                movable.append(now)
            elif job.retry_at is not None:
                movable.append(job.retry_at)
        return movable, blocked

    # -- results --------------------------------------------------------------------------
    def _results(
        self,
        store: JobStore,
        *,
        recovery_counts: tuple[int, int],
        reconciled: dict[str, int],
        rearmed: int,
        seeded: int,
    ) -> dict[str, Any]:
        counts = store.counts()
        jobs = store.list_jobs()
        by_category = Counter(
            j.error_category or "unknown" for j in jobs if j.status is JobStatus.FAILED
        )
        by_type = Counter(
            j.error_type or "unknown"
            for j in jobs
            if j.status in (JobStatus.FAILED, JobStatus.RETRYING, JobStatus.UNCONFIRMED)
        )
        _movable, blocked = self._classify(store, utcnow())
        unconfirmed = [
            {"job_id": j.job_id, "account": j.account, "reason": j.error}
            for j in jobs
            if j.status is JobStatus.UNCONFIRMED
        ]
        retrying = [
            {
                "job_id": j.job_id,
                "account": j.account,
                "retry_at": j.retry_at.isoformat() if j.retry_at else None,
                "error": j.error,
            }
            for j in jobs
            if j.status is JobStatus.RETRYING
        ]
        interrupted = self.shutdown.signum is not None
        if interrupted:
            exit_code = 128 + int(self.shutdown.signum or signal.SIGTERM)
        elif self.errors:
            exit_code = 1
        else:
            exit_code = 0
        results: dict[str, Any] = {
            "campaign": self.ctx.campaign_name,
            "context": self.ctx.describe(),
            "run_id": self.run_id,
            "role": self.role,
            **counts,
            "seeded": seeded,
            "rearmed": rearmed,
            "recovered": {"released": recovery_counts[0], "unconfirmed": recovery_counts[1]},
            "reconciled": reconciled,
            "retry_summary": {
                "total_passes": len(self.passes),
                "config": {
                    "max_passes": self.retry.max_passes,
                    "retry_delay_seconds": self.retry.retry_delay_seconds,
                },
                "passes": self.passes,
            },
            "failure_breakdown": {"by_category": dict(by_category), "by_type": dict(by_type)},
            "blocked": [b.to_json() for b in blocked],
            "unconfirmed_jobs": unconfirmed,
            "retrying_jobs": retrying,
            "complete": all(j.status in TERMINAL_STATUSES for j in jobs),
            "schedule": self._schedule_summary(store) or None,
            "interrupted": interrupted,
            "paused": is_paused(store),
            "errors": list(self.errors),
            "exit_code": exit_code,
        }
        results["store_outages"] = self._outages()
        if self.errors:
            results["error"] = "workers_failed"
        if self._store_fault is not None:
            results["error"], _, results["message"] = self._store_fault.partition(" ")
        return results


def _worker_env() -> dict[str, str]:
    """The worker processes' environment: glibc gives every thread that allocates an arena of
    its own (up to 8 per core), ~10 MiB per process with 32 slots; the slots' Python code runs
    under one lock anyway, so two arenas lose nothing (the user's own setting wins)."""
    env = dict(os.environ)
    env.setdefault("MALLOC_ARENA_MAX", "2")
    return env


def _held_unsettled(state: AccountState, now: datetime) -> bool:
    """Whether an unsettled publish holds the account with no live lease behind it (a live
    holder is just busy: its end frees the account within this run)."""
    if state.held_by is None:
        return False
    live = state.lease_expires_at is not None and state.lease_expires_at > now
    return not (live and state.leased_by == state.held_by)


def _close_stdin(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None:
        with contextlib.suppress(OSError):  # a dead reader: the pipe is broken
            proc.stdin.close()


def _name(slot: _Slot) -> str:
    """How events name a worker process: by the slots it runs."""
    if len(slot.slots) == 1:
        return f"worker {slot.slots[0]}"
    return f"worker process {slot.index} (workers {','.join(map(str, slot.slots))})"


def _pump(
    proc: subprocess.Popen[bytes],
    handles: dict[str, IO[str]],
    campaign: str,
    idle: threading.Event,
    failed: list[str],
    store_faults: list[str],
) -> None:
    """Copy a worker process's output into its slots' log files (a line `S<slot> ...` goes to
    that slot's log, any other line to all of them), stamping every line with time, campaign
    and slot; the idle line sets `idle` instead, a store fault line goes to `store_faults`.

    A log that cannot be written (disk full) is reported once in `failed`, naming the file,
    and the output is drained from then on so the worker never blocks on a full pipe; the
    orchestrator stops the run cleanly. No exception leaves this thread."""
    if proc.stdout is None:
        return
    broken = False
    for raw in iter(proc.stdout.readline, b""):
        if broken:
            continue
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if line == IDLE_LINE:
            idle.set()
            continue
        if line.startswith(STORE_FAULT_LINE):
            store_faults.append(line.removeprefix(STORE_FAULT_LINE).strip())
            continue  # the worker logged it too
        slot, _, rest = line.partition(" ")
        targets = [slot[1:]] if slot[1:] in handles else list(handles)
        text = rest if slot[1:] in handles or slot == "S-" else line
        stamp = utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for target in targets:
            handle = handles[target]
            try:
                handle.write(f"{stamp} [{campaign}] W{target} {text}\n")
                handle.flush()
            except OSError as exc:
                broken = True
                failed.append(
                    f"Cannot write the worker log {handle.name}: {exc.strerror or exc}. "
                    "Free space on that disk (or fix its permissions), then --run again"
                )
                break
    proc.stdout.close()


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
    shown: RunDisplay = display if display is not None else _LogDisplay()
    lock = RunLock(ctx)
    try:
        lock.acquire()
    except ConflictError as exc:
        return {
            "error": "orchestrator_conflict",
            "conflicts": [str(exc).splitlines()[0]],
            "message": str(exc),
            "campaign": ctx.campaign_name,
            "exit_code": 1,
        }
    try:
        return Orchestrator(ctx, parallel, retry, lock, shown, shutdown).run(
            force_reseed, retry_all_failed, retry_include_non_retryable
        )
    finally:
        shown.close()
        lock.release()
