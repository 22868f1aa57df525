package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"banklink/internal/apitest"
	"banklink/internal/httpapi"
	"banklink/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

type running struct {
	url, key string
	stdout   *syncBuffer
	stop     func() error
}

var (
	urlRE = regexp.MustCompile(`banklink is listening on (http://\S+)`)
	keyRE = regexp.MustCompile(`(?m)^\s+(bl_sandbox_\S+)$`)
)

// serveForTest runs "banklink serve" in-process on a free port.
func serveForTest(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, append([]string{"serve", "-addr", "127.0.0.1:0", "-directory-size", "300", "-log-level", "warn"}, args...), out, io.Discard, env(nil))
	}()
	var once sync.Once
	var stopErr error
	r := &running{stdout: out, stop: func() error {
		once.Do(func() { cancel(); stopErr = <-errc })
		return stopErr
	}}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := urlRE.FindStringSubmatch(out.String()); m != nil {
			r.url = m[1]
			if k := keyRE.FindStringSubmatch(out.String()); k != nil {
				r.key = k[1]
			}
			t.Cleanup(func() { r.stop() })
			return r
		}
		select {
		case err := <-errc:
			t.Fatalf("serve exited: %v\n%s", err, out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not start:\n%s", out)
	return nil
}

const seedBody = `{
  "externalCustomerId": "testCustomer",
  "products": ["BALANCES", "OWNERS", "IDENTIFIERS", "TRANSACTIONS", "INVESTMENT_HOLDINGS", "INVESTMENT_TRANSACTIONS"],
  "regions": ["US", "CA"],
  "institutionSearchString": "Fidelity"
}`

// validating returns a client that checks every response against
// openapi.yaml (the rule for every HTTP test, see docs/development.md),
// failing t on an undocumented status, header or body.
func validating(t *testing.T) *http.Client { return apitest.Client(t, httpapi.OpenAPI) }

func connectStart(t *testing.T, base, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/bank-linking/connect/start", strings.NewReader(seedBody))
	req.Header.Set("Meld-Version", "2022-11-10")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "BASIC "+key)
	return doJSON(t, req)
}

// doJSON sends req through the validating client and decodes the JSON
// answer, whatever its status.
func doJSON(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := validating(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestServeFirstStartPrintsWorkingKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"-data-dir", t.TempDir()} }},
		{"postgres", func(t *testing.T) []string { return []string{"-database", testenv.PostgresDSN(t)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.db(t)
			srv := serveForTest(t, args...)
			if srv.key == "" {
				t.Fatalf("no key printed:\n%s", srv.stdout)
			}
			if !strings.Contains(srv.stdout.String(), "curl --location '"+srv.url+"/bank-linking/connect/start'") {
				t.Errorf("no ready-to-paste curl command:\n%s", srv.stdout)
			}
			status, body := connectStart(t, srv.url, srv.key)
			if status != http.StatusCreated {
				t.Fatalf("seed request: %d %v", status, body)
			}
			tok := body["connectToken"].(string)
			payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
			var claims map[string]any
			json.Unmarshal(payload, &claims)
			if claims["exp"].(float64)-claims["iat"].(float64) != 10800 {
				t.Errorf("exp - iat = %v", claims["exp"].(float64)-claims["iat"].(float64))
			}
			if body["widgetUrl"] != srv.url+"/connect?connectToken="+tok {
				t.Errorf("widgetUrl = %v", body["widgetUrl"])
			}
			// The widget page and the demo page answer.
			for _, path := range []string{"/connect?connectToken=" + tok, "/", "/healthz", "/readyz", "/openapi.yaml"} {
				resp, err := validating(t).Get(srv.url + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("GET %s: %d", path, resp.StatusCode)
				}
			}
			// A restart keeps the key and the signing secret, and prints no
			// new key.
			if err := srv.stop(); err != nil {
				t.Fatalf("graceful stop: %v", err)
			}
			again := serveForTest(t, args...)
			if again.key != "" {
				t.Errorf("second start printed another key")
			}
			if status, body := connectStart(t, again.url, srv.key); status != http.StatusCreated {
				t.Errorf("key after restart: %d %v", status, body)
			}
		})
	}
}

func TestAPIKeyCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append(args, "-database", db), &out, &errOut, env(nil))
		return out.String() + errOut.String(), err
	}
	out, err := run("apikey", "create", "-env", "production", "-name", "backend")
	if err != nil {
		t.Fatalf("create: %v %s", err, out)
	}
	prodKey := regexp.MustCompile(`bl_production_\S+`).FindString(out)
	if prodKey == "" {
		t.Fatalf("no key printed: %s", out)
	}
	out, err = run("apikey", "create", "-env", "sandbox", "-name", "ci")
	if err != nil {
		t.Fatal(err)
	}
	sbKey := regexp.MustCompile(`bl_sandbox_\S+`).FindString(out)
	out, err = run("apikey", "list")
	if err != nil || !strings.Contains(out, "backend") || !strings.Contains(out, "ci") {
		t.Fatalf("list: %v %s", err, out)
	}
	id := strings.Split(sbKey, "_")[2]
	if out, err = run("apikey", "revoke", "-id", id); err != nil {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if _, err = run("apikey", "revoke", "-id", id); err == nil {
		t.Error("revoking twice succeeded")
	}
	for _, bad := range [][]string{
		{"apikey", "create", "-env", "staging", "-name", "x"},
		{"apikey", "create", "-env", "sandbox"},
		{"apikey", "revoke"},
		{"apikey", "rotate"},
		{"nonsense"},
	} {
		if _, err := run(bad...); err == nil {
			t.Errorf("%v succeeded", bad)
		}
	}

	// serve on that database: the revoked key gets 401, the production key
	// reaches the API (and is told no production provider is enabled).
	srv := serveForTest(t, "-database", db)
	if srv.key != "" {
		t.Errorf("serve printed a key although keys exist")
	}
	if status, body := connectStart(t, srv.url, sbKey); status != 401 || !strings.Contains(fmt.Sprint(body["message"]), "revoked") {
		t.Errorf("revoked key: %d %v", status, body)
	}
	if status, body := connectStart(t, srv.url, prodKey); status != 400 || body["code"] != "NOT_SUPPORTED" {
		t.Errorf("production key: %d %v", status, body)
	}
}

func TestMigrateAndVersion(t *testing.T) {
	var out bytes.Buffer
	db := filepath.Join(t.TempDir(), "m.db")
	if err := Run(context.Background(), []string{"migrate", "-database", db}, &out, io.Discard, env(nil)); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`schema version [1-9][0-9]*\n`).MatchString(out.String()) {
		t.Errorf("migrate: %s", out.String())
	}
	out.Reset()
	if err := Run(context.Background(), []string{"version"}, &out, io.Discard, env(nil)); err != nil || !strings.Contains(out.String(), "2022-11-10") {
		t.Errorf("version: %v %s", err, out.String())
	}
	// Environment variables configure the commands.
	out.Reset()
	if err := Run(context.Background(), []string{"migrate"}, &out, io.Discard, env(map[string]string{"BANKLINK_DATABASE_URL": db})); err != nil || !strings.Contains(out.String(), db) {
		t.Errorf("migrate from env: %v %s", err, out.String())
	}
	if err := Run(context.Background(), []string{"serve", "-token-ttl", "5h"}, io.Discard, io.Discard, env(nil)); err == nil {
		t.Error("a token TTL beyond the completion window was accepted")
	}
	// Credential encryption keys come from the environment (or a file).
	key := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	for _, tc := range []struct {
		keys string
		ok   bool
	}{{key, true}, {"k1:short", false}, {"nocolon", false}} {
		err := Run(context.Background(), []string{"migrate"}, io.Discard, io.Discard, env(map[string]string{"BANKLINK_DATABASE_URL": db, "BANKLINK_ENCRYPTION_KEYS": tc.keys}))
		if (err == nil) != tc.ok || (err != nil && (!strings.Contains(err.Error(), "encryption-keys") || strings.Contains(err.Error(), "short"))) {
			t.Errorf("keys %q: %v", tc.keys, err)
		}
	}
}

func TestOriginsCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "o.db")
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Run(context.Background(), append(args, "-database", db), &out, io.Discard, env(nil))
		return out.String(), err
	}
	if _, err := run("origins", "set", "-env", "production", "-origins", "https://App.Example.com, https://www.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("origins", "set", "-env", "sandbox", "-origins", "http://localhost:3000"); err != nil {
		t.Fatalf("sandbox http origin: %v", err)
	}
	out, err := run("origins", "list")
	if err != nil || !strings.Contains(out, "https://app.example.com https://www.example.com") || !strings.Contains(out, "http://localhost:3000") {
		t.Errorf("list: %v %s", err, out)
	}
	for _, bad := range []struct{ env, origin, want string }{
		{"sandbox", "app.example.com", "not an origin"},
		{"sandbox", "https://app.example.com/path", "not an origin"},
		{"sandbox", "ftp://x", "not an origin"},
		{"sandbox", "https://u:p@x", "not an origin"},
		{"production", "http://localhost:3000", "is not https"},
		{"production", "https://*.example.com", "has a wildcard"},
		{"sandbox", "http://*.example.com", "has a wildcard"},
	} {
		if _, err := run("origins", "set", "-env", bad.env, "-origins", bad.origin); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s origin %q: %v", bad.env, bad.origin, err)
		}
	}
	if out, _ := run("origins", "list"); !strings.Contains(out, "https://app.example.com https://www.example.com") {
		t.Errorf("a refused set changed the list: %s", out)
	}
}
