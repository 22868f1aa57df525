-- +goose Up
-- Aggregated data. Rows belong to a connection and go with it; amounts are
-- floating point in the API, stored as REAL/DOUBLE PRECISION.
CREATE TABLE financial_accounts (
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,
    account_id          TEXT NOT NULL,
    environment         TEXT NOT NULL,
    customer_id         TEXT NOT NULL,
    connection_id       TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    provider_account_id TEXT NOT NULL,
    institution_id      TEXT NOT NULL,
    status              TEXT NOT NULL,
    type                TEXT NOT NULL,
    subtype             TEXT NOT NULL,
    name                TEXT NOT NULL,
    mask                TEXT NOT NULL,
    -- balances, identifiers and owners as JSON
    data                TEXT NOT NULL,
    historical          BOOLEAN NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (connection_id, provider_account_id)
);
CREATE INDEX financial_accounts_scope ON financial_accounts(account_id, environment, seq);

CREATE TABLE transactions (
    seq                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                      TEXT NOT NULL UNIQUE,
    account_id              TEXT NOT NULL,
    environment             TEXT NOT NULL,
    -- customer and connection are the financial account's, copied here so
    -- the common filters and counts need no join
    customer_id             TEXT NOT NULL,
    connection_id           TEXT NOT NULL,
    financial_account_id    TEXT NOT NULL REFERENCES financial_accounts(id) ON DELETE CASCADE,
    provider_transaction_id TEXT NOT NULL,
    amount                  DOUBLE PRECISION NOT NULL,
    currency                TEXT NOT NULL,
    description             TEXT NOT NULL,
    -- days since 1970-01-01, so newest-first order and cursors are integer
    -- comparisons
    transaction_day         INTEGER NOT NULL,
    posted_day              INTEGER,
    status                  TEXT NOT NULL,
    category                TEXT NOT NULL,
    recurring               TEXT NOT NULL,
    updated_at              BIGINT NOT NULL,
    UNIQUE (financial_account_id, provider_transaction_id)
);
CREATE INDEX transactions_account ON transactions(financial_account_id, transaction_day DESC, seq DESC);
CREATE INDEX transactions_scope ON transactions(account_id, environment, transaction_day DESC, seq DESC);
CREATE INDEX transactions_connection ON transactions(connection_id, transaction_day DESC, seq DESC);
CREATE INDEX transactions_customer ON transactions(customer_id, transaction_day DESC, seq DESC);

ALTER TABLE connections ADD COLUMN aggregated_at BIGINT;
ALTER TABLE connections ADD COLUMN aggregation_failures INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE connections DROP COLUMN aggregation_failures;
ALTER TABLE connections DROP COLUMN aggregated_at;
DROP TABLE transactions;
DROP TABLE financial_accounts;
