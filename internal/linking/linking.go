// Package linking holds the use cases of bank linking: starting a
// connection, completing and repairing it, refreshing, updating and
// deleting it, configuring providers and routing, and receiving provider
// events. It decides; the HTTP adapters (internal/httpapi, the widget, the
// dashboard) only translate requests and answers, and the store persists
// what it is handed, a change and its events in one transaction.
//
// Each dependency is an interface declared here with only the methods
// the use cases call, so a reader sees what linking touches and a test
// can hand it anything that has them.
package linking

import (
	"context"
	"log/slog"
	"time"

	"banklink"
	"banklink/internal/connecttoken"
	"banklink/internal/search"
)

// Store is what the use cases read and write.
type Store interface {
	StartConnection(ctx context.Context, cust *banklink.Customer, conn *banklink.Connection) error
	FindCustomerByID(ctx context.Context, scope banklink.Scope, id string) (*banklink.Customer, error)
	FindConnectionByID(ctx context.Context, scope banklink.Scope, id string) (*banklink.Connection, error)
	FindConnectSession(ctx context.Context, connectionID string) (*banklink.ConnectSession, error)
	CompleteConnectSession(ctx context.Context, scope banklink.Scope, s *banklink.ConnectSession, c banklink.Completion, repairOf int64) (*banklink.Connection, error)
	RecordFunnelStep(ctx context.Context, step banklink.FunnelStep) error
	RecordActivity(ctx context.Context, e *banklink.ActivityEvent) error
	EmitEvents(ctx context.Context, scope banklink.Scope, events ...*banklink.Event) error
	PruneActivity(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteConnection(ctx context.Context, scope banklink.Scope, id string, at time.Time) (*banklink.Connection, error)
	AcceptRefresh(ctx context.Context, scope banklink.Scope, id string, at time.Time, minInterval time.Duration) (next time.Time, err error)
	AddOptionalProducts(ctx context.Context, scope banklink.Scope, id string, products []banklink.Product, at time.Time) (*banklink.Connection, error)
	FindProviderConfigs(ctx context.Context, scope banklink.Scope) ([]*banklink.ProviderConfig, error)
	SaveProviderConfig(ctx context.Context, c *banklink.ProviderConfig) error
	SetRoutingRules(ctx context.Context, scope banklink.Scope, rules []banklink.RoutingRule) error
	FindWebhookProfiles(ctx context.Context, scope banklink.Scope) ([]*banklink.WebhookProfile, error)
	FindWebhookProfileByID(ctx context.Context, scope banklink.Scope, id string) (*banklink.WebhookProfile, error)
	CreateWebhookProfile(ctx context.Context, p *banklink.WebhookProfile) error
	UpdateWebhookProfile(ctx context.Context, p *banklink.WebhookProfile) error
	FindConnectionsByProviderLogin(ctx context.Context, providerType, loginID string) ([]*banklink.Connection, error)
	ChangeConnectionStatus(ctx context.Context, scope banklink.Scope, id string, c banklink.StatusChange) (bool, error)
	FindFinancialAccountByID(ctx context.Context, scope banklink.Scope, id string) (*banklink.FinancialAccount, error)
	CreateProcessorToken(ctx context.Context, t *banklink.ProcessorToken, ev *banklink.Event) error
	RevokeProcessorToken(ctx context.Context, scope banklink.Scope, financialAccountID, token string, at time.Time, makeEvent func(*banklink.ProcessorToken) *banklink.Event) (*banklink.ProcessorToken, error)
	ImportConnection(ctx context.Context, cust *banklink.Customer, conn *banklink.Connection, c banklink.Completion) (*banklink.Connection, bool, error)
	SaveConnectionImport(ctx context.Context, imp *banklink.ConnectionImport) error
	FindAppProfile(ctx context.Context, scope banklink.Scope) (*banklink.AppProfile, error)
	SaveAppProfile(ctx context.Context, scope banklink.Scope, p *banklink.AppProfile) error
}

// Runner aggregates connections: Start begins (or resumes) the work a
// completion or refresh made durable.
type Runner interface {
	Start(ctx context.Context, scope banklink.Scope, connectionID string) error
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, scope banklink.Scope, connectionID string) error

// Start calls f.
func (f RunnerFunc) Start(ctx context.Context, scope banklink.Scope, connectionID string) error {
	return f(ctx, scope, connectionID)
}

// Directory gives the current institution search index.
type Directory interface {
	Current() *search.Index
}

// TokenSigner mints connect tokens.
type TokenSigner interface {
	Mint(c connecttoken.Claims) (string, time.Time, error)
}

// Config is what the use cases need from the service configuration.
type Config struct {
	// WidgetURL is the public base URL of the Connect Widget; a widget
	// URL handed out is WidgetURL + "?connectToken=<token>".
	WidgetURL string
	// MinEligibleInstitutions: starting a connection warns when its
	// filters leave fewer eligible institutions than this.
	MinEligibleInstitutions int
	// Providers lists the provider types enabled in each environment.
	Providers map[banklink.Environment][]string
	// RefreshInterval is the least time between two accepted refreshes of
	// one connection (default DefaultRefreshInterval).
	RefreshInterval time.Duration
	// CheckWebhookURL refuses webhook URLs this deployment will not
	// deliver to (the webhook sender's SSRF rules); nil accepts any.
	CheckWebhookURL func(url string, env banklink.Environment) error
}

// Service runs the use cases.
type Service struct {
	Store     Store
	Tokens    TokenSigner
	Directory Directory
	Config    Config
	// Providers finds the providers' capabilities; nil means none has
	// any (tests).
	Providers Providers
	// Runner starts aggregations; nil leaves the durable work for the
	// runner's own resume loop (tests).
	Runner Runner
	// Log receives the use cases' logs; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// truncate bounds user input quoted in error messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
