package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"banklink/internal/config"
	"banklink/internal/httpapi"
	"banklink/internal/mx/fakemx"
	"banklink/internal/plaid/fakeplaid"
	"banklink/internal/testenv"
)

// TestServeWithMX: with MX credentials banklink registers the provider
// and merges MX's institution directory (every page of it) into its own,
// through MX's passing failures.
func TestServeWithMX(t *testing.T) {
	fake := fakemx.New(t)
	// MX is down for a moment, then rate-limits: the sync waits both out
	// instead of giving up until the next start.
	fake.Fail(fakemx.Failure{Method: "GET", Path: "/institutions", Status: http.StatusServiceUnavailable, Message: "Down for maintenance"})
	fake.Fail(fakemx.Failure{Method: "GET", Path: "/institutions", Status: http.StatusTooManyRequests, Message: "Rate limit exceeded", RetryAfter: "1"})
	srv := serveForTest(t, "-data-dir", t.TempDir(), "-sandbox-providers", "sandbox,mx",
		"-mx-client-id", fakemx.ClientID, "-mx-api-key", fakemx.APIKey, "-mx-base-url", fake.URL)
	waitForInstitution(t, srv, "Maple MX Bank", "MX")
	// The second page of MX's list was merged too.
	waitForInstitution(t, srv, "Fake 1202 Savings Bank", "MX")
	var started map[string]any
	if status := api(t, srv.url, srv.key, "POST", "/bank-linking/connect/start", `{"externalCustomerId":"m","products":["TRANSACTIONS"],"serviceProvider":"MX"}`, &started); status != 201 {
		t.Fatalf("connect/start with MX: %d %v", status, started)
	}
	// An account's MX keys: the ones MX takes, nothing misspelt.
	for _, tc := range []struct {
		name, provider, body string
		status               int
		message              string
	}{
		{"MX keys", "MX", `{"credentials":{"clientId":"c","apiKey":"k"}}`, 201, ""},
		{"a misspelt MX key", "MX", `{"credentials":{"clientId":"c","apikey":"k"}}`, 400, `[credentials] contains "apikey"; MX takes clientId, apiKey`},
		{"keys for the sandbox, which takes none", "SANDBOX", `{"credentials":{"clientId":"c"}}`, 400, `[credentials] contains "clientId"; SANDBOX takes no credentials`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out map[string]any
			status := api(t, srv.url, srv.key, "PUT", "/service-providers/"+tc.provider, tc.body, &out)
			if status != tc.status || (tc.message != "" && out["message"] != tc.message) {
				t.Errorf("PUT %s: %d %v", tc.body, status, out)
			}
		})
	}
	// The widget page may frame MX Connect (here the fake's origin).
	page, err := validating(t).Get(started["widgetUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src "+fake.URL) {
		t.Errorf("widget CSP %q does not let it frame MX Connect at %s", csp, fake.URL)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"client id without key", []string{"serve", "-mx-client-id", "x"}},
		{"unknown environment", []string{"serve", "-mx-env", "staging"}},
		{"relative base URL", []string{"serve", "-mx-client-id", "x", "-mx-api-key", "y", "-mx-base-url", "api.mx.com"}},
		{"unknown connect mode", []string{"serve", "-mx-connect-mode", "popup"}},
		{"widget origin not a URL", []string{"serve", "-mx-widget-origin", "widgets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Run(t.Context(), tc.args, nil, nil, env(nil)); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// TestServeWithPlaidAndMX: both providers' directories merge at start,
// one after the other, and neither loses the other's coverage.
func TestServeWithPlaidAndMX(t *testing.T) {
	fm := fakemx.New(t)
	fp := fakeplaid.New(t)
	srv := serveForTest(t, "-data-dir", t.TempDir(), "-sandbox-providers", "sandbox,plaid,mx",
		"-mx-client-id", fakemx.ClientID, "-mx-api-key", fakemx.APIKey, "-mx-base-url", fm.URL,
		"-plaid-client-id", fakeplaid.ClientID, "-plaid-secret", fakeplaid.Secret, "-plaid-base-url", fp.URL)
	waitForInstitution(t, srv, "Houndstooth", "PLAID")
	waitForInstitution(t, srv, "Maple MX Bank", "MX")
}

// waitForInstitution waits until GET /institutions finds name through
// the provider (the merge runs in the background at start).
func waitForInstitution(t *testing.T, srv *running, name, provider string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, provider+"'s directory merged (an institution named "+name+")", func() bool {
		var page struct {
			Institutions []map[string]any
		}
		api(t, srv.url, srv.key, "GET", "/institutions?name="+strings.ReplaceAll(name, " ", "%20")+"&serviceProviders="+provider, "", &page)
		for _, in := range page.Institutions {
			if strings.Contains(in["name"].(string), name) {
				return true
			}
		}
		return false
	})
}

// TestPlaidWebhookPathAgrees: the default webhook URL config derives is
// the route the API serves.
func TestPlaidWebhookPathAgrees(t *testing.T) {
	if config.PlaidWebhookPath != httpapi.PlaidWebhookPath {
		t.Fatalf("config says %s, the API serves %s", config.PlaidWebhookPath, httpapi.PlaidWebhookPath)
	}
}
