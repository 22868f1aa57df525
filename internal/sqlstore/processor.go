package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"banklink"
	"banklink/webhook"
)

// Processor tokens are sealed like provider credentials, bound to their
// row's id; token_hash finds one by value.

func processorTokenAD(id string) []byte { return []byte("processor_token:" + id) }

// CreateProcessorToken implements banklink.ProcessorTokenStore.
func (db *DB) CreateProcessorToken(ctx context.Context, t *banklink.ProcessorToken, ev *banklink.Event) error {
	if db.sealer == nil {
		return errNoSealer
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.now()
	}
	keyID, sealed, err := db.sealer.Seal([]byte(t.Token), processorTokenAD(t.ID))
	if err != nil {
		return fmt.Errorf("seal processor token: %w", err)
	}
	scope := banklink.Scope{AccountID: t.AccountID, Environment: t.Environment}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO processor_tokens (id, account_id, environment, financial_account_id, connection_id,
			provider_type, processor, key_id, token, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			t.ID, t.AccountID, string(t.Environment), t.FinancialAccountID, t.ConnectionID, t.ProviderType, string(t.Processor),
			keyID, sealed, banklink.ProcessorTokenHash(t.Token), micros(t.CreatedAt))
		if isUniqueViolation(err) {
			return banklink.Errorf(banklink.ECONFLICT, "This processor token is stored already.")
		}
		if isForeignKeyViolation(err) {
			return notFound("Account")
		}
		if err != nil {
			return fmt.Errorf("create processor token: %w", err)
		}
		if ev == nil {
			return nil
		}
		return db.emit(ctx, tx, scope, t.CreatedAt, ev)
	})
}

const processorTokenColumns = `id, account_id, environment, financial_account_id, connection_id, provider_type, processor, created_at, revoked_at`

