package banklink

import (
	"context"
	"time"
)

// Store is everything banklink persists. internal/sqlstore implements it on
// SQLite and PostgreSQL; internal/storetest is the conformance suite both
// pass.
type Store interface {
	AccountStore
	APIKeyStore
	CustomerStore
	ConnectionStore
	AggregationWorkStore
	ConnectSessionStore
	WidgetOriginStore
	AppProfileStore
	AccountDataStore
	InvestmentStore
	WebhookProfileStore
	EventStore
	DeliveryStore
	ProviderConfigStore
	RoutingStore
	ProviderHealthStore
	InstitutionStore
	SecretStore
	IdempotencyStore
	OperatorStore
	FunnelStore
	ProcessorTokenStore
	ImportStore
	ActivityStore
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	Close() error
}

// ErrorClassifier is implemented by stores that can say what a raw driver
// error means to a client. The HTTP layer asks it about every error that
// is not already an *Error, so a database outage is a 503 and a value the
// database cannot hold is a 400, not a 500, wherever they surface.
type ErrorClassifier interface {
	// ClassifyError returns err as an *Error with code EUNAVAILABLE when
	// the database is unreachable (refused or lost connections, too many
	// clients, shutting down) and EBADREQUEST when it refused a value
	// (a NUL or invalid UTF-8 in text); otherwise err itself.
	ClassifyError(err error) error
}

// AccountStore keeps tenants.
type AccountStore interface {
	// CreateAccount inserts a. Returns ECONFLICT if its id exists.
	CreateAccount(ctx context.Context, a *Account) error
	// FindAccountByID returns ENOTFOUND if there is no such account.
	FindAccountByID(ctx context.Context, id string) (*Account, error)
	// FindAccounts returns every account, oldest first.
	FindAccounts(ctx context.Context) ([]*Account, error)
}

// APIKeyStore keeps API keys.
type APIKeyStore interface {
	// CreateAPIKey inserts k. Returns ENOTFOUND if its account does not
	// exist.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// FindAPIKeyByID returns ENOTFOUND if there is no such key. Revoked
	// keys are returned too; callers check Revoked.
	FindAPIKeyByID(ctx context.Context, id string) (*APIKey, error)
	// FindAPIKeys returns the keys of an account, oldest first.
	FindAPIKeys(ctx context.Context, accountID string) ([]*APIKey, error)
	// RevokeAPIKey marks a key revoked. Returns ENOTFOUND if the account has
	// no such key and ECONFLICT if it is already revoked.
	RevokeAPIKey(ctx context.Context, accountID, id string, at time.Time) error
	// CountAPIKeys counts every key, revoked or not.
	CountAPIKeys(ctx context.Context) (int, error)
}

// InstitutionStore keeps the institution directory.
type InstitutionStore interface {
	// UpsertInstitutions inserts or replaces institutions by id and bumps
	// the directory version once.
	UpsertInstitutions(ctx context.Context, list []*Institution) error
	// FindInstitutionByID returns ENOTFOUND if there is no such
	// institution.
	FindInstitutionByID(ctx context.Context, id string) (*Institution, error)
	// FindInstitutions returns the whole directory, ordered by rank then
	// name, for building the in-memory search index.
	FindInstitutions(ctx context.Context) ([]*Institution, error)
	// InstitutionsVersion returns a number that changes whenever the
	// directory does, so replicas know when to rebuild their index.
	InstitutionsVersion(ctx context.Context) (int64, error)
}

// SecretStore keeps service-generated secrets such as the connect-token
// signing key.
type SecretStore interface {
	// EnsureSecret returns the secret called name, storing value first if
	// there is none yet. When replicas race, the first write wins and all
	// of them return the same secret.
	EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// IdempotentResponse is a stored answer to a request sent with an
// Idempotency-Key. Status 0 means the first request is still running.
type IdempotentResponse struct {
	RequestHash string
	Status      int
	Header      map[string]string
	Body        []byte
	CreatedAt   time.Time
}

// IdempotencyStore keeps responses for Idempotency-Key replays.
type IdempotencyStore interface {
	// BeginIdempotent claims key for a request with hash. It returns
	// (nil, true) when this caller claimed it and must run the request,
	// or the stored (possibly in-flight) response otherwise. Records
	// older than ttl are forgotten.
	BeginIdempotent(ctx context.Context, scope Scope, key, hash string, at time.Time, ttl time.Duration) (*IdempotentResponse, bool, error)
	// FinishIdempotent stores the response of a claimed key.
	FinishIdempotent(ctx context.Context, scope Scope, key string, r *IdempotentResponse) error
	// AbandonIdempotent releases a claimed key (the request failed in a
	// way a retry may fix).
	AbandonIdempotent(ctx context.Context, scope Scope, key string) error
}

// ProviderHealthStore remembers recent outcomes of logins and aggregations
// per provider and institution, shared by every replica, so routing can
// avoid a pair that keeps failing.
type ProviderHealthStore interface {
	// RecordProviderAttempt records one outcome. Failures carry a reason.
	// Under BestEffort it may return before the write is done, and
	// ProviderFailures may not see it at once.
	RecordProviderAttempt(ctx context.Context, provider, institutionID string, ok bool, reason string, at time.Time) error
	// ProviderFailures counts the failures since the pair's last success
	// and after since, with the latest failure's reason.
	ProviderFailures(ctx context.Context, provider, institutionID string, since time.Time) (n int, lastReason string, err error)
}

// RemainingCap bounds the "remaining" count of every list: a store counts
// the records beyond a page up to this many and reports RemainingCap when
// there are at least as many. An exact count costs a walk over every
// record beyond the page, so the first page of a tenant's two million
// transactions cost as much as reading them all; bounded, every page
// costs about the same whatever the list's length. A client that pages
// while remaining > 0 sees every record either way. It is the largest
// page (transactions' limit): "1000" reads "at least one more full page".
// Measured with bench -scale (20,000 connections), counting to 10,000
// still cost 10 ms on PostgreSQL's first page of connections.
const RemainingCap = 1000
