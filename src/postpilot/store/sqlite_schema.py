"""The SQLite store's tables, the claim's per-account index, and the upgrade of older files.

Used only by postpilot.store.sqlite (which owns the connection); nothing here opens a file.

Claim index (schema version 3)
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

# SQL here is built only from this module's constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from collections.abc import Callable

#: Bump with an upgrade step when a table changes; a newer file is refused, never misread.
SCHEMA_VERSION = 3

LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS main.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS main.daily_counts (
    account TEXT NOT NULL, day TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (account, day)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS main.daily_counts_day ON daily_counts (day, count);
CREATE TABLE IF NOT EXISTS main.posted (
    campaign TEXT NOT NULL, job_id TEXT NOT NULL, token TEXT NOT NULL,
    account TEXT NOT NULL, sha256 TEXT NOT NULL, day TEXT NOT NULL,
    remote_id TEXT NOT NULL, remote_url TEXT NOT NULL, posted_at TEXT NOT NULL,
    PRIMARY KEY (campaign, job_id, token)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS main.posted_account_sha ON posted (account, sha256);
CREATE TABLE IF NOT EXISTS main.account_leases (
    account TEXT PRIMARY KEY, campaign TEXT NOT NULL, job_id TEXT NOT NULL,
    token TEXT NOT NULL, expires_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS main.account_blocks (
    account TEXT PRIMARY KEY, block TEXT NOT NULL, reason TEXT NOT NULL, blocked_until TEXT
) WITHOUT ROWID;
-- every campaign's unsettled publishes: in_flight ones (postpilot.jobs.may_be_in_flight) hold
-- their account, unconfirmed ones count toward its daily limit
CREATE TABLE IF NOT EXISTS main.account_holds (
    account TEXT NOT NULL, campaign TEXT NOT NULL, job_id TEXT NOT NULL,
    status TEXT NOT NULL, in_flight INTEGER NOT NULL,
    PRIMARY KEY (account, campaign, job_id)
) WITHOUT ROWID;
"""

#: Created with the campaign's schema (IF NOT EXISTS, so older files gain it on open).
DASHBOARD_SCHEMA = """
-- the jobs table in seq order at any offset (seq never changes after insert, so claims and
-- completions leave this index untouched: SQLite skips index entries whose value is unchanged)
CREATE INDEX IF NOT EXISTS c.jobs_seq ON jobs (seq);
-- --status's per-account breakdown (status_breakdown) reads this index alone, in order, instead
-- of scanning and sorting every row (an index is no format change: no schema version bump)
CREATE INDEX IF NOT EXISTS c.jobs_breakdown ON jobs (account, status, error_type);
CREATE TABLE IF NOT EXISTS c.operator_actions (
    key TEXT PRIMARY KEY, action TEXT NOT NULL, target TEXT NOT NULL, actor TEXT NOT NULL,
    at TEXT NOT NULL, result TEXT NOT NULL
) WITHOUT ROWID;
"""

#: postpilot.jobs.due_at as text: '' sorts before every timestamp (due at once).
DUE_KEY = (
    "CASE status WHEN 'pending' THEN coalesce(scheduled_at, '') "
    "WHEN 'retrying' THEN max(coalesce(scheduled_at, ''), coalesce(retry_at, '')) END"
)
_DUE_KEY_COLUMN = f"due_key TEXT GENERATED ALWAYS AS ({DUE_KEY}) VIRTUAL"

CAMPAIGN_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS c.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS c.jobs (
    job_id TEXT NOT NULL UNIQUE, seq INTEGER NOT NULL, account TEXT NOT NULL,
    video_path TEXT NOT NULL, caption TEXT NOT NULL, status TEXT NOT NULL,
    worker_id TEXT NOT NULL, claimed_at TEXT, completed_at TEXT, error TEXT NOT NULL,
    attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, retry_at TEXT,
    error_type TEXT NOT NULL, error_category TEXT NOT NULL, pass_number INTEGER,
    run_id TEXT NOT NULL, video_id TEXT NOT NULL, campaign TEXT NOT NULL,
    lease_token TEXT NOT NULL, lease_expires_at TEXT, publish_started_at TEXT,
    remote_id TEXT NOT NULL, remote_url TEXT NOT NULL, checkpoint TEXT NOT NULL,
    content_sha256 TEXT NOT NULL, scheduled_at TEXT,
    {_DUE_KEY_COLUMN}
);
-- list_jobs, counts and recovery read by status
CREATE INDEX IF NOT EXISTS c.jobs_status_seq ON jobs (status, seq);
-- by account only: a status change then leaves this index alone (fewer pages per commit)
CREATE INDEX IF NOT EXISTS c.jobs_account ON jobs (account);
-- an account's waiting jobs in claim order (what the heads triggers read)
CREATE INDEX IF NOT EXISTS c.jobs_waiting ON jobs (account, due_key, seq)
    WHERE due_key IS NOT NULL;
