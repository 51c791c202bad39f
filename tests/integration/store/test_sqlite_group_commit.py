"""Group commit (store/sqlite_batch.py): threads sharing one SQLite connection share write
transactions, and each write keeps the guarantees of a transaction of its own."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from postpilot.errors import StoreError
from postpilot.store.sqlite_batch import WriteBatches


def _translate(exc: sqlite3.Error) -> StoreError:
    return StoreError(f"store failed: {exc}")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A ledger and a campaign file, with a table in each (jobs has a deferred FK to accounts)."""
    ledger, campaign = tmp_path / "ledger.db", tmp_path / "campaign.db"
    conn = sqlite3.connect(ledger, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE accounts (name TEXT PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE rows (id TEXT PRIMARY KEY, account TEXT REFERENCES accounts(name) "
        "DEFERRABLE INITIALLY DEFERRED)"
    )
    conn.execute("INSERT INTO accounts VALUES ('a')")
    conn.close()
    other = sqlite3.connect(campaign, isolation_level=None)
    other.execute("PRAGMA journal_mode = WAL")
    other.close()
    return ledger, campaign


def _batches(files: tuple[Path, Path], statements: list[str]) -> WriteBatches:
    ledger, campaign = files
    conn = sqlite3.connect(ledger, isolation_level=None, check_same_thread=False)
    conn.execute("ATTACH DATABASE ? AS c", (str(campaign),))
    conn.execute("PRAGMA foreign_keys = ON")
    conn.set_trace_callback(statements.append)
    return WriteBatches(conn, ledger, 5.0, _translate)


def _committed_ids(ledger: Path) -> set[str]:
    conn = sqlite3.connect(ledger)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM rows")}
    finally:
        conn.close()


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the other threads never queued"
        time.sleep(0.001)


def _queued(batches: WriteBatches) -> int:
    return batches._queued  # the count the module keeps of threads waiting for the connection


def _insert(batches: WriteBatches, row_id: str, account: str = "a", **kw: object) -> None:
    with batches.write(**kw) as conn:  # type: ignore[arg-type]
        conn.execute("INSERT INTO rows VALUES (?, ?)", (row_id, account))


def _in_threads(targets: list[Callable[[], None]]) -> dict[int, BaseException]:
    errors: dict[int, BaseException] = {}

    def run(index: int, target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:
            errors[index] = exc

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads)
    return errors


def _behind_an_open_write(
    batches: WriteBatches,
    statements: list[str],
    held_first: threading.Event,
    first: Callable[[], None],
    others: list[Callable[[], None]],
) -> dict[int, BaseException]:
    """Run `first` (a write that waits for `held_first` inside its block) until its INSERT
    ran, queue `others` behind it, release it once they all wait for the connection, and
    return what the others raised (by index)."""
    starter = threading.Thread(target=first)
    starter.start()
    _wait_until(lambda: any(s.startswith("INSERT") for s in statements))
    errors: dict[int, BaseException] = {}
    runner = threading.Thread(target=lambda: errors.update(_in_threads(others)))
    runner.start()
    _wait_until(lambda: _queued(batches) == len(others))
    held_first.set()
    starter.join(10)
    runner.join(30)
    assert not starter.is_alive()
    assert not runner.is_alive()
    return errors


@pytest.fixture
def held_first() -> Iterator[threading.Event]:
    """Set by a test once the other writers are queued; the first writer waits for it."""
    event = threading.Event()
    yield event
    event.set()


def test_queued_writes_share_one_commit_and_each_returns_committed(
    files: tuple[Path, Path], held_first: threading.Event
) -> None:
    """Writes queued behind an open write are committed with it in one COMMIT, and every
    write is visible to another connection as soon as its call returns."""
    statements: list[str] = []
    batches = _batches(files, statements)
    seen_after_return: dict[str, bool] = {}

    def first() -> None:
        with batches.write() as conn:
            conn.execute("INSERT INTO rows VALUES ('first', 'a')")
            held_first.wait(10)
        seen_after_return["first"] = "first" in _committed_ids(files[0])

    def later(row_id: str) -> Callable[[], None]:
        def write() -> None:
            _insert(batches, row_id)
            seen_after_return[row_id] = row_id in _committed_ids(files[0])

        return write

    others = [later(f"r{i}") for i in range(7)]
    assert _behind_an_open_write(batches, statements, held_first, first, others) == {}
    assert _committed_ids(files[0]) == {"first", *(f"r{i}" for i in range(7))}
    assert all(seen_after_return.values())
    assert len(seen_after_return) == 8
    assert statements.count("COMMIT") < 8  # the queued writes joined the open transaction


def test_a_failing_write_rolls_back_alone(
    files: tuple[Path, Path], held_first: threading.Event
) -> None:
    """A write whose block raises loses only its own changes; the writes sharing its
    transaction are committed."""
    statements: list[str] = []
    batches = _batches(files, statements)

    def first() -> None:
        with batches.write() as conn:
            conn.execute("INSERT INTO rows VALUES ('first', 'a')")
            held_first.wait(10)

    def failing() -> None:
        with batches.write() as conn:
            conn.execute("INSERT INTO rows VALUES ('doomed', 'a')")
            raise ValueError("the caller's own error")

    others = [failing, lambda: _insert(batches, "after")]
    errors = _behind_an_open_write(batches, statements, held_first, first, others)
    assert [type(e) for e in errors.values()] == [ValueError]
    assert _committed_ids(files[0]) == {"first", "after"}


def test_a_failed_commit_fails_every_write_it_held(
    files: tuple[Path, Path], held_first: threading.Event
) -> None:
    """When the shared COMMIT fails (here a deferred foreign key), every write it held raises
    a StoreError and none of them is kept."""
    statements: list[str] = []
    batches = _batches(files, statements)
    errors: dict[int, BaseException] = {}

    def first() -> None:
        try:
            with batches.write() as conn:
                conn.execute("INSERT INTO rows VALUES ('first', 'a')")
                held_first.wait(10)
        except StoreError as exc:
            errors[99] = exc

    orphan = [lambda: _insert(batches, "orphan", account="nobody")]
    errors.update(_behind_an_open_write(batches, statements, held_first, first, orphan))
    assert sorted(errors) == [0, 99]
    assert all(isinstance(e, StoreError) and "FOREIGN KEY" in str(e) for e in errors.values())
    assert _committed_ids(files[0]) == set()
    _insert(batches, "next")  # the connection goes on with a fresh transaction
    assert _committed_ids(files[0]) == {"next"}


def test_a_read_sees_only_committed_writes(
    files: tuple[Path, Path], held_first: threading.Event
) -> None:
    """A read queued behind an open write transaction commits it first, so what it reads is
    exactly what other connections see."""
    statements: list[str] = []
    batches = _batches(files, statements)
    read: list[set[str]] = []

    def first() -> None:
        with batches.write() as conn:
            conn.execute("INSERT INTO rows VALUES ('first', 'a')")
            held_first.wait(10)

    def reader() -> None:
        with batches.read() as conn:
            read.append({row[0] for row in conn.execute("SELECT id FROM rows")})
            read.append(_committed_ids(files[0]))

    assert _behind_an_open_write(batches, statements, held_first, first, [reader]) == {}
    assert read == [{"first"}, {"first"}]


def test_a_write_needing_a_flush_never_joins_a_transaction_that_skips_it(
    files: tuple[Path, Path], held_first: threading.Event
) -> None:
    """A transaction begun by a write that needs no flush is committed before a write that
    needs one runs, and that write's transaction is begun with synchronous=FULL."""
    statements: list[str] = []
    batches = _batches(files, statements)

    def unflushed() -> None:
        with batches.write(unflushed=("main", "c")) as conn:
            conn.execute("INSERT INTO rows VALUES ('claim', 'a')")
            held_first.wait(10)

    complete = [lambda: _insert(batches, "complete")]
    assert _behind_an_open_write(batches, statements, held_first, unflushed, complete) == {}
    begins = [i for i, s in enumerate(statements) if s == "BEGIN IMMEDIATE"]
    second = statements.index("INSERT INTO rows VALUES ('complete', 'a')")
    assert len(begins) == 2
    assert statements.index("COMMIT") < begins[1] < second
    assert "PRAGMA main.synchronous = FULL" in statements[begins[0] : begins[1]]
    assert _committed_ids(files[0]) == {"claim", "complete"}


def test_reads_on_the_reader_connection_skip_open_writes(
    files: tuple[Path, Path], held_first: threading.Event
) -> None:
    """With a reader connection, a read during an open write transaction returns at once
    with the committed rows only, and the transaction stays open for its writer."""
    statements: list[str] = []
    batches = _batches(files, statements)
    batches.reader = sqlite3.connect(files[0], isolation_level=None, check_same_thread=False)
    batches.reader.execute("ATTACH DATABASE ? AS c", (str(files[1]),))
    _insert(batches, "before")

    def first() -> None:
        with batches.write() as conn:
            conn.execute("INSERT INTO rows VALUES ('open', 'a')")
            held_first.wait(10)

    starter = threading.Thread(target=first)
    starter.start()
    _wait_until(lambda: "INSERT INTO rows VALUES ('open', 'a')" in statements)
    with batches.read() as conn:
        seen = {row[0] for row in conn.execute("SELECT id FROM rows")}
    commits_while_open = statements.count("COMMIT")
    held_first.set()
    starter.join(10)
    assert seen == {"before"}
    assert commits_while_open == 1  # only the first write's own
    assert _committed_ids(files[0]) == {"before", "open"}
    batches.close()
