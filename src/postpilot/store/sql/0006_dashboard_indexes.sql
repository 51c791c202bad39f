-- Migration 0006: indexes for the dashboard and --status on large campaigns.
-- The jobs table pages in seq order at any offset (jobs_claimable holds only waiting rows, so
-- a deep page sorted every row of the campaign).
CREATE INDEX jobs_seq ON jobs (campaign, seq, ins);
-- status_breakdown's GROUP BY reads this index in order instead of sorting every row.
CREATE INDEX jobs_breakdown ON jobs (campaign, account, status, error_type);
