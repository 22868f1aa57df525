-- +goose Up
-- Provider account ids of accounts the customer has not shared that a
-- NEW_ACCOUNTS_AVAILABLE event already announced, so it is sent once.
ALTER TABLE connections ADD COLUMN announced_accounts TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE connections DROP COLUMN announced_accounts;
