// Package httpapi is banklink's HTTP API: Meld's paths and wire format on
// the standard library's ServeMux. Handlers are methods on *Server that
// return errors; one adapter renders them.
package httpapi

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"banklink"
	"banklink/internal/connecttoken"
	"banklink/internal/linking"
	"banklink/internal/metrics"
	"banklink/internal/ratelimit"
	"banklink/internal/search"
	"banklink/internal/webhookurl"
)

// OpenAPI is the API description, served at /openapi.yaml and used by the
// tests to validate every response.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Directory gives the current institution search index.
type Directory interface {
	Current() *search.Index
}

// Config is what the HTTP layer needs from the service configuration.
type Config struct {
	// WidgetURL is the public base URL of the Connect Widget; widgetUrl in
	// responses is WidgetURL + "?connectToken=<token>".
	WidgetURL string
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// MinEligibleInstitutions: connect/start warns when a request's
	// filters leave fewer eligible institutions than this.
	MinEligibleInstitutions int
	// Providers lists the provider types enabled in each environment.
	Providers map[banklink.Environment][]string
	// RefreshInterval is the least time between two accepted refreshes of
	// one connection (default DefaultRefreshInterval).
	RefreshInterval time.Duration
	// RateLimit is the average requests per second one API key may send,
	// RateBurst how many at once; 0 disables the limit.
	RateLimit float64
	RateBurst int
	// WebhookPrivate says which environments' webhook profiles may point
	// at internal addresses (default: none).
	WebhookPrivate webhookurl.PrivateTargets
	// HSTS sends Strict-Transport-Security on every response (API,
	// widget, dashboard): set it when the public URL is https.
	HSTS bool
}

// HSTSValue is the Strict-Transport-Security header: two years, the
// public host's subdomains included.
const HSTSValue = "max-age=63072000; includeSubDomains"

// Server serves the API.
type Server struct {
	Store     banklink.Store
	Tokens    *connecttoken.Signer
	Directory Directory
	// Linking runs the use cases the handlers translate to and from HTTP.
	// New makes one for the API alone (this package's tests); wiring
	// replaces it with the one the widget and the dashboard share.
	Linking *linking.Service
	// Refresher aggregates connections on refresh; nil accepts refreshes
	// without running them (tests).
	Refresher Refresher
	Log       *slog.Logger
	Config    Config
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Metrics records every request and serves GET /metrics; nil turns
	// both off (/metrics answers 404).
	Metrics *metrics.Metrics

	mux     *http.ServeMux
	keys    keyCache
	limiter *ratelimit.Limiter
	// methods collects the methods registered per path, to answer other
	// methods with 405 and an Allow header in the error format.
	methods map[string][]string
}

// New returns a Server; call Handler to serve it.
func New(store banklink.Store, tokens *connecttoken.Signer, dir Directory, log *slog.Logger, cfg Config) *Server {
	if cfg.WebhookPrivate == "" {
		cfg.WebhookPrivate = webhookurl.PrivateNone
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{Store: store, Tokens: tokens, Directory: dir, Log: log, Config: cfg, Now: time.Now,
		mux: http.NewServeMux(), methods: map[string][]string{}, limiter: ratelimit.New(cfg.RateLimit, cfg.RateBurst)}
	// Through s.Now, so that a clock set on the Server (tests) is the
	// use cases' clock too.
	s.Linking = &linking.Service{Store: store, Tokens: tokens, Directory: dir, Log: log, Now: func() time.Time { return s.Now() },
		Config: linking.Config{WidgetURL: cfg.WidgetURL, MinEligibleInstitutions: cfg.MinEligibleInstitutions, Providers: cfg.Providers,
			RefreshInterval: cfg.RefreshInterval,
			CheckWebhookURL: func(u string, env banklink.Environment) error {
				return webhookurl.Validate(u, env, s.Config.WebhookPrivate)
			}},
		// Read at each call, so that a Refresher set after New counts.
		Runner: linking.RunnerFunc(func(ctx context.Context, scope banklink.Scope, id string) error {
			if s.Refresher == nil {
				return nil
			}
			return s.Refresher.Start(ctx, scope, id)
		})}
	s.routes()
	return s
}

// Handler returns the HTTP handler of the whole API.
func (s *Server) Handler() http.Handler {
	h := s.observe(s.mux)
	if !s.Config.HSTS {
		return h
	}
	// Outermost, so that every answer carries it: errors, 404s and the
	// routes of the widget and the dashboard too.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", HSTSValue)
		h.ServeHTTP(w, r)
	})
}

