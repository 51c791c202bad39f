"""The worker processes of a campaign run: started at the first pass, woken for the next ones,
restarted when they crash, stopped and killed on a shutdown, their output pumped into the
workers' logs, and the claims of a dead one settled at once (runner/orchestrator.py drives the
passes; runner/worker_process.py is the other end).

`--workers N` publishing slots run as threads in min(N, POSTPILOT_WORKER_PROCESSES) worker
processes; between passes they wait on their stdin for the next one. A worker process whose
claims are settled here was reaped: released when their publish had not started, unconfirmed
when it had (I1, I6).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from postpilot.config import ParallelConfig, PostingContext, RetryConfig
from postpilot.errors import StoreFull, StoreUnavailable
from postpilot.jobs import JobStatus, utcnow
from postpilot.runner.display import RunDisplay
from postpilot.runner.locks import RunLock
from postpilot.runner.outage import STORE_FAULT_LINE, fault_line
from postpilot.runner.shutdown import Shutdown
from postpilot.runner.worker_spec import (
    EXIT_DRAINED,
    EXIT_JOB_TIMEOUT,
    EXIT_STORE_UNAVAILABLE,
    IDLE_LINE,
    LOOK_COMMAND,
    WorkerSpec,
)
from postpilot.store.base import JobStore


@dataclass
class Slot:
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


class Workers:
    """The worker processes of one run (see the module docstring).

    `hold(store, account, now)` holds an account whose publish became unconfirmed;
    `stop_for_store(fault)` stops the run on a store fault line (runner/outage.py)."""

    def __init__(
        self,
        ctx: PostingContext,
        parallel: ParallelConfig,
        retry: RetryConfig,
        run_id: str,
        lock: RunLock,
        display: RunDisplay,
        shutdown: Shutdown,
        *,
        hold: Callable[[JobStore, str, datetime], None],
        stop_for_store: Callable[[str], None],
    ) -> None:
        self.ctx = ctx
        self.parallel = parallel
        self.retry = retry
        self.run_id = run_id
        self.lock = lock
        self.display = display
        self.shutdown = shutdown
        self._hold = hold
        self._stop_for_store = stop_for_store
        self._log_files: dict[int, IO[str]] = {}
        #: A process was restarted: the lock's registry of worker pids is out of date.
        self.pids_changed = False
        #: Worker logs that could not be written (pump threads append): the run stops cleanly.
        self.log_failures: list[str] = []
        #: Store failures workers reported (pump threads append).
        self.store_faults: list[str] = []
        #: The worker processes, started at the first pass and kept for the whole run.
        self.procs: list[Slot] = []
        #: Set by the pumps when a process drains its slots or ends: the orchestrator's
        #: supervision wakes at once instead of at its next tick.
        self.wake = threading.Event()

    def spec_file(self) -> Path:
        """The run's worker spec (written once; every process of the run reads it)."""
        logs = self.ctx.logs_dir
        logs.mkdir(parents=True, exist_ok=True)
        path = logs / f"run_{self.run_id}.spec.json"
        if not path.exists():
            from postpilot import settings  # validated already: the run's start read it

            WorkerSpec(
                run_id=self.run_id,
                settings=WorkerSpec.settings_of(self.ctx.settings),
                store_dsn=self.ctx.store_dsn,
                accounts=self.ctx.get_accounts(),
                lease_seconds=self.parallel.lease_seconds,
                job_timeout_seconds=self.parallel.job_timeout_seconds,
                idle_poll_seconds=self.parallel.idle_poll_seconds,
                backoff_base_seconds=self.retry.backoff_base_seconds,
                backoff_cap_seconds=self.retry.backoff_cap_seconds,
                extra_sys_path=[p for p in sys.path if p],
                store_outage_seconds=self.parallel.store_outage_seconds,
                store_busy_seconds=settings.load().store_busy_seconds,
            ).write(path)
        return path

    def _handle(self, index: int) -> IO[str]:
        handle = self._log_files.get(index)
        if handle is None:
            # Kept open for the whole run (closed by close_logs); the pump thread appends to it.
            log_file = self.ctx.logs_dir / f"worker_{index}.log"
            handle = log_file.open("a", encoding="utf-8")
            self._log_files[index] = handle
        return handle

    def close_logs(self) -> None:
        """The run is over: close the workers' log files."""
        for handle in self._log_files.values():
            with contextlib.suppress(OSError):  # a full disk was reported already
                handle.close()

    def _start(self, slot: Slot, spec: Path, *, wait: bool = False) -> None:
        handles = {str(i): self._handle(i) for i in slot.slots}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "postpilot.runner.worker",
                str(spec),
                ",".join(str(i) for i in slot.slots),
                *(["--wait"] if wait else []),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE,  # a line starts the next pass; end of file ends the process
            start_new_session=True,  # Ctrl+C reaches the orchestrator only; it decides
            env=_worker_env(),
        )
        slot.proc, slot.restart_at = proc, None
        if wait:
            slot.idle.set()  # it waits on stdin for its first pass, as between passes
        else:
            slot.idle.clear()
        slot.pump = threading.Thread(
            target=_pump,
            args=(
                proc,
                handles,
                self.ctx.store_name,
                slot.idle,
                self.log_failures,
                self.store_faults,
                self.wake,
            ),
            daemon=True,
        )
        slot.pump.start()

    def _layout(self) -> list[Slot]:
        """W slots over P processes (POSTPILOT_WORKER_PROCESSES, default one per core)."""
        workers = self.parallel.num_workers
        count = max(1, min(workers, self.parallel.worker_processes))
        return [Slot(p, slots=list(range(p, workers, count))) for p in range(count)]

    def prestart(self, spec: Path) -> list[Slot]:
        """Start the processes of the run before its first pass (they wait for begin_pass):
        the interpreters start while the orchestrator seeds the day (~0.3 s at 800 jobs,
        bench/run_bench.py). A run that ends without a pass ends them as usual (end)."""
        if not self.procs:
            self.procs = self._layout()
            for slot in self.procs:
                self._start(slot, spec, wait=True)
        return self.procs

    def begin_pass(self, store: JobStore, spec: Path) -> list[Slot]:
        """Wake the processes of the run for a new pass; start those not running."""
        if not self.procs:
            self.procs = self._layout()
        for slot in self.procs:
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
        return self.procs

    def release(self) -> None:
        """The run's passes are over: close every process's stdin, so that the processes exit
        while the orchestrator reads its results (end waits for them)."""
        for slot in self.procs:
            if slot.proc is not None:
                _close_stdin(slot.proc)

    def end(self, store: JobStore) -> None:
        """The run is over: close every process's stdin (it exits), kill what lingers."""
        self.release()
        deadline = time.monotonic() + 10
        for slot in self.procs:
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
        if self.procs:
            self.lock.set_worker_pids([])

    @staticmethod
    def active(slots: list[Slot]) -> int:
        """How many publishing slots are working on this pass (alive, not drained)."""
        return sum(
            len(s.slots)
            for s in slots
            if s.proc is not None and s.proc.poll() is None and not s.idle.is_set()
        )

    def supervise(self, store: JobStore, slot: Slot, spec: Path, now_mono: float) -> None:
        """One look at a process: reap it when it exited, settle its claims, restart it (with
        backoff, up to POSTPILOT_MAX_WORKER_RESTARTS) or mark it done."""
        if slot.done:
            return
        if slot.proc is None:
            if slot.restart_at is not None and now_mono >= slot.restart_at:
                if self.shutdown.event.is_set():
                    slot.done = True
                else:
                    self._start(slot, spec)
                    self.pids_changed = True
            return
        code = slot.proc.poll()
        if code is None:
            if slot.idle.is_set():
                slot.done = True  # alive, its slots drained: it waits for the next pass
                self._nudge_others(slot)
            return
        _close_stdin(slot.proc)
        slot.proc = None
        if slot.pump is not None:
            slot.pump.join(timeout=5)
        self._settle_dead_worker(store, slot, code)
        if code == EXIT_DRAINED or self.shutdown.event.is_set():
            slot.done = True
            return
        if code == EXIT_STORE_UNAVAILABLE and self.store_faults:
            slot.done = True  # it said why (the pump read it): the run stops
            self._stop_for_store(self.store_faults[0])
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

    def _nudge_others(self, drained: Slot) -> None:
        """A process drained: idle slots of the others may be waiting on its last publish
        (only their own process's wake them), so they look again now, not after a poll."""
        for slot in self.procs:
            stdin = None if slot is drained or slot.proc is None else slot.proc.stdin
            if stdin is not None and not stdin.closed:
                with contextlib.suppress(OSError):  # it exited: supervise reaps it
                    stdin.write(f"{LOOK_COMMAND}\n".encode())
                    stdin.flush()

    def _settle_dead_worker(self, store: JobStore, slot: Slot, code: int) -> None:
        """A reaped worker process holds no lease any more: settle the claims of its slots now,
        not at expiry. With the store down (or full) that waits for the next run."""
        try:
            self._settle_claims(store, slot, code)
        except (StoreUnavailable, StoreFull) as exc:
            self._stop_for_store(fault_line(exc))

    def _settle_claims(self, store: JobStore, slot: Slot, code: int) -> None:
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

    def stop(self, slots: list[Slot], *, failed: bool) -> None:
        """A first stop request: no new claims, running publishes get the grace period
        (`failed`: the run stops for its own fault, not for a signal)."""
        self.shutdown.deadline = time.monotonic() + self.parallel.shutdown_timeout
        if self.shutdown.signum is not None or not failed:
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

    def kill(self, store: JobStore, slots: list[Slot], spec: Path) -> None:
        """A second stop request, or the grace period is over: kill the processes now (their
        claims are settled as for any dead worker)."""
        for slot in slots:
            if slot.proc is not None and slot.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    slot.proc.kill()
                slot.proc.wait()
        for slot in slots:
            self.supervise(store, slot, spec, time.monotonic())


def _worker_env() -> dict[str, str]:
    """The worker processes' environment: glibc gives every thread that allocates an arena of
    its own (up to 8 per core), ~10 MiB per process with 32 slots; the slots' Python code runs
    under one lock anyway, so two arenas lose nothing (the user's own setting wins)."""
    env = dict(os.environ)
    env.setdefault("MALLOC_ARENA_MAX", "2")
    return env


def _close_stdin(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None:
        with contextlib.suppress(OSError):  # a dead reader: the pipe is broken
            proc.stdin.close()


def _name(slot: Slot) -> str:
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
    wake: threading.Event,
) -> None:
    """Copy a worker process's output into its slots' log files (a line `S<slot> ...` goes to
    that slot's log, any other line to all of them), stamping every line with time, campaign
    and slot; the idle line sets `idle` instead, a store fault line goes to `store_faults`.
    The idle line and the end of the output set `wake`.

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
            wake.set()
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
    wake.set()
