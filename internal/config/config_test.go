package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Register(fs, true)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.Load(fs, func(k string) string { return env[k] })
}

func TestLoad(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(strings.Repeat("f", 40)+"\n"), 0o600)
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		err   string
		check func(t *testing.T, c Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.Addr != "127.0.0.1:8080" || c.PublicURL != "http://127.0.0.1:8080" || c.WidgetURL != "http://127.0.0.1:8080/connect" ||
				c.Database != filepath.Join("banklink-data", "banklink.db") || c.TokenTTL != 3*time.Hour {
				t.Errorf("%+v", c)
			}
		}},
		{name: "env fallback", env: map[string]string{"BANKLINK_ADDR": "0.0.0.0:9000", "BANKLINK_TOKEN_TTL": "1h", "BANKLINK_DATABASE_URL": "postgres://x/y"},
			check: func(t *testing.T, c Config) {
				if c.Addr != "0.0.0.0:9000" || c.TokenTTL != time.Hour || c.Database != "postgres://x/y" {
					t.Errorf("%+v", c)
				}
			}},
		{name: "flag beats env", args: []string{"-addr", "127.0.0.1:1"}, env: map[string]string{"BANKLINK_ADDR": "0.0.0.0:9000"},
			check: func(t *testing.T, c Config) {
				if c.Addr != "127.0.0.1:1" {
					t.Errorf("addr %s", c.Addr)
				}
			}},
		{name: "secret from file", env: map[string]string{"BANKLINK_TOKEN_SECRETS_FILE": secretFile},
			check: func(t *testing.T, c Config) {
				if len(c.TokenSecrets) != 1 || len(c.TokenSecrets[0]) != 40 {
					t.Errorf("secrets %v", c.TokenSecrets)
				}
			}},
		{name: "provider lists", args: []string{"-production-providers", "plaid, mx", "-plaid-client-id", "c", "-plaid-secret", "s", "-mx-client-id", "c", "-mx-api-key", "k"},
			check: func(t *testing.T, c Config) {
				if strings.Join(c.ProductionProviders, "|") != "plaid|mx" {
					t.Errorf("%v", c.ProductionProviders)
				}
			}},
		{name: "plaid webhooks default to banklink's route behind https", args: []string{"-public-url", "https://link.example.com/"},
			check: func(t *testing.T, c Config) {
				if c.PlaidWebhookURL != "https://link.example.com/providers/plaid/webhooks" {
					t.Errorf("plaid webhook URL %q", c.PlaidWebhookURL)
				}
			}},
		{name: "no plaid webhook default over http", check: func(t *testing.T, c Config) {
			if c.PlaidWebhookURL != "" {
				t.Errorf("plaid webhook URL %q: Plaid cannot call a loopback http URL", c.PlaidWebhookURL)
			}
		}},
		{name: "plaid webhooks off", args: []string{"-public-url", "https://link.example.com", "-plaid-webhook-url", "none"},
			check: func(t *testing.T, c Config) {
				if c.PlaidWebhookURL != "" {
					t.Errorf("plaid webhook URL %q", c.PlaidWebhookURL)
				}
			}},
		{name: "auto refresh daily by default", check: func(t *testing.T, c Config) {
			if c.AutoRefresh != 24*time.Hour || c.AutoRefreshWorkers != 4 || c.AggregationWorkers != 4 {
				t.Errorf("auto refresh %s with %d workers, %d aggregation workers", c.AutoRefresh, c.AutoRefreshWorkers, c.AggregationWorkers)
			}
		}},
		{name: "auto refresh off", env: map[string]string{"BANKLINK_AUTO_REFRESH": "0"}, check: func(t *testing.T, c Config) {
			if c.AutoRefresh != 0 {
				t.Errorf("auto refresh %s", c.AutoRefresh)
			}
		}},
		{name: "MX defaults", check: func(t *testing.T, c Config) {
			if c.MXEnv != "integration" || c.MXConnectMode != "embed" || c.MXClientID != "" {
				t.Errorf("%+v", c)
			}
		}},
		{name: "Finicity from the environment", env: map[string]string{"BANKLINK_FINICITY_PARTNER_ID": "2445", "BANKLINK_FINICITY_PARTNER_SECRET_FILE": secretFile,
			"BANKLINK_FINICITY_APP_KEY": "key", "BANKLINK_PUBLIC_URL": "https://link.example.com", "BANKLINK_PRODUCTION_PROVIDERS": "finicity"},
			check: func(t *testing.T, c Config) {
				if c.FinicityPartnerID != "2445" || len(c.FinicityPartnerSecret) != 40 || c.FinicityAppKey != "key" || c.FinicityEnv != "testing" ||
					c.FinicityConnectMode != "redirect" || c.FinicityWebhookURL != "https://link.example.com/providers/finicity/webhooks" {
					t.Errorf("%+v", c)
				}
			}},
		{name: "Finicity webhooks off", args: []string{"-public-url", "https://link.example.com", "-finicity-webhook-url", "none"},
			check: func(t *testing.T, c Config) {
				if c.FinicityWebhookURL != "" {
					t.Errorf("finicity webhook URL %q", c.FinicityWebhookURL)
				}
			}},
		{name: "MX key from file", env: map[string]string{"BANKLINK_MX_CLIENT_ID": "client", "BANKLINK_MX_API_KEY_FILE": secretFile},
			check: func(t *testing.T, c Config) {
				if c.MXClientID != "client" || len(c.MXAPIKey) != 40 {
					t.Errorf("MX credentials %q %q", c.MXClientID, c.MXAPIKey)
				}
			}},
		{name: "webhooks kept off internal addresses by default", check: func(t *testing.T, c Config) {
			if c.WebhookPrivateTargets != "none" {
				t.Errorf("webhook private targets %q", c.WebhookPrivateTargets)
			}
		}},
		{name: "metrics on by default", check: func(t *testing.T, c Config) {
			if !c.Metrics {
				t.Error("metrics off by default")
			}
		}},
		{name: "metrics off by env", env: map[string]string{"BANKLINK_METRICS": "false"}, check: func(t *testing.T, c Config) {
			if c.Metrics {
				t.Error("BANKLINK_METRICS=false left metrics on")
			}
		}},
		{name: "metrics off by flag", args: []string{"-metrics=false"}, env: map[string]string{"BANKLINK_METRICS": "true"},
			check: func(t *testing.T, c Config) {
				if c.Metrics {
					t.Error("-metrics=false left metrics on")
				}
			}},
		{name: "activity kept 90 days by default", check: func(t *testing.T, c Config) {
			if c.ActivityRetention != 90*24*time.Hour {
				t.Errorf("activity retention %s", c.ActivityRetention)
			}
		}},
		{name: "activity retention from env", env: map[string]string{"BANKLINK_ACTIVITY_RETENTION": "720h"}, check: func(t *testing.T, c Config) {
			if c.ActivityRetention != 720*time.Hour {
				t.Errorf("activity retention %s", c.ActivityRetention)
			}
		}},
		{name: "activity retention too short", args: []string{"-activity-retention", "5m"}, err: "-activity-retention"},
		{name: "bad metrics env", env: map[string]string{"BANKLINK_METRICS": "maybe"}, err: "BANKLINK_METRICS"},
		{name: "short secret", args: []string{"-token-secrets", "short"}, err: "at least 32"},
		{name: "bad ttl env", env: map[string]string{"BANKLINK_TOKEN_TTL": "soon"}, err: "BANKLINK_TOKEN_TTL"},
		{name: "ttl too long", args: []string{"-token-ttl", "5h"}, err: "token-ttl"},
		{name: "bad addr", args: []string{"-addr", "nowhere"}, err: "-addr"},
		{name: "MX enabled without keys", args: []string{"-sandbox-providers", "sandbox,mx"}, err: "-sandbox-providers names mx, which is not configured: set -mx-client-id and -mx-api-key"},
		{name: "Plaid enabled without keys", args: []string{"-production-providers", "plaid"}, err: "-production-providers names plaid, which is not configured"},
		{name: "unknown provider", args: []string{"-production-providers", "yodlee"}, err: `-production-providers names "yodlee", which is not a provider (sandbox, sandbox-b, plaid, mx, finicity)`},
		{name: "auto refresh too often", args: []string{"-auto-refresh", "10s"}, err: "-auto-refresh"},
		{name: "no auto refresh workers", args: []string{"-auto-refresh-workers", "0"}, err: "-auto-refresh-workers"},
		{name: "no aggregation workers", args: []string{"-aggregation-workers", "0"}, err: "-aggregation-workers"},
		{name: "too many aggregation workers", env: map[string]string{"BANKLINK_AGGREGATION_WORKERS": "257"}, err: "-aggregation-workers"},
		{name: "MX key without client id", env: map[string]string{"BANKLINK_MX_API_KEY": "k"}, err: "-mx-client-id"},
		{name: "unknown MX connect mode", args: []string{"-mx-connect-mode", "popup"}, err: "-mx-connect-mode"},
		{name: "Finicity without app key", args: []string{"-finicity-partner-id", "p", "-finicity-partner-secret", "s"}, err: "-finicity-app-key go together"},
		{name: "Finicity enabled without keys", args: []string{"-sandbox-providers", "sandbox,finicity"}, err: "-sandbox-providers names finicity, which is not configured"},
		{name: "unknown Finicity env", args: []string{"-finicity-env", "uat"}, err: "-finicity-env"},
		{name: "unknown Finicity connect mode", args: []string{"-finicity-connect-mode", "popup"}, err: "-finicity-connect-mode"},
		{name: "relative Finicity base URL", args: []string{"-finicity-base-url", "api.finicity.com"}, err: "-finicity-base-url"},
		{name: "bad public url", args: []string{"-public-url", "ftp://x"}, err: "public-url"},
		{name: "missing secret file", env: map[string]string{"BANKLINK_TOKEN_SECRETS_FILE": "/nonexistent"}, err: "_FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.args, tc.env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// TestDemo: the unauthenticated demo app is served by default only in the
// zero-setup case (loopback, http), never in a deployment, and asking
// for it where it must not run is an error naming why.
func TestDemo(t *testing.T) {
	plaidProd := []string{"-plaid-client-id", "c", "-plaid-secret", "s", "-plaid-env", "production"}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		on   bool
		err  string
	}{
		{name: "default: loopback over http", on: true},
		{name: "localhost public URL", args: []string{"-public-url", "http://localhost:8080"}, on: true},
		{name: "IPv6 loopback", args: []string{"-addr", "[::1]:8080"}, on: true},
		{name: "listening on every interface", args: []string{"-addr", "0.0.0.0:8080"}},
		{name: "every interface, loopback public URL", args: []string{"-addr", ":8080", "-public-url", "http://127.0.0.1:8080"}},
		{name: "http public URL elsewhere", args: []string{"-public-url", "http://link.internal:8080"}},
		{name: "https public URL", args: []string{"-public-url", "https://link.example.com"}},
		{name: "https public URL on loopback", args: []string{"-public-url", "https://localhost:8443"}},
		{name: "production providers", args: []string{"-production-providers", "sandbox"}},
		{name: "plaid production", args: plaidProd},
		{name: "off", args: []string{"-demo=false"}},
		{name: "off by env", env: map[string]string{"BANKLINK_DEMO": "off"}},
		{name: "on", args: []string{"-demo", "-addr", "0.0.0.0:8080"}, on: true},
		{name: "on by env", env: map[string]string{"BANKLINK_DEMO": "on", "BANKLINK_ADDR": "0.0.0.0:8080"}, on: true},
		{name: "on with https", args: []string{"-demo=on", "-public-url", "https://link.example.com"}, err: "-demo=on cannot be used with an https -public-url"},
		{name: "on with production providers", args: []string{"-demo=true", "-production-providers", "sandbox"}, err: "-demo=on cannot be used with -production-providers"},
		{name: "on with plaid production", args: append([]string{"-demo=on"}, plaidProd...), err: "-demo=on cannot be used with -plaid-env production"},
		{name: "unknown mode", args: []string{"-demo=maybe"}, err: "want auto, on or off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.args, tc.env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.DemoOn != tc.on {
				t.Errorf("DemoOn = %v, want %v (demo %q, public URL %s)", c.DemoOn, tc.on, c.Demo, c.PublicURL)
			}
		})
	}
}
