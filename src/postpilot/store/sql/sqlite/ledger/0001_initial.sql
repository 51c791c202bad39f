-- Ledger migration 0001: the shared ledger (the connection's `main`) as every release before
-- versioned ledger migrations created it, from ensure.sql on each open. IF NOT EXISTS throughout:
-- on a ledger made that way (no ledger_version recorded) this is a no-op that changes no row,
-- and postpilot.store.sqlite_schema.migrate_ledger then records version 1.
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
