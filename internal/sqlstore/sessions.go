package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"banklink"
	"banklink/webhook"
)

type sessionData struct {
	MFA      *banklink.MFAChallenge     `json:"mfa,omitempty"`
	Accounts []banklink.ProviderAccount `json:"accounts,omitempty"`
	Routing  *banklink.RoutingDecision  `json:"routing,omitempty"`
	Tab      string                     `json:"tab,omitempty"`
	Consent  *banklink.Consent          `json:"consent,omitempty"`
}

// FindConnectSession implements banklink.ConnectSessionStore.
func (db *DB) FindConnectSession(ctx context.Context, connectionID string) (*banklink.ConnectSession, error) {
	var s banklink.ConnectSession
	var inst sql.NullString
	var data string
	var updated int64
	err := db.r.QueryRowContext(ctx, `SELECT connection_id, step, institution_id, provider_type, provider_state, login_id, data, failures, updated_at, version
		FROM connect_sessions WHERE connection_id = $1`, connectionID).Scan(
		&s.ConnectionID, &s.Step, &inst, &s.ProviderType, &s.ProviderState, &s.LoginID, &data, &s.Failures, &updated, &s.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Connect session")
	}
	if err != nil {
		return nil, fmt.Errorf("find connect session: %w", err)
	}
	var d sessionData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return nil, fmt.Errorf("decode connect session: %w", err)
	}
	s.InstitutionID, s.MFA, s.Accounts, s.Routing, s.Tab, s.Consent, s.UpdatedAt = inst.String, d.MFA, d.Accounts, d.Routing, d.Tab, d.Consent, fromMicros(updated)
	return &s, nil
}

// SaveConnectSession implements banklink.ConnectSessionStore.
func (db *DB) SaveConnectSession(ctx context.Context, s *banklink.ConnectSession) error {
	if db.dialect == Postgres {
		return db.saveSessionPG(ctx, s)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var conn banklink.Connection
		err := tx.QueryRowContext(ctx, `SELECT status, status_reason FROM connections WHERE id = $1`, s.ConnectionID).Scan(&conn.Status, &conn.StatusReason)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Connection")
		}
		if err != nil {
			return fmt.Errorf("save connect session: %w", err)
		}
		// Progress is saved while a connection is being linked or repaired.
		if conn.Status != banklink.StatusInProgress && !conn.Repairable() {
			return banklink.Errorf(banklink.ECONFLICT, "Connection is %s, no longer in progress.", conn.Status)
		}
		return db.putSession(ctx, tx, s)
	})
	if err == nil {
		s.Version++
	}
	return err
}

// sessionChanged is the answer to a save of a session read before another
// request saved it.
func sessionChanged() error {
	return banklink.Errorf(banklink.ECONFLICT, "The connect session changed since it was read.")
}

// putSession writes s in tx if the stored session is still at s.Version
// (or, for Version 0, does not exist): the conditional upsert is the whole
// guard, since PostgreSQL re-checks its WHERE on the row it locks and
// SQLite has one writer. The caller increments s.Version once tx commits.
func (db *DB) putSession(ctx context.Context, tx *sql.Tx, s *banklink.ConnectSession) error {
	args, err := db.sessionArgs(s)
	if err != nil {
		return err
	}
	// Failures are counted by CountLoginAttempt alone, whose increments a
	// save would otherwise overwrite; a session replacing a finished one
	// (a repair's) starts counting afresh.
	res, err := tx.ExecContext(ctx, `INSERT INTO connect_sessions (connection_id, step, institution_id, provider_type, provider_state, login_id, data, failures, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)
		ON CONFLICT (connection_id) DO UPDATE SET step = excluded.step, institution_id = excluded.institution_id,
			provider_type = excluded.provider_type, provider_state = excluded.provider_state, login_id = excluded.login_id,
			data = excluded.data, updated_at = excluded.updated_at, version = connect_sessions.version + 1,
			failures = CASE WHEN connect_sessions.step = 'DONE' THEN excluded.failures ELSE connect_sessions.failures END
		WHERE connect_sessions.version = $10`, args...)
	if isForeignKeyViolation(err) {
		return banklink.Errorf(banklink.ENOTFOUND, "Institution %s not found.", s.InstitutionID)
	}
	if err != nil {
		return fmt.Errorf("save connect session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("save connect session: %w", err)
	} else if n == 0 {
		return sessionChanged()
	}
	return nil
}

// sessionArgs are the ten parameters of a session's conditional upsert
// (putSession, pgSaveSessionSQL).
func (db *DB) sessionArgs(s *banklink.ConnectSession) ([]any, error) {
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = db.now()
	}
	data, err := json.Marshal(sessionData{MFA: s.MFA, Accounts: s.Accounts, Routing: s.Routing, Tab: s.Tab, Consent: s.Consent})
	if err != nil {
		return nil, err
	}
	inst := sql.NullString{String: s.InstitutionID, Valid: s.InstitutionID != ""}
	return []any{s.ConnectionID, s.Step, inst, s.ProviderType, s.ProviderState, s.LoginID, string(data), s.Failures, micros(s.UpdatedAt), s.Version}, nil
}

