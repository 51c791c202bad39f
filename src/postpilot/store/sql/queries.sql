-- Queries of the PostgreSQL job store (postpilot.store.postgres), one block per name.
-- Parameters are psycopg's %(name)s placeholders; never write a bare percent sign here.
-- Every change of a claimed job is conditional on its lease token (I7).

-- name: migration_probe --
-- Whether migrations ran in this schema, and the schema they run in.
SELECT to_regclass('postpilot_migrations') IS NOT NULL AS present, current_schema() AS schema;

-- name: migration_lock --
-- Serialises migrations of one schema: hosts starting together apply each one once.
SELECT pg_advisory_xact_lock(hashtext('postpilot:migrate:' || coalesce(current_schema(), '')));

-- name: migration_table --
CREATE TABLE IF NOT EXISTS postpilot_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- name: migration_versions --
SELECT version FROM postpilot_migrations ORDER BY version;

-- name: migration_record --
INSERT INTO postpilot_migrations (version, name) VALUES (%(version)s, %(name)s);

-- name: insert_lock --
-- Serialises seeding of one campaign so that seq numbers are handed out once.
SELECT pg_advisory_xact_lock(
    hashtext('postpilot:insert:' || coalesce(current_schema(), '') || ':' || %(campaign)s));

-- name: existing_ids --
SELECT job_id FROM jobs WHERE campaign = %(campaign)s AND job_id = ANY (%(ids)s::text[]);

-- name: max_seq --
SELECT coalesce(max(seq), 0) AS top FROM jobs WHERE campaign = %(campaign)s;

-- name: copy_jobs --
-- Columns in the order of postpilot.jobs.Job's fields (a test pins this).
COPY jobs (job_id, account, video_path, caption, status, worker_id, claimed_at, completed_at,
           error, attempts, max_attempts, retry_at, error_type, error_category, pass_number,
           run_id, video_id, campaign, seq, lease_token, lease_expires_at, publish_started_at,
           remote_id, remote_url, checkpoint, content_sha256, scheduled_at)
FROM STDIN;

-- name: planner_row_estimate --
-- The planner's row count of jobs: -1 before the first ANALYZE (or VACUUM).
SELECT reltuples FROM pg_class WHERE oid = 'jobs'::regclass;

-- name: refresh_planner_stats --
-- SKIP_LOCKED: a table another ANALYZE or VACUUM holds is being counted already.
ANALYZE (SKIP_LOCKED) jobs, account_heads;

-- name: get_job --
SELECT * FROM jobs WHERE campaign = %(campaign)s AND job_id = %(job_id)s;

-- name: list_jobs --
SELECT * FROM jobs
WHERE campaign = %(campaign)s
  AND (%(statuses)s::text[] IS NULL OR status = ANY (%(statuses)s::text[]))
ORDER BY seq, ins;

-- name: waiting_heads --
SELECT * FROM (
  SELECT DISTINCT ON (account) * FROM jobs
  WHERE campaign = %(campaign)s AND status IN ('pending', 'retrying')
  ORDER BY account, COALESCE(scheduled_at, %(now)s), seq, ins
) AS heads
ORDER BY seq, ins;

-- name: counts --
SELECT status, count(*) AS n FROM jobs WHERE campaign = %(campaign)s GROUP BY status;

-- name: status_breakdown --
SELECT account, status, error_type, count(*) AS n
FROM jobs WHERE campaign = %(campaign)s
GROUP BY account, status, error_type
ORDER BY account, status, error_type;

-- name: fragment.expiry_set --
-- The SET list of an expired claim (postpilot.jobs.apply_expiry), shared by claim's
-- `recovered` step and recover: back to pending/retrying when the publish had not started,
-- else unconfirmed. A started publish keeps its token: the stalled holder's late answer
-- settles it.
status = CASE WHEN r.publish_started_at IS NOT NULL THEN 'unconfirmed'
              WHEN r.retry_at IS NOT NULL THEN 'retrying'
              ELSE 'pending' END,
claimed_at = CASE WHEN r.publish_started_at IS NULL THEN NULL ELSE r.claimed_at END,
completed_at = CASE WHEN r.publish_started_at IS NULL THEN r.completed_at ELSE %(now)s END,
error = CASE WHEN r.publish_started_at IS NULL THEN r.error ELSE %(expired_error)s END,
error_type = CASE WHEN r.publish_started_at IS NULL THEN r.error_type
                  ELSE %(expired_error_type)s END,
