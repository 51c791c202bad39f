-- Migration 0008: account heads are rewritten in place, and the claim sorts a campaign's heads.
-- Every claim moves its account's head (the claimed job stops waiting). Written as a delete
-- and an insert, and kept in claim order by account_heads_order, each move left a dead row
-- and two dead index entries until vacuum came by, and the claim's ordered walk stepped over
-- the dead entries of every head claimed before it: after 4,000 claims in a minute that walk
-- read 81 index pages, and a claim cost twice what it did on a fresh table. Now the head row
-- is updated in place: with only the primary key (whose columns never change) indexed and
-- room left on its page, the update is HOT, the old version is pruned on the page, and the
-- table stays a few pages. The claim (queries.sql `claim`) reads the campaign's heads
-- and sorts them: one row per account with waiting jobs.
DROP INDEX account_heads_order;
ALTER TABLE account_heads SET (fillfactor = 50);

-- As in migration 0004 (same lock order, same fresh reads), with the heads updated in place:
-- a head that did not change is not written, a pair left without waiting jobs loses its head.
CREATE OR REPLACE FUNCTION postpilot_refresh_heads(campaigns text[], accounts text[]) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    k record;
BEGIN
    FOR k IN SELECT DISTINCT u.c, u.a FROM unnest(campaigns, accounts) AS u (c, a)
             WHERE u.a <> '' ORDER BY u.c, u.a LOOP
        PERFORM pg_advisory_xact_lock(hashtext('postpilot:head:' || k.c), hashtext(k.a));
    END LOOP;
    INSERT INTO account_heads AS h (campaign, account, due_key, seq, ins, job_id)
    SELECT w.campaign, w.account, w.due_key, w.seq, w.ins, w.job_id
    FROM (SELECT DISTINCT u.c, u.a FROM unnest(campaigns, accounts) AS u (c, a)
          WHERE u.a <> '') AS p
    CROSS JOIN LATERAL (
        SELECT j.campaign, j.account, j.due_key, j.seq, j.ins, j.job_id FROM jobs j
        WHERE j.campaign = p.c AND j.account = p.a AND j.due_key IS NOT NULL
        ORDER BY j.due_key, j.seq, j.ins
        LIMIT 1) AS w
    ON CONFLICT (campaign, account) DO UPDATE
        SET due_key = excluded.due_key, seq = excluded.seq, ins = excluded.ins,
            job_id = excluded.job_id
        WHERE (h.due_key, h.seq, h.ins, h.job_id)
              IS DISTINCT FROM (excluded.due_key, excluded.seq, excluded.ins, excluded.job_id);
    DELETE FROM account_heads h USING unnest(campaigns, accounts) AS u (c, a)
    WHERE h.campaign = u.c AND h.account = u.a
      AND NOT EXISTS (SELECT 1 FROM jobs j
                      WHERE j.campaign = u.c AND j.account = u.a AND j.due_key IS NOT NULL);
END $$;