// CountLoginAttempt implements banklink.ConnectSessionStore.
func (db *DB) CountLoginAttempt(ctx context.Context, s *banklink.ConnectSession, limit int) (int, error) {
	// One conditional UPDATE checks and counts: concurrent attempts queue
	// on the row, and each sees the count the one before left. A
	// forgiveness queued by this process lands first (on SQLite the lane
	// sees to that already; there the flush is free unless one is queued).
	if err := db.flushBestEffort(ctx); err != nil {
		return 0, fmt.Errorf("count login attempt: %w", err)
	}
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `UPDATE connect_sessions SET failures = failures + 1
			WHERE connection_id = $1 AND version = $2 AND failures < $3 RETURNING failures`, s.ConnectionID, s.Version, limit).Scan(&n)
	})
	if errors.Is(err, sql.ErrNoRows) {
		stored, err := db.FindConnectSession(ctx, s.ConnectionID)
		if err != nil {
			return 0, err
		}
		if stored.Failures >= limit {
			return 0, banklink.Errorf(banklink.ERATELIMITED, "Too many failed login attempts.")
		}
		return 0, sessionChanged()
	}
	if err != nil {
		return 0, fmt.Errorf("count login attempt: %w", err)
	}
	s.Failures = n
	return n, nil
}

// ForgiveLoginAttempt implements banklink.ConnectSessionStore. Under
// banklink.BestEffort it may be queued: CountLoginAttempt counts after
// every forgiveness queued before it.
func (db *DB) ForgiveLoginAttempt(ctx context.Context, connectionID string) error {
	err := db.inTxBestEffort(ctx, "forgive login attempt", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE connect_sessions SET failures = failures - 1 WHERE connection_id = $1 AND failures > 0`, connectionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("forgive login attempt: %w", err)
	}
	return nil
}

// CompleteConnectSession implements banklink.ConnectSessionStore.
func (db *DB) CompleteConnectSession(ctx context.Context, scope banklink.Scope, s *banklink.ConnectSession, c banklink.Completion, repairOf int64) (*banklink.Connection, error) {
	if repairOf != 0 {
		return db.repair(ctx, scope, s.ConnectionID, c, repairOf, s)
	}
	return db.complete(ctx, scope, s.ConnectionID, c, s)
}

// CompleteConnection implements banklink.ConnectSessionStore.
func (db *DB) CompleteConnection(ctx context.Context, scope banklink.Scope, id string, c banklink.Completion) (*banklink.Connection, error) {
	return db.complete(ctx, scope, id, c, nil)
}

// complete completes connection id and, when s is not nil, saves s in the
// same transaction.
func (db *DB) complete(ctx context.Context, scope banklink.Scope, id string, c banklink.Completion, s *banklink.ConnectSession) (*banklink.Connection, error) {
	at := c.At
	if at.IsZero() {
		at = db.now()
	}
	// One conditional UPDATE is the whole race guard: whichever request
	// (or replica) flips IN_PROGRESS first wins; every other sees 0 rows.
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE connections SET status = $1, status_reason = '', institution_id = $2, provider_type = $3,
			provider_login_id = $4, completed_at = $5, updated_at = $5, routing_decision = $6,
			aggregation_requested = aggregation_requested + 1
			WHERE id = $7 AND account_id = $8 AND environment = $9 AND status = $10 AND expires_at > $5`,
			string(banklink.StatusActive), c.InstitutionID, c.ProviderType, c.LoginID, micros(at), routingJSON(c.Routing),
			id, scope.AccountID, string(scope.Environment), string(banklink.StatusInProgress))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if s != nil {
			if err := db.putSession(ctx, tx, s); err != nil {
				return err
			}
		}
		if err := dropOptionalProducts(ctx, tx, id, c.Declined); err != nil {
			return err
		}
		conn, err := connectionInTx(ctx, tx, id)
		if err != nil {
			return err
		}
		events := []*banklink.Event{
			banklink.NewEvent(ctx, webhook.ConnectionCompleted, banklink.ConnectionPayload(conn)),
			banklink.StatusChangeEvent(ctx, conn, banklink.StatusInProgress, ""),
		}
		if c.LoginID != "" {
			// Duplicates: the same customer logging in again to the same
			// institution with the same login. The newest is ACTIVE; the
			// others step aside, sharing nothing but their history.
			dups, err := demoteDuplicates(ctx, tx, conn, at)
			if err != nil {
				return err
			}
			for _, d := range dups {
				events = append(events, banklink.StatusChangeEvent(ctx, d.conn, d.oldStatus, d.oldReason))
			}
		}
		return db.emit(ctx, tx, scope, at, events...)
	})
	if err != nil {
		return nil, fmt.Errorf("complete connection: %w", err)
	}
	conn, err := db.FindConnectionByID(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		if conn.Status == banklink.StatusInProgress && !conn.ExpiresAt.After(at) {
			return nil, banklink.Errorf(banklink.ECONFLICT, "Connection expired before it was completed.")
		}
		return nil, banklink.Errorf(banklink.ECONFLICT, "Connection is already %s.", conn.Status)
	}
	if s != nil {
		s.Version++
	}
	return conn, nil
}