error_category = CASE WHEN r.publish_started_at IS NULL THEN r.error_category
                      ELSE %(expired_error_category)s END,
lease_token = CASE WHEN r.publish_started_at IS NULL THEN '' ELSE r.lease_token END,
lease_expires_at = NULL,
holds_account = false

-- name: claim --
-- The whole claim in one statement:
--   unavailable  accounts no claim may take now: a live lease holder in any campaign, a
--             publish that may still be in flight in any campaign (claimed with its publish
--             started whatever its lease says, or unconfirmed by such an expiry: it kept its
--             token), a block, or the daily limit reached by today's successes plus
--             unconfirmed jobs, across campaigns. One read of each (small) set.
--   head      the first account head (migration 0004) due by now whose account is available,
--             its job locked SKIP LOCKED so that concurrent claimers take different accounts.
--   again     the first claim of this campaign whose lease expired before its publish
--             started, ordered as it will be once recovered (pending, or retrying when it has
--             a retry time): recovered and retaken in one step.
--   pick      the earlier of the two, in claim order (due_key, seq, ins).
--   expired   this campaign's other expired claims, recovered as the recover query does.
--   claimed   the pick becomes claimed with a fresh token and takes the account's lease...
--   taken     ...which an expired holder of another campaign loses (its job stays claimed
--             until its own campaign recovers it, as in the in-memory reference).
-- A pick whose content was already posted to its account is returned, not claimed: the
-- caller marks it skipped and claims again. The one-lease-per-account constraint is checked
-- at the end of the statement; a concurrent claim of the same account makes it fail and the
-- caller retries.
WITH unavailable AS (
    SELECT h.account FROM jobs h WHERE h.holds_account AND h.lease_expires_at > %(now)s
    UNION ALL
    SELECT u.account FROM jobs u
    WHERE (u.status = 'unconfirmed' AND u.lease_token <> '')
       OR (u.status = 'claimed' AND u.publish_started_at IS NOT NULL)
    UNION ALL
    SELECT b.account FROM account_blocks b
    WHERE b.block <> '' AND (b.blocked_until IS NULL OR b.blocked_until > %(now)s)
    UNION ALL
    -- at the limit by successes alone: one range of daily_counts_day
    SELECT d.account FROM daily_counts d WHERE d.day = %(day)s AND d.count >= %(limit)s
    UNION ALL
    -- ...or with the (few) accounts' unconfirmed jobs added
    SELECT w.account FROM jobs w WHERE w.status = 'unconfirmed'
    GROUP BY w.account
    HAVING count(*) + coalesce((SELECT d.count FROM daily_counts d
                                WHERE d.account = w.account AND d.day = %(day)s), 0)
           >= %(limit)s
),
head AS (
    -- The heads in claim order, then each one's job locked in turn until one is free: the
    -- LATERAL lookup keeps the planner from joining every head to jobs first (a merge join
    -- read the campaign's whole primary key). The job must still be the head (another claim
    -- may have moved it: its lock is taken on the newest version).
    SELECT j.campaign, j.job_id, j.account, j.due_key, j.seq, j.ins, j.content_sha256
    FROM (SELECT a.job_id, a.due_key, a.seq, a.ins FROM account_heads a
          WHERE a.campaign = %(campaign)s AND a.due_key <= %(now)s
            AND a.account = ANY (coalesce(%(accounts)s::text[], ARRAY[a.account]))
            AND a.account NOT IN (SELECT account FROM unavailable)
          ORDER BY a.due_key, a.seq, a.ins) AS a
    CROSS JOIN LATERAL (
        SELECT * FROM jobs j
        WHERE j.campaign = %(campaign)s AND j.job_id = a.job_id AND j.due_key = a.due_key
        FOR UPDATE SKIP LOCKED) AS j
    ORDER BY a.due_key, a.seq, a.ins
    LIMIT 1
),
again AS (
    -- The due key once recovered, as migration 0004 computes it for pending and retrying
    -- alike: greatest() ignores a NULL retry time, and '0001-01-01Z' is its year one.
    SELECT j.campaign, j.job_id, j.account,
           coalesce(greatest(j.scheduled_at, j.retry_at), '0001-01-01Z'::timestamptz) AS due_key,
           j.seq, j.ins, j.content_sha256
    FROM jobs j
    -- (t <= now) IS NOT FALSE: t is NULL or not after now. This statement must stay within
    -- psycopg's query cache (a test pins it), so its text is kept short.
    WHERE j.campaign = %(campaign)s AND j.status = 'claimed'
      AND (j.lease_expires_at <= %(now)s) IS NOT FALSE
      AND j.publish_started_at IS NULL
      AND (j.retry_at <= %(now)s) IS NOT FALSE
      AND (j.scheduled_at <= %(now)s) IS NOT FALSE
      AND j.account <> ''
      AND j.account = ANY (coalesce(%(accounts)s::text[], ARRAY[j.account]))
      AND j.account NOT IN (SELECT account FROM unavailable)
    ORDER BY 4, j.seq, j.ins
    LIMIT 1
    FOR UPDATE OF j SKIP LOCKED
),
pick AS (
    SELECT c.campaign, c.job_id, c.account,
           (c.content_sha256 <> '' AND EXISTS (
               SELECT 1 FROM posted p
               WHERE p.account = c.account AND p.sha256 = c.content_sha256
                 AND NOT (p.campaign = c.campaign AND p.job_id = c.job_id))) AS duplicate
    FROM (SELECT * FROM head UNION ALL SELECT * FROM again) AS c
    ORDER BY c.due_key, c.seq, c.ins
    LIMIT 1
),
expired AS (
    SELECT e.campaign, e.job_id FROM jobs e
    WHERE e.campaign = %(campaign)s AND e.status = 'claimed'
      AND (e.lease_expires_at <= %(now)s) IS NOT FALSE
      AND e.job_id NOT IN (SELECT job_id FROM pick)
    FOR UPDATE OF e SKIP LOCKED
),
recovered AS (
    UPDATE jobs r SET {{fragment.expiry_set}}
    FROM expired
    WHERE r.campaign = expired.campaign AND r.job_id = expired.job_id
),
claimed AS (
    UPDATE jobs c SET
        status = 'claimed',
        worker_id = %(worker_id)s,
        claimed_at = %(now)s,
        run_id = %(run_id)s,
        lease_token = %(token)s,
        lease_expires_at = %(expires)s,
        publish_started_at = NULL,
        holds_account = true
    FROM pick
    WHERE c.campaign = pick.campaign AND c.job_id = pick.job_id AND NOT pick.duplicate
    RETURNING c.*
),
taken AS (
    UPDATE jobs t SET holds_account = false
    FROM pick
    WHERE NOT pick.duplicate AND t.account = pick.account AND t.holds_account
      AND t.campaign <> %(campaign)s
      AND (t.lease_expires_at <= %(now)s) IS NOT FALSE
)
SELECT false AS duplicate, claimed.* FROM claimed
UNION ALL
SELECT true AS duplicate, d.* FROM jobs d JOIN pick USING (campaign, job_id)
WHERE pick.duplicate;