func scanProcessorToken(row interface{ Scan(...any) error }, extra ...any) (*banklink.ProcessorToken, error) {
	t := &banklink.ProcessorToken{}
	var env, processor string
	var created int64
	var revoked sql.NullInt64
	dest := append([]any{&t.ID, &t.AccountID, &env, &t.FinancialAccountID, &t.ConnectionID, &t.ProviderType, &processor, &created, &revoked}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	t.Environment, t.Processor, t.CreatedAt, t.RevokedAt = banklink.Environment(env), banklink.Processor(processor), fromMicros(created), fromNullMicros(revoked)
	return t, nil
}

// RevokeProcessorToken implements banklink.ProcessorTokenStore.
func (db *DB) RevokeProcessorToken(ctx context.Context, scope banklink.Scope, financialAccountID, token string, at time.Time, makeEvent func(*banklink.ProcessorToken) *banklink.Event) (*banklink.ProcessorToken, error) {
	var out *banklink.ProcessorToken
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		t, err := scanProcessorToken(tx.QueryRowContext(ctx, `SELECT `+processorTokenColumns+` FROM processor_tokens
			WHERE account_id = $1 AND environment = $2 AND token_hash = $3 AND financial_account_id = $4`,
			scope.AccountID, string(scope.Environment), banklink.ProcessorTokenHash(token), financialAccountID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Processor token")
		}
		if err != nil {
			return fmt.Errorf("revoke processor token: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE processor_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, micros(at), t.ID)
		if err != nil {
			return fmt.Errorf("revoke processor token: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return banklink.Errorf(banklink.ECONFLICT, "This processor token was revoked already, at %s.", t.RevokedAt.UTC().Format(time.RFC3339))
		}
		at := at.UTC()
		t.RevokedAt = &at
		out = t
		if makeEvent == nil {
			return nil
		}
		return db.emit(ctx, tx, scope, at, makeEvent(t))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// OpenProcessorToken implements banklink.ProcessorTokenStore.
func (db *DB) OpenProcessorToken(ctx context.Context, scope banklink.Scope, id string) (*banklink.ProcessorToken, error) {
	var keyID string
	var sealed []byte
	t, err := scanProcessorToken(db.r.QueryRowContext(ctx, `SELECT `+processorTokenColumns+`, key_id, token FROM processor_tokens
		WHERE id = $1 AND account_id = $2 AND environment = $3`, id, scope.AccountID, string(scope.Environment)), &keyID, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Processor token")
	}
	if err != nil {
		return nil, fmt.Errorf("find processor token: %w", err)
	}
	if db.sealer == nil {
		return nil, errNoSealer
	}
	plain, err := db.sealer.Open(keyID, sealed, processorTokenAD(t.ID))
	if err != nil {
		return nil, fmt.Errorf("open processor token %s: %w", t.ID, err)
	}
	t.Token = string(plain)
	return t, nil
}

// ImportConnection implements banklink.ImportStore.
func (db *DB) ImportConnection(ctx context.Context, cust *banklink.Customer, conn *banklink.Connection, c banklink.Completion) (*banklink.Connection, bool, error) {
	scope := banklink.Scope{AccountID: conn.AccountID, Environment: conn.Environment}
	at := c.At
	if at.IsZero() {
		at = db.now()
	}
	if cust.CreatedAt.IsZero() {
		cust.CreatedAt = at
	}
	conn.CreatedAt, conn.UpdatedAt = at, at
	conn.Status = banklink.StatusInProgress
	var existing string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var held, status string
		err := tx.QueryRowContext(ctx, `SELECT l.connection_id, COALESCE(c.status, '') FROM imported_logins l LEFT JOIN connections c ON c.id = l.connection_id
			WHERE l.account_id = $1 AND l.environment = $2 AND l.provider_type = $3 AND l.login_id = $4`,
			scope.AccountID, string(scope.Environment), c.ProviderType, c.LoginID).Scan(&held, &status)
		switch {
		case err == nil && status != "" && status != string(banklink.StatusDeleted):
			existing = held
			return nil
		case err == nil:
			// The connection it made was deleted since: import afresh.
			if _, err := tx.ExecContext(ctx, `DELETE FROM imported_logins WHERE account_id = $1 AND environment = $2 AND provider_type = $3 AND login_id = $4`,
				scope.AccountID, string(scope.Environment), c.ProviderType, c.LoginID); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		// IN_PROGRESS for the insert, completed at once: no widget, no
		// expiry window in between.
		conn.ExpiresAt = at.Add(time.Minute)
		if err := db.startInTx(ctx, tx, cust, conn); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE connections SET status = $1, status_reason = '', provider_type = $2,
			provider_login_id = $3, completed_at = $4, updated_at = $4, routing_decision = $5,
			aggregation_requested = aggregation_requested + 1 WHERE id = $6 AND status = $7`,
			string(banklink.StatusActive), c.ProviderType, c.LoginID, micros(at), routingJSON(c.Routing), conn.ID, string(banklink.StatusInProgress))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("complete imported connection %s: %d rows, %w", conn.ID, n, err)
		}
		// The session a widget link leaves, done: the login, no chosen
		// accounts (every account the login shares is read).
		if err := db.putSession(ctx, tx, &banklink.ConnectSession{ConnectionID: conn.ID, Step: banklink.StepDone, InstitutionID: c.InstitutionID,
			ProviderType: c.ProviderType, LoginID: c.LoginID, Routing: c.Routing, UpdatedAt: at}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO imported_logins (account_id, environment, provider_type, login_id, connection_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, scope.AccountID, string(scope.Environment), c.ProviderType, c.LoginID, conn.ID, micros(at)); err != nil {
			return err
		}
		stored, err := connectionInTx(ctx, tx, conn.ID)
		if err != nil {
			return err
		}
		return db.emit(ctx, tx, scope, at, banklink.NewEvent(ctx, webhook.ConnectionCompleted, banklink.ConnectionPayload(stored)))
	})
	if isUniqueViolation(err) {
		// A concurrent import of the same login won: it holds it.
		if err := db.r.QueryRowContext(ctx, `SELECT connection_id FROM imported_logins WHERE account_id = $1 AND environment = $2 AND provider_type = $3 AND login_id = $4`,
			scope.AccountID, string(scope.Environment), c.ProviderType, c.LoginID).Scan(&existing); err != nil {
			return nil, false, fmt.Errorf("import connection: %w", err)
		}
	} else if err != nil {
		if banklink.ErrorCode(err) != banklink.EINTERNAL {
			return nil, false, err
		}
		return nil, false, fmt.Errorf("import connection: %w", err)
	}
	if existing != "" {
		stored, err := db.FindConnectionByID(ctx, scope, existing)
		return stored, true, err
	}
	stored, err := db.FindConnectionByID(ctx, scope, conn.ID)
	return stored, false, err
}

// SaveConnectionImport implements banklink.ImportStore.
func (db *DB) SaveConnectionImport(ctx context.Context, imp *banklink.ConnectionImport) error {
	if imp.CreatedAt.IsZero() {
		imp.CreatedAt = db.now()
	}
	results, err := json.Marshal(nonNil(imp.Results))
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO connection_imports (id, account_id, environment, results, created_at) VALUES ($1, $2, $3, $4, $5)`,
			imp.ID, imp.AccountID, string(imp.Environment), string(results), micros(imp.CreatedAt))
		if isUniqueViolation(err) {
			return banklink.Errorf(banklink.ECONFLICT, "Import %s exists already.", imp.ID)
		}
		if isForeignKeyViolation(err) {
			return notFound("Account")
		}
		if err != nil {
			return fmt.Errorf("save connection import: %w", err)
		}
		return nil
	})
}

// FindConnectionImport implements banklink.ImportStore.
func (db *DB) FindConnectionImport(ctx context.Context, scope banklink.Scope, id string) (*banklink.ConnectionImport, error) {
	imp := &banklink.ConnectionImport{ID: id, AccountID: scope.AccountID, Environment: scope.Environment}
	var results string
	var created int64
	err := db.r.QueryRowContext(ctx, `SELECT results, created_at FROM connection_imports WHERE id = $1 AND account_id = $2 AND environment = $3`,
		id, scope.AccountID, string(scope.Environment)).Scan(&results, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Import")
	}
	if err != nil {
		return nil, fmt.Errorf("find connection import: %w", err)
	}
	if err := json.Unmarshal([]byte(results), &imp.Results); err != nil {
		return nil, fmt.Errorf("decode connection import %s: %w", id, err)
	}
	imp.CreatedAt = fromMicros(created)
	return imp, nil
}
