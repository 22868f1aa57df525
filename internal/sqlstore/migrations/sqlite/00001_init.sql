-- +goose Up
-- seq columns are SQLite rowids without AUTOINCREMENT (which costs a
-- write to sqlite_sequence per insert): rows are never hard-deleted from
-- the top, so new rowids stay increasing and cursors stay stable.
-- Times are Unix microseconds (BIGINT) in both dialects so one set of DML
-- serves SQLite and PostgreSQL alike.
CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    version     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE customers (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    environment TEXT NOT NULL,
    external_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (account_id, environment, external_id)
);

CREATE TABLE institutions (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    rank    INTEGER NOT NULL,
    is_test BOOLEAN NOT NULL,
    -- data holds the whole record as JSON; the columns above exist for
    -- operators and ordering.
    data    TEXT NOT NULL
);

CREATE TABLE connections (
    seq                       INTEGER PRIMARY KEY,
    id                        TEXT NOT NULL UNIQUE,
    account_id                TEXT NOT NULL REFERENCES accounts(id),
    environment               TEXT NOT NULL,
    customer_id               TEXT NOT NULL REFERENCES customers(id),
    institution_id            TEXT REFERENCES institutions(id),
    institution_search_string TEXT NOT NULL,
    products                  TEXT NOT NULL,
    optional_products         TEXT NOT NULL,
    regions                   TEXT NOT NULL,
    allow_redirect            BOOLEAN NOT NULL,
    redirect_url              TEXT NOT NULL,
    routing_profile           TEXT NOT NULL,
    status                    TEXT NOT NULL,
    status_reason             TEXT NOT NULL,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL,
    expires_at                BIGINT NOT NULL
);
CREATE INDEX connections_scope ON connections(account_id, environment, seq);

CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE directory_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);

-- +goose Down
DROP TABLE directory_version;
DROP TABLE secrets;
DROP TABLE connections;
DROP TABLE institutions;
DROP TABLE customers;
DROP TABLE api_keys;
DROP TABLE accounts;
