-- +goose Up
-- The scheduled refresh looks for refreshable connections by the age of
-- their data (ClaimDueRefreshes), every minute on every replica.
CREATE INDEX connections_refresh_due ON connections(aggregated_at)
	WHERE status IN ('ACTIVE', 'PARTIALLY_ACTIVE', 'DEGRADED', 'UNDETERMINED');

-- +goose Down
DROP INDEX connections_refresh_due;
