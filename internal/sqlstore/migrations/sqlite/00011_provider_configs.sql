-- +goose Up
-- Service-provider configurations per account and environment. The
-- credentials column holds AES-256-GCM ciphertext (nonce || sealed) under
-- the key named by key_id, bound to the row's id.
CREATE TABLE provider_configs (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    environment   TEXT NOT NULL,
    provider_type TEXT NOT NULL,
    display_order INTEGER NOT NULL,
    enabled       BOOLEAN NOT NULL,
    generation    INTEGER NOT NULL,
    key_id        TEXT NOT NULL,
    credentials   BLOB NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (account_id, environment, provider_type)
);

-- A customer's user at a provider, per configuration generation.
CREATE TABLE provider_users (
    customer_id      TEXT NOT NULL,
    config_id        TEXT NOT NULL REFERENCES provider_configs(id) ON DELETE CASCADE,
    generation       INTEGER NOT NULL,
    provider_user_id TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (customer_id, config_id, generation)
);

CREATE TABLE routing_rules (
    account_id     TEXT NOT NULL,
    environment    TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    provider_type  TEXT NOT NULL,
    action         TEXT NOT NULL,
    PRIMARY KEY (account_id, environment, institution_id, provider_type)
);

-- +goose Down
DROP TABLE routing_rules;
DROP TABLE provider_users;
DROP TABLE provider_configs;