-- name: recover --
-- This campaign's claims whose lease expired: back to pending/retrying when the publish had
-- not started, else unconfirmed (postpilot.jobs.apply_expiry). Rows another transaction has
-- locked are being handled by it and are skipped.
WITH expired AS (
    SELECT e.campaign, e.job_id FROM jobs e
    WHERE e.campaign = %(campaign)s AND e.status = 'claimed'
      AND (e.lease_expires_at IS NULL OR e.lease_expires_at <= %(now)s)
    FOR UPDATE OF e SKIP LOCKED
)
UPDATE jobs r SET {{fragment.expiry_set}}
FROM expired
WHERE r.campaign = expired.campaign AND r.job_id = expired.job_id
RETURNING r.job_id, r.status, r.seq, r.ins;

-- name: heartbeat --
-- Extend the lease of a job still held with this token, and (re)take its account's lease
-- unless another job holds it live. An expired holder loses it.
WITH me AS (
    SELECT campaign, job_id, account FROM jobs
    WHERE campaign = %(campaign)s AND job_id = %(job_id)s AND status = 'claimed'
      AND lease_token = %(token)s
    FOR UPDATE
),
free AS (
    SELECT me.campaign, me.job_id, me.account FROM me
    WHERE NOT EXISTS (
        SELECT 1 FROM jobs h
        WHERE h.account = me.account AND h.holds_account AND h.lease_expires_at > %(now)s
          AND NOT (h.campaign = me.campaign AND h.job_id = me.job_id))
),
dropped AS (
    UPDATE jobs h SET holds_account = false
    FROM free
    WHERE h.account = free.account AND h.holds_account
      AND NOT (h.campaign = free.campaign AND h.job_id = free.job_id)
      AND (h.lease_expires_at IS NULL OR h.lease_expires_at <= %(now)s)
    RETURNING h.job_id
)
UPDATE jobs j SET lease_expires_at = %(expires)s, holds_account = true
FROM free
WHERE j.campaign = free.campaign AND j.job_id = free.job_id
RETURNING j.job_id;

