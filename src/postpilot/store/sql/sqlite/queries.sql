-- The SQLite store's statements, by name (loaded by postpilot.store.sql.sqlite.load_queries).
-- {job_columns} stands for every Job field's column in postpilot.jobs.Job's order and
-- {head_columns} for the same prefixed with `j.` (postpilot/store/sqlite_rows.py expands both);
-- every value is a bound parameter. `main` is the project ledger, `c` the campaign's file.
-- An orphan lease: one of this campaign whose job is not claimed with its token (a crash
-- between the ledger's commit and the job's); in flight: postpilot.jobs.may_be_in_flight.

-- == The claim (postpilot/store/sqlite.py) ==

-- The first claimable job in claim order: a walk of the accounts' heads up to :now
-- (postpilot/store/sqlite_schema.py), one row per account at most. {accounts_filter} is empty,
-- or limits the walk to the accounts of the JSON array :accounts (postpilot/store/sqlite.py).
-- name: candidate --
SELECT {head_columns} FROM c.heads AS h INDEXED BY heads_order
JOIN c.jobs AS j ON j.job_id = h.job_id
WHERE h.due_key <= :now AND j.due_key = h.due_key
AND h.account NOT IN (
    -- accounts that cannot take a job now: leased by a live claim (an orphan lease counts as
    -- free), blocked, held by a publish that may be in flight, or at the daily limit with
    -- today's successes plus the unconfirmed jobs of every campaign
    SELECT account FROM main.account_leases WHERE expires_at > :now
    AND (campaign != :campaign OR EXISTS (SELECT 1 FROM c.jobs j
        WHERE j.job_id = account_leases.job_id AND j.status = 'claimed'
        AND j.lease_token = account_leases.token))
    UNION ALL SELECT account FROM main.account_blocks WHERE block != ''
    AND (blocked_until IS NULL OR blocked_until > :now)
    UNION ALL SELECT account FROM main.account_holds WHERE campaign != :campaign AND in_flight
    UNION ALL SELECT account FROM c.jobs
    WHERE ((status = 'claimed' AND publish_started_at IS NOT NULL)
        OR (status = 'unconfirmed' AND lease_token != ''))
    -- at the limit by successes alone: one range of daily_counts_day, no sort
    UNION ALL SELECT account FROM main.daily_counts WHERE day = :day AND count >= :limit
    -- ...or with the (few) accounts' unconfirmed jobs added
    UNION ALL SELECT u.account FROM (SELECT account, SUM(n) AS n FROM (
        SELECT account, COUNT(*) AS n FROM main.account_holds
        WHERE campaign != :campaign AND status = 'unconfirmed' GROUP BY account
        UNION ALL SELECT account, COUNT(*) FROM c.jobs WHERE status = 'unconfirmed'
        GROUP BY account) GROUP BY account) AS u
    WHERE u.n + coalesce((SELECT d.count FROM main.daily_counts AS d
        WHERE d.account = u.account AND d.day = :day), 0) >= :limit
)
{accounts_filter}
ORDER BY h.due_key, h.seq, h.job_rowid LIMIT 1;

-- name: posted_by_other --
SELECT 1 FROM main.posted WHERE account = ? AND sha256 = ? AND NOT (campaign = ? AND job_id =
?) LIMIT 1;

-- name: put_lease --
INSERT OR REPLACE INTO main.account_leases VALUES (?, ?, ?, ?, ?);

-- name: lease_of --
SELECT campaign, job_id, token, expires_at FROM main.account_leases WHERE account = ?;

-- name: lease_job_claimed --
SELECT 1 FROM c.jobs WHERE job_id = ? AND status = 'claimed' AND lease_token = ?;

-- name: held --
SELECT {job_columns} FROM c.jobs WHERE job_id = ? AND status IN ('claimed') AND lease_token = ?;

-- name: held_settling --
SELECT {job_columns} FROM c.jobs WHERE job_id = ? AND status IN ('claimed', 'unconfirmed') AND
lease_token = ?;

