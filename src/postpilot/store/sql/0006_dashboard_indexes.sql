-- Migration 0006: the dashboard's jobs table pages in seq order at any offset (jobs_claimable
-- holds only waiting rows, so a deep page sorted every row of the campaign).
CREATE INDEX jobs_seq ON jobs (campaign, seq, ins);