// FindWidgetOrigins implements banklink.WidgetOriginStore.
func (db *DB) FindWidgetOrigins(ctx context.Context, scope banklink.Scope) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT origin FROM widget_origins WHERE account_id = $1 AND environment = $2 ORDER BY origin`,
		scope.AccountID, string(scope.Environment))
	if err != nil {
		return nil, fmt.Errorf("find widget origins: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// SetWidgetOrigins implements banklink.WidgetOriginStore.
func (db *DB) SetWidgetOrigins(ctx context.Context, scope banklink.Scope, origins []string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM widget_origins WHERE account_id = $1 AND environment = $2`, scope.AccountID, string(scope.Environment)); err != nil {
			return fmt.Errorf("set widget origins: %w", err)
		}
		for _, o := range origins {
			_, err := tx.ExecContext(ctx, `INSERT INTO widget_origins (account_id, environment, origin) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
				scope.AccountID, string(scope.Environment), o)
			if isForeignKeyViolation(err) {
				return notFound("Account")
			}
			if err != nil {
				return fmt.Errorf("set widget origins: %w", err)
			}
		}
		return nil
	})
}

// RepairConnection implements banklink.ConnectSessionStore.
func (db *DB) RepairConnection(ctx context.Context, scope banklink.Scope, id string, c banklink.Completion, repairOf int64) (*banklink.Connection, error) {
	return db.repair(ctx, scope, id, c, repairOf, nil)
}

// repair repairs connection id and, when s is not nil, saves s in the same
// transaction.
func (db *DB) repair(ctx context.Context, scope banklink.Scope, id string, c banklink.Completion, repairOf int64, s *banklink.ConnectSession) (*banklink.Connection, error) {
	at := c.At
	if at.IsZero() {
		at = db.now()
	}
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var oldStatus, oldReason string
		err := tx.QueryRowContext(ctx, `SELECT status, status_reason FROM connections WHERE id = $1`, id).Scan(&oldStatus, &oldReason)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Connection")
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE connections SET status = 'ACTIVE', status_reason = '', provider_type = $1, provider_login_id = $2,
			completed_at = $3, updated_at = $3, aggregation_failures = 0, routing_decision = $4,
			aggregation_requested = aggregation_requested + 1
			WHERE id = $5 AND account_id = $6 AND environment = $7 AND `+repairable+` AND COALESCE(completed_at, 0) = $8`,
			c.ProviderType, c.LoginID, micros(at), routingJSON(c.Routing), id, scope.AccountID, string(scope.Environment), repairOf)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if s != nil {
			if err := db.putSession(ctx, tx, s); err != nil {
				return err
			}
		}
		if err := dropOptionalProducts(ctx, tx, id, c.Declined); err != nil {
			return err
		}
		conn, err := connectionInTx(ctx, tx, id)
		if err != nil {
			return err
		}
		// Meld sends COMPLETED after a successful repair too.
		return db.emit(ctx, tx, scope, at,
			banklink.NewEvent(ctx, webhook.ConnectionCompleted, banklink.ConnectionPayload(conn)),
			banklink.StatusChangeEvent(ctx, conn, banklink.ConnectionStatus(oldStatus), oldReason))
	})
	if err != nil && banklink.ErrorCode(err) != banklink.ENOTFOUND {
		return nil, fmt.Errorf("repair connection: %w", err)
	}
	conn, err := db.FindConnectionByID(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, banklink.Errorf(banklink.ECONFLICT, "Connection is %s and cannot be repaired with this link.", conn.Status)
	}
	if s != nil {
		s.Version++
	}
	return conn, nil
}

