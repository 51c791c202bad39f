-- Migration 0005: what the dashboard keeps (numbered apart from migrations written at the
-- same time; versions only need to be unique and increasing).
-- The operator's actions, one per idempotency key and campaign, with who and when.
CREATE TABLE operator_actions (
    campaign  text        NOT NULL,
    key       text        NOT NULL,
    action    text        NOT NULL,
    target    text        NOT NULL,
    actor     text        NOT NULL,
    at        timestamptz NOT NULL,
    result    jsonb       NOT NULL,
    PRIMARY KEY (campaign, key)
);
CREATE INDEX operator_actions_at ON operator_actions (campaign, at DESC);

-- A paused campaign claims nothing until its row is deleted.
CREATE TABLE campaign_pauses (
    campaign   text        PRIMARY KEY,
    paused_by  text        NOT NULL,
    paused_at  timestamptz NOT NULL
);
