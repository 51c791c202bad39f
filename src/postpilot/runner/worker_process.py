"""A worker process: several publishing slots as threads, alive for the whole run.

    python -m postpilot.runner.worker SPEC_FILE SLOTS [--wait]   (SLOTS: "0,2,4", slot indices)

Publishing is I/O-bound (uploads, processing polls of seconds to minutes), so a slot is a
thread, not a process: `--workers 64` costs about one process per core instead of 64
interpreters. Threads rather than asyncio because the stores and channels are synchronous code
(sqlite3, psycopg, httpx2's sync client): threads reuse them unchanged, each slot with its own
store connection and channel, and the GIL is released while a slot waits on the network or disk.

Per pass every slot runs its claim loop (runner/worker.py) until nothing is claimable. Then the
process prints IDLE_LINE and waits on stdin: a line starts the next pass, end of file ends the
process (exit 0). With `--wait` it waits so before its first pass too: the orchestrator starts
it while it seeds the day, and the interpreter's start overlaps the seeding. SIGTERM/SIGINT:
every slot finishes its running publish and claims nothing more, then the process exits.
A kill -9 loses only this process's in-flight publishes to their leases; the orchestrator
settles them by the publish-outcome rule. A publish past the job timeout is settled by the
shared heartbeat and its slot gets a fresh thread (the hung one is abandoned). Every log line
starts with `S<slot> ` so the orchestrator files it in that slot's log; process-wide lines
start with `S- `.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import NoReturn

from postpilot.errors import StoreError, StoreFull, StoreUnavailable
from postpilot.publishers import preload_publisher
from postpilot.runner.outage import STORE_FAULT_LINE, Outage, fault_line, ride_out
from postpilot.runner.worker import (
    EXIT_BAD_SPEC,
    EXIT_CRASHED,
    EXIT_DRAINED,
    EXIT_STORE_UNAVAILABLE,
    Heartbeat,
    Worker,
    WorkerSpec,
    current_slot,
)
from postpilot.runner.worker_spec import IDLE_LINE, LOOK_COMMAND
from postpilot.store import JobStore, shared_by_threads

log = logging.getLogger("postpilot.worker")

#: Exit codes, worst first: the process reports the worst of its slots'.
_SEVERITY = (EXIT_STORE_UNAVAILABLE, EXIT_CRASHED, EXIT_DRAINED)


class _SlotFilter(logging.Filter):
    """Stamps the slot the logging thread works for (`record.slot`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.slot = getattr(current_slot, "name", None) or "-"
        return True


class _SlotThread(threading.Thread):
    """Runs one slot's Worker for one pass and keeps its exit code."""

    def __init__(self, process: WorkerProcess, slot: str) -> None:
        super().__init__(name=f"slot-{slot}", daemon=True)
        self.process = process
        self.slot = slot
        self.worker: Worker | None = None
        self.code = EXIT_DRAINED

    def run(self) -> None:
        current_slot.name = self.slot
        try:
            worker = Worker(
                self.process.spec,
                self.slot,
                self.process.heartbeat,
                self.process.stopping,
                self.process.slot_store,
            )
        except StoreError as exc:
            log.error("cannot open the job store: %s", exc)
            self._end(EXIT_STORE_UNAVAILABLE)
            return
        self.worker = worker
        try:
            worker.register()
            self._end(worker.run())
        except StoreError as exc:
            log.error("job store failed: %s", exc)
            if isinstance(exc, StoreUnavailable | StoreFull):
                # The orchestrator stops the run with this message instead of a restart.
                print(STORE_FAULT_LINE + fault_line(exc), flush=True)
            self._end(EXIT_STORE_UNAVAILABLE)
        except Exception:
            log.exception("slot %s crashed", self.slot)
            self._end(EXIT_CRASHED)
        finally:
            worker.close()

    def _end(self, code: int) -> None:
        self.code = code
        if code != EXIT_DRAINED:
            self.process.stopping.set()  # the store or the code is broken: stop the process
            self.process.heartbeat.settled.bump()


class WorkerProcess:
    """The slots of one process, their shared heartbeat, and the pass protocol."""

    def __init__(self, spec: WorkerSpec, slots: list[str], *, wait: bool = False) -> None:
        self.spec = spec
        self.slots = slots
        #: Wait for a command before the first pass too (`--wait`).
        self.wait = wait
        self.stopping = threading.Event()
        # One outage view for the process: it logs one line when the store goes, one when
        # it is back, and the slots ride it out instead of exiting (runner/outage.py).
        outage = Outage(spec.store_outage_seconds, log.warning)
        self.heartbeat = Heartbeat(spec, outage.call(spec.open_store)[0], outage)
        self.heartbeat.on_timeout = self._replace
        #: One store for all slots where the backend wants it (store.shared_by_threads):
        #: their writes then share transactions instead of queuing for SQLite's lock.
        self.slot_store: JobStore | None = None
        if shared_by_threads(spec.context()):
            self.slot_store = ride_out(outage.call(spec.open_store)[0], outage)
        self._lock = threading.Lock()
        self._threads: dict[str, _SlotThread] = {}
        self._passing = False  # a fresh thread may take a slot only while a pass runs
        self._commands: queue.Queue[str | None] = queue.Queue()

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        """First SIGTERM/SIGINT: finish the running publishes, claim nothing more."""
        log.info("signal %d: finishing the running publishes, then stopping", signum)
        self.stopping.set()
        self.heartbeat.settled.bump()  # idle slots stop at once
        self._commands.put(None)

    def _replace(self, slot: str) -> None:
        """The heartbeat gave up the slot's hung publish: its thread is abandoned, a new one
        takes the slot (while the pass runs)."""
        with self._lock:
            old = self._threads.get(slot)
            if old is not None and old.worker is not None:
                old.worker.abandoned.set()
            if self.stopping.is_set() or not self._passing:
                self._threads.pop(slot, None)
                return
            fresh = _SlotThread(self, slot)
            self._threads[slot] = fresh
        fresh.start()

    def _run_pass(self) -> int:
        with self._lock:
            self._passing = True
            self._threads = {slot: _SlotThread(self, slot) for slot in self.slots}
            for thread in self._threads.values():
                thread.start()
        while True:
            with self._lock:
                running = [t for t in self._threads.values() if t.is_alive()]
                codes = [t.code for t in self._threads.values()]
                self._passing = bool(running)
            if not running:
                return min(codes, key=_SEVERITY.index) if codes else EXIT_DRAINED
            running[0].join(timeout=0.2)  # a timeout keeps the main thread taking signals

    def _read_commands(self) -> None:
        for line in sys.stdin:
            if line.strip() == LOOK_COMMAND:
                self.heartbeat.settled.bump()  # idle slots claim again now
                continue
            self._commands.put(line.strip())
        self._commands.put(None)  # end of file: the run is over

    def run(self) -> int:
        """Passes until stdin closes or a signal stops the process; the exit code."""
        self.heartbeat.start()
        threading.Thread(target=self._read_commands, name="commands", daemon=True).start()
        preload_publisher(self.spec.publisher)  # while the orchestrator seeds (prestart)
        if self.wait and self._wait_for_command() is None:
            return EXIT_DRAINED  # the run ended before its first pass
        while True:
            code = self._run_pass()
            if code != EXIT_DRAINED or self.stopping.is_set():
                return code
            print(IDLE_LINE, flush=True)
            command = self._wait_for_command()
            if command is None:
                return EXIT_DRAINED

    def _wait_for_command(self) -> str | None:
        while True:
            try:
                command = self._commands.get(timeout=0.5)
            except queue.Empty:
                if self.stopping.is_set():
                    return None
                continue
            return command if not self.stopping.is_set() else None


def main(argv: list[str] | None = None) -> int:
    """Entry point of a worker process."""
    args = sys.argv[1:] if argv is None else argv
    wait = args[2:] == ["--wait"]
    if len(args) != 2 and not wait:
        print("usage: python -m postpilot.runner.worker SPEC_FILE SLOTS [--wait]", file=sys.stderr)
        return EXIT_BAD_SPEC
    args = args[:2]
    spec = WorkerSpec.read(Path(args[0]))
    slots = [s for s in args[1].split(",") if s]
    sys.path[:0] = spec.extra_sys_path
    # Lets a publisher tell a worker process from the orchestrator (which reconciles).
    os.environ["POSTPILOT_WORKER_ID"] = args[1]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("S%(slot)s %(levelname)s %(message)s"))
    handler.addFilter(_SlotFilter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    try:
        process = WorkerProcess(spec, slots, wait=wait)
    except StoreError as exc:
        log.error("cannot open the job store: %s", exc)
        return EXIT_STORE_UNAVAILABLE
    signal.signal(signal.SIGTERM, process.request_stop)
    signal.signal(signal.SIGINT, process.request_stop)
    return process.run()


def exit_now(code: int) -> NoReturn:
    """End the worker process with `code` once its output is flushed, skipping the
    interpreter's teardown: every store write is committed by then, and that teardown (freeing
    every module and object of the process) took ~0.12 s at the end of each run, while the
    orchestrator waited for the exit."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