-- name: drop_lease --
DELETE FROM main.account_leases WHERE account = ? AND campaign = ? AND job_id = ? AND token = ?;

-- name: posted_under_token --
SELECT remote_id, remote_url FROM main.posted WHERE campaign = ? AND job_id = ? AND token = ?;

-- name: expired_claims --
SELECT {job_columns} FROM c.jobs WHERE status = 'claimed' AND (lease_expires_at IS NULL OR
lease_expires_at <= ?) ORDER BY seq, rowid;

-- name: drop_orphan_leases --
DELETE FROM main.account_leases WHERE campaign = ? AND NOT EXISTS (SELECT 1 FROM c.jobs j WHERE
j.job_id = account_leases.job_id AND j.status = 'claimed' AND j.lease_token =
account_leases.token);

-- == Settling and the compare-and-set hooks ==

-- name: record_posted --
INSERT OR IGNORE INTO main.posted VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: count_post --
INSERT INTO main.daily_counts VALUES (?, ?, 1) ON CONFLICT (account, day) DO UPDATE SET count =
count + 1;

-- name: unconfirmed_job --
SELECT {job_columns} FROM c.jobs WHERE job_id = ? AND status = 'unconfirmed';

-- name: failed_jobs --
SELECT {job_columns} FROM c.jobs WHERE status = 'failed' ORDER BY seq, rowid;

-- name: hold --
INSERT OR REPLACE INTO main.account_holds VALUES (?, ?, ?, ?, ?);

-- name: unhold --
DELETE FROM main.account_holds WHERE account = ? AND campaign = ? AND job_id = ?;

-- name: clear_holds --
DELETE FROM main.account_holds WHERE campaign = ?;

-- name: sync_holds --
INSERT OR REPLACE INTO main.account_holds SELECT account, ?, job_id, status, ((status =
'claimed' AND publish_started_at IS NOT NULL) OR (status = 'unconfirmed' AND lease_token !=
'')) FROM c.jobs WHERE account != '' AND (status = 'unconfirmed' OR (status = 'claimed' AND
publish_started_at IS NOT NULL));

-- == Seeding and reading jobs (postpilot/store/sqlite_ledger.py) ==

-- name: job_ids --
SELECT job_id FROM c.jobs;

-- name: max_seq --
SELECT COALESCE(MAX(seq), 0) FROM c.jobs;

-- name: get_job --
SELECT {job_columns} FROM c.jobs WHERE job_id = ?;

-- name: all_jobs --
SELECT {job_columns} FROM c.jobs ORDER BY seq, rowid;

-- name: jobs_by_status --
SELECT {job_columns} FROM c.jobs WHERE status IN (SELECT value FROM json_each(?)) ORDER BY seq,
rowid;

