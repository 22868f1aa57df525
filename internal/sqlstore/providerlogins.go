package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"banklink"
)

// connectionsByProviderLogin reads through the connections_provider_login
// index (TestProviderLoginUsesItsIndex).
const connectionsByProviderLogin = `SELECT ` + connectionColumns + connectionFrom +
	` WHERE c.provider_type = $1 AND c.provider_login_id = $2 AND c.status <> 'DELETED' ORDER BY c.seq`

// FindConnectionsByProviderLogin implements
// banklink.ConnectionStore.
func (db *DB) FindConnectionsByProviderLogin(ctx context.Context, providerType, loginID string) ([]*banklink.Connection, error) {
	if providerType == "" || loginID == "" {
		return nil, nil
	}
	out, err := db.queryConnections(ctx, connectionsByProviderLogin, providerType, loginID)
	if err != nil {
		return nil, fmt.Errorf("find connections by provider login: %w", err)
	}
	return out, db.fillDuplicates(ctx, out)
}

// ChangeConnectionStatus implements banklink.ConnectionStore.
func (db *DB) ChangeConnectionStatus(ctx context.Context, scope banklink.Scope, id string, c banklink.StatusChange) (bool, error) {
	if c.From == c.To && c.FromReason == c.ToReason {
		return false, nil
	}
	at := c.At
	if at.IsZero() {
		at = db.now()
	}
	changed := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		changed = false
		var status, reason string
		err := tx.QueryRowContext(ctx, `SELECT status, status_reason FROM connections WHERE id = $1 AND account_id = $2 AND environment = $3`,
			id, scope.AccountID, string(scope.Environment)).Scan(&status, &reason)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Connection")
		}
		if err != nil {
			return err
		}
		if status != string(c.From) || reason != c.FromReason {
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE connections SET status = $1, status_reason = $2, updated_at = $3,
			aggregation_failures = CASE WHEN $4 THEN 0 ELSE aggregation_failures END
			WHERE id = $5 AND status = $6 AND status_reason = $7`,
			string(c.To), c.ToReason, micros(at), c.To == banklink.StatusActive, id, string(c.From), c.FromReason)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		changed = true
		return db.emitStatusChange(ctx, tx, scope, id, c.From, c.FromReason, at)
	})
	if err != nil && banklink.ErrorCode(err) != banklink.ENOTFOUND {
		return false, fmt.Errorf("change connection status: %w", err)
	}
	return changed, err
}
