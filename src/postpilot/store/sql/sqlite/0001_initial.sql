-- The campaign's progress file (schema `c`) as schema version 1 first wrote it.
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
    content_sha256 TEXT NOT NULL
);
-- list_jobs, counts and recovery read by status
CREATE INDEX IF NOT EXISTS c.jobs_status_seq ON jobs (status, seq);
-- by account only: a status change then leaves this index alone (fewer pages per commit)
CREATE INDEX IF NOT EXISTS c.jobs_account ON jobs (account);
