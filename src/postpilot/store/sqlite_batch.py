"""Group commit: the threads sharing one SQLite connection share its write transactions.

A worker process's publishing slots share one store object (runner/worker_process.py).
SQLite admits one writer at a time and every commit costs up to one flush per file, so with
one transaction per write a wide pool queued behind the write lock: 64 slots finishing a
round together waited for 64 x 3 transactions in a row. Here a thread that ends its write
while other threads wait for the connection leaves the transaction open for them, and the
last of them commits for all (at most MAX_MEMBERS writes per transaction).

Each member keeps the guarantees of a transaction of its own:
- its statements run inside a SAVEPOINT: an error rolls back only its changes;
- it returns only after the COMMIT that holds its writes, and a failed COMMIT (or an error
  with which SQLite ends the whole transaction: a full disk, an I/O error) raises in every
  member whose writes it held;
- a read never sees another thread's uncommitted writes: it runs on a second connection
  (`reader`), which sees committed data only; without one (a read-only store, which has no
  writes) it runs on the connection between transactions;
- a batch flushes every file one of its members needs flushed. PRAGMA synchronous has no
  effect inside a transaction, so the flushes are chosen at BEGIN: a batch begun while
  other threads wait flushes both files; a member needing a flush the open batch does not
  make commits that batch and begins its own.

Within a process, connections to one ledger also take turns on a process-wide lock before
BEGIN IMMEDIATE, so one thread per process, not every thread, polls SQLite's file lock.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from postpilot.errors import StoreError

#: SQLite's own wait for the write lock before the poll loop tries again (milliseconds).
BUSY_POLL_MS = 2
#: Writes one transaction holds at most: bounds how long another process waits for the lock.
MAX_MEMBERS = 64
BOTH_FILES = frozenset({"main", "c"})

_PROCESS_WRITERS: dict[str, threading.Lock] = {}
_PROCESS_WRITERS_GUARD = threading.Lock()


def process_writer(ledger: Path) -> threading.Lock:
    """This process's write turn for the ledger file `ledger` (one per resolved path). A plain
    Lock: the thread that commits a batch may not be the one that began it."""
    key = str(ledger.resolve())
    with _PROCESS_WRITERS_GUARD:
        return _PROCESS_WRITERS.setdefault(key, threading.Lock())


@dataclass
class _Batch:
    """One open write transaction and what its members need of it."""

    flushes: frozenset[str]
    members: int = 0
    done: bool = False
    failure: sqlite3.Error | None = None


@dataclass
class WriteBatches:
    """The turns of the threads using one connection, and the transactions they share."""

    conn: sqlite3.Connection
    ledger: Path
    busy_timeout: float
    translate: Callable[[sqlite3.Error], StoreError]
    #: The synchronous level each schema is set to (set only between transactions).
    sync: dict[str, str] = field(default_factory=dict)
    #: The connection reads use, when there is one besides `conn`.
    reader: sqlite3.Connection | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _reader_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _queue_guard: threading.Lock = field(default_factory=threading.Lock, init=False)
    _queued: int = field(default=0, init=False)
    _batch: _Batch | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._turns = threading.Condition(self._lock)
        self._writer = process_writer(self.ledger)

    # -- turns ------------------------------------------------------------------------------
    def _take(self) -> None:
        with self._queue_guard:
            self._queued += 1
        self._lock.acquire()
        with self._queue_guard:
            self._queued -= 1

    def _others_waiting(self) -> bool:
        with self._queue_guard:
            return self._queued > 0

    # -- the API of SqliteConnection ------------------------------------------------------------
    @contextmanager
    def write(self, unflushed: tuple[str, ...] = ()) -> Iterator[sqlite3.Connection]:
        """The connection inside a write transaction; returns once the writes are committed.
        `unflushed` names the schemas ("main", "c") whose commit need not be flushed."""
        self._take()
        try:
            batch = self._join(BOTH_FILES - set(unflushed))
            try:
                self.conn.execute("SAVEPOINT member")
            except sqlite3.Error as exc:
                self._end(batch, exc)
                raise self.translate(exc) from exc
            try:
                yield self.conn
                self.conn.execute("RELEASE member")
            except sqlite3.Error as exc:
                self._undo_member(batch, exc)
                raise self.translate(exc) from exc
            except BaseException:
                self._undo_member(batch, None)
                raise
            batch.members += 1
            if batch.members >= MAX_MEMBERS or not self._others_waiting():
                self._commit(batch)
            while not batch.done:
                self._turns.wait()
            if batch.failure is not None:
                raise self.translate(batch.failure) from batch.failure
        finally:
            self._lock.release()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading committed data only."""
        if self.reader is not None:
            with self._reader_lock:
                try:
                    yield self.reader
                except sqlite3.Error as exc:
                    raise self.translate(exc) from exc
            return
        self._take()
        try:
            if self._batch is not None:
                self._commit(self._batch)
            yield self.conn
        except sqlite3.Error as exc:
            raise self.translate(exc) from exc
        finally:
            self._lock.release()

    def close(self) -> None:
        """Commit what is open and close the connection (idempotent)."""
        self._take()
        try:
            if self._batch is not None:
                self._commit(self._batch)
            self.conn.close()
        finally:
            self._lock.release()
        if self.reader is not None:
            with self._reader_lock:
                self.reader.close()

    # -- batches ----------------------------------------------------------------------------
    def _join(self, needs: frozenset[str]) -> _Batch:
        batch = self._batch
        if batch is not None and needs <= batch.flushes:
            return batch
        if batch is not None:
            self._commit(batch)  # it flushes less than this write needs
        flushes = BOTH_FILES if self._others_waiting() else needs
        try:
            for schema in sorted(BOTH_FILES):
                mode = "FULL" if schema in flushes else "NORMAL"
                if self.sync.get(schema) != mode:
                    self.conn.execute(f"PRAGMA {schema}.synchronous = {mode}")
                    self.sync[schema] = mode
        except sqlite3.Error as exc:
            raise self.translate(exc) from exc
        self._writer.acquire()
        try:
            self._begin_immediate()
        except sqlite3.Error as exc:
            self._writer.release()
            raise self.translate(exc) from exc
        except BaseException:
            self._writer.release()
            raise
        self._batch = _Batch(flushes)
        return self._batch

    def _begin_immediate(self) -> None:
        """Take SQLite's write lock, polling every ~1 ms while another process holds it.

        SQLite's own busy handler backs off to sleeps of 25-100 ms, so under contention from
        several workers most of the time went to sleeping past a lock already free (measured:
        pool efficiency 0.77 at 8 workers). The short BUSY_POLL_MS lets this loop poll finely
        instead; the overall wait is still bounded by the busy timeout.
        """
        conn = self.conn
        deadline = time.monotonic() + self.busy_timeout
        conn.execute(f"PRAGMA busy_timeout = {BUSY_POLL_MS}")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    text = str(exc)
                    if ("locked" not in text and "busy" not in text) or (
                        time.monotonic() >= deadline
                    ):
                        raise
                time.sleep(random.uniform(0.0002, 0.0015))
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")

    def _undo_member(self, batch: _Batch, cause: sqlite3.Error | None) -> None:
        """Roll back one member's changes; the batch goes on for the others unless SQLite
        ended the whole transaction."""
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK TO member")
                self.conn.execute("RELEASE member")
        except sqlite3.Error as exc:
            cause = cause or exc
            self._rollback()
        if not self.conn.in_transaction:
            self._end(batch, cause)
        elif not self._others_waiting():
            self._commit(batch)
        # else: left open for the threads waiting for the connection; they commit it.

    def _commit(self, batch: _Batch) -> None:
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            self._end(batch, exc)
            return
        self._end(batch, None)

    def _rollback(self) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection is unusable; the batch's failure is what gets reported

    def _end(self, batch: _Batch, failure: sqlite3.Error | None) -> None:
        if batch.done:
            return
        if failure is not None:
            self._rollback()
            # Only members whose writes were in it fail; a transaction SQLite ended before
            # any member wrote fails none.
            batch.failure = failure
        batch.done = True
        self._batch = None
        self._writer.release()
        self._turns.notify_all()
