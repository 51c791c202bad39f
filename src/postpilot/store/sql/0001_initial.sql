-- Migration 0001: the job store shared by every campaign on one PostgreSQL database.
-- Applied by postpilot.store.postgres under an advisory lock, so hosts starting together
-- apply it once. Every table lives in the first schema of the connection's search_path.

CREATE TABLE jobs (
    campaign            text        NOT NULL,
    job_id              text        NOT NULL,
    -- insertion order: breaks ties in seq the way the in-memory reference does
    ins                 bigint      GENERATED ALWAYS AS IDENTITY,
    seq                 bigint      NOT NULL,
    account             text        NOT NULL,
    video_path          text        NOT NULL,
    caption             text        NOT NULL,
    status              text        NOT NULL,
    worker_id           text        NOT NULL DEFAULT '',
    claimed_at          timestamptz,
    completed_at        timestamptz,
    error               text        NOT NULL DEFAULT '',
    attempts            integer     NOT NULL DEFAULT 0,
    max_attempts        integer     NOT NULL,
    retry_at            timestamptz,
    error_type          text        NOT NULL DEFAULT '',
    error_category      text        NOT NULL DEFAULT '',
    pass_number         integer,
    run_id              text        NOT NULL DEFAULT '',
    video_id            text        NOT NULL DEFAULT '',
    lease_token         text        NOT NULL DEFAULT '',
    lease_expires_at    timestamptz,
    -- true for the one job that holds its account's publish lease (I2); see the constraint
    holds_account       boolean     NOT NULL DEFAULT false,
    publish_started_at  timestamptz,
    remote_id           text        NOT NULL DEFAULT '',
    remote_url          text        NOT NULL DEFAULT '',
    checkpoint          jsonb       NOT NULL DEFAULT '{}',
    content_sha256      text        NOT NULL DEFAULT '',
    PRIMARY KEY (campaign, job_id),
    CONSTRAINT jobs_status_known CHECK (status IN
        ('pending', 'claimed', 'success', 'failed', 'retrying', 'skipped', 'unconfirmed')),
    -- only a claimed job can hold an account's lease
    CONSTRAINT jobs_lease_holder_is_claimed CHECK (NOT holds_account OR status = 'claimed'),
    -- I2 enforced by the database, across campaigns: at most one lease holder per account.
    -- A partial unique index, written as an exclusion constraint so that it can be checked
    -- at the end of the claim statement (which hands the lease from an expired holder to the
    -- new claim in one statement, rows updated in no particular order).
    CONSTRAINT jobs_one_lease_per_account EXCLUDE USING btree (account WITH =)
        WHERE (holds_account) DEFERRABLE INITIALLY IMMEDIATE
);

-- (list_jobs sorts a campaign's rows found through the primary key: one index fewer to
-- update on every claim and completion.)
-- the claim walks this one in order; claimed rows are in it so expired ones can be retaken
CREATE INDEX jobs_claimable ON jobs (campaign, seq, ins)
    WHERE status IN ('pending', 'retrying', 'claimed');
-- recovery of expired leases
CREATE INDEX jobs_claimed ON jobs (campaign, lease_expires_at) WHERE status = 'claimed';

-- successes per (account, local day), across campaigns (I3)
CREATE TABLE daily_counts (
    account  text    NOT NULL,
    day      text    NOT NULL,
    count    integer NOT NULL,
    PRIMARY KEY (account, day)
);

-- content posted per account (I4): one row per job that posted content with a known hash
CREATE TABLE posted (
    account     text        NOT NULL,
    sha256      text        NOT NULL,
    campaign    text        NOT NULL,
    job_id      text        NOT NULL,
    day         text        NOT NULL,
    remote_id   text        NOT NULL,
    remote_url  text        NOT NULL,
    posted_at   timestamptz NOT NULL,
    PRIMARY KEY (account, sha256, campaign, job_id)
);

-- needs re-auth, or a rate window until blocked_until
CREATE TABLE account_blocks (
    account        text PRIMARY KEY,
    block          text NOT NULL,
    reason         text NOT NULL,
    blocked_until  timestamptz
);

-- worker pools of every host, for --status
CREATE TABLE workers (
    campaign        text        NOT NULL,
    host            text        NOT NULL,
    worker_id       text        NOT NULL,
    pid             integer     NOT NULL,
    started_at      timestamptz NOT NULL,
    last_heartbeat  timestamptz NOT NULL,
    PRIMARY KEY (campaign, host, worker_id)
);
