-- Migration 0003: an unsettled publish holds its account for every campaign.
-- A job that is unconfirmed, or claimed with its publish started (even after its lease
-- expired: the holder may be stalled, not dead), keeps every claim off its account until it
-- is settled. The claim asks this index whether an account has such a job.
CREATE INDEX jobs_unsettled ON jobs (account)
    WHERE status = 'unconfirmed' OR (status = 'claimed' AND publish_started_at IS NOT NULL);
