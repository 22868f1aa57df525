package sqlstore

import "context"

// SimulateNewerSchema records a migration version this binary does not
// have, as a newer banklink would.
func (db *DB) SimulateNewerSchema(ctx context.Context, version int64) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, version)
	return err
}
