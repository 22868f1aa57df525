// Package config is banklink's one configuration struct: defaults, then
// BANKLINK_* environment variables, then command-line flags. Secrets may
// also come from files named by BANKLINK_<NAME>_FILE.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"banklink/internal/webhookurl"

	"banklink"
)

// Config configures banklink serve (and the other subcommands, which use
// the database part).
type Config struct {
	Addr      string
	DataDir   string
	Database  string
	PublicURL string
	WidgetURL string

	TokenTTL     time.Duration
	TokenIssuer  string
	TokenSecrets []string

	MinEligibleInstitutions int
	SandboxProviders        []string
	ProductionProviders     []string
	DirectorySize           int
	DirectorySeed           uint64
	DirectoryRefresh        time.Duration

	LogFormat string
	LogLevel  string
	// Demo says whether to serve the demo app at / ("auto", "on" or
	// "off"); DemoOn is the decision, made by Load: "auto" serves it only
	// to a loopback listener with a loopback http public URL and no
	// production provider, the zero-setup case of `banklink serve`.
	Demo   string
	DemoOn bool
	// Metrics serves Prometheus metrics at /metrics.
	Metrics bool
	// RefreshInterval is the least time between two refreshes of one
	// connection.
	RefreshInterval time.Duration
	// AutoRefresh is the age at which a connection's data is refreshed
	// without being asked (0: never); AutoRefreshWorkers bound how many
	// such refreshes one process runs at once.
	AutoRefresh        time.Duration
	AutoRefreshWorkers int
	// AggregationLease is how long a replica's claim on aggregation work
	// lasts without renewal: after a crash, the work it was doing is
	// resumed by another replica (or the restarted one) within about
	// that long.
	AggregationLease time.Duration
	// AggregationWorkers bounds the aggregations one process runs at once;
	// the rest wait their turn, in the database beyond a short queue,
	// where any replica with a free worker takes them.
	AggregationWorkers int
	// RateLimit and RateBurst bound each API key's requests per second;
	// WidgetRateLimit and WidgetRateBurst each widget session's.
	RateLimit, WidgetRateLimit float64
	RateBurst, WidgetRateBurst int

	// WebhookWorkers deliveries run at once in this process (0 disables
	// delivery here, for replicas that should only serve the API);
	// WebhookTimeout bounds one attempt; WebhookPrivateTargets says which
	// environments may deliver to internal addresses.
	// EncryptionKeys ("id:base64key,...", the first encrypts) protect
	// provider credentials at rest; empty means a key generated into the
	// database.
	EncryptionKeys string

	// Plaid is registered as provider "plaid" when a client id and a
	// secret are set.
	PlaidClientID, PlaidSecret, PlaidEnv, PlaidRedirectURI, PlaidWebhookURL, PlaidBaseURL string
	// MX is registered as provider "mx" when a client id and an API key
	// are set.
	MXClientID, MXAPIKey, MXEnv, MXBaseURL, MXRedirectURL string
	// MXConnectMode is "embed" (MX Connect in the widget) or "redirect";
	// MXWidgetOrigin overrides where MX Connect is served from.
	MXConnectMode, MXWidgetOrigin string
	// Finicity is registered as provider "finicity" when a partner id, a
	// partner secret and an app key are set. FinicityEnv is "testing"
	// (testing customers, FinBank only) or "production" (active,
	// billable customers); FinicityConnectMode "redirect" or "embed".
	FinicityPartnerID, FinicityPartnerSecret, FinicityAppKey, FinicityEnv, FinicityBaseURL string
	FinicityWebhookURL, FinicityConnectMode, FinicityConnectOrigin, FinicityExperience     string

	WebhookWorkers        int
	WebhookTimeout        time.Duration
	WebhookPrivateTargets string

	// ActivityRetention is how long the activity log keeps an entry;
	// older ones are pruned every hour.
	ActivityRetention time.Duration
}

// PlaidWebhookPath is where banklink receives Plaid's webhooks
// (httpapi.PlaidWebhookPath; repeated here because config must not
// import the HTTP layer).
const PlaidWebhookPath = "/providers/plaid/webhooks"

// FinicityWebhookPath is where banklink receives Finicity's Connect
// webhooks (the provider webhook route for "finicity").
const FinicityWebhookPath = "/providers/finicity/webhooks"

