package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banklink"
)

const operatorColumns = `id, account_id, email, password_hash, created_at`

func scanOperator(row scanner) (*banklink.Operator, error) {
	var o banklink.Operator
	var created int64
	if err := row.Scan(&o.ID, &o.AccountID, &o.Email, &o.PasswordHash, &created); err != nil {
		return nil, err
	}
	o.CreatedAt = fromMicros(created)
	return &o, nil
}

// CreateOperator implements banklink.OperatorStore.
func (db *DB) CreateOperator(ctx context.Context, o *banklink.Operator) error {
	if o.ID == "" {
		o.ID = banklink.NewID()
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = db.now()
	}
	o.Email = banklink.NormalizeEmail(o.Email)
	_, err := db.w.ExecContext(ctx, `INSERT INTO operators (`+operatorColumns+`) VALUES ($1, $2, $3, $4, $5)`,
		o.ID, o.AccountID, o.Email, o.PasswordHash, micros(o.CreatedAt))
	switch {
	case isForeignKeyViolation(err):
		return notFound("Account")
	case isUniqueViolation(err):
		return banklink.Errorf(banklink.ECONFLICT, "An operator with email %s already exists.", o.Email)
	case err != nil:
		return fmt.Errorf("create operator: %w", err)
	}
	return nil
}

// FindOperatorByEmail implements banklink.OperatorStore.
func (db *DB) FindOperatorByEmail(ctx context.Context, email string) (*banklink.Operator, error) {
	o, err := scanOperator(db.r.QueryRowContext(ctx, `SELECT `+operatorColumns+` FROM operators WHERE email = $1`, banklink.NormalizeEmail(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Operator")
	}
	if err != nil {
		return nil, fmt.Errorf("find operator: %w", err)
	}
	return o, nil
}

// FindOperators implements banklink.OperatorStore.
func (db *DB) FindOperators(ctx context.Context, accountID string) ([]*banklink.Operator, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+operatorColumns+` FROM operators WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("find operators: %w", err)
	}
	defer rows.Close()
	out := []*banklink.Operator{}
	for rows.Next() {
		o, err := scanOperator(rows)
		if err != nil {
			return nil, fmt.Errorf("find operators: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// CountOperators implements banklink.OperatorStore.
func (db *DB) CountOperators(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM operators`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count operators: %w", err)
	}
	return n, nil
}

// CreateOperatorSession implements banklink.OperatorStore.
func (db *DB) CreateOperatorSession(ctx context.Context, s *banklink.OperatorSession) error {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = db.now()
	}
	if s.LastSeenAt.IsZero() {
		s.LastSeenAt = s.CreatedAt
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// Housekeeping: expired sessions go when new ones come, so the
		// table stays as small as the set of live sessions.
		if _, err := tx.ExecContext(ctx, `DELETE FROM operator_sessions WHERE expires_at <= $1`, micros(s.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO operator_sessions (id_hash, operator_id, csrf_token, created_at, expires_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, s.IDHash, s.OperatorID, s.CSRFToken, micros(s.CreatedAt), micros(s.ExpiresAt), micros(s.LastSeenAt))
		return err
	})
	switch {
	case isForeignKeyViolation(err):
		return notFound("Operator")
	case isUniqueViolation(err):
		return banklink.Errorf(banklink.ECONFLICT, "Session already exists.")
	case err != nil:
		return fmt.Errorf("create operator session: %w", err)
	}
	return nil
}

// FindOperatorSession implements banklink.OperatorStore.
func (db *DB) FindOperatorSession(ctx context.Context, idHash []byte, now time.Time) (*banklink.OperatorSession, error) {
	var s banklink.OperatorSession
	var created, expires, seen int64
	err := db.r.QueryRowContext(ctx, `SELECT s.id_hash, s.operator_id, s.csrf_token, s.created_at, s.expires_at, s.last_seen_at, o.account_id, o.email
		FROM operator_sessions s JOIN operators o ON o.id = s.operator_id WHERE s.id_hash = $1 AND s.expires_at > $2`, idHash, micros(now)).Scan(
		&s.IDHash, &s.OperatorID, &s.CSRFToken, &created, &expires, &seen, &s.AccountID, &s.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Session")
	}
	if err != nil {
		return nil, fmt.Errorf("find operator session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt = fromMicros(created), fromMicros(expires), fromMicros(seen)
	return &s, nil
}

// TouchOperatorSession implements banklink.OperatorStore.
func (db *DB) TouchOperatorSession(ctx context.Context, idHash []byte, at time.Time) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE operator_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1`, micros(at), idHash); err != nil {
		return fmt.Errorf("touch operator session: %w", err)
	}
	return nil
}

// DeleteOperatorSession implements banklink.OperatorStore.
func (db *DB) DeleteOperatorSession(ctx context.Context, idHash []byte) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM operator_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("delete operator session: %w", err)
	}
	return nil
}

// RecordFunnelStep implements banklink.FunnelStore. The account and
// environment come from the connection row itself, so a step can never
// be counted for another tenant.
func (db *DB) RecordFunnelStep(ctx context.Context, s banklink.FunnelStep) error {
	if s.At.IsZero() {
		s.At = db.now()
	}
	err := db.inTxBestEffort(ctx, "record funnel step", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO funnel_steps (connection_id, step, account_id, environment, institution_id, provider, reason, at)
			SELECT id, $2, account_id, environment, $3, $4, $5, $6 FROM connections WHERE id = $1
			ON CONFLICT (connection_id, step, institution_id, provider) DO UPDATE SET reason = excluded.reason, at = excluded.at
			WHERE funnel_steps.step = $7`, s.ConnectionID, s.Step, s.InstitutionID, s.Provider, s.Reason, micros(s.At), banklink.FunnelFailed)
		return err
	})
	if err != nil {
		return fmt.Errorf("record funnel step: %w", err)
	}
	return nil
}

// FunnelSteps implements banklink.FunnelStore.
func (db *DB) FunnelSteps(ctx context.Context, scope banklink.Scope, from, to time.Time) ([]banklink.FunnelStep, error) {
	if err := db.flushBestEffort(ctx); err != nil {
		return nil, fmt.Errorf("funnel steps: %w", err)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT connection_id, step, institution_id, provider, reason, at FROM funnel_steps
		WHERE account_id = $1 AND environment = $2 AND at >= $3 AND at < $4 ORDER BY at, connection_id, step`,
		scope.AccountID, string(scope.Environment), micros(from), micros(to))
	if err != nil {
		return nil, fmt.Errorf("funnel steps: %w", err)
	}
	defer rows.Close()
	out := []banklink.FunnelStep{}
	for rows.Next() {
		var s banklink.FunnelStep
		var at int64
		if err := rows.Scan(&s.ConnectionID, &s.Step, &s.InstitutionID, &s.Provider, &s.Reason, &at); err != nil {
			return nil, fmt.Errorf("funnel steps: %w", err)
		}
		s.At = fromMicros(at)
		out = append(out, s)
	}
	return out, rows.Err()
}