// Mux exposes the router so other packages (the widget, the dashboard) can
// add their routes behind the same middleware.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// HandlerFunc is an HTTP handler that returns its error, for packages
// that add routes to the Server (the widget).
type HandlerFunc = handlerFunc

// Route registers a handler behind the server's middleware: errors are
// rendered in the error format and other methods get a 405.
func (s *Server) Route(pattern string, h HandlerFunc) { s.route(pattern, h) }

// api registers an authenticated, versioned Meld endpoint, with the
// versions EndpointVersions lists for it.
func (s *Server) api(pattern string, h handlerFunc) {
	versions, ok := EndpointVersions[pattern]
	if !ok {
		panic("httpapi: no EndpointVersions entry for " + pattern)
	}
	switch {
	case pattern == createTokenPattern:
		h = refuseIdempotencyKey(h)
	case strings.HasPrefix(pattern, "POST ") || strings.HasPrefix(pattern, "DELETE "):
		h = s.idempotent(h)
	}
	query := queryParams[pattern]
	if query == nil {
		query = map[string]paramKind{}
	}
	// Input is checked after authentication, so a caller without a key
	// learns nothing about the route but that it needs one.
	s.register(pattern, apiHeaders(s.authenticate(s.versioned(versions, checkInput(pattern, query, h)))))
}

// APIHeaders are the headers Meld sends on every API answer (recorded
// from its sandbox): nothing is cached (a connect token must never sit in
// a cache), content types are not sniffed, and no page may frame an API
// answer. Strict-Transport-Security comes with Config.HSTS. The widget's
// and the dashboard's pages set their own.
var APIHeaders = [][2]string{
	{"Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"},
	{"Pragma", "no-cache"},
	{"Expires", "0"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
}

// apiHeaders sets APIHeaders on the answer of h, error or not.
func apiHeaders(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		for _, kv := range APIHeaders {
			w.Header().Set(kv[0], kv[1])
		}
		return h(w, r)
	}
}

// route registers a handler whose path values are checked; its query is
// its own.
func (s *Server) route(pattern string, h handlerFunc) {
	s.register(pattern, checkInput(pattern, nil, h))
}

// register adds a handler to the mux and remembers its method for 405
// answers.
func (s *Server) register(pattern string, h handlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	s.mux.Handle(pattern, s.handle(h))
	if !slices.Contains(s.methods[path], method) {
		if len(s.methods[path]) == 0 {
			s.handleOtherMethods(method, path)
		}
		s.methods[path] = append(s.methods[path], method)
	}
}

// handleOtherMethods answers 405 on path for the methods not registered.
// A literal path that a wildcard route of another method also matches
// (POST /bank-linking/connections/import beside GET
// /bank-linking/connections/{id}) cannot take a method-less pattern (the
// mux refuses the overlap): it gets one pattern per other method instead,
// so it must be registered with all its methods at once, as those are.
func (s *Server) handleOtherMethods(method, path string) {
	h := s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return s.methodNotAllowed(s.methods[path])(w, r)
	})
	defer func() {
		if recover() == nil {
			return
		}
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if m != method {
				s.mux.Handle(m+" "+path, h)
			}
		}
	}()
	s.mux.Handle(path, h)
}