// JobLeaseMax bounds -aggregation-lease: a longer lease only delays the
// resumption of work a crashed replica held.
const JobLeaseMax = 10 * time.Minute

// Default returns the zero-setup configuration: loopback, an SQLite file in
// ./banklink-data, the sandbox provider.
func Default() Config {
	return Config{
		Addr:                    "127.0.0.1:8080",
		DataDir:                 "banklink-data",
		TokenTTL:                3 * time.Hour,
		TokenIssuer:             "banklink",
		MinEligibleInstitutions: 25,
		SandboxProviders:        []string{"sandbox", "sandbox-b"},
		DirectorySize:           20000,
		DirectorySeed:           20261124,
		DirectoryRefresh:        10 * time.Second,
		LogFormat:               "text",
		LogLevel:                "info",
		Demo:                    DemoAuto,
		Metrics:                 true,
		RefreshInterval:         time.Minute,
		AutoRefresh:             24 * time.Hour,
		AutoRefreshWorkers:      4,
		AggregationWorkers:      4,
		AggregationLease:        30 * time.Second,
		RateLimit:               100,
		RateBurst:               200,
		WidgetRateLimit:         10,
		WidgetRateBurst:         40,
		WebhookWorkers:          8,
		WebhookTimeout:          10 * time.Second,
		WebhookPrivateTargets:   "none",
		ActivityRetention:       banklink.DefaultActivityRetention,
		PlaidEnv:                "sandbox",
		MXEnv:                   "integration",
		MXConnectMode:           "embed",
		FinicityEnv:             "testing",
		FinicityConnectMode:     "redirect",
	}
}

// The -demo modes.
const (
	DemoAuto = "auto"
	DemoOnly = "on"
	DemoOff  = "off"
)

// demoValue is -demo: auto, on or off, and as a boolean flag "-demo" alone
// (on), "-demo=true" and "-demo=false" as before.
type demoValue struct{ dst *string }

func (d demoValue) String() string {
	if d.dst == nil {
		return ""
	}
	return *d.dst
}

func (d demoValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto":
		*d.dst = DemoAuto
	case "on", "true", "1":
		*d.dst = DemoOnly
	case "off", "false", "0":
		*d.dst = DemoOff
	default:
		return fmt.Errorf("want auto, on or off")
	}
	return nil
}

func (demoValue) IsBoolFlag() bool { return true }

// Getenv looks up an environment variable; tests pass a map's lookup.
type Getenv func(string) string

type listValue struct{ dst *[]string }