-- name: start_publish --
UPDATE jobs SET publish_started_at = %(now)s
WHERE campaign = %(campaign)s AND job_id = %(job_id)s AND status = 'claimed'
  AND lease_token = %(token)s AND lease_expires_at > %(now)s
RETURNING job_id;

-- name: save_checkpoint --
UPDATE jobs SET checkpoint = %(checkpoint)s
WHERE campaign = %(campaign)s AND job_id = %(job_id)s AND status = 'claimed'
  AND lease_token = %(token)s
RETURNING job_id;

-- name: complete --
-- A confirmed publish, atomically: the job becomes a success (postpilot.jobs.apply_success)
-- and gives up its account lease, the account's count for the day goes up by one and the
-- content is recorded as posted. Nothing is written when the token is stale.
WITH done AS (
    UPDATE jobs SET
        status = 'success',
        completed_at = %(now)s,
        error = '',
        error_type = '',
        error_category = '',
        retry_at = NULL,
        remote_id = %(remote_id)s,
        remote_url = %(remote_url)s,
        video_id = %(remote_id)s,
        lease_token = '',
        lease_expires_at = NULL,
        holds_account = false
    -- an unconfirmed job that kept its token: a stalled holder's late, confirmed answer
    WHERE campaign = %(campaign)s AND job_id = %(job_id)s
      AND status IN ('claimed', 'unconfirmed') AND lease_token = %(token)s
    RETURNING campaign, job_id, account, content_sha256
),
counted AS (
    INSERT INTO daily_counts (account, day, count)
    SELECT account, %(day)s, 1 FROM done
    ON CONFLICT (account, day) DO UPDATE SET count = daily_counts.count + 1
    RETURNING account
),
ledger AS (
    INSERT INTO posted (account, sha256, campaign, job_id, day, remote_id, remote_url, posted_at)
    SELECT account, content_sha256, campaign, job_id, %(day)s, %(remote_id)s, %(remote_url)s,
           %(now)s
    FROM done
    WHERE content_sha256 <> ''
    ON CONFLICT DO NOTHING
    RETURNING account
)
SELECT count(*) AS n FROM done;

-- name: record_post --
-- The ledger half of complete, for an unconfirmed job found posted.
WITH counted AS (
    INSERT INTO daily_counts (account, day, count) VALUES (%(account)s, %(day)s, 1)
    ON CONFLICT (account, day) DO UPDATE SET count = daily_counts.count + 1
    RETURNING account
)
INSERT INTO posted (account, sha256, campaign, job_id, day, remote_id, remote_url, posted_at)
SELECT %(account)s, %(sha256)s, %(campaign)s, %(job_id)s, %(day)s, %(remote_id)s,
       %(remote_url)s, %(now)s
WHERE %(sha256)s <> ''
ON CONFLICT DO NOTHING;

-- name: record_history --
-- A post made before postpilot (postpilot --migrate): its ledger key as posted and, when it
-- counts on a day, +1 on that day; nothing when the same entry was recorded before.
WITH added AS (
    INSERT INTO posted (account, sha256, campaign, job_id, day, remote_id, remote_url, posted_at)
    VALUES (%(account)s, %(key)s, %(campaign)s, %(source)s, %(day)s, '', '', %(posted_at)s)
    ON CONFLICT DO NOTHING
    RETURNING account
),
counted AS (
    INSERT INTO daily_counts (account, day, count)
    SELECT account, %(day)s, 1 FROM added WHERE %(counts_day)s
    ON CONFLICT (account, day) DO UPDATE SET count = daily_counts.count + 1
    RETURNING account
)
SELECT count(*) AS n FROM added;