-- next_due_at: one probe
CREATE INDEX IF NOT EXISTS c.jobs_next_due ON jobs (due_key) WHERE due_key IS NOT NULL;
-- each account's first waiting job (see the module doc)
CREATE TABLE IF NOT EXISTS c.heads (
    account TEXT PRIMARY KEY, due_key TEXT NOT NULL, seq INTEGER NOT NULL,
    job_rowid INTEGER NOT NULL, job_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS c.heads_order ON heads (due_key, seq, job_rowid);
"""


def _refill(account: str) -> str:
    """SQL (inside a trigger) that writes `account`'s head from its waiting jobs."""
    return (
        "INSERT INTO heads (account, due_key, seq, job_rowid, job_id) "
        "SELECT account, due_key, seq, rowid, job_id FROM jobs "
        f"WHERE account = {account} AND account != '' AND due_key IS NOT NULL "
        "ORDER BY due_key, seq, rowid LIMIT 1;"
    )


#: Kept apart from CAMPAIGN_SCHEMA: their bodies hold semicolons.
HEAD_TRIGGERS = (
    # a new waiting job replaces its account's head when it comes first
    "CREATE TRIGGER IF NOT EXISTS c.jobs_heads_insert AFTER INSERT ON jobs "
    "WHEN new.due_key IS NOT NULL AND new.account != '' BEGIN "
    "INSERT INTO heads (account, due_key, seq, job_rowid, job_id) "
    "VALUES (new.account, new.due_key, new.seq, new.rowid, new.job_id) "
    "ON CONFLICT (account) DO UPDATE SET due_key = excluded.due_key, seq = excluded.seq, "
    "job_rowid = excluded.job_rowid, job_id = excluded.job_id "
    "WHERE (excluded.due_key, excluded.seq, excluded.job_rowid) "
    "< (heads.due_key, heads.seq, heads.job_rowid); END",
    # a job entering, leaving or moving in the waiting order: its account's head is re-read
    "CREATE TRIGGER IF NOT EXISTS c.jobs_heads_update "
    "AFTER UPDATE OF status, retry_at, scheduled_at, account, seq ON jobs "
    "WHEN old.due_key IS NOT new.due_key OR old.account != new.account OR old.seq != new.seq "
    "BEGIN DELETE FROM heads WHERE account IN (old.account, new.account); "
    + _refill("old.account")
    + _refill("new.account").replace("WHERE ", "WHERE new.account != old.account AND ", 1)
    + " END",
    "CREATE TRIGGER IF NOT EXISTS c.jobs_heads_delete AFTER DELETE ON jobs "
    "WHEN old.due_key IS NOT NULL BEGIN "
    "DELETE FROM heads WHERE account = old.account AND job_id = old.job_id; "
    + _refill("old.account").replace(
        "WHERE ", "WHERE NOT EXISTS (SELECT 1 FROM heads WHERE account = old.account) AND ", 1
    )
    + " END",
)

#: Every account's head from scratch (an upgraded file).
REBUILD_HEADS = (
    "DELETE FROM c.heads",
    "INSERT INTO c.heads (account, due_key, seq, job_rowid, job_id) "
    "SELECT account, due_key, seq, r, job_id FROM (SELECT account, due_key, seq, "
    "rowid AS r, job_id, row_number() OVER (PARTITION BY account "
    "ORDER BY due_key, seq, rowid) AS n FROM c.jobs "
    "WHERE due_key IS NOT NULL AND account != '') WHERE n = 1",
)


def job_columns(conn: sqlite3.Connection) -> set[str]:
    """The columns of c.jobs, generated ones included (empty: no table yet)."""
    return {row[1] for row in conn.execute("PRAGMA c.table_xinfo(jobs)")}


def upgrade_campaign_file(conn: sqlite3.Connection, meta: Callable[[str, str], str | None]) -> None:
    """Bring an older progress file to SCHEMA_VERSION, inside the caller's transaction.

    1 -> 2: jobs gain scheduled_at (their posting slot; NULL: due at once).
    2 -> 3: jobs gain due_key; the claim's heads table and its triggers are created and
    filled; the version 2 due index (status, scheduled_at, seq) is dropped (nothing reads it).
    """
    columns = job_columns(conn)
    if not columns:
        return  # a new file: CAMPAIGN_SCHEMA creates everything
    if "scheduled_at" not in columns:
        conn.execute("ALTER TABLE c.jobs ADD COLUMN scheduled_at TEXT")
    if "due_key" not in columns:
        conn.execute(f"ALTER TABLE c.jobs ADD COLUMN {_DUE_KEY_COLUMN}")
        conn.execute("DROP INDEX IF EXISTS c.jobs_due")
        create_campaign_schema(conn)
        for statement in REBUILD_HEADS:
            conn.execute(statement)
    if meta("c", "schema_version") is not None:
        conn.execute(
            "UPDATE c.meta SET value = ? WHERE key = 'schema_version' "
            "AND CAST(value AS INTEGER) < ?",
            (str(SCHEMA_VERSION), SCHEMA_VERSION),
        )


def create_campaign_schema(conn: sqlite3.Connection) -> None:
    """The campaign file's tables, indexes and triggers (each only if absent)."""
    for statement in CAMPAIGN_SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    for trigger in HEAD_TRIGGERS:
        conn.execute(trigger)
