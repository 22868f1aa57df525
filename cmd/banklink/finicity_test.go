package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"banklink/internal/finicity"
	"banklink/internal/finicity/fakefinicity"
)

// TestServeWithFinicity: serve registers Finicity from its flags alone:
// its directory syncs at start (a page refused for now is read again),
// connections can name it, an account's credentials take Finicity's
// keys, the widget may frame Data Connect in embed mode, and its Connect
// webhooks are received on the generic route, verified.
func TestServeWithFinicity(t *testing.T) {
	fake := fakefinicity.New(t)
	fake.Fail(fakefinicity.Failure{Method: "GET", Path: "/institution/v2/institutions", Status: http.StatusServiceUnavailable, Message: "Down for maintenance"})
	srv := serveForTest(t, "-data-dir", t.TempDir(), "-sandbox-providers", "sandbox,finicity",
		"-finicity-partner-id", fake.PartnerID, "-finicity-partner-secret", fake.PartnerSecret, "-finicity-app-key", fake.AppKey,
		"-finicity-base-url", fake.URL, "-finicity-connect-mode", "embed")
	waitForInstitution(t, srv, "FinBank Profiles - A", "FINICITY")
	var started map[string]any
	if status := api(t, srv.url, srv.key, "POST", "/bank-linking/connect/start", `{"externalCustomerId":"f","products":["TRANSACTIONS"],"serviceProvider":"FINICITY"}`, &started); status != 201 {
		t.Fatalf("connect/start with Finicity: %d %v", status, started)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		message    string
	}{
		{"Finicity keys", `{"credentials":{"partnerId":"p","partnerSecret":"s","appKey":"k"}}`, 201, ""},
		{"a misspelt Finicity key", `{"credentials":{"partnerID":"p"}}`, 400, `[credentials] contains "partnerID"; FINICITY takes partnerId, partnerSecret, appKey`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out map[string]any
			status := api(t, srv.url, srv.key, "PUT", "/service-providers/FINICITY", tc.body, &out)
			if status != tc.status || (tc.message != "" && out["message"] != tc.message) {
				t.Errorf("PUT %s: %d %v", tc.body, status, out)
			}
		})
	}
	page, err := validating(t).Get(started["widgetUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src "+fake.URL) {
		t.Errorf("widget CSP %q does not let it frame Data Connect at %s", csp, fake.URL)
	}
	hook := func(body, sig string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.url+"/providers/finicity/webhooks", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(finicity.SignatureHeader, sig)
		resp, err := validating(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ping := fmt.Sprintf(`{"customerId":"1","eventType":"ping","eventId":"%d-abc","payload":{}}`, time.Now().UnixMilli())
	if status := hook(ping, finicity.Sign(fake.PartnerSecret, []byte(ping))); status != 200 {
		t.Errorf("signed ping: %d", status)
	}
	if status := hook(ping, finicity.Sign("not-the-secret", []byte(ping))); status != 401 {
		t.Errorf("forged ping: %d", status)
	}
	for _, args := range [][]string{
		{"serve", "-finicity-partner-id", "x"},
		{"serve", "-finicity-env", "uat"},
		{"serve", "-finicity-connect-mode", "popup"},
	} {
		if err := Run(t.Context(), args, nil, nil, env(nil)); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