func (l listValue) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l listValue) Set(s string) error {
	*l.dst = splitList(s)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// envName is the environment variable behind a flag: -token-ttl is
// BANKLINK_TOKEN_TTL.
func envName(flagName string) string {
	return "BANKLINK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Register defines the flags of c on fs. Call Apply after fs.Parse.
func (c *Config) Register(fs *flag.FlagSet, all bool) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the SQLite database when -database is not set")
	fs.StringVar(&c.Database, "database", c.Database, "database: an SQLite file path, or a postgres:// URL (env BANKLINK_DATABASE_URL)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&c.EncryptionKeys, "encryption-keys", c.EncryptionKeys, "keys encrypting provider credentials, \"id:base64(32 bytes),...\" (the first encrypts, all decrypt; env BANKLINK_ENCRYPTION_KEYS or _FILE); default: a key generated into the database")
	if !all {
		return
	}
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "public base URL of this server (default http://<addr>)")
	fs.StringVar(&c.WidgetURL, "widget-url", c.WidgetURL, "public URL of the Connect Widget (default <public-url>/connect)")
	fs.DurationVar(&c.TokenTTL, "token-ttl", c.TokenTTL, "connect token lifetime")
	fs.StringVar(&c.TokenIssuer, "token-issuer", c.TokenIssuer, "iss claim of connect tokens")
	fs.Var(listValue{&c.TokenSecrets}, "token-secrets", "comma-separated HS256 secrets (>= 32 bytes); the first signs, all verify; default: generated once and stored in the database")
	fs.IntVar(&c.MinEligibleInstitutions, "min-eligible-institutions", c.MinEligibleInstitutions, "connect/start warns when filters leave fewer institutions than this")
	fs.Var(listValue{&c.SandboxProviders}, "sandbox-providers", "provider types enabled for sandbox keys")
	fs.Var(listValue{&c.ProductionProviders}, "production-providers", "provider types enabled for production keys")
	fs.IntVar(&c.DirectorySize, "directory-size", c.DirectorySize, "institutions generated into the sandbox directory on first start")
	fs.Uint64Var(&c.DirectorySeed, "directory-seed", c.DirectorySeed, "seed of the generated sandbox directory")
	fs.Var(demoValue{&c.Demo}, "demo", "serve the sandbox demo app at / without authentication: auto (only on a loopback address with an http public URL and no production provider), on or off")
	fs.BoolVar(&c.Metrics, "metrics", c.Metrics, "serve Prometheus metrics at /metrics (keep it off the public listener)")
	fs.Float64Var(&c.RateLimit, "rate-limit", c.RateLimit, "requests per second one API key may send on average (0: no limit)")
	fs.IntVar(&c.RateBurst, "rate-burst", c.RateBurst, "requests one API key may send at once")
	fs.Float64Var(&c.WidgetRateLimit, "widget-rate-limit", c.WidgetRateLimit, "requests per second one widget session may send (0: no limit)")
	fs.IntVar(&c.WidgetRateBurst, "widget-rate-burst", c.WidgetRateBurst, "requests one widget session may send at once")
	fs.DurationVar(&c.RefreshInterval, "refresh-interval", c.RefreshInterval, "least time between two refreshes of one connection (429 with Retry-After sooner)")
	fs.DurationVar(&c.AutoRefresh, "auto-refresh", c.AutoRefresh, "refresh a connection's data in the background once it is this old (0: only when the app or a provider's webhook asks)")
	fs.IntVar(&c.AutoRefreshWorkers, "auto-refresh-workers", c.AutoRefreshWorkers, "background refreshes this process runs at once")
	fs.IntVar(&c.AggregationWorkers, "aggregation-workers", c.AggregationWorkers, "aggregations this process runs at once (the rest wait in the database for any replica's free worker)")
	fs.DurationVar(&c.AggregationLease, "aggregation-lease", c.AggregationLease, "how long a replica's claim on aggregation work lasts unrenewed: work cut short by a crash resumes within about this long")
	fs.StringVar(&c.PlaidClientID, "plaid-client-id", c.PlaidClientID, "Plaid client id (registers provider plaid with -plaid-secret)")
	fs.StringVar(&c.PlaidSecret, "plaid-secret", c.PlaidSecret, "Plaid secret of -plaid-env (env BANKLINK_PLAID_SECRET or _FILE)")
	fs.StringVar(&c.PlaidEnv, "plaid-env", c.PlaidEnv, "Plaid environment: sandbox or production")
	fs.StringVar(&c.PlaidRedirectURI, "plaid-redirect-uri", c.PlaidRedirectURI, "optional Link redirect_uri registered at Plaid")
	fs.StringVar(&c.PlaidWebhookURL, "plaid-webhook-url", c.PlaidWebhookURL, "URL where Plaid sends webhooks, banklink's <public-url>/providers/plaid/webhooks (the default when -public-url is https; \"none\" turns them off)")
	fs.StringVar(&c.PlaidBaseURL, "plaid-base-url", c.PlaidBaseURL, "optional Plaid API base URL replacing -plaid-env's host (an egress proxy, or a local Plaid-compatible server)")
	fs.StringVar(&c.MXClientID, "mx-client-id", c.MXClientID, "MX Platform API client id (registers provider mx with -mx-api-key)")
	fs.StringVar(&c.MXAPIKey, "mx-api-key", c.MXAPIKey, "MX Platform API key of -mx-env (env BANKLINK_MX_API_KEY or _FILE)")
	fs.StringVar(&c.MXEnv, "mx-env", c.MXEnv, "MX environment: integration or production")
	fs.StringVar(&c.MXBaseURL, "mx-base-url", c.MXBaseURL, "optional MX API base URL replacing -mx-env's host (an egress proxy, or a local MX-compatible server)")
	fs.StringVar(&c.MXConnectMode, "mx-connect-mode", c.MXConnectMode, "embed: MX Connect inside the widget (reports by postMessage); redirect: the customer leaves for MX Connect and comes back (OAuth logins only, or WebViews that relay MX's events)")
	fs.StringVar(&c.MXRedirectURL, "mx-redirect-url", c.MXRedirectURL, "redirect mode: optional fixed client_redirect_url that forwards to the widget callback (default: each login's own callback)")
	fs.StringVar(&c.MXWidgetOrigin, "mx-widget-origin", c.MXWidgetOrigin, "origin MX Connect is served from (default: MX's widget host for -mx-env, or -mx-base-url's origin)")
	fs.StringVar(&c.FinicityPartnerID, "finicity-partner-id", c.FinicityPartnerID, "Finicity partner id (registers provider finicity with -finicity-partner-secret and -finicity-app-key)")
	fs.StringVar(&c.FinicityPartnerSecret, "finicity-partner-secret", c.FinicityPartnerSecret, "Finicity partner secret; also verifies Connect webhooks (env BANKLINK_FINICITY_PARTNER_SECRET or _FILE)")
	fs.StringVar(&c.FinicityAppKey, "finicity-app-key", c.FinicityAppKey, "Finicity app key, the Finicity-App-Key header (env BANKLINK_FINICITY_APP_KEY or _FILE)")
	fs.StringVar(&c.FinicityEnv, "finicity-env", c.FinicityEnv, "Finicity customers: testing (free, FinBank profiles only) or production (active, billable)")
	fs.StringVar(&c.FinicityBaseURL, "finicity-base-url", c.FinicityBaseURL, "optional Finicity API base URL replacing https://api.finicity.com (an egress proxy, or a local Finicity-compatible server)")
	fs.StringVar(&c.FinicityWebhookURL, "finicity-webhook-url", c.FinicityWebhookURL, "URL where Finicity sends Connect webhooks, banklink's <public-url>/providers/finicity/webhooks (the default when -public-url is https; \"none\" turns them off)")
	fs.StringVar(&c.FinicityConnectMode, "finicity-connect-mode", c.FinicityConnectMode, "redirect: the customer leaves for Data Connect and comes back (redirectUri); embed: Data Connect inside the widget (reports by postMessage)")
	fs.StringVar(&c.FinicityConnectOrigin, "finicity-connect-origin", c.FinicityConnectOrigin, "embed mode: origin Data Connect is served from (default https://connect2.finicity.com, or -finicity-base-url's origin)")
	fs.StringVar(&c.FinicityExperience, "finicity-experience", c.FinicityExperience, "optional Data Connect experience id (branding) to open")
	fs.IntVar(&c.WebhookWorkers, "webhook-workers", c.WebhookWorkers, "webhook deliveries sent at once by this process (0: this replica sends none)")
	fs.DurationVar(&c.WebhookTimeout, "webhook-timeout", c.WebhookTimeout, "time a receiver has to answer a webhook with 2xx")
	fs.StringVar(&c.WebhookPrivateTargets, "webhook-private-targets", c.WebhookPrivateTargets, "which environments may deliver webhooks to loopback, private and link-local addresses: none, sandbox (for a receiver on a development machine) or all")
	fs.DurationVar(&c.ActivityRetention, "activity-retention", c.ActivityRetention, "how long the activity log (GET /activity-log, the dashboard's timelines) keeps an entry; older ones are pruned hourly")
	fs.DurationVar(&c.DirectoryRefresh, "directory-refresh", c.DirectoryRefresh, "how often to check whether another replica changed the directory")
}

