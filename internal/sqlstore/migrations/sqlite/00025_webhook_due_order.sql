-- +goose Up
-- The due index in the claim's own order, so that a claim walks pending
-- deliveries oldest first and stops at its limit instead of reading every
-- pending row: with 3,000 pending on PostgreSQL a claim read them all and
-- took 11 to 43 ms (docs/benchmarks.md, "PostgreSQL: where the time went").
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at, event_seq) WHERE state = 'PENDING';

-- +goose Down
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'PENDING';
