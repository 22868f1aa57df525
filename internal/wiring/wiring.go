// Package wiring assembles banklink: one application layer (linking),
// the aggregation runner, and the HTTP adapters (API, widget, dashboard)
// that translate to it, with the providers of a registry. It is the one
// place the adapters meet: `serve`, every test stack that runs the whole
// service, and the load harness call New, so what is tested and measured
// is what runs.
//
// New does not start background work or listen: the caller owns the
// store, the directory's refresh loop, the webhook sender and the HTTP
// server, because those differ (a real listener, an httptest server, two
// replicas on one database).
package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/connecttoken"
	"banklink/internal/dashboard"
	"banklink/internal/httpapi"
	"banklink/internal/httpx"
	"banklink/internal/linking"
	"banklink/internal/metrics"
	"banklink/internal/providers"
	"banklink/internal/search"
	"banklink/internal/webhookurl"
	"banklink/internal/widget"
)

// Parts are what the caller makes and owns.
type Parts struct {
	Store     banklink.Store
	Tokens    *connecttoken.Signer
	Directory *search.Live
	Providers *providers.Registry
	// Log receives every component's logs; nil discards them.
	Log *slog.Logger
}

// Options are the service's settings (from config.Config in serve).
type Options struct {
	// PublicURL is banklink's public base URL; HSTS is sent when it is
	// https.
	PublicURL string
	// WidgetURL is the Connect Widget's public URL (default
	// PublicURL/connect).
	WidgetURL string
	// Providers lists the provider types enabled per environment, in
	// waterfall order.
	Providers               map[banklink.Environment][]string
	MinEligibleInstitutions int
	RefreshInterval         time.Duration
	// RateLimit/RateBurst bound one API key, WidgetRateLimit/Burst one
	// widget session; 0 turns a limit off.
	RateLimit       float64
	RateBurst       int
	WidgetRateLimit float64
	WidgetRateBurst int
	WebhookPrivate  webhookurl.PrivateTargets
	// AggregationLease is how long a replica holds aggregation work
	// without renewing it (0: aggregation.DefaultLease).
	AggregationLease time.Duration
	// AggregationWorkers bounds the aggregations running at once (0:
	// aggregation.DefaultMaxRunning).
	AggregationWorkers int
	// Metrics records requests and serves GET /metrics.
	Metrics bool
	// Demo serves the demo page at / in its own account (DemoAccountID).
	Demo bool
	// Dashboard adjusts the dashboard's settings beyond the public URL
	// (tests: lockout thresholds).
	Dashboard func(*dashboard.Config)
	// Widget adjusts the widget's settings (tests: rate limits).
	Widget func(*widget.Config)
	// Now is every component's clock; nil means time.Now. Tests that move
	// time pass a function reading their own clock.
	Now func() time.Time
	// AfterAggregationStart, when set, is called after each aggregation
	// the use cases accepted (a completed or repaired link, a refresh,
	// added products): the load harness counts work in flight with it.
	AfterAggregationStart func(scope banklink.Scope, connectionID string)
}

// Service is the assembled service.
type Service struct {
	Linking   *linking.Service
	Runner    *aggregation.Runner
	API       *httpapi.Server
	Widget    *widget.Widget
	Dashboard *dashboard.Dashboard
	Metrics   *metrics.Metrics
	Providers *providers.Registry
}

