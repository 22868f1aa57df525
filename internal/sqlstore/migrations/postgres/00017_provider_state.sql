-- +goose Up
-- Where a stateful provider's last aggregation of the connection stopped
-- (Plaid's transactions cursor), saved with the data it produced.
ALTER TABLE connections ADD COLUMN provider_state TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE connections DROP COLUMN provider_state;
