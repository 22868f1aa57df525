-- +goose Up
-- Customer details from POST /accounts/customers (name, email, phone,
-- date of birth) as JSON.
ALTER TABLE customers ADD COLUMN data TEXT NOT NULL DEFAULT '{}';
CREATE INDEX customers_external ON customers(account_id, environment, external_id);

-- +goose Down
DROP INDEX customers_external;
ALTER TABLE customers DROP COLUMN data;
