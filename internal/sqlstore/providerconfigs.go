package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"banklink"
	"banklink/internal/secretbox"
)

// errNoSealer: credentials cannot be stored without an encryption key.
var errNoSealer = errors.New("no credential encryption key configured (sqlstore.Options.Sealer)")

func (db *DB) seal(id string, creds map[string]string) (string, []byte, error) {
	if db.sealer == nil {
		return "", nil, errNoSealer
	}
	plain, err := json.Marshal(nonNilMap(creds))
	if err != nil {
		return "", nil, err
	}
	return db.sealer.Seal(plain, []byte("provider_config:"+id))
}

func (db *DB) open(id, keyID string, sealed []byte) (map[string]string, error) {
	if db.sealer == nil {
		return nil, errNoSealer
	}
	plain, err := db.sealer.Open(keyID, sealed, []byte("provider_config:"+id))
	if err != nil {
		return nil, fmt.Errorf("open credentials of provider config %s: %w", id, err)
	}
	out := map[string]string{}
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, fmt.Errorf("decode credentials of provider config %s: %w", id, err)
	}
	return out, nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// SaveProviderConfig implements banklink.ProviderConfigStore.
func (db *DB) SaveProviderConfig(ctx context.Context, c *banklink.ProviderConfig) error {
	now := db.now()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var id, keyID string
		var sealed []byte
		var enabled bool
		var gen int
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT id, key_id, credentials, enabled, generation, created_at FROM provider_configs
			WHERE account_id = $1 AND environment = $2 AND provider_type = $3`,
			c.AccountID, string(c.Environment), c.ProviderType).Scan(&id, &keyID, &sealed, &enabled, &gen, &created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if c.ID == "" {
				c.ID = banklink.NewID()
			}
			c.Generation, c.CreatedAt, c.UpdatedAt = 1, now, now
			kid, box, err := db.seal(c.ID, c.Credentials)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO provider_configs (id, account_id, environment, provider_type, display_order, enabled,
				generation, key_id, credentials, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
				c.ID, c.AccountID, string(c.Environment), c.ProviderType, c.DisplayOrder, c.Enabled, c.Generation, kid, box, micros(now))
			if isForeignKeyViolation(err) {
				return notFound("Account")
			}
			return err
		case err != nil:
			return fmt.Errorf("save provider config: %w", err)
		}
		old, err := db.open(id, keyID, sealed)
		if err != nil {
			return err
		}
		c.ID, c.CreatedAt, c.UpdatedAt, c.Generation = id, fromMicros(created), now, gen
		if c.Credentials == nil {
			c.Credentials = old
		}
		// A new life: re-enabled, or other credentials. Provider-side
		// users of the old generation are not reused.
		if (c.Enabled && !enabled) || !maps.Equal(old, c.Credentials) {
			c.Generation++
		}
		kid, box, err := db.seal(c.ID, c.Credentials)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE provider_configs SET display_order = $1, enabled = $2, generation = $3, key_id = $4, credentials = $5,
			updated_at = $6 WHERE id = $7`, c.DisplayOrder, c.Enabled, c.Generation, kid, box, micros(now), c.ID)
		return err
	})
}

// FindProviderConfigs implements banklink.ProviderConfigStore.
func (db *DB) FindProviderConfigs(ctx context.Context, scope banklink.Scope) ([]*banklink.ProviderConfig, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, provider_type, display_order, enabled, generation, key_id, credentials, created_at, updated_at
		FROM provider_configs WHERE account_id = $1 AND environment = $2 ORDER BY display_order, created_at, provider_type`,
		scope.AccountID, string(scope.Environment))
	if err != nil {
		return nil, fmt.Errorf("find provider configs: %w", err)
	}
	defer rows.Close()
	out := []*banklink.ProviderConfig{}
	for rows.Next() {
		c := &banklink.ProviderConfig{AccountID: scope.AccountID, Environment: scope.Environment}
		var keyID string
		var sealed []byte
		var created, updated int64
		if err := rows.Scan(&c.ID, &c.ProviderType, &c.DisplayOrder, &c.Enabled, &c.Generation, &keyID, &sealed, &created, &updated); err != nil {
			return nil, err
		}
		if c.Credentials, err = db.open(c.ID, keyID, sealed); err != nil {
			return nil, err
		}
		c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteProviderConfig implements banklink.ProviderConfigStore.
func (db *DB) DeleteProviderConfig(ctx context.Context, scope banklink.Scope, providerType string) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM provider_configs WHERE account_id = $1 AND environment = $2 AND provider_type = $3`,
		scope.AccountID, string(scope.Environment), providerType)
	if err != nil {
		return fmt.Errorf("delete provider config: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Service provider configuration")
	}
	return nil
}