type demoted struct {
	conn      *banklink.Connection
	oldStatus banklink.ConnectionStatus
	oldReason string
}

// demoteDuplicates makes the other live connections of conn's customer,
// institution, provider and login PARTIALLY_ACTIVE/INACTIVE_DUPLICATE and
// returns those whose status changed.
func demoteDuplicates(ctx context.Context, tx *sql.Tx, conn *banklink.Connection, at time.Time) ([]demoted, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, status, status_reason FROM connections WHERE customer_id = $1 AND institution_id = $2
		AND provider_type = $3 AND provider_login_id = $4 AND id <> $5 AND `+linked+` ORDER BY seq`,
		conn.CustomerID, conn.InstitutionID, conn.ProviderType, conn.ProviderLoginID, conn.ID)
	if err != nil {
		return nil, err
	}
	var out []demoted
	for rows.Next() {
		var d demoted
		var id, status string
		if err := rows.Scan(&id, &status, &d.oldReason); err != nil {
			rows.Close()
			return nil, err
		}
		d.oldStatus, d.conn = banklink.ConnectionStatus(status), &banklink.Connection{ID: id}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	changed := out[:0]
	for _, d := range out {
		if d.oldStatus == banklink.StatusPartiallyActive && d.oldReason == "INACTIVE_DUPLICATE" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE connections SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4`,
			string(banklink.StatusPartiallyActive), "INACTIVE_DUPLICATE", micros(at), d.conn.ID); err != nil {
			return nil, err
		}
		c, err := connectionInTx(ctx, tx, d.conn.ID)
		if err != nil {
			return nil, err
		}
		c.ActiveDuplicateConnectionID = conn.ID
		d.conn = c
		changed = append(changed, d)
	}
	return changed, nil
}

func routingJSON(d *banklink.RoutingDecision) string {
	if d == nil {
		return ""
	}
	return toJSON(d)
}

// dropOptionalProducts removes the products the customer declined from
// connection id's optional products, in the completing transaction, so
// the completed connection (and its COMPLETED webhook) never lists them
// and its aggregations never fetch them.
func dropOptionalProducts(ctx context.Context, tx *sql.Tx, id string, declined []banklink.Product) error {
	if len(declined) == 0 {
		return nil
	}
	var optional string
	if err := tx.QueryRowContext(ctx, `SELECT optional_products FROM connections WHERE id = $1`, id).Scan(&optional); err != nil {
		return fmt.Errorf("declined products: %w", err)
	}
	var list []banklink.Product
	if err := json.Unmarshal([]byte(optional), &list); err != nil {
		return fmt.Errorf("declined products: %w", err)
	}
	kept := slices.DeleteFunc(list, func(p banklink.Product) bool { return slices.Contains(declined, p) })
	if _, err := tx.ExecContext(ctx, `UPDATE connections SET optional_products = $1 WHERE id = $2`, toJSON(nonNil(kept)), id); err != nil {
		return fmt.Errorf("declined products: %w", err)
	}
	return nil
}
