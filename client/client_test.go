package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake answers with the scripted responses in order, recording the
// requests; it stands in for banklink only where the client's own
// behaviour (retries, headers, paging) is under test. The real server is
// driven in sandbox_test.go.
type fake struct {
	t       *testing.T
	mu      sync.Mutex
	script  []scripted
	reqs    []*http.Request
	handler func(w http.ResponseWriter, r *http.Request)
}

type scripted struct {
	status     int
	retryAfter string
	body       string
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r)
	if f.handler != nil {
		f.handler(w, r)
		return
	}
	if len(f.script) == 0 {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(500)
		return
	}
	s := f.script[0]
	f.script = f.script[1:]
	if s.retryAfter != "" {
		w.Header().Set("Retry-After", s.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(s.status)
	fmt.Fprint(w, s.body)
}

func errBody(code string) string {
	return `{"code":"` + code + `","message":"[products] nope","field":"products","requestId":"r1","timestamp":"2026-01-02T03:04:05.000000Z"}`
}

const okConn = `{"id":"c1","key":"k1","status":"ACTIVE"}`

// newFake returns a client against a scripted server and the waits the
// client asked for (instead of sleeping them).
func newFake(t *testing.T, script []scripted, opts ...Option) (*Client, *fake, *[]time.Duration) {
	f := &fake{t: t, script: script}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := New(srv.URL, "bl_sandbox_test", opts...)
	var waits []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return c, f, &waits
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		script    []scripted
		call      func(c *Client) error
		opts      []Option
		wantCalls int
		wantWaits []time.Duration
		wantCode  int // 0: success
	}{
		{
			name:      "GET retried after 503 honouring Retry-After",
			script:    []scripted{{503, "5", errBody("SERVICE_UNAVAILABLE")}, {200, "", okConn}},
			call:      func(c *Client) error { _, err := c.Connection(context.Background(), "c1"); return err },
			wantCalls: 2, wantWaits: []time.Duration{5 * time.Second},
		},
		{
			name:      "POST with Idempotency-Key retried after 429",
			script:    []scripted{{429, "2", errBody("RATE_LIMITED")}, {429, "3", errBody("RATE_LIMITED")}, {200, "", `{"requestId":"x"}`}},
			call:      func(c *Client) error { _, err := c.RefreshConnection(context.Background(), "c1", nil); return err },
			wantCalls: 3, wantWaits: []time.Duration{2 * time.Second, 3 * time.Second},
		},
		{
			name:      "retries are bounded",
			script:    []scripted{{503, "1", errBody("SERVICE_UNAVAILABLE")}, {503, "1", errBody("SERVICE_UNAVAILABLE")}, {503, "1", errBody("SERVICE_UNAVAILABLE")}},
			opts:      []Option{WithRetries(2)},
			call:      func(c *Client) error { _, err := c.Connection(context.Background(), "c1"); return err },
			wantCalls: 3, wantWaits: []time.Duration{time.Second, time.Second}, wantCode: 503,
		},
		{
			name:   "PATCH without Idempotency-Key is not retried",
			script: []scripted{{503, "1", errBody("SERVICE_UNAVAILABLE")}},
			call: func(c *Client) error {
				_, err := c.UpdateWebhookProfile(context.Background(), "p1", WebhookProfileInput{})
				return err
			},
			wantCalls: 1, wantCode: 503,
		},
		{
			name:   "PATCH without Idempotency-Key retried after the key's RATE_LIMITED",
			script: []scripted{{429, "1", errBody("RATE_LIMITED")}, {200, "", `{"requestId":"x"}`}},
			call: func(c *Client) error {
				_, err := c.UpdateWebhookProfile(context.Background(), "p1", WebhookProfileInput{})
				return err
			},
			wantCalls: 2, wantWaits: []time.Duration{time.Second},
		},
		{
			name:   "PATCH without Idempotency-Key not retried after another 429",
			script: []scripted{{429, "1", errBody("PROVIDER_RATE_LIMITED")}},
			call: func(c *Client) error {
				_, err := c.UpdateWebhookProfile(context.Background(), "p1", WebhookProfileInput{})
				return err
			},
			wantCalls: 1, wantCode: 429,
		},
		{
			name:   "widget POST (no Idempotency-Key) is not retried",
			script: []scripted{{429, "1", errBody("RATE_LIMITED")}},
			call: func(c *Client) error {
				_, err := c.Widget("tok").Login(context.Background(), map[string]string{"username": "u"})
				return err
			},
			wantCalls: 1, wantCode: 429,
		},
		{
			name:      "400 is not retried",
			script:    []scripted{{400, "", errBody("BAD_REQUEST")}},
			call:      func(c *Client) error { _, err := c.Connection(context.Background(), "c1"); return err },
			wantCalls: 1, wantCode: 400,
		},
		{
			name:      "Retry-After beyond the maximum wait is returned",
			script:    []scripted{{429, "3600", errBody("RATE_LIMITED")}},
			call:      func(c *Client) error { _, err := c.Connection(context.Background(), "c1"); return err },
			wantCalls: 1, wantCode: 429,
		},
		{
			name:   "Retry-After beyond the context deadline is returned",
			script: []scripted{{503, "30", errBody("SERVICE_UNAVAILABLE")}},
			call: func(c *Client) error {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_, err := c.Connection(ctx, "c1")
				return err
			},
			wantCalls: 1, wantCode: 503,
		},
		{
			name:      "Retry-After as an HTTP date",
			script:    []scripted{{503, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), errBody("SERVICE_UNAVAILABLE")}},
			call:      func(c *Client) error { _, err := c.Connection(context.Background(), "c1"); return err },
			wantCalls: 1, wantCode: 503, // an hour is beyond the maximum wait
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f, waits := newFake(t, tt.script, tt.opts...)
			err := tt.call(c)
			if len(f.reqs) != tt.wantCalls {
				t.Errorf("%d requests, want %d", len(f.reqs), tt.wantCalls)
			}
			if fmt.Sprint(*waits) != fmt.Sprint(tt.wantWaits) && !(len(*waits) == 0 && len(tt.wantWaits) == 0) {
				t.Errorf("waits %v, want %v", *waits, tt.wantWaits)
			}
			var e *Error
			switch {
			case tt.wantCode == 0 && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantCode != 0 && !errors.As(err, &e):
				t.Fatalf("err = %v, want *Error", err)
			case tt.wantCode != 0 && e.StatusCode != tt.wantCode:
				t.Fatalf("status %d, want %d", e.StatusCode, tt.wantCode)
			}
		})
	}
}

