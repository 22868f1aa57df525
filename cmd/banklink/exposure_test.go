package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banklink/internal/sqlstore"
	"banklink/internal/wiring"
)

// TestHeaderLimit: a request's headers are bounded well below Go's 1 MB
// default, which let every request of a flood hold a megabyte.
func TestHeaderLimit(t *testing.T) {
	srv := serveForTest(t, "-data-dir", t.TempDir())
	for _, tt := range []struct {
		name   string
		size   int
		status int
	}{
		{"a token-sized header", 8 << 10, http.StatusUnauthorized},
		{"a 128 KiB header", 128 << 10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.url+"/connect/api/session", nil)
			req.Header.Set("Authorization", "Bearer "+strings.Repeat("x", tt.size))
			// A 431 comes from the HTTP server before any route, like
			// net/http's other pre-handler errors: it belongs to no
			// operation of openapi.yaml, so this request skips the
			// validating client.
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

func getJSON(t *testing.T, url, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "BASIC "+key)
	}
	return doJSON(t, req)
}

// TestDemoIsolated: the demo's endpoints need no key, so they work in an
// account of their own: they cannot read an app's connections, and the
// app never sees theirs. They used to act on the first account.
func TestDemoIsolated(t *testing.T) {
	dir := t.TempDir()
	srv := serveForTest(t, "-data-dir", dir)
	if !strings.Contains(srv.stdout.String(), "Demo (click through the whole flow): "+srv.url+"/") {
		t.Errorf("the zero-setup start prints no demo URL:\n%s", srv.stdout)
	}
	status, app := connectStart(t, srv.url, srv.key)
	if status != http.StatusCreated {
		t.Fatalf("connect/start: %d %v", status, app)
	}
	appID := app["id"].(string)
	if status, body := getJSON(t, srv.url+"/demo/api/connections/"+appID, ""); status != http.StatusNotFound {
		t.Errorf("the demo read an app's connection: %d %v", status, body)
	}
	resp, err := validating(t).Post(srv.url+"/demo/api/start", "application/json", strings.NewReader(`{"externalCustomerId":"testCustomer"}`))
	if err != nil {
		t.Fatal(err)
	}
	var demo map[string]any
	json.NewDecoder(resp.Body).Decode(&demo)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("demo start: %d %v", resp.StatusCode, demo)
	}
	demoID := demo["connectionId"].(string)
	if status, body := getJSON(t, srv.url+"/demo/api/connections/"+demoID, ""); status != http.StatusOK || body["externalCustomerId"] != "testCustomer" {
		t.Errorf("the demo's own connection: %d %v", status, body)
	}
	if status, body := getJSON(t, srv.url+"/bank-linking/connections/"+demoID, srv.key); status != http.StatusNotFound {
		t.Errorf("the app sees the demo's connection: %d %v", status, body)
	}
	if status, body := getJSON(t, srv.url+"/accounts/customers?externalId=testCustomer", srv.key); status != http.StatusOK || fmt.Sprint(body["count"]) != "1" {
		t.Errorf("the app's customers after a demo start with its customer's id: %d %v", status, body)
	}
	srv.stop()

	// Commands that pick the default account never pick the demo's.
	db, err := sqlstore.Open(t.Context(), filepath.Join(dir, "banklink.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acct, err := defaultAccount(t.Context(), db, "")
	if err != nil || acct.ID == wiring.DemoAccountID {
		t.Errorf("default account: %v %v", acct, err)
	}
}

// TestDemoAccountNeverDefault: even where the demo's account is the
// oldest, commands choose (or create) another.
func TestDemoAccountNeverDefault(t *testing.T) {
	db, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "d.db"), sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := wiring.EnsureDemoAccount(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	if err := wiring.EnsureDemoAccount(t.Context(), db); err != nil {
		t.Fatalf("second ensureDemoAccount: %v", err)
	}
	acct, err := defaultAccount(t.Context(), db, "")
	if err != nil || acct.ID == wiring.DemoAccountID || acct.Name != "Default account" {
		t.Errorf("default account: %+v %v", acct, err)
	}
}

// TestDemoRefused: asking for the demo where it must not run stops serve
// with the reason.
func TestDemoRefused(t *testing.T) {
	err := Run(t.Context(), []string{"serve", "-data-dir", t.TempDir(), "-demo=on", "-public-url", "https://link.example.com"}, io.Discard, io.Discard, env(nil))
	if err == nil || !strings.Contains(err.Error(), "-demo=on cannot be used with an https -public-url") {
		t.Errorf("serve -demo=on with https: %v", err)
	}
}

// TestServeHSTS: serve sends Strict-Transport-Security when its public
// URL is https (TLS ends at a proxy in front of it) and not over http.
func TestServeHSTS(t *testing.T) {
	srv := serveForTest(t, "-data-dir", t.TempDir())
	resp, err := validating(t).Get(srv.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("http public URL: Strict-Transport-Security %q", got)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, []string{"serve", "-addr", addr, "-public-url", "https://link.example.com", "-data-dir", t.TempDir(),
			"-directory-size", "300", "-log-level", "warn"}, io.Discard, io.Discard, env(nil))
	}()
	defer func() { cancel(); <-errc }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := validating(t).Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
				t.Errorf("https public URL: Strict-Transport-Security %q", got)
			}
			return
		}
		select {
		case err := <-errc:
			errc <- err // for the deferred wait
			t.Fatalf("serve exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not start")
		}
	}
}