func (s *Server) routes() {
	s.api("POST /bank-linking/connect/start", s.handleConnectStart)
	s.api("POST /bank-linking/connect/repair", s.handleConnectRepair)
	s.api("GET /bank-linking/connections", s.handleSearchConnections)
	s.api("GET /bank-linking/connections/{id}", s.handleGetConnection)
	s.api("DELETE /bank-linking/connections/{id}", s.handleDeleteConnection)
	s.api("POST /bank-linking/connections/{id}/refresh", s.handleRefreshConnection)
	s.api("POST /bank-linking/connections/{id}/update", s.handleUpdateConnection)
	s.api(importPattern, s.handleImportConnections)
	s.api("GET /bank-linking/imports/{id}", s.handleGetImport)
	s.api("GET /bank-linking/accounts", s.handleSearchFinancialAccounts)
	s.api(createTokenPattern, s.handleCreateProcessorToken)
	s.api("POST /bank-linking/accounts/{id}/processors/revoke-token", s.handleRevokeProcessorToken)
	s.api("GET /bank-linking/accounts/{id}", getOne(s.Store.FindFinancialAccountByID, financialAccountJSON))
	s.api("GET /bank-linking/transactions", s.handleSearchTransactions)
	s.api("GET /bank-linking/transactions/{id}", getOne(s.Store.FindTransactionByID, transactionJSON))
	s.api("GET /bank-linking/investments/holdings", s.handleSearchHoldings)
	s.api("GET /bank-linking/investments/holdings/{id}", getOne(s.Store.FindHoldingByID, holdingJSON))
	s.api("GET /bank-linking/investments/transactions", s.handleSearchInvestmentTransactions)
	s.api("GET /bank-linking/investments/transactions/{id}", getOne(s.Store.FindInvestmentTransactionByID, investmentTransactionJSON))
	s.api("POST /accounts/customers", s.handleCreateCustomer)
	s.api("GET /accounts/customers", s.handleSearchCustomers)
	s.api("DELETE /accounts/customers/{id}", s.handleDeleteCustomer)
	s.api("GET /institutions", s.handleSearchInstitutions)
	s.api("GET /institutions/{id}", s.handleGetInstitution)
	s.api("PUT /service-providers/{provider}", s.handlePutServiceProvider)
	s.api("GET /service-providers", s.handleSearchServiceProviders)
	s.api("DELETE /service-providers/{provider}", s.handleDeleteServiceProvider)
	s.api("GET /routing/rules", s.handleGetRoutingRules)
	s.api("PUT /routing/rules", s.handlePutRoutingRules)
	s.api("POST /webhooks/profiles", s.handleCreateWebhookProfile)
	s.api("GET /webhooks/profiles", s.handleSearchWebhookProfiles)
	s.api("GET /webhooks/profiles/{id}", s.handleGetWebhookProfile)
	s.api("PATCH /webhooks/profiles/{id}", s.handleUpdateWebhookProfile)
	s.api("DELETE /webhooks/profiles/{id}", s.handleDeleteWebhookProfile)
	s.api("POST /webhooks/profiles/{id}/rotate-secret", s.handleRotateWebhookSecret)
	s.api("POST /webhooks/test", s.handleTestWebhook)
	s.api("GET /webhooks/events", s.handleSearchEvents)
	s.api("GET /webhooks/events/{id}", s.handleGetEvent)
	s.api("POST /webhooks/events/{id}/redeliver", s.handleRedeliverEvent)
	s.api("GET /activity-log", s.handleSearchActivity)
	s.api("GET /bank-linking/app-profile", s.handleGetAppProfile)
	s.api("PATCH /bank-linking/app-profile", s.handleUpdateAppProfile)

	s.route("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(OpenAPI)
		return nil
	})
	s.route("GET /healthz", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	})
	s.route("GET /metrics", func(w http.ResponseWriter, r *http.Request) error {
		if s.Metrics == nil {
			return banklink.Errorf(banklink.ENOTFOUND, "Metrics are disabled on this server (-metrics=false).")
		}
		s.Metrics.Handler().ServeHTTP(w, r)
		return nil
	})
	s.route("GET /readyz", func(w http.ResponseWriter, r *http.Request) error {
		if err := s.Store.Ping(r.Context()); err != nil {
			return &banklink.Error{Code: banklink.EUNAVAILABLE, Message: "Database is not reachable.", Err: err}
		}
		if s.Directory == nil || s.Directory.Current() == nil {
			return banklink.Errorf(banklink.EUNAVAILABLE, "Institution directory is not loaded yet.")
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
		return nil
	})
	// Anything else is a 404 in the error format, not the mux's plain text.
	s.mux.Handle("/", s.handle(apiHeaders(func(w http.ResponseWriter, r *http.Request) error {
		return banklink.Errorf(banklink.ENOTFOUND, "No endpoint %s %s.", r.Method, truncate(r.URL.Path, 200))
	})))
}
