-- +goose Up
-- Dashboard operators: people who sign in to one account's dashboard.
-- Emails are stored normalized (trimmed, lower-case) and are unique
-- across accounts, since signing in names no account. password_hash is a
-- bcrypt hash.
CREATE TABLE operators (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    email         TEXT NOT NULL UNIQUE,
    password_hash BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX operators_account ON operators(account_id);

-- Signed-in dashboard sessions. The session id lives only in the
-- operator's cookie; id_hash is its SHA-256.
CREATE TABLE operator_sessions (
    id_hash      BYTEA PRIMARY KEY,
    operator_id  TEXT NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX operator_sessions_expiry ON operator_sessions(expires_at);

-- The linking-conversion funnel: the first time each connection's widget
-- session reached each step.
CREATE TABLE funnel_steps (
    connection_id  TEXT NOT NULL,
    step           TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    environment    TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    provider       TEXT NOT NULL,
    at             BIGINT NOT NULL,
    PRIMARY KEY (connection_id, step)
);
CREATE INDEX funnel_steps_scope ON funnel_steps(account_id, environment, at);

-- +goose Down
DROP TABLE funnel_steps;
DROP TABLE operator_sessions;
DROP TABLE operators;
