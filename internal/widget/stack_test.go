package widget_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/apitest"
	"banklink/internal/connecttoken"
	"banklink/internal/httpapi"
	"banklink/internal/linking"
	"banklink/internal/providers"
	"banklink/internal/sandbox"
	"banklink/internal/search"
	"banklink/internal/sqlstore"
	"banklink/internal/webhookurl"
	"banklink/internal/widget"
	"banklink/internal/wiring"
)

var (
	dirOnce sync.Once
	dirList []*banklink.Institution
)

func directory() []*banklink.Institution {
	dirOnce.Do(func() { dirList = sandbox.Directory(sandbox.DefaultSeed, 500) })
	return dirList
}

const secret = "widget-test-secret-0123456789abcdef"

// stack is the whole service (API, widget, sandbox provider) on a real
// SQLite file behind a real HTTP server.
type stack struct {
	t      testing.TB
	srv    *httptest.Server
	store  *sqlstore.DB
	api    *httpapi.Server
	widget *widget.Widget
	tokens *connecttoken.Signer
	scope  banklink.Scope
	// client validates every response against openapi.yaml.
	client *http.Client
	// logs holds everything the API and the widget logged, at debug level.
	logs *syncBuffer
	path string
	// runner aggregates completed connections; apiKey reads their data.
	runner *aggregation.Runner
	sbx    *sandbox.Provider
	apiKey string
	// svc is the service as wiring assembles it; clock is every part's
	// clock.
	svc   *wiring.Service
	clock *clock
}

// clock is the stack's clock: real time plus an offset tests advance.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// advance moves the clock on by d.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

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

func newStack(t testing.TB) *stack {
	t.Helper()
	return newStackWith(t, sandbox.ProviderType)
}

// newStackWith builds the stack with the given sandbox providers enabled,
// in waterfall order.
func newStackWith(t testing.TB, providerTypes ...string) *stack {
	t.Helper()
	return newStackWithProviders(t, providerTypes, nil, nil)
}

// newStackWithProviders builds the stack with the providers in order
// enabled, in waterfall order: the sandbox ones and those of logins and
// aggs (which are registered besides them).
func newStackWithProviders(t testing.TB, order []string, logins map[string]banklink.InteractiveLogin, aggs map[string]banklink.Aggregator) *stack {
	t.Helper()
	return newStackBuilt(t, order, func(*stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator) {
		return logins, aggs
	})
}

// newStackBuilt is newStackWithProviders with the extra providers made by
// build once the stack's store and server URL exist (for providers that
// need them, such as Plaid's webhook URL).
func newStackBuilt(t testing.TB, order []string, build func(st *stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator)) *stack {
	t.Helper()
	return newStackConfigured(t, order, build, nil)
}

