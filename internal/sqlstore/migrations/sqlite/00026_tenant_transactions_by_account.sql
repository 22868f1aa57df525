-- +goose Up
-- The tenant-wide transactions list runs account by account (the tenant's
-- accounts through financial_accounts_scope, each one's transactions
-- through transactions_account), so the tenant-wide timeline index goes.
-- It cost more than every other write of an aggregation together: a
-- two-year backfill's rows land on a different page of it for every day
-- they cover, in the middle of the tree (on SQLite, 976 of the 1,192
-- pages one 1,200-row save changed in a 2.5-million-row database).
DROP INDEX transactions_scope;

-- +goose Down
CREATE INDEX transactions_scope ON transactions(account_id, environment, transaction_day DESC, seq DESC);
