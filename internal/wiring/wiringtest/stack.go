package wiringtest

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

// Directory is the stacks' institution directory: 500 generated sandbox
// institutions plus the test institutions, built once.
func Directory() []*banklink.Institution {
	dirOnce.Do(func() { dirList = sandbox.Directory(sandbox.DefaultSeed, 500) })
	return dirList
}

// Secret signs the stacks' connect tokens.
const Secret = "widget-test-secret-0123456789abcdef"

// Stack is the whole service (API, widget, sandbox provider) on a real
// SQLite file behind a real HTTP server.
type Stack struct {
	T      testing.TB
	Srv    *httptest.Server
	Store  *sqlstore.DB
	API    *httpapi.Server
	Widget *widget.Widget
	Tokens *connecttoken.Signer
	Scope  banklink.Scope
	// Client validates every response against openapi.yaml.
	Client *http.Client
	// Logs holds everything the API and the widget logged, at debug level.
	Logs *SyncBuffer
	Path string
	// Runner aggregates completed connections; APIKey reads their data.
	Runner *aggregation.Runner
	Sbx    *sandbox.Provider
	APIKey string
	// Svc is the service as wiring assembles it; Clock is every part's
	// Clock.
	Svc   *wiring.Service
	Clock *Clock
}

// Clock is the Stack's Clock: real time plus an offset tests advance.
type Clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// advance moves the Clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// New is the Stack with the sandbox provider.
func New(t testing.TB) *Stack {
	t.Helper()
	return NewWith(t, sandbox.ProviderType)
}

// NewWith builds the Stack with the given sandbox providers enabled,
// in waterfall order.
func NewWith(t testing.TB, providerTypes ...string) *Stack {
	t.Helper()
	return NewWithProviders(t, providerTypes, nil, nil)
}

// NewWithProviders builds the Stack with the providers in order
// enabled, in waterfall order: the sandbox ones and those of logins and
// aggs (which are registered besides them).
func NewWithProviders(t testing.TB, order []string, logins map[string]banklink.InteractiveLogin, aggs map[string]banklink.Aggregator) *Stack {
	t.Helper()
	return NewBuilt(t, order, func(*Stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator) {
		return logins, aggs
	})
}

// NewBuilt is NewWithProviders with the extra providers made by
// build once the Stack's store and server URL exist (for providers that
// need them, such as Plaid's webhook URL).
func NewBuilt(t testing.TB, order []string, build func(st *Stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator)) *Stack {
	t.Helper()
	return NewConfigured(t, order, build, nil)
}

// NewConfigured is NewBuilt with the widget's configuration
// adjusted by configure (rate limits), when not nil.
func NewConfigured(t testing.TB, order []string, build func(st *Stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator), configure func(*widget.Config)) *Stack {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := sqlstore.Open(ctx, path, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.UpsertInstitutions(ctx, Directory()); err != nil {
		t.Fatal(err)
	}
	live := search.NewLive(db)
	if err := live.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	tokens, err := connecttoken.NewSigner("banklink", connecttoken.DefaultTTL, []byte(Secret))
	if err != nil {
		t.Fatal(err)
	}
	sbx := &sandbox.Provider{}
	st := &Stack{T: t, Store: db, Tokens: tokens, Sbx: sbx, Client: apitest.Client(t, httpapi.OpenAPI), Logs: &SyncBuffer{}, Path: path, Clock: &Clock{}}
	log := slog.New(slog.NewJSONHandler(st.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The server URL is needed for the widget URL before the handler
	// exists, so start with a placeholder handler.
	var h http.Handler
	st.Srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(st.Srv.Close)
	sbx.AuthorizeURL = st.Srv.URL + "/connect/sandbox/authorize"
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
		PublicURL:               st.Srv.URL,
		Providers:               map[banklink.Environment][]string{banklink.Sandbox: order},
		MinEligibleInstitutions: 1,
		// Webhook receivers are loopback test servers: sandbox opts in.
		WebhookPrivate: webhookurl.PrivateSandbox,
		Demo:           true,
		Widget:         configure,
		Now:            st.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Runner.Wait)
	st.Svc, st.API, st.Widget, st.Runner = svc, svc.API, svc.Widget, svc.Runner
	h = svc.Handler()
	if err := wiring.EnsureDemoAccount(ctx, db); err != nil {
		t.Fatal(err)
	}
	acct := &banklink.Account{ID: banklink.NewID(), Name: "Acme"}
	if err := db.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	st.Scope = banklink.Scope{AccountID: acct.ID, Environment: banklink.Sandbox}
	k, plain := banklink.NewAPIKey(acct.ID, banklink.Sandbox, "test", httpapi.LatestVersion, time.Now())
	if err := db.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	st.APIKey = plain
	return st
}

// start runs connect/start for body (JSON) and returns the response.
func (st *Stack) Start(body string) *linking.StartResponse {
	st.T.Helper()
	var req linking.StartRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		st.T.Fatal(err)
	}
	resp, err := st.API.Linking.StartConnection(context.Background(), st.Scope, &req)
	if err != nil {
		st.T.Fatalf("connect/start: %v", err)
	}
	return resp
}

func (st *Stack) Institution(name string) *banklink.Institution {
	st.T.Helper()
	for _, in := range Directory() {
		if in.Name == name {
			return in
		}
	}
	// Institutions a provider's directory added (dirsync) are only in
	// the live index.
	res, err := st.API.Directory.(*search.Live).Current().Search(search.Query{Name: name, Limit: 50, Eligibility: banklink.Eligibility{AllowRedirect: true}})
	if err == nil {
		for _, in := range res.Institutions {
			if in.Name == name {
				return in
			}
		}
	}
	st.T.Fatalf("no institution %q", name)
	return nil
}

// call sends a widget API request with the connect token.
func (st *Stack) Call(token, method, path, body string) (int, map[string]any) {
	st.T.Helper()
	return st.CallTab(token, "", method, path, body)
}

// callTab is call from a browser tab: tab goes in the Banklink-Tab
// header ("" sends none).
func (st *Stack) CallTab(token, tab, method, path, body string) (int, map[string]any) {
	st.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, st.Srv.URL+"/connect/api/"+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	if tab != "" {
		req.Header.Set(widget.TabHeader, tab)
	}
	resp, err := st.Client.Do(req)
	if err != nil {
		st.T.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		st.T.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// expiredToken mints a valid-signature token for conn that expired an
// hour ago.
func (st *Stack) ExpiredToken(conn *linking.StartResponse) string {
	st.T.Helper()
	old, err := connecttoken.NewSigner("banklink", connecttoken.DefaultTTL, []byte(Secret))
	if err != nil {
		st.T.Fatal(err)
	}
	old.Now = func() time.Time { return time.Now().Add(-4 * time.Hour) }
	tok, _, err := old.Mint(connecttoken.Claims{Account: st.Scope.AccountID, Customer: conn.CustomerID, Connection: conn.ID, Environment: banklink.Sandbox})
	if err != nil {
		st.T.Fatal(err)
	}
	return tok
}

// get calls the Meld API with the Stack's API key and decodes the answer.
func (st *Stack) Get(path string, out any) int {
	st.T.Helper()
	status, _ := st.Send("GET", path, "", out)
	return status
}

// send calls the Meld API with any method and returns status and headers.
func (st *Stack) Send(method, path, body string, out any) (int, http.Header) {
	st.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, st.Srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "BASIC "+st.APIKey)
	resp, err := st.Client.Do(req)
	if err != nil {
		st.T.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		st.T.Fatal(err)
	}
	return resp.StatusCode, resp.Header
}
