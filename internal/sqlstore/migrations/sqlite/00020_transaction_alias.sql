-- +goose Up
-- Another id the provider may name a transaction by: Plaid gives a posted
-- transaction a new id, banklink keeps it under the id of the pending one
-- it replaced, and Plaid may later remove it by its own id.
ALTER TABLE transactions ADD COLUMN provider_alias_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE transactions DROP COLUMN provider_alias_id;
