-- +goose Up
-- The activity log: every step of every widget session (opened, searched,
-- institution chosen and routed, each login, MFA or redirect outcome,
-- consent, completion, exit), for GET /activity-log and the dashboard's
-- timeline. Entries older than -activity-retention are pruned.
CREATE TABLE activity_log (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    account_id     TEXT NOT NULL,
    environment    TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    connection_id  TEXT NOT NULL,
    action         TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    provider       TEXT NOT NULL,
    step           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    message        TEXT NOT NULL,
    detail         TEXT NOT NULL,
    repair         BOOLEAN NOT NULL,
    at             BIGINT NOT NULL
);
CREATE INDEX activity_log_scope ON activity_log(account_id, environment, seq);
CREATE INDEX activity_log_connection ON activity_log(account_id, environment, connection_id, seq);
CREATE INDEX activity_log_at ON activity_log(at);

-- The funnel credits each step to the institution and provider it
-- happened at: a customer who switches banks counts as choosing both, and
-- the login and completion only at the second. A failed login step is
-- kept too (step 'failed', its latest reason), for drop-off by reason.
ALTER TABLE funnel_steps ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE funnel_steps DROP CONSTRAINT funnel_steps_pkey;
ALTER TABLE funnel_steps ADD PRIMARY KEY (connection_id, step, institution_id, provider);

-- +goose Down
DELETE FROM funnel_steps WHERE step = 'failed';
DELETE FROM funnel_steps f USING funnel_steps g
    WHERE f.connection_id = g.connection_id AND f.step = g.step AND (f.at, f.institution_id, f.provider) > (g.at, g.institution_id, g.provider);
ALTER TABLE funnel_steps DROP CONSTRAINT funnel_steps_pkey;
ALTER TABLE funnel_steps ADD PRIMARY KEY (connection_id, step);
ALTER TABLE funnel_steps DROP COLUMN reason;
DROP TABLE activity_log;
