-- +goose Up
-- The provider's own JSON for each aggregated record, served as Meld's
-- serviceProviderDetails: raw is the payload exactly as the provider sent
-- it (TEXT, not parsed), raw_provider the provider type of the connection
-- it came through, raw_updated_at (Unix microseconds) the aggregation that
-- first brought it. NULL until a provider sends one (the sandboxes never
-- do); an aggregation without one keeps the last.
ALTER TABLE financial_accounts ADD COLUMN raw TEXT;
ALTER TABLE financial_accounts ADD COLUMN raw_provider TEXT;
ALTER TABLE financial_accounts ADD COLUMN raw_updated_at BIGINT;
ALTER TABLE transactions ADD COLUMN raw TEXT;
ALTER TABLE transactions ADD COLUMN raw_provider TEXT;
ALTER TABLE transactions ADD COLUMN raw_updated_at BIGINT;
ALTER TABLE holdings ADD COLUMN raw TEXT;
ALTER TABLE holdings ADD COLUMN raw_provider TEXT;
ALTER TABLE holdings ADD COLUMN raw_updated_at BIGINT;
ALTER TABLE investment_transactions ADD COLUMN raw TEXT;
ALTER TABLE investment_transactions ADD COLUMN raw_provider TEXT;
ALTER TABLE investment_transactions ADD COLUMN raw_updated_at BIGINT;

-- +goose Down
ALTER TABLE investment_transactions DROP COLUMN raw_updated_at;
ALTER TABLE investment_transactions DROP COLUMN raw_provider;
ALTER TABLE investment_transactions DROP COLUMN raw;
ALTER TABLE holdings DROP COLUMN raw_updated_at;
ALTER TABLE holdings DROP COLUMN raw_provider;
ALTER TABLE holdings DROP COLUMN raw;
ALTER TABLE transactions DROP COLUMN raw_updated_at;
ALTER TABLE transactions DROP COLUMN raw_provider;
ALTER TABLE transactions DROP COLUMN raw;
ALTER TABLE financial_accounts DROP COLUMN raw_updated_at;
ALTER TABLE financial_accounts DROP COLUMN raw_provider;
ALTER TABLE financial_accounts DROP COLUMN raw;