-- name: waiting_heads --
-- (the window sorts rowids only; the heads' rows are read once found)
SELECT {job_columns} FROM c.jobs WHERE rowid IN (SELECT r FROM (SELECT rowid AS r, ROW_NUMBER()
OVER (PARTITION BY account ORDER BY COALESCE(scheduled_at, ?), seq, rowid) AS head FROM c.jobs
WHERE status IN ('pending', 'retrying')) WHERE head = 1) ORDER BY seq, rowid;

-- name: counts --
SELECT status, COUNT(*) FROM c.jobs GROUP BY status;

-- name: status_breakdown --
SELECT account, status, error_type, COUNT(*) FROM c.jobs GROUP BY account, status, error_type
ORDER BY 1, 2, 3;

-- name: snapshot --
VACUUM c INTO ?;

-- name: claimed_ids --
SELECT job_id FROM c.jobs WHERE status = 'claimed' ORDER BY seq, rowid;

-- name: clear_leases --
DELETE FROM main.account_leases WHERE campaign = ?;

-- name: clear_heads --
DELETE FROM c.heads;

-- name: clear_jobs --
DELETE FROM c.jobs;

-- == The ledger ==

-- name: daily_count --
SELECT count FROM main.daily_counts WHERE account = ? AND day = ?;

-- name: is_posted --
SELECT 1 FROM main.posted WHERE account = ? AND sha256 = ? LIMIT 1;

-- name: posted_content --
SELECT DISTINCT job_id, account, sha256 FROM main.posted WHERE campaign = ?;

-- name: next_due --
SELECT min(due_key) FROM c.jobs INDEXED BY jobs_next_due WHERE due_key IS NOT NULL AND due_key
> ?;

-- name: outlook --
SELECT EXISTS (SELECT 1 FROM c.jobs WHERE status = 'claimed') OR EXISTS (SELECT 1 FROM
main.account_leases AS l JOIN c.heads AS h ON h.account = l.account WHERE l.expires_at > :now
AND h.due_key <= :now AND (:accounts IS NULL OR h.account IN (SELECT value FROM
json_each(:accounts))));

-- name: record_history --
INSERT OR IGNORE INTO main.posted VALUES (?, ?, ?, ?, ?, ?, '', '', ?);

-- name: leases_of --
SELECT account, campaign, job_id, expires_at FROM main.account_leases WHERE account IN (SELECT
value FROM json_each(?));

-- name: blocks_of --
SELECT account, block, reason, blocked_until FROM main.account_blocks WHERE account IN (SELECT
value FROM json_each(?));

-- name: holds_of --
SELECT account, campaign, job_id, status, in_flight FROM main.account_holds WHERE campaign !=
:campaign AND account IN (SELECT value FROM json_each(:w)) UNION ALL SELECT account, :campaign,
job_id, status, ((status = 'claimed' AND publish_started_at IS NOT NULL) OR (status =
'unconfirmed' AND lease_token != '')) FROM c.jobs WHERE (status = 'unconfirmed' OR (status =
'claimed' AND publish_started_at IS NOT NULL)) AND account IN (SELECT value FROM json_each(:w));

-- name: block_account --
INSERT OR REPLACE INTO main.account_blocks VALUES (?, ?, ?, ?);

-- name: unblock_account --
DELETE FROM main.account_blocks WHERE account = ?;

-- == The dashboard (postpilot/store/sqlite_dashboard.py; job_page composes its filters) ==

-- name: outcomes_held --
SELECT substr(completed_at, 1, 10), account, status, COUNT(*) FROM c.jobs WHERE status IN
('success', 'failed') AND completed_at IS NOT NULL GROUP BY 1, 2, 3;

-- name: outcomes_archived --
SELECT substr(posted_at, 1, 10), account, COUNT(DISTINCT job_id) FROM main.posted WHERE
campaign = ? AND posted_at < COALESCE((SELECT MIN(claimed_at) FROM c.jobs), '9999') GROUP BY 1,
2;

-- name: waiting_by_hour --
SELECT account, COALESCE(substr(scheduled_at, 1, 13), ''), COUNT(*) FROM c.jobs WHERE status IN
('pending', 'retrying') GROUP BY 1, 2 ORDER BY 1, 2;

-- name: last_errors --
SELECT {job_columns} FROM c.jobs WHERE rowid IN (SELECT rowid FROM (SELECT rowid, account,
MAX(COALESCE(completed_at, claimed_at, '')) FROM c.jobs WHERE error != '' GROUP BY account));

-- name: insert_action --
INSERT OR IGNORE INTO c.operator_actions VALUES (?, ?, ?, ?, ?, ?);

-- name: get_action --
SELECT * FROM c.operator_actions WHERE key = ?;

-- name: recent_actions --
SELECT * FROM c.operator_actions ORDER BY at DESC, key LIMIT ?;

-- name: meta_value --
SELECT value FROM c.meta WHERE key = ?;

-- name: put_meta --
INSERT OR REPLACE INTO c.meta VALUES (?, ?);

-- name: delete_meta --
DELETE FROM c.meta WHERE key = ?;
