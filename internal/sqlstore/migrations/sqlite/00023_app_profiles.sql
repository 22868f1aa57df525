-- +goose Up
-- How an app presents itself in the Connect Widget (its consent screen and
-- brand colour), per account and environment like widget_origins. Empty
-- text is a field not set.
CREATE TABLE app_profiles (
    account_id         TEXT NOT NULL REFERENCES accounts(id),
    environment        TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    logo_url           TEXT NOT NULL,
    privacy_policy_url TEXT NOT NULL,
    brand_color        TEXT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (account_id, environment)
);

-- +goose Down
DROP TABLE app_profiles;