-- name: lock_job --
-- The job in one of the expected statuses (and token, unless NULL), locked for a
-- read-modify-write.
SELECT * FROM jobs
WHERE campaign = %(campaign)s AND job_id = %(job_id)s AND status = ANY (%(statuses)s::text[])
  AND (%(token)s::text IS NULL OR lease_token = %(token)s)
FOR UPDATE;

-- name: lock_failed --
SELECT * FROM jobs WHERE campaign = %(campaign)s AND status = 'failed'
ORDER BY seq, ins
FOR UPDATE;

-- name: save_job --
-- Write a job computed by a postpilot.jobs transition, only if it is still in the status and
-- token it was read with.
UPDATE jobs SET
    status = %(status)s,
    worker_id = %(worker_id)s,
    claimed_at = %(claimed_at)s,
    completed_at = %(completed_at)s,
    error = %(error)s,
    attempts = %(attempts)s,
    max_attempts = %(max_attempts)s,
    retry_at = %(retry_at)s,
    error_type = %(error_type)s,
    error_category = %(error_category)s,
    pass_number = %(pass_number)s,
    run_id = %(run_id)s,
    video_id = %(video_id)s,
    lease_token = %(lease_token)s,
    lease_expires_at = %(lease_expires_at)s,
    holds_account = %(holds_account)s,
    publish_started_at = %(publish_started_at)s,
    remote_id = %(remote_id)s,
    remote_url = %(remote_url)s,
    checkpoint = %(checkpoint)s,
    content_sha256 = %(content_sha256)s,
    scheduled_at = %(scheduled_at)s
WHERE campaign = %(campaign)s AND job_id = %(job_id)s
  AND status = %(expect_status)s AND lease_token = %(expect_token)s;

-- name: first_claimed --
SELECT job_id, count(*) OVER () AS n FROM jobs
WHERE campaign = %(campaign)s AND status = 'claimed'
ORDER BY seq, ins
LIMIT 1;

-- name: delete_jobs --
-- A job claimed since first_claimed looked is left alone (and keeps its lease).
DELETE FROM jobs WHERE campaign = %(campaign)s AND status <> 'claimed';

-- name: claim_recheck --
-- Sent in the claim's transaction right after it (same round trip), run with a fresh
-- snapshot: the claim statement read the account's count and blocks as of its own start, and
-- a holder that completed (or blocked the account) while the statement ran is not in that
-- snapshot. The claim's account lease is uncommitted here, so no other publish of the account
-- can start or finish until it ends. (Unconfirmed jobs count toward the limit as in the claim.)
-- The claimed row is found by its lease expiry, one probe of jobs_claimed, and the claim's fresh
-- token; when the claim took nothing there is no row and nothing is checked. A stale claim raises
-- (migration 0007): the server skips COMMIT, and the client rolls back and claims again.
-- The claim's commit does not wait for its WAL flush (synchronous_commit off, this transaction
-- only): a claim lost in a server crash is a job back in the queue that nobody published,
-- since no publish starts before start_publish, whose synchronous commit flushes the WAL up
-- to and including the claim; a holder whose claim was lost gets False from start_publish.
-- A success complete_and_claim recorded in the same transaction is lost with it: its job is
-- left claimed with its publish started, which holds the account and which lease expiry makes
-- unconfirmed (reconciled, never published again blindly).
SELECT set_config('synchronous_commit', 'off', true) AS commit_mode,
       postpilot_refuse_stale_claim(
           coalesce((SELECT d.count FROM daily_counts d
                     WHERE d.account = c.account AND d.day = %(day)s), 0)
           + (SELECT count(*) FROM jobs w
              WHERE w.account = c.account AND w.status = 'unconfirmed') >= %(limit)s
           OR EXISTS (SELECT 1 FROM account_blocks b
                      WHERE b.account = c.account AND b.block <> ''
                        AND (b.blocked_until IS NULL OR b.blocked_until > %(now)s))) AS fresh
