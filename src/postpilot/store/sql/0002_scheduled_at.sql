-- Migration 0002: posting slots. A job is not claimable before its scheduled_at (NULL: due at
-- once), and claims walk only due rows: the index is ordered by due time, so "most jobs not
-- yet due" costs the claim nothing, and the worker's "when is the next one due" is one probe.

ALTER TABLE jobs ADD COLUMN scheduled_at timestamptz;

-- claims of waiting jobs: due ones first, in seeding order; rows not due are past the range
CREATE INDEX jobs_due ON jobs (campaign, status, scheduled_at, seq, ins)
    WHERE status IN ('pending', 'retrying');
