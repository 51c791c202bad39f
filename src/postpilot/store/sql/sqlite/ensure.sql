-- Created on every open when absent, in the campaign file (c): tables and indexes that are no
-- format change, so they need no schema version bump. The ledger's tables are its own numbered
-- migrations (ledger/NNNN_<description>.sql).
CREATE TABLE IF NOT EXISTS c.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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
