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

// ProviderFailures implements banklink.ProviderHealthStore.
func (db *DB) ProviderFailures(ctx context.Context, provider, institutionID string, since time.Time) (int, string, error) {
	var lastOK sql.NullInt64
	if err := db.r.QueryRowContext(ctx, `SELECT MAX(at) FROM provider_attempts WHERE provider = $1 AND institution_id = $2 AND ok`,
		provider, institutionID).Scan(&lastOK); err != nil {
		return 0, "", fmt.Errorf("provider health: %w", err)
	}
	from := max(micros(since), lastOK.Int64+1)
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM provider_attempts WHERE provider = $1 AND institution_id = $2 AND NOT ok AND at >= $3`,
		provider, institutionID, from).Scan(&n); err != nil {
		return 0, "", fmt.Errorf("provider health: %w", err)
	}
	if n == 0 {
		return 0, "", nil
	}
	var reason string
	if err := db.r.QueryRowContext(ctx, `SELECT reason FROM provider_attempts WHERE provider = $1 AND institution_id = $2 AND NOT ok AND at >= $3
		ORDER BY at DESC LIMIT 1`, provider, institutionID, from).Scan(&reason); err != nil {
		return 0, "", fmt.Errorf("provider health: %w", err)
	}
	return n, reason, nil
}
