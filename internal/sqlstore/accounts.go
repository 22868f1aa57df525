package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"banklink"
)

// CreateAccount implements banklink.AccountStore.
func (db *DB) CreateAccount(ctx context.Context, a *banklink.Account) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = db.now()
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)`,
		a.ID, a.Name, micros(a.CreatedAt))
	if isUniqueViolation(err) {
		return banklink.Errorf(banklink.ECONFLICT, "Account %s already exists.", a.ID)
	}
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	return nil
}

// FindAccountByID implements banklink.AccountStore.
func (db *DB) FindAccountByID(ctx context.Context, id string) (*banklink.Account, error) {
	var a banklink.Account
	var created int64
	err := db.r.QueryRowContext(ctx, `SELECT id, name, created_at FROM accounts WHERE id = $1`, id).Scan(&a.ID, &a.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Account")
	}
	if err != nil {
		return nil, fmt.Errorf("find account %q: %w", id, err)
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// FindAccounts implements banklink.AccountStore.
func (db *DB) FindAccounts(ctx context.Context) ([]*banklink.Account, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, name, created_at FROM accounts ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("find accounts: %w", err)
	}
	defer rows.Close()
	var out []*banklink.Account
	for rows.Next() {
		var a banklink.Account
		var created int64
		if err := rows.Scan(&a.ID, &a.Name, &created); err != nil {
			return nil, fmt.Errorf("find accounts: %w", err)
		}
		a.CreatedAt = fromMicros(created)
		out = append(out, &a)
	}
	return out, rows.Err()
}

const apiKeyColumns = `id, account_id, environment, name, secret_hash, version, created_at, revoked_at`

func scanAPIKey(row scanner) (*banklink.APIKey, error) {
	var k banklink.APIKey
	var env string
	var created int64
	var revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.AccountID, &env, &k.Name, &k.SecretHash, &k.Version, &created, &revoked); err != nil {
		return nil, err
	}
	k.Environment = banklink.Environment(env)
	k.CreatedAt = fromMicros(created)
	k.RevokedAt = fromNullMicros(revoked)
	return &k, nil
}

// CreateAPIKey implements banklink.APIKeyStore.
func (db *DB) CreateAPIKey(ctx context.Context, k *banklink.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)`,
		k.ID, k.AccountID, string(k.Environment), k.Name, k.SecretHash, k.Version, micros(k.CreatedAt))
	switch {
	case isForeignKeyViolation(err):
		return notFound("Account")
	case isUniqueViolation(err):
		return banklink.Errorf(banklink.ECONFLICT, "API key %s already exists.", k.ID)
	case err != nil:
		return fmt.Errorf("create api key: %w", err)
	}
	return nil
}

// FindAPIKeyByID implements banklink.APIKeyStore.
func (db *DB) FindAPIKeyByID(ctx context.Context, id string) (*banklink.APIKey, error) {
	k, err := scanAPIKey(db.queryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("API key")
	}
	if err != nil {
		return nil, fmt.Errorf("find api key: %w", err)
	}
	return k, nil
}

// FindAPIKeys implements banklink.APIKeyStore.
func (db *DB) FindAPIKeys(ctx context.Context, accountID string) ([]*banklink.APIKey, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("find api keys: %w", err)
	}
	defer rows.Close()
	var out []*banklink.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("find api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey implements banklink.APIKeyStore.
func (db *DB) RevokeAPIKey(ctx context.Context, accountID, id string, at time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM api_keys WHERE id = $1 AND account_id = $2`, id, accountID).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("API key")
		}
		if err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		if revoked.Valid {
			return banklink.Errorf(banklink.ECONFLICT, "API key %s is already revoked.", id)
		}
		// The revoked_at IS NULL guard keeps a concurrent revoke on another
		// replica from being reported as a second success.
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, micros(at), id)
		if err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return banklink.Errorf(banklink.ECONFLICT, "API key %s is already revoked.", id)
		}
		return nil
	})
}

// CountAPIKeys implements banklink.APIKeyStore.
func (db *DB) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count api keys: %w", err)
	}
	return n, nil
}