// Load fills c from the environment for every flag fs defines and that the
// command line did not set, reading BANKLINK_<NAME>_FILE for secrets, then
// derives defaults and validates.
func (c *Config) Load(fs *flag.FlagSet, getenv Getenv) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		name := envName(f.Name)
		v := getenv(name)
		if f.Name == "database" && v == "" {
			v = getenv("BANKLINK_DATABASE_URL")
		}
		if v == "" {
			if file := getenv(name + "_FILE"); file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
					return
				}
				v = strings.TrimSpace(string(b))
			}
		}
		if v == "" {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return c.finish(fs)
}

func (c *Config) finish(fs *flag.FlagSet) error {
	if c.Database == "" {
		c.Database = filepath.Join(c.DataDir, "banklink.db")
	}
	if fs.Lookup("addr") == nil {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("-addr %q: %w", c.Addr, err)
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if u, err := url.Parse(c.PublicURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("-public-url %q must be an absolute http(s) URL", c.PublicURL)
	}
	if c.WidgetURL == "" {
		c.WidgetURL = c.PublicURL + "/connect"
	}
	// Plaid gives each Item the webhook URL it was linked with, so it
	// defaults to banklink's own route wherever Plaid can reach it
	// (Plaid calls https URLs); "none" links Items without webhooks.
	switch {
	case c.PlaidWebhookURL == "none":
		c.PlaidWebhookURL = ""
	case c.PlaidWebhookURL == "" && strings.HasPrefix(c.PublicURL, "https://"):
		c.PlaidWebhookURL = c.PublicURL + PlaidWebhookPath
	}
	switch {
	case c.FinicityWebhookURL == "none":
		c.FinicityWebhookURL = ""
	case c.FinicityWebhookURL == "" && strings.HasPrefix(c.PublicURL, "https://"):
		c.FinicityWebhookURL = c.PublicURL + FinicityWebhookPath
	}
	if _, err := webhookurl.ParsePrivateTargets(c.WebhookPrivateTargets); err != nil {
		return fmt.Errorf("-webhook-private-targets: %w", err)
	}
	if c.ActivityRetention < time.Hour {
		return fmt.Errorf("-activity-retention %s must be at least 1h", c.ActivityRetention)
	}
	if c.WebhookTimeout < 100*time.Millisecond || c.WebhookTimeout > time.Minute {
		return fmt.Errorf("-webhook-timeout %s must be between 100ms and 1m", c.WebhookTimeout)
	}
	if c.PlaidEnv != "sandbox" && c.PlaidEnv != "production" {
		return fmt.Errorf("-plaid-env %q must be sandbox or production", c.PlaidEnv)
	}
	if (c.PlaidClientID == "") != (c.PlaidSecret == "") {
		return fmt.Errorf("-plaid-client-id and -plaid-secret go together")
	}
	if c.MXEnv != "integration" && c.MXEnv != "production" {
		return fmt.Errorf("-mx-env %q must be integration or production", c.MXEnv)
	}
	if (c.MXClientID == "") != (c.MXAPIKey == "") {
		return fmt.Errorf("-mx-client-id and -mx-api-key go together")
	}
	if c.FinicityEnv != "testing" && c.FinicityEnv != "production" {
		return fmt.Errorf("-finicity-env %q must be testing or production", c.FinicityEnv)
	}
	if set := c.FinicityPartnerID != "" || c.FinicityPartnerSecret != "" || c.FinicityAppKey != ""; set &&
		(c.FinicityPartnerID == "" || c.FinicityPartnerSecret == "" || c.FinicityAppKey == "") {
		return fmt.Errorf("-finicity-partner-id, -finicity-partner-secret and -finicity-app-key go together")
	}
	if c.FinicityConnectMode != "redirect" && c.FinicityConnectMode != "embed" {
		return fmt.Errorf("-finicity-connect-mode %q must be redirect or embed", c.FinicityConnectMode)
	}
	if err := c.checkProviders(); err != nil {
		return err
	}
	if err := c.decideDemo(); err != nil {
		return err
	}
	if c.MXConnectMode != "embed" && c.MXConnectMode != "redirect" {
		return fmt.Errorf("-mx-connect-mode %q must be embed or redirect", c.MXConnectMode)
	}
	for _, u := range []struct{ flag, v string }{{"-mx-base-url", c.MXBaseURL}, {"-mx-redirect-url", c.MXRedirectURL}, {"-mx-widget-origin", c.MXWidgetOrigin},
		{"-finicity-base-url", c.FinicityBaseURL}, {"-finicity-webhook-url", c.FinicityWebhookURL}, {"-finicity-connect-origin", c.FinicityConnectOrigin}} {
		if u.v == "" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "https") {
			return fmt.Errorf("%s %q must be an absolute http(s) URL", u.flag, u.v)
		}
	}
	if c.AutoRefresh != 0 && c.AutoRefresh < time.Minute {
		return fmt.Errorf("-auto-refresh %s must be 0 (off) or at least 1m", c.AutoRefresh)
	}
	if c.AggregationLease < time.Second || c.AggregationLease > JobLeaseMax {
		return fmt.Errorf("-aggregation-lease %s must be between 1s and %s", c.AggregationLease, JobLeaseMax)
	}
	if c.AutoRefreshWorkers < 1 || c.AutoRefreshWorkers > 256 {
		return fmt.Errorf("-auto-refresh-workers %d must be between 1 and 256", c.AutoRefreshWorkers)
	}
	if c.AggregationWorkers < 1 || c.AggregationWorkers > 256 {
		return fmt.Errorf("-aggregation-workers %d must be between 1 and 256", c.AggregationWorkers)
	}
	if c.WebhookWorkers < 0 || c.WebhookWorkers > 256 {
		return fmt.Errorf("-webhook-workers %d must be between 0 and 256", c.WebhookWorkers)
	}
	if c.TokenTTL < time.Minute || c.TokenTTL > banklink.ConnectionCompletionWindow {
		return fmt.Errorf("-token-ttl %s must be between 1m and %s (the connection completion window)", c.TokenTTL, banklink.ConnectionCompletionWindow)
	}
	for i, s := range c.TokenSecrets {
		if len(s) < 32 {
			return fmt.Errorf("-token-secrets: secret %d is %d bytes; use at least 32", i+1, len(s))
		}
	}
	if c.DirectorySize < 0 {
		return fmt.Errorf("-directory-size must not be negative")
	}
	return nil
}

