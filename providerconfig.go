package banklink

import (
	"context"
	"time"
)

// ProviderConfig enables one provider type for an account in one
// environment, with the account's own credentials for it. Credentials are
// encrypted at rest and never returned by the API or logged.
type ProviderConfig struct {
	ID           string
	AccountID    string
	Environment  Environment
	ProviderType string
	// DisplayOrder places the provider in the routing waterfall (lowest
	// first).
	DisplayOrder int
	Enabled      bool
	// Generation counts the provider's lives: it grows when the provider is
	// re-enabled or its credentials change, and provider-side users are
	// kept per generation, so a customer linked under an old generation is
	// provisioned afresh instead of reusing an id the new credentials do
	// not know.
	Generation  int
	Credentials map[string]string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// RoutingRule forces or excludes a provider at one institution for an
// account and environment.
type RoutingRule struct {
	InstitutionID string
	ProviderType  string
	Action        string // FORCE or EXCLUDE
}

// ProviderConfigStore keeps provider configurations, routing rules and the
// provider-side users of customers.
type ProviderConfigStore interface {
	// SaveProviderConfig inserts or updates c (by scope and provider
	// type), encrypting its credentials; it bumps Generation when an
	// existing configuration is re-enabled or given new credentials.
	// Returns ENOTFOUND if the account does not exist.
	SaveProviderConfig(ctx context.Context, c *ProviderConfig) error
	// FindProviderConfigs lists the scope's configurations in waterfall
	// order, credentials decrypted.
	FindProviderConfigs(ctx context.Context, scope Scope) ([]*ProviderConfig, error)
	// DeleteProviderConfig removes a configuration (ENOTFOUND if none).
	DeleteProviderConfig(ctx context.Context, scope Scope, providerType string) error
	// ProviderUser returns the provider-side user of a customer under one
	// configuration generation, or "" if none was made yet;
	// SaveProviderUser records one (the first write wins under a race and
	// is returned).
	ProviderUser(ctx context.Context, customerID, configID string, generation int) (string, error)
	SaveProviderUser(ctx context.Context, customerID, configID string, generation int, providerUserID string, at time.Time) (string, error)
}

// RoutingStore keeps an account's routing rules.
type RoutingStore interface {
	// SetRoutingRules replaces the scope's rules; FindRoutingRules lists
	// them.
	SetRoutingRules(ctx context.Context, scope Scope, rules []RoutingRule) error
	FindRoutingRules(ctx context.Context, scope Scope) ([]RoutingRule, error)
}

// Sealer encrypts small secrets at rest (internal/secretbox.Ring). The
// associated data binds a sealed value to its row.
type Sealer interface {
	Seal(plaintext, associatedData []byte) (keyID string, sealed []byte, err error)
	Open(keyID string, sealed, associatedData []byte) ([]byte, error)
}

// UserProvisioner is a provider whose logins belong to a provider-side
// user (MX users, sandbox-b): banklink creates one per customer and
// provider configuration generation.
type UserProvisioner interface {
	// CreateUser creates (or finds) the provider user for the app's
	// customer under these credentials.
	CreateUser(ctx context.Context, credentials map[string]string, externalCustomerID string) (string, error)
}

// CredentialsFor returns the credentials of providerType's configuration
// among configs (an account's), nil when it has none: the provider then
// uses the deployment's. A disabled configuration still counts: the
// connections linked under it were linked with its keys.
func CredentialsFor(configs []*ProviderConfig, providerType string) map[string]string {
	for _, c := range configs {
		if c.ProviderType == providerType && len(c.Credentials) > 0 {
			return c.Credentials
		}
	}
	return nil
}