FROM jobs c
WHERE c.campaign = %(campaign)s AND c.status = 'claimed' AND c.lease_expires_at = %(expires)s
  AND c.lease_token = %(token)s;

-- name: daily_count --
SELECT count FROM daily_counts WHERE account = %(account)s AND day = %(day)s;

-- name: is_posted --
SELECT EXISTS (SELECT 1 FROM posted WHERE account = %(account)s AND sha256 = %(sha256)s)
    AS posted;

-- name: account_states --
-- held_*: the first (campaign, job_id) of the account's publishes that may be in flight.
SELECT a.account, h.campaign AS lease_campaign, h.job_id AS lease_job_id,
       h.lease_expires_at, b.block, b.reason, b.blocked_until,
       u.campaign AS held_campaign, u.job_id AS held_job_id,
       (SELECT count(*) FROM jobs w
        WHERE w.account = a.account AND w.status = 'unconfirmed') AS unconfirmed
FROM unnest(%(accounts)s::text[]) AS a (account)
LEFT JOIN jobs h ON h.account = a.account AND h.holds_account
LEFT JOIN account_blocks b ON b.account = a.account
LEFT JOIN LATERAL (
    SELECT s.campaign, s.job_id FROM jobs s
    WHERE s.account = a.account
      AND ((s.status = 'unconfirmed' AND s.lease_token <> '')
           OR (s.status = 'claimed' AND s.publish_started_at IS NOT NULL))
    ORDER BY s.campaign, s.job_id
    LIMIT 1
) u ON true;

-- name: block_account --
INSERT INTO account_blocks (account, block, reason, blocked_until)
VALUES (%(account)s, %(block)s, %(reason)s, %(until)s)
ON CONFLICT (account) DO UPDATE
SET block = EXCLUDED.block, reason = EXCLUDED.reason, blocked_until = EXCLUDED.blocked_until;

-- name: unblock_account --
DELETE FROM account_blocks WHERE account = %(account)s;

-- name: orchestrator_try_lock --
-- Session-level: held for the life of the connection that took it.
SELECT pg_try_advisory_lock(
    hashtext('postpilot:orchestrator:' || coalesce(current_schema(), '') || ':' || %(campaign)s))
    AS acquired;

-- name: orchestrator_unlock --
SELECT pg_advisory_unlock(
    hashtext('postpilot:orchestrator:' || coalesce(current_schema(), '') || ':' || %(campaign)s))
    AS released;

-- name: register_worker --
INSERT INTO workers (campaign, host, worker_id, pid, started_at, last_heartbeat)
VALUES (%(campaign)s, %(host)s, %(worker_id)s, %(pid)s, %(now)s, %(now)s)
ON CONFLICT (campaign, host, worker_id) DO UPDATE
SET pid = EXCLUDED.pid, started_at = EXCLUDED.started_at,
    last_heartbeat = EXCLUDED.last_heartbeat;

-- name: worker_heartbeat --
UPDATE workers SET last_heartbeat = %(now)s
WHERE campaign = %(campaign)s AND host = %(host)s AND worker_id = %(worker_id)s
RETURNING worker_id;

-- name: unregister_worker --
DELETE FROM workers
WHERE campaign = %(campaign)s AND host = %(host)s AND worker_id = %(worker_id)s;

-- name: list_workers --
SELECT host, worker_id, pid, started_at, last_heartbeat FROM workers
WHERE campaign = %(campaign)s AND last_heartbeat > %(since)s
ORDER BY host, worker_id;

-- name: next_due --
-- The earliest time a waiting job of the campaign becomes due by its own state (its slot, or
-- its retry time), after now; one probe of the jobs_next_due index.
SELECT min(due_key) AS due FROM jobs
WHERE campaign = %(campaign)s AND due_key IS NOT NULL AND due_key > %(now)s;

-- name: outlook --
-- After an empty claim: a claim of this campaign is running, or the account of a due head
-- is under a live lease (its publish may end and free it).
SELECT EXISTS (SELECT 1 FROM jobs c WHERE c.campaign = %(campaign)s AND c.status = 'claimed')
       OR EXISTS (
           SELECT 1 FROM jobs h
           JOIN account_heads a ON a.account = h.account AND a.campaign = %(campaign)s
           WHERE h.holds_account AND h.lease_expires_at > %(now)s AND a.due_key <= %(now)s
             AND (%(accounts)s::text[] IS NULL OR a.account = ANY (%(accounts)s::text[])))
       AS in_flight,
       (SELECT min(due_key) FROM jobs
        WHERE campaign = %(campaign)s AND due_key IS NOT NULL AND due_key > %(now)s) AS due;

