-- The claim's per-account index (see postpilot/store/sqlite_schema.py).
-- due_key: postpilot.jobs.due_at as text; '' sorts before every timestamp (due at once), NULL
-- for any status but pending and retrying. Virtual, so no writer has to set it.
ALTER TABLE c.jobs ADD COLUMN due_key TEXT GENERATED ALWAYS AS (
    CASE status WHEN 'pending' THEN coalesce(scheduled_at, '')
    WHEN 'retrying' THEN max(coalesce(scheduled_at, ''), coalesce(retry_at, '')) END
) VIRTUAL;
-- version 2's due index (status, scheduled_at, seq): nothing reads it any more
DROP INDEX IF EXISTS c.jobs_due;
-- (files older than these indexes gain them here)
CREATE INDEX IF NOT EXISTS c.jobs_status_seq ON jobs (status, seq);
CREATE INDEX IF NOT EXISTS c.jobs_account ON jobs (account);
-- an account's waiting jobs in claim order (what the heads triggers read)
CREATE INDEX IF NOT EXISTS c.jobs_waiting ON jobs (account, due_key, seq)
    WHERE due_key IS NOT NULL;
-- next_due_at: one probe
CREATE INDEX IF NOT EXISTS c.jobs_next_due ON jobs (due_key) WHERE due_key IS NOT NULL;
-- each account's first waiting job by (due_key, seq, rowid)
CREATE TABLE IF NOT EXISTS c.heads (
    account TEXT PRIMARY KEY, due_key TEXT NOT NULL, seq INTEGER NOT NULL,
    job_rowid INTEGER NOT NULL, job_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS c.heads_order ON heads (due_key, seq, job_rowid);
-- a new waiting job replaces its account's head when it comes first
CREATE TRIGGER IF NOT EXISTS c.jobs_heads_insert AFTER INSERT ON jobs
WHEN new.due_key IS NOT NULL AND new.account != '' BEGIN
    INSERT INTO heads (account, due_key, seq, job_rowid, job_id)
    VALUES (new.account, new.due_key, new.seq, new.rowid, new.job_id)
    ON CONFLICT (account) DO UPDATE SET due_key = excluded.due_key, seq = excluded.seq,
    job_rowid = excluded.job_rowid, job_id = excluded.job_id
    WHERE (excluded.due_key, excluded.seq, excluded.job_rowid)
    < (heads.due_key, heads.seq, heads.job_rowid);
END;
-- a job entering, leaving or moving in the waiting order: its account's head is re-read
CREATE TRIGGER IF NOT EXISTS c.jobs_heads_update
AFTER UPDATE OF status, retry_at, scheduled_at, account, seq ON jobs
WHEN old.due_key IS NOT new.due_key OR old.account != new.account OR old.seq != new.seq
BEGIN
    DELETE FROM heads WHERE account IN (old.account, new.account);
    INSERT INTO heads (account, due_key, seq, job_rowid, job_id)
    SELECT account, due_key, seq, rowid, job_id FROM jobs
    WHERE account = old.account AND account != '' AND due_key IS NOT NULL
    ORDER BY due_key, seq, rowid LIMIT 1;
    INSERT INTO heads (account, due_key, seq, job_rowid, job_id)
    SELECT account, due_key, seq, rowid, job_id FROM jobs
    WHERE new.account != old.account AND account = new.account AND account != ''
    AND due_key IS NOT NULL ORDER BY due_key, seq, rowid LIMIT 1;
END;
CREATE TRIGGER IF NOT EXISTS c.jobs_heads_delete AFTER DELETE ON jobs
WHEN old.due_key IS NOT NULL BEGIN
    DELETE FROM heads WHERE account = old.account AND job_id = old.job_id;
    INSERT INTO heads (account, due_key, seq, job_rowid, job_id)
    SELECT account, due_key, seq, rowid, job_id FROM jobs
    WHERE NOT EXISTS (SELECT 1 FROM heads WHERE account = old.account)
    AND account = old.account AND account != '' AND due_key IS NOT NULL
    ORDER BY due_key, seq, rowid LIMIT 1;
END;
-- every account's head from the jobs already there
DELETE FROM c.heads;
INSERT INTO c.heads (account, due_key, seq, job_rowid, job_id)
SELECT account, due_key, seq, r, job_id FROM (SELECT account, due_key, seq,
rowid AS r, job_id, row_number() OVER (PARTITION BY account
ORDER BY due_key, seq, rowid) AS n FROM c.jobs
WHERE due_key IS NOT NULL AND account != '') WHERE n = 1;