// newStackConfigured is newStackBuilt with the widget's configuration
// adjusted by configure (rate limits), when not nil.
func newStackConfigured(t testing.TB, order []string, build func(st *stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator), configure func(*widget.Config)) *stack {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := sqlstore.Open(ctx, path, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.UpsertInstitutions(ctx, directory()); err != nil {
		t.Fatal(err)
	}
	live := search.NewLive(db)
	if err := live.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	tokens, err := connecttoken.NewSigner("banklink", connecttoken.DefaultTTL, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	sbx := &sandbox.Provider{}
	st := &stack{t: t, store: db, tokens: tokens, sbx: sbx, client: apitest.Client(t, httpapi.OpenAPI), logs: &syncBuffer{}, path: path, clock: &clock{}}
	log := slog.New(slog.NewJSONHandler(st.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The server URL is needed for the widget URL before the handler
	// exists, so start with a placeholder handler.
	var h http.Handler
	st.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(st.srv.Close)
	sbx.AuthorizeURL = st.srv.URL + "/connect/sandbox/authorize"
	var logins map[string]banklink.InteractiveLogin
	var aggs map[string]banklink.Aggregator
	if build != nil {
		logins, aggs = build(st)
	}
	// The registry as serve's: the sandbox providers, then the test's
	// (an aggregator of a type replaces that type's login: the tests'
	// wrappers embed the provider they wrap).
	reg := providers.New(sbx, sandbox.NewB())
	for _, p := range logins {
		reg.Register(p)
	}
	for _, p := range aggs {
		if pp, ok := p.(banklink.Provider); ok {
			reg.Register(pp)
		}
	}
	svc, err := wiring.New(wiring.Parts{Store: db, Tokens: tokens, Directory: live, Providers: reg, Log: log}, wiring.Options{
		PublicURL:               st.srv.URL,
		Providers:               map[banklink.Environment][]string{banklink.Sandbox: order},
		MinEligibleInstitutions: 1,
		// Webhook receivers are loopback test servers: sandbox opts in.
		WebhookPrivate: webhookurl.PrivateSandbox,
		Demo:           true,
		Widget:         configure,
		Now:            st.clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Runner.Wait)
	st.svc, st.api, st.widget, st.runner = svc, svc.API, svc.Widget, svc.Runner
	h = svc.Handler()
	if err := wiring.EnsureDemoAccount(ctx, db); err != nil {
		t.Fatal(err)
	}
	acct := &banklink.Account{ID: banklink.NewID(), Name: "Acme"}
	if err := db.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	st.scope = banklink.Scope{AccountID: acct.ID, Environment: banklink.Sandbox}
	k, plain := banklink.NewAPIKey(acct.ID, banklink.Sandbox, "test", httpapi.LatestVersion, time.Now())
	if err := db.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	st.apiKey = plain
	return st
}

// start runs connect/start for body (JSON) and returns the response.
func (st *stack) start(body string) *linking.StartResponse {
	st.t.Helper()
	var req linking.StartRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		st.t.Fatal(err)
	}
	resp, err := st.api.Linking.StartConnection(context.Background(), st.scope, &req)
	if err != nil {
		st.t.Fatalf("connect/start: %v", err)
	}
	return resp
}

func (st *stack) institution(name string) *banklink.Institution {
	st.t.Helper()
	for _, in := range directory() {
		if in.Name == name {
			return in
		}
	}
	// Institutions a provider's directory added (dirsync) are only in
	// the live index.
	res, err := st.api.Directory.(*search.Live).Current().Search(search.Query{Name: name, Limit: 50, Eligibility: banklink.Eligibility{AllowRedirect: true}})
	if err == nil {
		for _, in := range res.Institutions {
			if in.Name == name {
				return in
			}
		}
	}
	st.t.Fatalf("no institution %q", name)
	return nil
}

// call sends a widget API request with the connect token.
func (st *stack) call(token, method, path, body string) (int, map[string]any) {
	st.t.Helper()
	return st.callTab(token, "", method, path, body)
}

// callTab is call from a browser tab: tab goes in the Banklink-Tab
// header ("" sends none).
func (st *stack) callTab(token, tab, method, path, body string) (int, map[string]any) {
	st.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, st.srv.URL+"/connect/api/"+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	if tab != "" {
		req.Header.Set(widget.TabHeader, tab)
	}
	resp, err := st.client.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		st.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// expiredToken mints a valid-signature token for conn that expired an
// hour ago.
func (st *stack) expiredToken(conn *linking.StartResponse) string {
	st.t.Helper()
	old, err := connecttoken.NewSigner("banklink", connecttoken.DefaultTTL, []byte(secret))
	if err != nil {
		st.t.Fatal(err)
	}
	old.Now = func() time.Time { return time.Now().Add(-4 * time.Hour) }
	tok, _, err := old.Mint(connecttoken.Claims{Account: st.scope.AccountID, Customer: conn.CustomerID, Connection: conn.ID, Environment: banklink.Sandbox})
	if err != nil {
		st.t.Fatal(err)
	}
	return tok
}

// get calls the Meld API with the stack's API key and decodes the answer.
func (st *stack) get(path string, out any) int {
	st.t.Helper()
	status, _ := st.send("GET", path, "", out)
	return status
}

// send calls the Meld API with any method and returns status and headers.
func (st *stack) send(method, path, body string, out any) (int, http.Header) {
	st.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, st.srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "BASIC "+st.apiKey)
	resp, err := st.client.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		st.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header
}
