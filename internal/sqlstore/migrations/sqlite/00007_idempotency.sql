-- +goose Up
-- Responses to POST and DELETE requests sent with an Idempotency-Key,
-- replayed for retries for 24 hours. status 0 marks a request in flight.
CREATE TABLE idempotency_keys (
    account_id   TEXT NOT NULL,
    environment  TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    header       TEXT NOT NULL,
    body         BLOB NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, environment, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
