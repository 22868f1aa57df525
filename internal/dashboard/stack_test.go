package dashboard_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/connecttoken"
	"banklink/internal/dashboard"
	"banklink/internal/httpapi"
	"banklink/internal/linking"
	"banklink/internal/providers"
	"banklink/internal/sandbox"
	"banklink/internal/search"
	"banklink/internal/sqlstore"
	"banklink/internal/widget"
	"banklink/internal/wiring"
)

var (
	dirOnce sync.Once
	dirList []*banklink.Institution
)

func directory() []*banklink.Institution {
	dirOnce.Do(func() { dirList = sandbox.Directory(sandbox.DefaultSeed, 300) })
	return dirList
}

const password = "correct horse battery"

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

// clock is the dashboard's test clock: real time plus an offset.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// stack is banklink (API, widget, dashboard) on a real SQLite file behind
// a real HTTP server, with two accounts and an operator for each.
type stack struct {
	t      testing.TB
	srv    *httptest.Server
	h      http.Handler
	store  *sqlstore.DB
	api    *httpapi.Server
	widget *widget.Widget
	dash   *dashboard.Dashboard
	runner *aggregation.Runner
	logs   *syncBuffer
	clock  *clock
	public string

	a, b     *banklink.Account
	opA, opB *banklink.Operator
	keyA     string // a sandbox API key of account A
}

type option func(*dashboard.Config)

