-- +goose Up
-- The activity log: every step of every widget session (opened, searched,
-- institution chosen and routed, each login, MFA or redirect outcome,
-- consent, completion, exit), for GET /activity-log and the dashboard's
-- timeline. Entries older than -activity-retention are pruned, so seq is
-- AUTOINCREMENT here: a pruned seq is never reused by a later entry, and
-- an old cursor never points into new rows.
CREATE TABLE activity_log (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE TABLE funnel_steps_new (
    connection_id  TEXT NOT NULL,
    step           TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    environment    TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    provider       TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    at             BIGINT NOT NULL,
    PRIMARY KEY (connection_id, step, institution_id, provider)
);
INSERT INTO funnel_steps_new (connection_id, step, account_id, environment, institution_id, provider, at)
    SELECT connection_id, step, account_id, environment, institution_id, provider, at FROM funnel_steps;
DROP TABLE funnel_steps;
ALTER TABLE funnel_steps_new RENAME TO funnel_steps;
CREATE INDEX funnel_steps_scope ON funnel_steps(account_id, environment, at);

-- +goose Down
CREATE TABLE funnel_steps_old (
    connection_id  TEXT NOT NULL,
    step           TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    environment    TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    provider       TEXT NOT NULL,
    at             BIGINT NOT NULL,
    PRIMARY KEY (connection_id, step)
);
INSERT INTO funnel_steps_old SELECT connection_id, step, account_id, environment, MIN(institution_id), MIN(provider), MIN(at)
    FROM funnel_steps WHERE step <> 'failed' GROUP BY connection_id, step, account_id, environment;
DROP TABLE funnel_steps;
ALTER TABLE funnel_steps_old RENAME TO funnel_steps;
CREATE INDEX funnel_steps_scope ON funnel_steps(account_id, environment, at);
DROP TABLE activity_log;
