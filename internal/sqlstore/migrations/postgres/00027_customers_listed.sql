-- +goose Up
-- GET /accounts/customers lists a tenant's active customers by external
-- id and counts up to 1,000 beyond the page. customers_external had no
-- status, so the count read every one of those rows from the table (on
-- SQLite 170 µs for 1,000 of 10,000 customers, 79 µs from this index
-- alone); and its columns were those of the UNIQUE constraint's own
-- index, which keeps serving the lookups by external id.
DROP INDEX customers_external;
CREATE INDEX customers_listed ON customers(account_id, environment, status, external_id);

-- +goose Down
DROP INDEX customers_listed;
CREATE INDEX customers_external ON customers(account_id, environment, external_id);
