"""The SQLite store's connection: opening both files, the schema check, transactions.

The base class of postpilot.store.sqlite.SqliteJobStore (its module doc describes the files,
the commit order and the flushes). Nothing else opens one: sqlite_ledger.py,
sqlite_dashboard.py and sqlite.py run their statements through `_read` / `_write` here.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path

from postpilot.errors import (
    SchemaVersionError,
    StoreError,
    StoreFull,
    StoreUnavailable,
    WrongCampaignStore,
)
from postpilot.store.sqlite_batch import WriteBatches
from postpilot.store.sqlite_schema import (
    SCHEMA_VERSION,
    check_ledger_version,
    file_version,
    ledger_statements,
    migrate_campaign_file,
)

BUSY_TIMEOUT_SECONDS = 30.0


def _read_only_uri(path: Path) -> str:
    """A URI for reading `path` without creating or changing a file. In a writable folder a
    plain connection (the only writes are SQLite's -wal/-shm side files, removed again at
    close; a `mode=ro` connection would leave them behind). In a read-only folder `mode=ro`
    when the WAL index (-shm) exists, else `immutable=1`: nothing on this host can write that
    folder, and SQLite then reads the file without index or lock files."""
    path = path.resolve()
    if os.access(path.parent, os.W_OK):
        return path.as_uri()
    shm = Path(f"{path}-shm")
    usable = shm.is_file() and os.access(shm, os.R_OK)
    return f"{path.as_uri()}?{'mode=ro' if usable else 'immutable=1'}"


class SqliteConnection:
    """One connection over the ledger (`main`) and a campaign's progress file (`c`)."""

    def __init__(
        self,
        progress_path: Path,
        ledger_path: Path,
        campaign: str,
        *,
        rng: random.Random | None = None,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        read_only: bool = False,
    ) -> None:
        self.campaign = campaign
        self.progress_path = Path(progress_path)
        self.ledger_path = Path(ledger_path)
        self._rng = rng
        self._timeout = busy_timeout
        #: Opened for reading only (--status): no file or folder is created or changed.
        self.read_only = read_only
        if not read_only:
            self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
            self.progress_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # A project whose ledger was never created (a campaign folder copied in with its
            # store) reads as an empty ledger held in memory: --status creates no file.
            self._ledger_in_memory = read_only and not self.ledger_path.exists()
            if self._ledger_in_memory:
                target = ":memory:"
            elif read_only:
                target = _read_only_uri(self.ledger_path)
            else:
                target = str(self.ledger_path)
            self._conn = sqlite3.connect(
                target,
                timeout=busy_timeout,
                isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
                check_same_thread=False,  # turns taken in sqlite_batch.WriteBatches
                uri=read_only,
            )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        #: The threads sharing this connection, and the write transactions they share.
        self._batches = WriteBatches(self._conn, self.ledger_path, busy_timeout, self._translate)
        try:
            if read_only:
                self._setup_read_only()
            else:
                self._setup()
        except BaseException:
            self._conn.close()
            raise

    # -- set-up -----------------------------------------------------------------------------
    def _setup(self) -> None:
        conn = self._conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("ATTACH DATABASE ? AS c", (str(self.progress_path),))
            for schema in ("main", "c"):
                self._set_wal(schema)
                conn.execute(f"PRAGMA {schema}.synchronous = FULL")
                self._batches.sync[schema] = "FULL"
            conn.execute("PRAGMA foreign_keys = ON")
            with self._write():
                self._check_version("main", self.ledger_path)
                self._check_version("c", self.progress_path)
                self._check_campaign()
                migrate_campaign_file(conn)
                conn.execute(
                    "INSERT OR IGNORE INTO c.meta VALUES ('campaign', ?)", (self.campaign,)
                )
            self._batches.reader = self._open_reader()
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    def _open_reader(self) -> sqlite3.Connection:
        """A second connection for reads: it sees committed data only, so reading never
        ends a write transaction that other threads share (sqlite_batch.py)."""
        reader = sqlite3.connect(
            str(self.ledger_path),
            timeout=self._timeout,
            isolation_level=None,
            check_same_thread=False,  # turns taken in sqlite_batch.WriteBatches
        )
        try:
            reader.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            reader.execute("ATTACH DATABASE ? AS c", (str(self.progress_path),))
        except BaseException:
            reader.close()
            raise
        return reader

    def _setup_read_only(self) -> None:
        conn = self._conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("ATTACH DATABASE ? AS c", (_read_only_uri(self.progress_path),))
            if self._ledger_in_memory:
                for statement in ledger_statements():
                    conn.execute(statement)
            with self._read():
                self._check_version("main", self.ledger_path)
                self._check_version("c", self.progress_path)
                check_ledger_version(conn)  # a read-only open never migrates: refuse a newer one
                self._check_campaign()
                if file_version(conn) < SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.progress_path} was written by an older postpilot and must be "
                        "upgraded, which a read-only project does not allow. Run any command "
                        "once with write access."
                    )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    def _set_wal(self, schema: str) -> None:
        # Switching a fresh file to WAL needs a moment alone with it; several workers opening
        # at once may collide, so retry within the busy timeout.
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                mode = self._conn.execute(f"PRAGMA {schema}.journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
                continue
            if str(mode).lower() != "wal":
                raise StoreError(f"Cannot use WAL mode for {self._path_of(schema)}: got {mode}")
            return

    def _path_of(self, schema: str) -> Path:
        return self.ledger_path if schema == "main" else self.progress_path

    def _meta(self, schema: str, key: str) -> str | None:
        """A meta value of the ledger (`schema` "main") or the campaign file ("c")."""
        master, meta = f"{schema}.sqlite_master", f"{schema}.meta"  # a schema name, not input
        exists = self._conn.execute(
            f"SELECT 1 FROM {master} WHERE type = 'table' AND name = 'meta'"  # noqa: S608
        ).fetchone()
        if not exists:
            return None
        row = self._conn.execute(f"SELECT value FROM {meta} WHERE key = ?", (key,))  # noqa: S608
        found = row.fetchone()
        return None if found is None else str(found[0])

    def _check_version(self, schema: str, path: Path) -> None:
        version = self._meta(schema, "schema_version")
        if version is not None and int(version) > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{path} has store schema version {version}, but this postpilot understands "
                f"up to version {SCHEMA_VERSION}. Upgrade postpilot to open it."
            )

    def _check_campaign(self) -> None:
        owner = self._meta("c", "campaign")
        if owner is not None and owner != self.campaign:
            raise WrongCampaignStore(
                f"Progress store {self.progress_path} belongs to campaign '{owner}', not to "
                f"campaign '{self.campaign}'. Check --campaign, or move the file away to "
                f"start '{self.campaign}' afresh."
            )

    # -- transactions (sqlite_batch.py: threads sharing the connection share them) ------------
    def _write(self, unflushed: tuple[str, ...] = ()) -> AbstractContextManager[sqlite3.Connection]:
        """A BEGIN IMMEDIATE transaction over both files, committed when the block ends
        (the caller holds no lock). `unflushed` names the schemas ("main", "c") whose commit
        need not be flushed."""
        return self._batches.write(unflushed)

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        """The connection, for reading committed data."""
        return self._batches.read()

    def _translate(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        where = f"{self.progress_path} (ledger {self.ledger_path})"
        if "locked" in text or "busy" in text:
            return StoreUnavailable(
                f"Job store {where} stayed locked for more than {self._timeout:g} s; another "
                "process holds it. Try again, or check for a stuck postpilot process."
            )
        if "unable to open" in text:
            return StoreUnavailable(f"Cannot open job store {where}: {text}")
        if "disk is full" in text:  # SQLITE_FULL: the run stops with this (runner/outage.py)
            return StoreFull(
                f"The disk holding job store {where} is full ({text}): free space on it, "
                "then --run again (it gives back the claims this run left at once)"
            )
        return StoreError(f"Job store {where} failed: {text}")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._batches.close()
