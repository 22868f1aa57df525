package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"banklink"
)

// FindAppProfile implements banklink.AppProfileStore.
func (db *DB) FindAppProfile(ctx context.Context, scope banklink.Scope) (*banklink.AppProfile, error) {
	var p banklink.AppProfile
	var updated int64
	err := db.r.QueryRowContext(ctx, `SELECT display_name, logo_url, privacy_policy_url, brand_color, updated_at
		FROM app_profiles WHERE account_id = $1 AND environment = $2`, scope.AccountID, string(scope.Environment)).Scan(
		&p.DisplayName, &p.LogoURL, &p.PrivacyPolicyURL, &p.BrandColor, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return &banklink.AppProfile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find app profile: %w", err)
	}
	p.UpdatedAt = fromMicros(updated)
	return &p, nil
}

// SaveAppProfile implements banklink.AppProfileStore.
func (db *DB) SaveAppProfile(ctx context.Context, scope banklink.Scope, p *banklink.AppProfile) error {
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = db.now()
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO app_profiles (account_id, environment, display_name, logo_url, privacy_policy_url, brand_color, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (account_id, environment) DO UPDATE SET display_name = excluded.display_name, logo_url = excluded.logo_url,
				privacy_policy_url = excluded.privacy_policy_url, brand_color = excluded.brand_color, updated_at = excluded.updated_at`,
			scope.AccountID, string(scope.Environment), p.DisplayName, p.LogoURL, p.PrivacyPolicyURL, p.BrandColor, micros(p.UpdatedAt))
		if isForeignKeyViolation(err) {
			return notFound("Account")
		}
		if err != nil {
			return fmt.Errorf("save app profile: %w", err)
		}
		return nil
	})
}
