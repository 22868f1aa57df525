-- +goose Up
-- The widget's progress through one connection: which institution, which
-- login step, the provider's opaque state between MFA answers, and the
-- accounts offered. Credentials are never stored here or anywhere.
CREATE TABLE connect_sessions (
    connection_id  TEXT PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    step           TEXT NOT NULL,
    institution_id TEXT REFERENCES institutions(id),
    provider_type  TEXT NOT NULL,
    provider_state TEXT NOT NULL,
    login_id       TEXT NOT NULL,
    data           TEXT NOT NULL,
    failures       INTEGER NOT NULL,
    updated_at     BIGINT NOT NULL
);

ALTER TABLE connections ADD COLUMN provider_type TEXT NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN provider_login_id TEXT NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN completed_at BIGINT;

-- Origins allowed to embed the widget, per account and environment.
CREATE TABLE widget_origins (
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    environment TEXT NOT NULL,
    origin      TEXT NOT NULL,
    PRIMARY KEY (account_id, environment, origin)
);

-- +goose Down
DROP TABLE widget_origins;
ALTER TABLE connections DROP COLUMN completed_at;
ALTER TABLE connections DROP COLUMN provider_login_id;
ALTER TABLE connections DROP COLUMN provider_type;
DROP TABLE connect_sessions;