func TestBackoffWithoutRetryAfter(t *testing.T) {
	c, _, waits := newFake(t, []scripted{{503, "", errBody("SERVICE_UNAVAILABLE")}, {503, "", errBody("SERVICE_UNAVAILABLE")}, {200, "", okConn}})
	if _, err := c.Connection(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 2 {
		t.Fatalf("waits %v", *waits)
	}
	for i, w := range *waits {
		base := 500 * time.Millisecond << i
		if w < base*3/4 || w > base*5/4 {
			t.Errorf("wait %d = %v, want %v ±25%%", i, w, base)
		}
	}
}

func TestHeaders(t *testing.T) {
	c, f, _ := newFake(t, []scripted{{429, "1", errBody("RATE_LIMITED")}, {201, "", `{"id":"c1"}`}, {201, "", `{"id":"c2"}`}, {200, "", okConn}}, WithVersion("2022-11-10"))
	ctx := context.Background()
	if _, err := c.ConnectStart(ctx, ConnectStartRequest{ExternalCustomerID: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConnectStart(ctx, ConnectStartRequest{ExternalCustomerID: "x"}, WithIdempotencyKey("mine"), WithRequestVersion("2021-10-27")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connection(ctx, "c/1"); err != nil {
		t.Fatal(err)
	}
	r := f.reqs
	if got := r[0].Header.Get("Idempotency-Key"); len(got) != 32 || got != r[1].Header.Get("Idempotency-Key") {
		t.Errorf("generated keys %q, %q: want one 32-hex key shared by the retry", got, r[1].Header.Get("Idempotency-Key"))
	}
	for i, want := range []struct{ key, version, auth, path string }{
		{"", "2022-11-10", "BASIC bl_sandbox_test", "/bank-linking/connect/start"},
		{"mine", "2021-10-27", "BASIC bl_sandbox_test", "/bank-linking/connect/start"},
		{"", "2022-11-10", "BASIC bl_sandbox_test", "/bank-linking/connections/c%2F1"},
	} {
		got := r[i+1]
		if want.key != "" && got.Header.Get("Idempotency-Key") != want.key {
			t.Errorf("request %d key %q, want %q", i+1, got.Header.Get("Idempotency-Key"), want.key)
		}
		if got.Method == http.MethodGet && got.Header.Get("Idempotency-Key") != "" {
			t.Errorf("GET carries an Idempotency-Key")
		}
		if got.Header.Get("Meld-Version") != want.version || got.Header.Get("Authorization") != want.auth || got.URL.EscapedPath() != want.path {
			t.Errorf("request %d: version %q auth %q path %q", i+1, got.Header.Get("Meld-Version"), got.Header.Get("Authorization"), got.URL.EscapedPath())
		}
	}
	if r[0].Header.Get("Idempotency-Key") == r[2].Header.Get("Idempotency-Key") {
		t.Error("two calls share a generated key")
	}
}

func TestErrorBody(t *testing.T) {
	tests := []struct {
		name string
		s    scripted
		want Error
	}{
		{"banklink error", scripted{400, "", errBody("BAD_REQUEST")}, Error{StatusCode: 400, Code: "BAD_REQUEST", Message: "[products] nope", Field: "products", RequestID: "r1", Timestamp: "2026-01-02T03:04:05.000000Z"}},
		{"not JSON (a proxy)", scripted{502, "", "<html>bad gateway</html>"}, Error{StatusCode: 502, Code: "Bad Gateway", Message: "<html>bad gateway</html>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := newFake(t, []scripted{tt.s})
			_, err := c.Connection(context.Background(), "c1")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v", err)
			}
			if *e != tt.want {
				t.Errorf("got %+v\nwant %+v", *e, tt.want)
			}
		})
	}
}

// TestIterator pages through a fake list of 7 records with limit 3 and
// checks the cursors the client sends.
func TestIterator(t *testing.T) {
	const total = 7
	c, f, _ := newFake(t, nil)
	f.handler = func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		start := 0
		if a := q.Get("after"); a != "" {
			n, _ := strconv.Atoi(strings.TrimPrefix(a, "k"))
			start = n + 1
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		var page []map[string]any
		for i := start; i < min(start+limit, total); i++ {
			page = append(page, map[string]any{"id": fmt.Sprint("t", i), "key": fmt.Sprint("k", i)})
		}
		json.NewEncoder(w).Encode(map[string]any{"financialAccountTransactions": page, "count": len(page), "remaining": total - start - len(page)})
	}
	var ids []string
	for tx, err := range c.Transactions(context.Background(), TransactionFilter{ConnectionID: "c1", Page: Page{Limit: 3}}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tx.ID)
	}
	if got := strings.Join(ids, ","); got != "t0,t1,t2,t3,t4,t5,t6" {
		t.Errorf("ids %s", got)
	}
	var queries []string
	for _, r := range f.reqs {
		queries = append(queries, r.URL.RawQuery)
	}
	want := "connectionId=c1&limit=3|after=k2&connectionId=c1&limit=3|after=k5&connectionId=c1&limit=3"
	if got := strings.Join(queries, "|"); got != want {
		t.Errorf("queries\n%s\nwant\n%s", got, want)
	}

	// Breaking out of the loop fetches no further page.
	f.reqs = nil
	for range c.Transactions(context.Background(), TransactionFilter{Page: Page{Limit: 3}}) {
		break
	}
	if len(f.reqs) != 1 {
		t.Errorf("%d requests after break, want 1", len(f.reqs))
	}
}

func TestIteratorError(t *testing.T) {
	c, _, _ := newFake(t, []scripted{{401, "", errBody("UNAUTHORIZED")}})
	n := 0
	for _, err := range c.Accounts(context.Background(), AccountFilter{}) {
		n++
		if !errors.As(err, new(*Error)) {
			t.Errorf("err = %v", err)
		}
	}
	if n != 1 {
		t.Errorf("%d iterations, want one error", n)
	}
}

// TestStandardLibraryOnly keeps the package importable without pulling
// anything into an app's module graph.
func TestStandardLibraryOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") || first == "banklink" {
				t.Errorf("%s imports %s: the client uses the standard library only", name, p)
			}
		}
	}
}
