package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// healthKeep is how long provider attempts are kept; routing looks at
// far less.
const healthKeep = 24 * time.Hour

// RecordProviderAttempt implements banklink.ProviderHealthStore. Under
// banklink.BestEffort it may be queued (the widget records a login's
// outcome so); ProviderFailures does not wait for such writes: health is
// a trend over minutes, and a read behind the writer would make every
// institution pick wait for it.
func (db *DB) RecordProviderAttempt(ctx context.Context, provider, institutionID string, ok bool, reason string, at time.Time) error {
	return db.inTxBestEffort(ctx, "record provider attempt", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO provider_attempts (provider, institution_id, at, ok, reason) VALUES ($1, $2, $3, $4, $5)`,
			provider, institutionID, micros(at), ok, reason); err != nil {
			return fmt.Errorf("record provider attempt: %w", err)
		}
		// Each pair prunes its own old rows, so the table stays bounded
		// without a janitor.
		_, err := tx.ExecContext(ctx, `DELETE FROM provider_attempts WHERE provider = $1 AND institution_id = $2 AND at < $3`,
			provider, institutionID, micros(at.Add(-healthKeep)))
		return err
	})
}

// providerFailuresSQL counts the failures of a provider at an
// institution since $3 and after its last success, with the latest one's
// reason, in one statement (on PostgreSQL one round trip instead of
// three; the widget asks on every institution it routes).
const providerFailuresSQL = `WITH f AS (SELECT at, reason FROM provider_attempts WHERE provider = $1 AND institution_id = $2 AND NOT ok
	AND at >= %s($3, COALESCE((SELECT MAX(at) FROM provider_attempts WHERE provider = $1 AND institution_id = $2 AND ok), 0) + 1))
SELECT (SELECT COUNT(*) FROM f), COALESCE((SELECT reason FROM f ORDER BY at DESC LIMIT 1), '')`

// providerFailuresQuery is providerFailuresSQL in each dialect: SQLite's
// two-argument scalar MAX is PostgreSQL's GREATEST.
var providerFailuresQuery = map[Dialect]string{
	SQLite:   fmt.Sprintf(providerFailuresSQL, "MAX"),
	Postgres: fmt.Sprintf(providerFailuresSQL, "GREATEST"),
}

// ProviderFailures implements banklink.ProviderHealthStore.
func (db *DB) ProviderFailures(ctx context.Context, provider, institutionID string, since time.Time) (int, string, error) {
	var n int
	var reason string
	if err := db.r.QueryRowContext(ctx, providerFailuresQuery[db.dialect], provider, institutionID, micros(since)).Scan(&n, &reason); err != nil {
		return 0, "", fmt.Errorf("provider health: %w", err)
	}
	return n, reason, nil
}
