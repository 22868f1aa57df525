-- +goose Up
-- Processor tokens handed to payment processors for one financial
-- account. The token itself is AES-256-GCM ciphertext under key_id, bound
-- to the row's id; token_hash (SHA-256, hex) finds a token an app sends
-- back to revoke it without decrypting every row.
CREATE TABLE processor_tokens (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts(id),
    environment          TEXT NOT NULL,
    financial_account_id TEXT NOT NULL,
    connection_id        TEXT NOT NULL,
    provider_type        TEXT NOT NULL,
    processor            TEXT NOT NULL,
    key_id               TEXT NOT NULL,
    token                BLOB NOT NULL,
    token_hash           TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    revoked_at           BIGINT
);
CREATE UNIQUE INDEX processor_tokens_hash ON processor_tokens(account_id, environment, token_hash);
CREATE INDEX processor_tokens_account ON processor_tokens(financial_account_id);

-- Logins imported from a provider (a Plaid Item), one connection each per
-- account and environment: importing the same Item again finds it.
CREATE TABLE imported_logins (
    account_id    TEXT NOT NULL,
    environment   TEXT NOT NULL,
    provider_type TEXT NOT NULL,
    login_id      TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, environment, provider_type, login_id)
);

-- What an import request did, per connection, for
-- GET /bank-linking/connections/import/{requestId}.
CREATE TABLE connection_imports (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    environment TEXT NOT NULL,
    results     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE connection_imports;
DROP TABLE imported_logins;
DROP INDEX processor_tokens_account;
DROP INDEX processor_tokens_hash;
DROP TABLE processor_tokens;
