package sqlstore

import (
	"context"
	"fmt"
)

// EnsureSecret implements banklink.SecretStore.
func (db *DB) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	// ON CONFLICT DO NOTHING makes the first writer win when replicas race;
	// everyone then reads back the one stored value.
	if _, err := db.w.ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
		name, value, micros(db.now())); err != nil {
		return nil, fmt.Errorf("ensure secret %q: %w", name, err)
	}
	var stored []byte
	if err := db.w.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&stored); err != nil {
		return nil, fmt.Errorf("ensure secret %q: %w", name, err)
	}
	return stored, nil
}
