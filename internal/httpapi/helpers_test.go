package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/internal/apitest"
	"banklink/internal/connecttoken"
	"banklink/internal/httpapi"
	"banklink/internal/sandbox"
	"banklink/internal/search"
	"banklink/internal/sqlstore"
	"banklink/internal/testenv"
)

// testDirectorySize keeps the generated part of the directory small so
// every test server starts fast; the benchmarks use the full 20,000.
const testDirectorySize = 2000

var (
	dirOnce sync.Once
	dirList []*banklink.Institution
)

func testDirectory() []*banklink.Institution {
	dirOnce.Do(func() { dirList = sandbox.Directory(sandbox.DefaultSeed, testDirectorySize) })
	return dirList
}

// testServer is the real API over a real database.
type testServer struct {
	*httptest.Server
	t      testing.TB
	store  *sqlstore.DB
	api    *httpapi.Server
	tokens *connecttoken.Signer
	dir    *search.Live
	client *http.Client
	// key is a sandbox API key of account.
	key     string
	account *banklink.Account
}

type serverOption func(*httpapi.Config)

// newTestServer starts the API on a fresh SQLite file, or on a fresh
// PostgreSQL database when dialect is "postgres".
func newTestServer(t testing.TB, dialect string, opts ...serverOption) *testServer {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "banklink.db")
	if dialect == "postgres" {
		dsn = testenv.PostgresDSN(t)
	}
	return newTestServerOn(t, dsn, opts...)
}

// newTestServerOn starts the API on the database named by dsn.
func newTestServerOn(t testing.TB, dsn string, opts ...serverOption) *testServer {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.UpsertInstitutions(ctx, testDirectory()); err != nil {
		t.Fatal(err)
	}
	dir := search.NewLive(db)
	if err := dir.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	tokens, err := connecttoken.NewSigner("banklink", connecttoken.DefaultTTL, []byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{
		WidgetURL:               "https://widget.example.test/connect",
		MinEligibleInstitutions: 25,
		Providers:               map[banklink.Environment][]string{banklink.Sandbox: {sandbox.ProviderType}},
	}
	for _, o := range opts {
		o(&cfg)
	}
	api := httpapi.New(db, tokens, dir, nil, cfg)
	ts := &testServer{Server: httptest.NewServer(api.Handler()), t: t, store: db, api: api, tokens: tokens, dir: dir,
		client: apitest.Client(t, httpapi.OpenAPI)}
	t.Cleanup(ts.Close)
	ts.account = &banklink.Account{ID: banklink.NewID(), Name: "Acme"}
	if err := db.CreateAccount(ctx, ts.account); err != nil {
		t.Fatal(err)
	}
	ts.key = ts.newKey(ts.account.ID, banklink.Sandbox)
	return ts
}

func (ts *testServer) newKey(accountID string, env banklink.Environment) string {
	ts.t.Helper()
	k, plain := banklink.NewAPIKey(accountID, env, "test", httpapi.LatestVersion, time.Now())
	if err := ts.store.CreateAPIKey(context.Background(), k); err != nil {
		ts.t.Fatal(err)
	}
	return plain
}

type call struct {
	method  string
	path    string
	body    string
	headers map[string]string
	// key overrides the default API key; "-" sends none.
	key string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) errorBody(t testing.TB) httpapi.ErrorBody {
	t.Helper()
	var e httpapi.ErrorBody
	r.json(t, &e)
	return e
}

func (ts *testServer) do(c call) response {
	ts.t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, ts.URL+c.path, body)
	if err != nil {
		ts.t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch c.key {
	case "":
		req.Header.Set("Authorization", "BASIC "+ts.key)
	case "-":
	default:
		req.Header.Set("Authorization", "BASIC "+c.key)
	}
	for k, v := range c.headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// institutionNamed finds a directory institution by exact name.
func institutionNamed(t testing.TB, name string) *banklink.Institution {
	t.Helper()
	for _, in := range testDirectory() {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("no institution named %q in the sandbox directory", name)
	return nil
}

type recorder struct {
	h    http.Header
	code int
	body strings.Builder
}

func newRecorder() *recorder                    { return &recorder{h: http.Header{}} }
func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(c int)           { r.code = c }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

func splitKey(k string) (string, string, string, bool) {
	env, id, secret, ok := banklink.ParseAPIKey(k)
	return string(env), id, secret, ok
}
