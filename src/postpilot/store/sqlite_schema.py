"""The SQLite store's schema: versioned migrations of the campaign file, the claim's
per-account index, and what every open creates.

Used only by the postpilot.store.sqlite modules (which own the connection); the SQL itself is
in postpilot/store/sql/sqlite/ (`NNNN_<description>.sql` migrations, `ensure.sql`).

Versions and migrations
    A campaign file records its schema version in `c.meta`; SCHEMA_VERSION is the newest
    migration. Opening a file applies, inside the opening transaction, every migration newer
    than the file's version, read from the file's columns (every released version left its
    columns: none, 1 without scheduled_at, 2 without due_key, 3), then raises the recorded
    version. A file already at SCHEMA_VERSION is opened unchanged (ensure.sql creates only
    what is absent); a newer one is refused, never misread.

Ledger versions
    The ledger (the connection's `main`, shared by every campaign of the project) has its own
    migrations, sql/sqlite/ledger/NNNN_<description>.sql, and records the newest applied
    under `ledger_version` in its `meta`; LEDGER_VERSION is the newest this code knows.
    `migrate_ledger` applies, in the opening transaction, every migration newer than the
    recorded version, then records it. A ledger of a release before ledger versions (its
    tables made by ensure.sql on every open, no `ledger_version`) is version 0: migration
    0001 is that very schema, written with IF NOT EXISTS, so it adds nothing to such a ledger
    and changes no row; the version is recorded and later migrations apply as to any other.
    A ledger at LEDGER_VERSION runs no statement; a newer one is refused (SchemaVersionError).
    The ledger's `schema_version` key is older: the campaign-file version the ledger was
    created with, which every release checks (postpilot.store.sqlite_connection), kept as is.

Claim index (schema version 3, 0003_claim_heads.sql)
    A claim takes the earliest-due claimable job (postpilot.store.rules.claim_order). Walking
    the due jobs themselves costs one row per due job of every account that cannot take work
    (at its daily limit, busy, held, blocked): with most accounts capped, every claim read
    nearly every job. Instead `c.heads` keeps, per account, its first waiting job by
    (due_key, seq, rowid); because that order does not depend on the time, the entry stays
    right until one of the account's waiting jobs changes, and triggers on `c.jobs` keep it so
    in the same statement as the change (every writer, bulk or not, included). A claim walks
    `heads_order` up to `now`, skipping the accounts the ledger rules out: at most one row
    per account, however many jobs each has waiting or not yet due.
    `due_key` is the job's due time as text (postpilot.jobs.due_at; '' for a waiting job due
    at once, NULL for any other status), a virtual column so no writer has to set it.
"""

from __future__ import annotations

import sqlite3

from postpilot.errors import SchemaVersionError
from postpilot.store.sql.sqlite import ensure_sql, ledger, migrations

#: The newest migration; a newer file is refused, never misread.
SCHEMA_VERSION = migrations()[-1].version

#: The newest ledger migration; a newer ledger is refused, never misread.
LEDGER_VERSION = ledger.migrations()[-1].version


def statements(script: str) -> list[str]:
    """The statements of an .sql file, one string each (trigger bodies kept whole)."""
    found: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                found.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") for part in pending.splitlines() if part.strip()
    ):
        raise ValueError(f"an .sql file ends inside a statement: {pending.strip()[:60]!r}")
    return found


def job_columns(conn: sqlite3.Connection) -> set[str]:
    """The columns of c.jobs, generated ones included (empty: no table yet)."""
    return {row[1] for row in conn.execute("PRAGMA c.table_xinfo(jobs)")}


def file_version(conn: sqlite3.Connection) -> int:
    """The schema version of the attached campaign file, read from its columns (0: new)."""
    columns = job_columns(conn)
    if not columns:
        return 0
    if "scheduled_at" not in columns:
        return 1
    if "due_key" not in columns:
        return 2
    return 3


def ledger_version(conn: sqlite3.Connection) -> int:
    """The ledger's recorded migration version (0: new, or made before ledger versions)."""
    exists = conn.execute(
        "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT value FROM main.meta WHERE key = 'ledger_version'").fetchone()
    return 0 if row is None else int(row[0])


def _ledger_path(conn: sqlite3.Connection) -> str:
    """The ledger's file name, for messages ("" for an in-memory one)."""
    for _seq, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return str(file)
    return ""  # pragma: no cover - SQLite always lists main


def check_ledger_version(conn: sqlite3.Connection) -> int:
    """The ledger's version; SchemaVersionError when it is newer than this code (a read-only
    open checks this, since it never migrates)."""
    version = ledger_version(conn)
    if version > LEDGER_VERSION:
        raise SchemaVersionError(
            f"{_ledger_path(conn)} has ledger schema version {version}, but this postpilot "
            f"understands up to ledger version {LEDGER_VERSION}. Upgrade postpilot to open it."
        )
    return version


def migrate_ledger(conn: sqlite3.Connection) -> None:
    """Bring the ledger to LEDGER_VERSION inside the caller's transaction, recording the
    version in its meta; a ledger newer than this code is refused (SchemaVersionError)."""
    version = check_ledger_version(conn)
    if version == LEDGER_VERSION:
        return
    for migration in ledger.migrations():
        if migration.version > version:
            for statement in statements(migration.sql):
                conn.execute(statement)
    conn.execute(
        "INSERT INTO main.meta VALUES ('ledger_version', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(LEDGER_VERSION),),
    )


def migrate_campaign_file(conn: sqlite3.Connection) -> None:
    """The connection's one migration step, inside its opening transaction: the ledger first
    (migrate_ledger), then the attached campaign file to SCHEMA_VERSION with what every open
    needs; record the version in c.meta."""
    migrate_ledger(conn)
    version = file_version(conn)
    for migration in migrations():
        if migration.version > version:
            for statement in statements(migration.sql):
                conn.execute(statement)
    for statement in statements(ensure_sql()):
        conn.execute(statement)
    conn.execute(
        "INSERT OR IGNORE INTO c.meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
    )
    conn.execute(
        "UPDATE c.meta SET value = ? WHERE key = 'schema_version' AND CAST(value AS INTEGER) < ?",
        (str(SCHEMA_VERSION), SCHEMA_VERSION),
    )
    conn.execute(
        "INSERT OR IGNORE INTO main.meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
    )


def ledger_statements() -> list[str]:
    """The ledger's migrations as statements, its version recorded: a read-only open with no
    ledger file builds an empty one in memory from these."""
    found = [s for m in ledger.migrations() for s in statements(m.sql)]
    record = f"INSERT INTO main.meta VALUES ('ledger_version', '{LEDGER_VERSION}')"  # noqa: S608 - an int constant
    found.append(record)
    return found
