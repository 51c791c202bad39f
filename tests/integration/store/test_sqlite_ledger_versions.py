"""The SQLite ledger's numbered migrations: a new ledger records the newest version, a ledger
of the release before ledger versions (ensure.sql on every open) is upgraded in place with its
rows untouched, and a ledger newer than this code is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from postpilot.errors import SchemaVersionError
from postpilot.store.sql.sqlite import migrations
from postpilot.store.sqlite import SqliteJobStore
from postpilot.store.sqlite_schema import LEDGER_VERSION, SCHEMA_VERSION, statements

#: ensure.sql as the release before ledger versions shipped it (ledger and campaign file).
_OLD_ENSURE = (Path(__file__).parent / "fixtures" / "ledger_ensure_before_versions.sql").read_text(
    encoding="utf-8"
)

#: Rows of every ledger table, as the previous release would have written them.
_ROWS = {
    "daily_counts": [("acct_a", "2026-12-01", 2), ("acct_b", "2026-12-02", 1)],
    "posted": [
        ("alpha", "j1", "t1", "acct_a", "ab" * 32, "2026-12-01", "r1", "https://x/r1", "now"),
    ],
    "account_leases": [("acct_b", "alpha", "j2", "t2", "2026-12-02T10:00:00.000000Z")],
    "account_blocks": [("acct_c", "auth", "token revoked", None)],
    "account_holds": [("acct_a", "alpha", "j3", "unconfirmed", 0)],
}


def _open(root: Path) -> SqliteJobStore:
    return SqliteJobStore(root / "c" / "progress.db", root / "ledger.db", "alpha")


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), isolation_level=None)


def _old_release_files(root: Path) -> None:
    """A ledger and a campaign file as the previous release made them: the campaign file's
    migrations, then the old ensure.sql on both, the meta it wrote, and a row in each table."""
    (root / "c").mkdir(parents=True)
    conn = _raw(root / "ledger.db")
    try:
        conn.execute("ATTACH DATABASE ? AS c", (str(root / "c" / "progress.db"),))
        conn.execute("BEGIN IMMEDIATE")
        for migration in migrations():
            for statement in statements(migration.sql):
                conn.execute(statement)
        for statement in statements(_OLD_ENSURE):
            conn.execute(statement)
        conn.execute("INSERT INTO c.meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conn.execute("INSERT INTO main.meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conn.execute("INSERT INTO c.meta VALUES ('campaign', 'alpha')")
        for table, rows in _ROWS.items():
            marks = ", ".join("?" * len(rows[0]))
            conn.executemany(f"INSERT INTO main.{table} VALUES ({marks})", rows)  # noqa: S608
        conn.execute("COMMIT")
    finally:
        conn.close()


def _ledger(path: Path) -> tuple[list[tuple[str, str, str]], dict[str, list[tuple[object, ...]]]]:
    """The ledger's schema objects (type, name, SQL) and every table's rows, sorted."""
    conn = _raw(path)
    try:
        objects = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name"
        ).fetchall()
        rows = {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall())  # noqa: S608
            for table in [*_ROWS, "meta"]
        }
        return objects, rows
    finally:
        conn.close()


def _ledger_version(path: Path) -> str | None:
    conn = _raw(path)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'ledger_version'").fetchone()
        return None if row is None else str(row[0])
    finally:
        conn.close()


def test_a_new_ledger_records_the_newest_ledger_version(tmp_path: Path) -> None:
    """The first open creates the ledger at LEDGER_VERSION, with the campaign-file version
    older releases check kept beside it."""
    _open(tmp_path).close()
    assert _ledger_version(tmp_path / "ledger.db") == str(LEDGER_VERSION)
    meta = _ledger(tmp_path / "ledger.db")[1]["meta"]
    assert ("schema_version", str(SCHEMA_VERSION)) in meta


def test_a_ledger_of_the_previous_release_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    """A ledger made by the old ensure.sql (no ledger version) opens, records LEDGER_VERSION,
    keeps every row and has exactly the tables and indexes of a new ledger."""
    old = tmp_path / "old"
    _old_release_files(old)
    before_objects, before_rows = _ledger(old / "ledger.db")
    assert _ledger_version(old / "ledger.db") is None
    store = _open(old)
    try:
        assert store.list_jobs() == []
    finally:
        store.close()
    after_objects, after_rows = _ledger(old / "ledger.db")
    assert _ledger_version(old / "ledger.db") == str(LEDGER_VERSION)
    assert after_objects == before_objects
    del after_rows["meta"], before_rows["meta"]
    assert after_rows == before_rows
    assert after_rows["posted"]
    _open(tmp_path / "new").close()
    assert _ledger(tmp_path / "new" / "ledger.db")[0] == after_objects


def _newer_ledger(root: Path) -> Path:
    """A ledger under `root` that says a newer postpilot migrated it."""
    _open(root).close()
    ledger = root / "ledger.db"
    conn = _raw(ledger)
    try:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'ledger_version'", (str(LEDGER_VERSION + 1),)
        )
    finally:
        conn.close()
    return ledger


def test_a_ledger_of_a_newer_ledger_version_is_refused(tmp_path: Path) -> None:
    """A ledger migrated by a newer postpilot is not misread: SchemaVersionError naming the
    file and both versions, and nothing in it changes."""
    ledger = _newer_ledger(tmp_path)
    before = _ledger(ledger)
    with pytest.raises(SchemaVersionError) as caught:
        _open(tmp_path)
    message = str(caught.value)
    assert str(ledger) in message
    assert f"ledger schema version {LEDGER_VERSION + 1}" in message
    assert f"up to ledger version {LEDGER_VERSION}" in message
    assert _ledger(ledger) == before


def test_a_read_only_open_refuses_a_newer_ledger_version(tmp_path: Path) -> None:
    """--status (a read-only open, which never migrates) refuses a ledger of a newer ledger
    version too, with the same message, instead of misreading it."""
    ledger = _newer_ledger(tmp_path)
    with pytest.raises(SchemaVersionError, match=f"ledger schema version {LEDGER_VERSION + 1}"):
        SqliteJobStore(tmp_path / "c" / "progress.db", ledger, "alpha", read_only=True)


def test_a_second_campaign_opens_a_current_ledger_without_migrating(tmp_path: Path) -> None:
    """Another campaign's first open of a ledger already at LEDGER_VERSION leaves the ledger's
    schema and rows as they were."""
    _open(tmp_path).close()
    before = _ledger(tmp_path / "ledger.db")
    SqliteJobStore(tmp_path / "d" / "progress.db", tmp_path / "ledger.db", "beta").close()
    assert _ledger(tmp_path / "ledger.db") == before