// New assembles the service from p and o.
func New(p Parts, o Options) (*Service, error) {
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Providers == nil {
		p.Providers = providers.New()
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	widgetURL := o.WidgetURL
	if widgetURL == "" {
		widgetURL = strings.TrimSuffix(o.PublicURL, "/") + "/connect"
	}
	s := &Service{Providers: p.Providers}
	if o.Metrics {
		s.Metrics = metrics.New()
	}

	s.Runner = aggregation.New(p.Store, p.Providers.Aggregators(), p.Log)
	s.Runner.Metrics = s.Metrics
	s.Runner.Now = now
	s.Runner.MaxRunning = o.AggregationWorkers
	if o.AggregationLease > 0 {
		s.Runner.Lease = o.AggregationLease
	}
	var runner linking.Runner = s.Runner
	if o.AfterAggregationStart != nil {
		runner = linking.RunnerFunc(func(ctx context.Context, scope banklink.Scope, id string) error {
			err := s.Runner.Start(ctx, scope, id)
			if err == nil {
				o.AfterAggregationStart(scope, id)
			}
			return err
		})
	}
	private := o.WebhookPrivate
	if private == "" {
		private = webhookurl.PrivateNone
	}
	// The one application layer every adapter translates to.
	s.Linking = &linking.Service{Store: p.Store, Tokens: p.Tokens, Directory: p.Directory, Log: p.Log, Now: now,
		Providers: p.Providers, Runner: runner,
		Config: linking.Config{WidgetURL: widgetURL, MinEligibleInstitutions: o.MinEligibleInstitutions, Providers: o.Providers,
			RefreshInterval: o.RefreshInterval,
			CheckWebhookURL: func(u string, env banklink.Environment) error { return webhookurl.Validate(u, env, private) }}}

	s.API = httpapi.New(p.Store, p.Tokens, p.Directory, p.Log, httpapi.Config{
		WidgetURL:               widgetURL,
		MinEligibleInstitutions: o.MinEligibleInstitutions,
		Providers:               o.Providers,
		RefreshInterval:         o.RefreshInterval,
		RateLimit:               o.RateLimit,
		RateBurst:               o.RateBurst,
		WebhookPrivate:          private,
		// An https public URL means browsers reach banklink over TLS
		// only: tell them to keep to it.
		HSTS: strings.HasPrefix(o.PublicURL, "https://"),
	})
	s.API.Now = now
	s.API.Metrics = s.Metrics
	s.API.Linking = s.Linking
	s.API.Refresher = s.Runner

	wcfg := widget.Config{WidgetURL: widgetURL, Providers: o.Providers, RateLimit: o.WidgetRateLimit, RateBurst: o.WidgetRateBurst}
	if o.Demo {
		wcfg.Demo = &demoBackend{linking: s.Linking, store: p.Store}
	}
	if o.Widget != nil {
		o.Widget(&wcfg)
	}
	w, err := widget.New(p.Store, p.Tokens, p.Directory, p.Providers.Logins(), p.Log, wcfg)
	if err != nil {
		return nil, fmt.Errorf("widget: %w", err)
	}
	w.Now = now
	w.Linking = s.Linking
	w.Register(s.API)
	s.Widget = w

	dcfg := dashboard.Config{PublicURL: o.PublicURL}
	if o.Dashboard != nil {
		o.Dashboard(&dcfg)
	}
	s.Dashboard = dashboard.New(dcfg)
	s.Dashboard.Now = now
	s.Dashboard.Register(s.API, dashboard.Deps{Store: p.Store, Log: p.Log, Linking: s.Linking,
		ForgetAPIKey: s.API.ForgetAPIKey, APIVersion: httpapi.LatestVersion})

	// Providers' webhooks (Plaid's Item webhooks…): each verified by its
	// provider's signature, not an API key.
	s.API.RegisterProviderWebhooks(p.Providers, s.Runner)
	return s, nil
}

// Handler is the whole service's HTTP handler. Its JSON and pages are
// gzipped for clients that accept it (the widget's and the dashboard's
// static assets come precompressed): a page of 100 transactions shrinks
// about tenfold.
func (s *Service) Handler() http.Handler { return httpx.Gzip(s.API.Handler()) }

// DemoAccountID is the account the demo page works in: its own tenant,
// so the demo's unauthenticated endpoints never see or touch an app's
// customers and connections.
const DemoAccountID = "1111111111DemoAccount1"

// EnsureDemoAccount creates the demo account unless it exists.
func EnsureDemoAccount(ctx context.Context, db banklink.Store) error {
	_, err := db.FindAccountByID(ctx, DemoAccountID)
	if banklink.ErrorCode(err) != banklink.ENOTFOUND {
		return err
	}
	err = db.CreateAccount(ctx, &banklink.Account{ID: DemoAccountID, Name: "Demo (the sandbox demo page at /)"})
	if banklink.ErrorCode(err) == banklink.ECONFLICT { // another replica made it
		return nil
	}
	return err
}

// demoBackend is the demo page's pretend app server: it starts sandbox
// connections in the demo account, as an app's backend would with its
// sandbox key.
type demoBackend struct {
	linking *linking.Service
	store   banklink.Store
}

var demoScope = banklink.Scope{AccountID: DemoAccountID, Environment: banklink.Sandbox}

func (d *demoBackend) StartDemo(ctx context.Context, externalCustomerID string) (string, string, error) {
	resp, err := d.linking.StartConnection(ctx, demoScope, &linking.StartRequest{
		ExternalCustomerID: &externalCustomerID,
		Products:           []string{"BALANCES", "TRANSACTIONS"},
		OptionalProducts:   []string{"OWNERS", "IDENTIFIERS"},
		Regions:            []string{"US", "CA"},
	})
	if err != nil {
		return "", "", err
	}
	return resp.ID, resp.WidgetURL, nil
}

// DemoConnection reads a connection of the demo account only: any other
// id is not found.
func (d *demoBackend) DemoConnection(ctx context.Context, id string) (*banklink.Connection, error) {
	return d.store.FindConnectionByID(ctx, demoScope, id)
}