// decideDemo sets DemoOn. The demo's endpoints need no key and start
// sandbox connections for anyone who can reach them, so they are for a
// developer's own machine: never behind an https public URL (a deployment)
// nor next to real banks' credentials.
func (c *Config) decideDemo() error {
	var refuse string
	switch {
	case strings.HasPrefix(c.PublicURL, "https://"):
		refuse = "an https -public-url (a deployment)"
	case len(c.ProductionProviders) > 0:
		refuse = "-production-providers"
	case c.PlaidClientID != "" && c.PlaidEnv == "production":
		refuse = "-plaid-env production"
	case c.MXClientID != "" && c.MXEnv == "production":
		refuse = "-mx-env production"
	case c.FinicityPartnerID != "" && c.FinicityEnv == "production":
		refuse = "-finicity-env production"
	}
	switch c.Demo {
	case DemoOff:
		c.DemoOn = false
	case DemoOnly:
		if refuse != "" {
			return fmt.Errorf("-demo=on cannot be used with %s: the demo app's endpoints need no API key; serve it only on a development machine", refuse)
		}
		c.DemoOn = true
	default:
		u, _ := url.Parse(c.PublicURL)
		addr, _, _ := net.SplitHostPort(c.Addr)
		c.DemoOn = refuse == "" && u.Scheme == "http" && loopback(u.Hostname()) && loopback(addr)
	}
	return nil
}

