package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"banklink"
)

// BeginIdempotent implements banklink.IdempotencyStore.
func (db *DB) BeginIdempotent(ctx context.Context, scope banklink.Scope, key, hash string, at time.Time, ttl time.Duration) (*banklink.IdempotentResponse, bool, error) {
	var out *banklink.IdempotentResponse
	var claimed bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		out, claimed = nil, false
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE account_id = $1 AND environment = $2 AND key = $3 AND created_at < $4`,
			scope.AccountID, string(scope.Environment), key, micros(at.Add(-ttl))); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (account_id, environment, key, request_hash, status, header, body, created_at)
			VALUES ($1, $2, $3, $4, 0, '{}', $5, $6) ON CONFLICT (account_id, environment, key) DO NOTHING`,
			scope.AccountID, string(scope.Environment), key, hash, []byte{}, micros(at))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			claimed = true
			return nil
		}
		var r banklink.IdempotentResponse
		var header string
		var created int64
		err = tx.QueryRowContext(ctx, `SELECT request_hash, status, header, body, created_at FROM idempotency_keys WHERE account_id = $1 AND environment = $2 AND key = $3`,
			scope.AccountID, string(scope.Environment), key).Scan(&r.RequestHash, &r.Status, &header, &r.Body, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("idempotency key vanished")
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(header), &r.Header); err != nil {
			return err
		}
		r.CreatedAt = fromMicros(created)
		out = &r
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("begin idempotent request: %w", err)
	}
	return out, claimed, nil
}

// FinishIdempotent implements banklink.IdempotencyStore.
func (db *DB) FinishIdempotent(ctx context.Context, scope banklink.Scope, key string, r *banklink.IdempotentResponse) error {
	header, err := json.Marshal(r.Header)
	if err != nil {
		return err
	}
	_, err = db.w.ExecContext(ctx, `UPDATE idempotency_keys SET status = $1, header = $2, body = $3 WHERE account_id = $4 AND environment = $5 AND key = $6`,
		r.Status, string(header), r.Body, scope.AccountID, string(scope.Environment), key)
	return err
}

// AbandonIdempotent implements banklink.IdempotencyStore.
func (db *DB) AbandonIdempotent(ctx context.Context, scope banklink.Scope, key string) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE account_id = $1 AND environment = $2 AND key = $3 AND status = 0`,
		scope.AccountID, string(scope.Environment), key)
	return err
}