func newStack(t testing.TB, opts ...option) *stack {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "d.db"), sqlstore.Options{Migrate: true})
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
	tokens, err := connecttoken.NewSigner("banklink", connecttoken.DefaultTTL, []byte("dashboard-test-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	st := &stack{t: t, store: db, logs: &syncBuffer{}, clock: &clock{}}
	// No redaction here: the dashboard itself must keep secrets out of
	// the log.
	log := slog.New(slog.NewJSONHandler(st.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var h http.Handler
	st.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(st.srv.Close)
	// The options set the public URL (https: Secure cookies, HSTS); the
	// widget stays on the test server.
	cfg := dashboard.Config{PublicURL: st.srv.URL}
	for _, o := range opts {
		o(&cfg)
	}
	st.public = cfg.PublicURL
	svc, err := wiring.New(wiring.Parts{Store: db, Tokens: tokens, Directory: live, Log: log,
		Providers: providers.New(&sandbox.Provider{AuthorizeURL: st.srv.URL + "/connect/sandbox/authorize"}, sandbox.NewB())},
		wiring.Options{
			PublicURL:               cfg.PublicURL,
			WidgetURL:               st.srv.URL + "/connect",
			Providers:               map[banklink.Environment][]string{banklink.Sandbox: {sandbox.ProviderType, sandbox.ProviderTypeB}},
			MinEligibleInstitutions: 1,
			Now:                     st.clock.now,
			Dashboard:               func(c *dashboard.Config) { *c = cfg },
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Runner.Wait)
	st.api, st.widget, st.dash, st.runner = svc.API, svc.Widget, svc.Dashboard, svc.Runner
	st.h = svc.Handler()
	h = st.h

	st.a, st.b = &banklink.Account{ID: banklink.NewID(), Name: "Acme"}, &banklink.Account{ID: banklink.NewID(), Name: "Beta"}
	for _, a := range []*banklink.Account{st.a, st.b} {
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	st.opA, st.opB = st.operator(st.a.ID, "ops@acme.example"), st.operator(st.b.ID, "ops@beta.example")
	k, plain := banklink.NewAPIKey(st.a.ID, banklink.Sandbox, "test", httpapi.LatestVersion, time.Now())
	if err := db.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	st.keyA = plain
	return st
}

func (st *stack) operator(accountID, email string) *banklink.Operator {
	st.t.Helper()
	o, err := dashboard.NewOperator(accountID, email, password)
	if err != nil {
		st.t.Fatal(err)
	}
	if err := st.store.CreateOperator(context.Background(), o); err != nil {
		st.t.Fatal(err)
	}
	return o
}

// client is a browser stand-in that calls the handler directly, so tests
// choose its address and headers.
type client struct {
	st      *stack
	ip      string
	origin  string // sent as Origin on posts; "" sends none
	referer string
	cookies map[string]*http.Cookie
	csrf    string // the session's token, read from the last page
}

func (st *stack) client(ip string) *client {
	return &client{st: st, ip: ip, origin: st.public, cookies: map[string]*http.Cookie{}}
}

type response struct {
	status int
	body   string
	header http.Header
}

func (r *response) location() string { return r.header.Get("Location") }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(method, path string, form url.Values) *response {
	c.st.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, c.st.public+path, body)
	req.RemoteAddr = net.JoinHostPort(c.ip, "50000")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if c.referer != "" {
			req.Header.Set("Referer", c.referer)
		}
	}
	for _, ck := range c.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	rec := httptest.NewRecorder()
	c.st.h.ServeHTTP(rec, req)
	res := rec.Result()
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	b, _ := io.ReadAll(res.Body)
	out := &response{status: res.StatusCode, body: string(b), header: res.Header}
	if m := csrfRE.FindStringSubmatch(out.body); m != nil {
		c.csrf = m[1]
	}
	return out
}

func (c *client) get(path string) *response { return c.do("GET", path, nil) }

// post sends a form with the session's CSRF token.
func (c *client) post(path string, form url.Values) *response {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	return c.do("POST", path, form)
}

var loginTokenRE = regexp.MustCompile(`name="login_csrf" value="([^"]+)"`)

// tryLogin submits the sign-in form.
func (c *client) tryLogin(email, pw string) *response {
	c.st.t.Helper()
	page := c.get("/dashboard/login")
	m := loginTokenRE.FindStringSubmatch(page.body)
	if m == nil {
		c.st.t.Fatalf("no sign-in form: %d %s", page.status, page.body)
	}
	return c.do("POST", "/dashboard/login", url.Values{"login_csrf": {m[1]}, "email": {email}, "password": {pw}})
}

// login signs in and loads a page, so the client holds a CSRF token.
func (c *client) login(email string) {
	c.st.t.Helper()
	if r := c.tryLogin(email, password); r.status != http.StatusSeeOther {
		c.st.t.Fatalf("sign-in as %s: %d %s", email, r.status, errorOf(r.body))
	}
	if r := c.get("/dashboard/sandbox/keys"); r.status != 200 || c.csrf == "" {
		c.st.t.Fatalf("after sign-in: %d", r.status)
	}
}

var errorRE = regexp.MustCompile(`(?s)<p class="error" role="alert" id="error">(.*?)</p>`)

// errorOf returns the error message a page shows.
func errorOf(body string) string {
	if m := errorRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// start runs connect/start for account A.
func (st *stack) start(scope banklink.Scope, body string) *linking.StartResponse {
	st.t.Helper()
	var req linking.StartRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		st.t.Fatal(err)
	}
	resp, err := st.api.Linking.StartConnection(context.Background(), scope, &req)
	if err != nil {
		st.t.Fatalf("connect/start: %v", err)
	}
	return resp
}

func (st *stack) scopeA() banklink.Scope {
	return banklink.Scope{AccountID: st.a.ID, Environment: banklink.Sandbox}
}

// widgetCall calls the widget API with a connect token.
func (st *stack) widgetCall(token, method, path, body string) (int, map[string]any) {
	st.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, st.srv.URL+"/connect/api/"+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
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

// link runs a whole sandbox linking through the widget API: open, pick
// Sandbox Bank, log in with user_good, complete. It returns the
// connection id.
func (st *stack) link(token string) {
	st.t.Helper()
	if s, out := st.widgetCall(token, "GET", "session", ""); s != 200 {
		st.t.Fatalf("session: %d %v", s, out)
	}
	if s, out := st.widgetCall(token, "POST", "select", `{"institutionId":"`+sandbox.TestBankID+`"}`); s != 200 {
		st.t.Fatalf("select: %d %v", s, out)
	}
	s, out := st.widgetCall(token, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
	if s != 200 {
		st.t.Fatalf("login: %d %v", s, out)
	}
	var ids []string
	for _, a := range out["accounts"].([]any) {
		ids = append(ids, `"`+a.(map[string]any)["id"].(string)+`"`)
	}
	if s, out := st.widgetCall(token, "POST", "complete", `{"consent":true,"accountIds":[`+strings.Join(ids, ",")+`]}`); s != 200 {
		st.t.Fatalf("complete: %d %v", s, out)
	}
}

func hashOf(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

var (
	keyRE   = regexp.MustCompile(`bl_(sandbox|production)_[1-9A-HJ-NP-Za-km-z]+_[1-9A-HJ-NP-Za-km-z]+`)
	olderRE = regexp.MustCompile(`\?before=([1-9A-HJ-NP-Za-km-z]+)" id="older"`)
)

// connectStart calls the API with key and returns the status.
func (st *stack) connectStart(key string) int {
	st.t.Helper()
	req, _ := http.NewRequest("POST", st.srv.URL+"/bank-linking/connect/start", strings.NewReader(`{"externalCustomerId":"k","products":["BALANCES"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "BASIC "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// failingFunnel is a store whose funnel recording always fails.
type failingFunnel struct{ banklink.Store }

func (failingFunnel) RecordFunnelStep(context.Context, banklink.FunnelStep) error {
	return errors.New("funnel table unavailable")
}
