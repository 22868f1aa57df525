-- +goose Up
CREATE TABLE holdings (
    seq                  INTEGER PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    account_id           TEXT NOT NULL,
    environment          TEXT NOT NULL,
    customer_id          TEXT NOT NULL,
    connection_id        TEXT NOT NULL,
    financial_account_id TEXT NOT NULL REFERENCES financial_accounts(id) ON DELETE CASCADE,
    provider_holding_id  TEXT NOT NULL,
    -- symbol, description, quantity, prices, identifiers and type as JSON
    data                 TEXT NOT NULL,
    updated_at           BIGINT NOT NULL,
    UNIQUE (financial_account_id, provider_holding_id)
);
CREATE INDEX holdings_scope ON holdings(account_id, environment, seq);

CREATE TABLE investment_transactions (
    seq                     INTEGER PRIMARY KEY,
    id                      TEXT NOT NULL UNIQUE,
    account_id              TEXT NOT NULL,
    environment             TEXT NOT NULL,
    customer_id             TEXT NOT NULL,
    connection_id           TEXT NOT NULL,
    financial_account_id    TEXT NOT NULL REFERENCES financial_accounts(id) ON DELETE CASCADE,
    provider_transaction_id TEXT NOT NULL,
    transaction_day         INTEGER NOT NULL,
    status                  TEXT NOT NULL,
    -- amount, quantity, price, symbol, description, currency, type, posted date as JSON
    data                    TEXT NOT NULL,
    updated_at              BIGINT NOT NULL,
    UNIQUE (financial_account_id, provider_transaction_id)
);
CREATE INDEX investment_transactions_scope ON investment_transactions(account_id, environment, transaction_day DESC, seq DESC);

-- +goose Down
DROP TABLE investment_transactions;
DROP TABLE holdings;
