-- Migration 0004: claims read one row per account, not one per due job.
-- A claim takes the earliest-due claimable job (due_key, then seq, then ins). Walking the due
-- jobs cost one row per due job of every account that could not take work (capped, busy,
-- held, blocked): with most accounts at their daily limit nearly every job was read per claim.
-- account_heads keeps each (campaign, account)'s first waiting job in that order; the order
-- does not depend on the time, so a head stays right until one of the account's waiting jobs
-- changes, and triggers on jobs rewrite it in the statement that makes the change (whoever
-- writes). The claim walks account_heads_order up to now and skips the accounts the ledger
-- rules out, so a claim that finds nothing costs about what one that finds a job costs.

-- postpilot.jobs.due_at: year 1 for a waiting job due at once, NULL when not waiting
ALTER TABLE jobs ADD COLUMN due_key timestamptz GENERATED ALWAYS AS (
    CASE status
        WHEN 'pending' THEN coalesce(scheduled_at, '0001-01-01 00:00:00+00'::timestamptz)
        WHEN 'retrying' THEN coalesce(greatest(scheduled_at, retry_at), '0001-01-01 00:00:00+00'::timestamptz)
    END) STORED;

-- an account's waiting jobs in claim order (what the head refresh reads)
CREATE INDEX jobs_waiting ON jobs (campaign, account, due_key, seq, ins)
    WHERE due_key IS NOT NULL;
-- next_due: one probe
CREATE INDEX jobs_next_due ON jobs (campaign, due_key) WHERE due_key IS NOT NULL;
-- the claim no longer walks jobs in seq order nor by status and slot
DROP INDEX jobs_claimable;
DROP INDEX jobs_due;
-- the claim reads the accounts at their limit today in one range
CREATE INDEX daily_counts_day ON daily_counts (day, count);

CREATE TABLE account_heads (
    campaign  text        NOT NULL,
    account   text        NOT NULL,
    due_key   timestamptz NOT NULL,
    seq       bigint      NOT NULL,
    ins       bigint      NOT NULL,
    job_id    text        NOT NULL,
    PRIMARY KEY (campaign, account)
);
CREATE INDEX account_heads_order ON account_heads (campaign, due_key, seq, ins);

-- Rewrite the heads of these (campaign, account) pairs from their waiting jobs. Writers of
-- one pair queue on a transaction-level advisory lock taken in a fixed order, and each
-- statement below reads with a fresh snapshot (READ COMMITTED), so the last writer to commit
-- always wrote from every committed change of the pair.
CREATE FUNCTION postpilot_refresh_heads(campaigns text[], accounts text[]) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    k record;
BEGIN
    FOR k IN SELECT DISTINCT u.c, u.a FROM unnest(campaigns, accounts) AS u (c, a)
             WHERE u.a <> '' ORDER BY u.c, u.a LOOP
        PERFORM pg_advisory_xact_lock(hashtext('postpilot:head:' || k.c), hashtext(k.a));
    END LOOP;
    DELETE FROM account_heads h USING unnest(campaigns, accounts) AS u (c, a)
    WHERE h.campaign = u.c AND h.account = u.a;
    INSERT INTO account_heads (campaign, account, due_key, seq, ins, job_id)
    SELECT w.campaign, w.account, w.due_key, w.seq, w.ins, w.job_id
    FROM (SELECT DISTINCT u.c, u.a FROM unnest(campaigns, accounts) AS u (c, a)
          WHERE u.a <> '') AS p
    CROSS JOIN LATERAL (
        SELECT j.campaign, j.account, j.due_key, j.seq, j.ins, j.job_id FROM jobs j
        WHERE j.campaign = p.c AND j.account = p.a AND j.due_key IS NOT NULL
        ORDER BY j.due_key, j.seq, j.ins
        LIMIT 1) AS w;
END $$;

CREATE FUNCTION postpilot_heads_after_update() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM postpilot_refresh_heads(ARRAY[OLD.campaign, NEW.campaign],
                                    ARRAY[OLD.account, NEW.account]);
    RETURN NULL;
END $$;

CREATE FUNCTION postpilot_heads_after_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM postpilot_refresh_heads(array_agg(campaign), array_agg(account))
    FROM (SELECT DISTINCT campaign, account FROM added WHERE due_key IS NOT NULL) AS d;
    RETURN NULL;
END $$;

CREATE FUNCTION postpilot_heads_after_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM postpilot_refresh_heads(array_agg(campaign), array_agg(account))
    FROM (SELECT DISTINCT campaign, account FROM removed WHERE due_key IS NOT NULL) AS d;
    RETURN NULL;
END $$;

-- Row by row only for changes of the waiting order (a heartbeat or a success changes none);
-- bulk inserts (COPY) and deletes once per statement.
CREATE TRIGGER jobs_heads_update AFTER UPDATE ON jobs FOR EACH ROW
    WHEN (OLD.due_key IS DISTINCT FROM NEW.due_key OR OLD.account <> NEW.account
          OR OLD.seq <> NEW.seq OR OLD.campaign <> NEW.campaign)
    EXECUTE FUNCTION postpilot_heads_after_update();
CREATE TRIGGER jobs_heads_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION postpilot_heads_after_insert();
CREATE TRIGGER jobs_heads_delete AFTER DELETE ON jobs REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION postpilot_heads_after_delete();

-- the heads of the jobs already here
INSERT INTO account_heads (campaign, account, due_key, seq, ins, job_id)
SELECT DISTINCT ON (campaign, account) campaign, account, due_key, seq, ins, job_id
FROM jobs WHERE due_key IS NOT NULL AND account <> ''
ORDER BY campaign, account, due_key, seq, ins;
