-- +goose Up
-- Webhook profiles, the event log and the delivery outbox. An event and
-- its deliveries are inserted in the transaction that makes the change
-- the event reports; workers lease deliveries (lease_owner, lease_until)
-- so no two send the same attempt.
CREATE TABLE webhook_profiles (
    seq                        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                         TEXT NOT NULL UNIQUE,
    account_id                 TEXT NOT NULL REFERENCES accounts(id),
    environment                TEXT NOT NULL,
    url                        TEXT NOT NULL,
    version                    TEXT NOT NULL,
    enabled                    BOOLEAN NOT NULL,
    event_types                TEXT NOT NULL,
    secret                     TEXT NOT NULL,
    previous_secret            TEXT NOT NULL DEFAULT '',
    previous_secret_expires_at BIGINT,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);
CREATE INDEX webhook_profiles_scope ON webhook_profiles(account_id, environment);

CREATE TABLE webhook_events (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    account_id    TEXT NOT NULL,
    environment   TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX webhook_events_scope ON webhook_events(account_id, environment, seq);
CREATE INDEX webhook_events_connection ON webhook_events(connection_id, seq);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    event_seq        BIGINT NOT NULL REFERENCES webhook_events(seq) ON DELETE CASCADE,
    profile_id       TEXT NOT NULL REFERENCES webhook_profiles(id) ON DELETE CASCADE,
    connection_id    TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    lease_owner      TEXT NOT NULL DEFAULT '',
    lease_until      BIGINT,
    first_attempt_at BIGINT,
    delivered_at     BIGINT,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_reason      TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(profile_id, connection_id, event_seq) WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_seq);

CREATE TABLE webhook_attempts (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id    TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt        INTEGER NOT NULL,
    at             BIGINT NOT NULL,
    url            TEXT NOT NULL,
    status_code    INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    latency_micros BIGINT NOT NULL,
    response       TEXT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, seq);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_profiles;