-- name: posted_content --
-- Content this campaign has posted, on any day (the ledger outlives reset-day archives).
SELECT DISTINCT job_id, account, sha256 FROM posted WHERE campaign = %(campaign)s;

-- name: dashboard_job_count --
-- The dashboard's jobs table: filters are optional (NULL), the pattern is a LIKE pattern.
SELECT count(*) AS n FROM jobs
WHERE campaign = %(campaign)s
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(account)s::text IS NULL OR account = %(account)s::text)
  AND (%(pattern)s::text IS NULL OR job_id ILIKE %(pattern)s::text
       OR video_path ILIKE %(pattern)s::text OR caption ILIKE %(pattern)s::text);

-- name: dashboard_job_page --
SELECT * FROM jobs
WHERE campaign = %(campaign)s
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(account)s::text IS NULL OR account = %(account)s::text)
  AND (%(pattern)s::text IS NULL OR job_id ILIKE %(pattern)s::text
       OR video_path ILIKE %(pattern)s::text OR caption ILIKE %(pattern)s::text)
ORDER BY seq, ins
LIMIT %(limit)s OFFSET %(offset)s;

-- name: dashboard_outcomes --
-- Held jobs by UTC completion day, plus posts from before the held jobs (archived days).
SELECT to_char(completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, account,
       status AS outcome, count(*) AS n
FROM jobs
WHERE campaign = %(campaign)s AND status IN ('success', 'failed') AND completed_at IS NOT NULL
GROUP BY 1, 2, 3
UNION ALL
SELECT to_char(posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), account, 'success',
       count(DISTINCT job_id)
FROM posted
WHERE campaign = %(campaign)s
  AND posted_at < coalesce((SELECT min(claimed_at) FROM jobs WHERE campaign = %(campaign)s),
                           'infinity'::timestamptz)
GROUP BY 1, 2;

-- name: dashboard_waiting_by_hour --
SELECT account,
       coalesce(to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24'), '') AS hour,
       count(*) AS n
FROM jobs
WHERE campaign = %(campaign)s AND status IN ('pending', 'retrying')
GROUP BY 1, 2 ORDER BY 1, 2;

-- name: dashboard_last_errors --
SELECT DISTINCT ON (account) * FROM jobs
WHERE campaign = %(campaign)s AND error <> ''
ORDER BY account, coalesce(completed_at, claimed_at) DESC NULLS LAST, seq DESC;

-- name: dashboard_record_action --
INSERT INTO operator_actions (campaign, key, action, target, actor, at, result)
VALUES (%(campaign)s, %(key)s, %(action)s, %(target)s, %(actor)s, %(at)s, %(result)s)
ON CONFLICT (campaign, key) DO NOTHING;

-- name: dashboard_find_action --
SELECT key, action, target, actor, at, result FROM operator_actions
WHERE campaign = %(campaign)s AND key = %(key)s;

-- name: dashboard_recent_actions --
SELECT key, action, target, actor, at, result FROM operator_actions
WHERE campaign = %(campaign)s ORDER BY at DESC, key LIMIT %(limit)s;

-- name: dashboard_pause_state --
SELECT paused_by, paused_at FROM campaign_pauses WHERE campaign = %(campaign)s;

-- name: dashboard_pause --
INSERT INTO campaign_pauses (campaign, paused_by, paused_at)
VALUES (%(campaign)s, %(actor)s, %(at)s)
ON CONFLICT (campaign) DO UPDATE SET paused_by = excluded.paused_by, paused_at = excluded.paused_at;

-- name: dashboard_resume --
DELETE FROM campaign_pauses WHERE campaign = %(campaign)s;

-- name: dashboard_data_version --
-- Which transactions are visible (xmin:xmax:in-progress list): any committed write changes it,
-- and a read after it sees at least those; other databases' writes change it too (the
-- dashboard then only recomputes needlessly).
SELECT pg_current_snapshot()::text AS snapshot;
