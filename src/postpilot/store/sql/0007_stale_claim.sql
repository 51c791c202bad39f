-- Migration 0007: the claim's recheck ends its transaction itself when the claimed account
-- filled its day (or got blocked) while the claim ran, so the claim, the recheck and COMMIT
-- travel to the server together (queries.sql `claim_recheck`): a raised error makes the
-- server skip the rest of the transaction, COMMIT with it, and the client rolls it back.
CREATE FUNCTION postpilot_refuse_stale_claim(stale boolean) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF stale THEN
        RAISE EXCEPTION 'postpilot: the claimed account is at its limit or blocked'
            USING ERRCODE = 'raise_exception', HINT = 'The claim is rolled back and retried.';
    END IF;
    RETURN true;
END $$;
