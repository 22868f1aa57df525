package main

import (
	"testing"

	"banklink/internal/plaid/fakeplaid"
)

// TestServeWithPlaid: with Plaid credentials banklink registers the
// provider and merges Plaid's institution directory into its own.
func TestServeWithPlaid(t *testing.T) {
	fake := fakeplaid.New(t)
	srv := serveForTest(t, "-data-dir", t.TempDir(), "-sandbox-providers", "sandbox,plaid",
		"-plaid-client-id", fakeplaid.ClientID, "-plaid-secret", fakeplaid.Secret, "-plaid-base-url", fake.URL)
	waitForInstitution(t, srv, "Houndstooth", "PLAID")
	// connect/start can name Plaid.
	var started map[string]any
	if status := api(t, srv.url, srv.key, "POST", "/bank-linking/connect/start", `{"externalCustomerId":"p","products":["TRANSACTIONS"],"serviceProvider":"PLAID"}`, &started); status != 201 {
		t.Fatalf("connect/start with PLAID: %d %v", status, started)
	}
	// Plaid's webhooks are received (and an unsigned one refused).
	var refused map[string]any
	if status := api(t, srv.url, "", "POST", "/providers/plaid/webhooks", `{"webhook_type":"TRANSACTIONS","webhook_code":"SYNC_UPDATES_AVAILABLE","item_id":"x"}`, &refused); status != 401 || refused["code"] != "UNAUTHORIZED" {
		t.Errorf("unsigned Plaid webhook: %d %v", status, refused)
	}
	if err := Run(t.Context(), []string{"serve", "-plaid-client-id", "x"}, nil, nil, env(nil)); err == nil {
		t.Error("a Plaid client id without a secret was accepted")
	}
}