// loopback reports whether host names this machine only.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// checkProviders refuses provider lists naming a provider this process
// will not run: connections routed to it could never log in.
func (c *Config) checkProviders() error {
	configured := map[string]string{ // provider → the flags it needs, "" when set
		"sandbox": "", "sandbox-b": "",
		"plaid": "-plaid-client-id and -plaid-secret", "mx": "-mx-client-id and -mx-api-key",
		"finicity": "-finicity-partner-id, -finicity-partner-secret and -finicity-app-key",
	}
	if c.FinicityPartnerID != "" {
		configured["finicity"] = ""
	}
	if c.PlaidClientID != "" {
		configured["plaid"] = ""
	}
	if c.MXClientID != "" {
		configured["mx"] = ""
	}
	for _, l := range []struct {
		flag string
		list []string
	}{{"-sandbox-providers", c.SandboxProviders}, {"-production-providers", c.ProductionProviders}} {
		for _, p := range l.list {
			how, known := configured[p]
			switch {
			case !known:
				return fmt.Errorf("%s names %q, which is not a provider (sandbox, sandbox-b, plaid, mx, finicity)", l.flag, p)
			case how != "":
				return fmt.Errorf("%s names %s, which is not configured: set %s", l.flag, p, how)
			}
		}
	}
	return nil
}

// Providers returns the enabled provider types per environment.
func (c *Config) Providers() map[banklink.Environment][]string {
	return map[banklink.Environment][]string{banklink.Sandbox: c.SandboxProviders, banklink.Production: c.ProductionProviders}
}
