"""Progress files written by older postpilot versions open, upgrade in place and keep their
jobs: version 1 (no slots) and version 2 (slots, claims walked the due jobs)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from postpilot.jobs import JobStatus
from postpilot.store.sqlite import SqliteJobStore
from postpilot.store.sqlite_schema import SCHEMA_VERSION
from tests.integration.store.test_contract import DAY, NOW, request

#: The jobs table as schema version 2 wrote it (version 1: without scheduled_at).
_V2_JOBS = """
CREATE TABLE jobs (
    job_id TEXT NOT NULL UNIQUE, seq INTEGER NOT NULL, account TEXT NOT NULL,
    video_path TEXT NOT NULL, caption TEXT NOT NULL, status TEXT NOT NULL,
    worker_id TEXT NOT NULL, claimed_at TEXT, completed_at TEXT, error TEXT NOT NULL,
    attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, retry_at TEXT,
    error_type TEXT NOT NULL, error_category TEXT NOT NULL, pass_number INTEGER,
    run_id TEXT NOT NULL, video_id TEXT NOT NULL, campaign TEXT NOT NULL,
    lease_token TEXT NOT NULL, lease_expires_at TEXT, publish_started_at TEXT,
    remote_id TEXT NOT NULL, remote_url TEXT NOT NULL, checkpoint TEXT NOT NULL,
    content_sha256 TEXT NOT NULL{slot}
)"""


def _ts(hours: float) -> str:
    moment = NOW + timedelta(hours=hours)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _old_file(path: Path, version: int, rows: list[tuple[str, int, str, str, str | None]]) -> None:
    """A progress file of `version` holding (job_id, seq, account, status, scheduled_at)."""
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('schema_version', ?), ('campaign', 'alpha')", (version,))
    conn.execute(_V2_JOBS.format(slot=", scheduled_at TEXT" if version >= 2 else ""))
    conn.execute("CREATE INDEX jobs_status_seq ON jobs (status, seq)")
    if version >= 2:
        conn.execute("CREATE INDEX jobs_due ON jobs (status, scheduled_at, seq)")
    for job_id, seq, account, status, slot in rows:
        values = [job_id, seq, account, "v.mp4", "c", status, "", None, None, "", 0, 3, None]
        values += ["", "", None, "", "", "alpha", "", None, None, "", "", "{}", ""]
        if version >= 2:
            values.append(slot)
        marks = ", ".join("?" * len(values))
        conn.execute(f"INSERT INTO jobs VALUES ({marks})", values)  # noqa: S608 - constant
    conn.commit()
    conn.close()


def _open(tmp_path: Path) -> SqliteJobStore:
    return SqliteJobStore(tmp_path / "c" / "progress.db", tmp_path / "ledger.db", "alpha")


def _version(tmp_path: Path) -> str:
    conn = sqlite3.connect(tmp_path / "c" / "progress.db")
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return str(row[0])
    finally:
        conn.close()


def test_a_version_1_file_gains_slots_and_keeps_its_jobs(tmp_path: Path) -> None:
    """A schema-1 file is upgraded to the current version; its jobs stay and are due at once."""
    _old_file(tmp_path / "c" / "progress.db", 1, [("old", 1, "acc1", "pending", None)])
    store = _open(tmp_path)
    try:
        got = store.claim(request(NOW))
        assert got is not None
        assert got.job_id == "old"
        assert got.scheduled_at is None
    finally:
        store.close()
    assert _version(tmp_path) == str(SCHEMA_VERSION)


def test_a_version_2_file_serves_claims_in_due_order_after_the_upgrade(tmp_path: Path) -> None:
    """A schema-2 file's waiting jobs are all claimable after the upgrade, earliest due first
    per account, none before its slot; finished jobs stay as they were."""
    rows = [
        ("a-late", 1, "acc1", "pending", _ts(2)),
        ("a-early", 2, "acc1", "pending", _ts(-1)),
        ("b-now", 3, "acc2", "pending", None),
        ("b-done", 4, "acc2", "success", _ts(-3)),
        ("c-future", 5, "acc3", "pending", _ts(5)),
    ]
    _old_file(tmp_path / "c" / "progress.db", 2, rows)
    store = _open(tmp_path)
    try:
        assert store.get("b-done").status is JobStatus.SUCCESS  # type: ignore[union-attr]
        taken = []
        for _ in range(2):
            got = store.claim(request(NOW))
            assert got is not None
            taken.append(got.job_id)
            assert store.complete(got.job_id, got.lease_token, NOW, day=DAY)
        assert taken == ["b-now", "a-early"]
        assert store.claim(request(NOW)) is None
        assert store.next_due_at(NOW) == NOW + timedelta(hours=2)
        later = store.claim(request(NOW + timedelta(hours=6)))
        assert later is not None
        assert later.job_id == "a-late"
    finally:
        store.close()
    assert _version(tmp_path) == str(SCHEMA_VERSION)


def _schema(path: Path) -> tuple[int, list[tuple[str, str]], list[tuple[str, str]]]:
    """A file's schema cookie (SQLite bumps it on every schema change), its objects and meta."""
    conn = sqlite3.connect(path)
    try:
        cookie = int(conn.execute("PRAGMA schema_version").fetchone()[0])
        objects = conn.execute("SELECT type, name FROM sqlite_master ORDER BY 1, 2").fetchall()
        meta = conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
        return cookie, objects, meta
    finally:
        conn.close()


def test_a_file_of_the_current_version_opens_unchanged(tmp_path: Path) -> None:
    """Reopening a current file runs no migration: neither file's schema or meta changes."""
    store = _open(tmp_path)
    store.close()
    progress, ledger = tmp_path / "c" / "progress.db", tmp_path / "ledger.db"
    before = (_schema(progress), _schema(ledger))
    _open(tmp_path).close()
    assert (_schema(progress), _schema(ledger)) == before


def test_an_upgraded_version_1_file_has_the_objects_of_a_new_file(tmp_path: Path) -> None:
    """Migrations 0002 and 0003 on a version-1 file give every table, index and trigger a new
    file gets from all the migrations (the old version-2 due index gone)."""
    _old_file(tmp_path / "old" / "c" / "progress.db", 1, [])
    SqliteJobStore(tmp_path / "old/c/progress.db", tmp_path / "old/ledger.db", "alpha").close()
    SqliteJobStore(tmp_path / "new/c/progress.db", tmp_path / "new/ledger.db", "alpha").close()
    old_objects = _schema(tmp_path / "old/c/progress.db")[1]
    assert old_objects == _schema(tmp_path / "new/c/progress.db")[1]
    assert ("trigger", "jobs_heads_update") in old_objects
