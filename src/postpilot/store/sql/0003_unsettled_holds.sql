-- Migration 0003: unsettled publishes hold their account for every campaign.
-- A job claimed with its publish started (even after its lease expired: the holder may be
-- stalled, not dead), or made unconfirmed by such an expiry, keeps every claim off its
-- account until it is settled; every unconfirmed job counts toward the account's daily limit.
-- The claim asks this index about both.
CREATE INDEX jobs_unsettled ON jobs (account)
    WHERE status = 'unconfirmed' OR (status = 'claimed' AND publish_started_at IS NOT NULL);
