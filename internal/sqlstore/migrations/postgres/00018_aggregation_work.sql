-- +goose Up
-- Aggregation work is durable: every accepted request to aggregate a
-- connection (a completed link or repair, an accepted refresh, a provider's
-- webhook, a scheduled refresh) adds one to aggregation_requested in the
-- same statement that accepts it, and a run that finishes sets
-- aggregation_done to the count it was started for. Work is pending while
-- requested > done. The replica running it holds a lease it renews; a
-- replica killed mid-run leaves the work pending with a lease that expires,
-- and another (or the restarted one) claims it.
ALTER TABLE connections ADD COLUMN aggregation_requested BIGINT NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN aggregation_done BIGINT NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN aggregation_lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN aggregation_lease_until BIGINT NOT NULL DEFAULT 0;
-- Connections completed before this migration whose first aggregation
-- never finished were found by FindUnaggregated; they are pending work now.
UPDATE connections SET aggregation_requested = 1
	WHERE completed_at IS NOT NULL AND aggregated_at IS NULL AND status = 'ACTIVE';
-- Replicas look for pending work with a free lease every few seconds.
CREATE INDEX connections_aggregation_pending ON connections(aggregation_lease_until)
	WHERE aggregation_requested > aggregation_done;

-- +goose Down
DROP INDEX connections_aggregation_pending;
ALTER TABLE connections DROP COLUMN aggregation_lease_until;
ALTER TABLE connections DROP COLUMN aggregation_lease_owner;
ALTER TABLE connections DROP COLUMN aggregation_done;
ALTER TABLE connections DROP COLUMN aggregation_requested;