// SetRoutingRules implements banklink.RoutingStore.
func (db *DB) SetRoutingRules(ctx context.Context, scope banklink.Scope, rules []banklink.RoutingRule) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM routing_rules WHERE account_id = $1 AND environment = $2`, scope.AccountID, string(scope.Environment)); err != nil {
			return err
		}
		for _, r := range rules {
			if _, err := tx.ExecContext(ctx, `INSERT INTO routing_rules (account_id, environment, institution_id, provider_type, action)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, scope.AccountID, string(scope.Environment), r.InstitutionID, r.ProviderType, r.Action); err != nil {
				return fmt.Errorf("set routing rules: %w", err)
			}
		}
		return nil
	})
}

// FindRoutingRules implements banklink.RoutingStore.
func (db *DB) FindRoutingRules(ctx context.Context, scope banklink.Scope) ([]banklink.RoutingRule, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT institution_id, provider_type, action FROM routing_rules WHERE account_id = $1 AND environment = $2
		ORDER BY institution_id, provider_type`, scope.AccountID, string(scope.Environment))
	if err != nil {
		return nil, fmt.Errorf("find routing rules: %w", err)
	}
	defer rows.Close()
	out := []banklink.RoutingRule{}
	for rows.Next() {
		var r banklink.RoutingRule
		if err := rows.Scan(&r.InstitutionID, &r.ProviderType, &r.Action); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ProviderUser implements banklink.ProviderConfigStore.
func (db *DB) ProviderUser(ctx context.Context, customerID, configID string, generation int) (string, error) {
	var id string
	err := db.r.QueryRowContext(ctx, `SELECT provider_user_id FROM provider_users WHERE customer_id = $1 AND config_id = $2 AND generation = $3`,
		customerID, configID, generation).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find provider user: %w", err)
	}
	return id, nil
}

// SaveProviderUser implements banklink.ProviderConfigStore.
func (db *DB) SaveProviderUser(ctx context.Context, customerID, configID string, generation int, providerUserID string, at time.Time) (string, error) {
	var id string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO provider_users (customer_id, config_id, generation, provider_user_id, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, customerID, configID, generation, providerUserID, micros(at)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT provider_user_id FROM provider_users WHERE customer_id = $1 AND config_id = $2 AND generation = $3`,
			customerID, configID, generation).Scan(&id)
	})
	if isForeignKeyViolation(err) {
		return "", notFound("Service provider configuration")
	}
	if err != nil {
		return "", fmt.Errorf("save provider user: %w", err)
	}
	return id, nil
}

// SetSealer sets the encryption of provider credentials. Call it once,
// right after Open (the key may itself come from the database).
func (db *DB) SetSealer(s banklink.Sealer) { db.sealer = s }

// StoredKeyID names the credential key generated into the database when
// no keys are configured.
const StoredKeyID = "db1"

// storedSealer returns a ring with the key kept in the database, making it
// on first use (replicas racing agree on one).
func (db *DB) storedSealer(ctx context.Context) (banklink.Sealer, error) {
	k := secretbox.GenerateKey(StoredKeyID)
	secret, err := db.EnsureSecret(ctx, "credential-key:"+StoredKeyID, k.Secret)
	if err != nil {
		return nil, fmt.Errorf("credential key: %w", err)
	}
	return secretbox.NewRing(secretbox.Key{ID: StoredKeyID, Secret: secret})
}

// Sealer returns the store's credential encryption, for providers that
// keep secrets of their own (Plaid access tokens).
func (db *DB) Sealer() banklink.Sealer { return db.sealer }
