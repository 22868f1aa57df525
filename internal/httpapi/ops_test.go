package httpapi_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"banklink/internal/httpapi"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestReadiness(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	if r := ts.do(call{method: http.MethodGet, path: "/readyz", key: "-"}); r.status != 200 {
		t.Fatalf("ready: %d %s", r.status, r.body)
	}
	ts.store.Close() // the database goes away
	r := ts.do(call{method: http.MethodGet, path: "/readyz", key: "-"})
	if r.status != 503 || r.errorBody(t).Code != "SERVICE_UNAVAILABLE" {
		t.Errorf("readyz without a database: %d %s", r.status, r.body)
	}
	if r := ts.do(call{method: http.MethodGet, path: "/healthz", key: "-"}); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
}

// TestLogsCarryNoSecrets sends requests with a key and a token and looks
// for them in the structured logs, which must still identify the request.
func TestLogsCarryNoSecrets(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	logs := &lockedBuffer{}
	api := httpapi.New(ts.store, ts.tokens, ts.dir, slog.New(slog.NewJSONHandler(logs, nil)), ts.api.Config)
	h := api.Handler()
	req, _ := http.NewRequest("POST", "/bank-linking/connect/start", strings.NewReader(seedBody))
	req.Header.Set("Authorization", "BASIC "+ts.key)
	req.Header.Set("Content-Type", "application/json")
	rec := newRecorder()
	h.ServeHTTP(rec, req)
	if rec.code != 201 {
		t.Fatalf("connect/start: %d", rec.code)
	}
	bad, _ := http.NewRequest("POST", "/bank-linking/connect/start", strings.NewReader(seedBody))
	bad.Header.Set("Authorization", "BASIC "+ts.key+"x")
	h.ServeHTTP(newRecorder(), bad)
	out := logs.String()
	_, _, secret, _ := splitKey(ts.key)
	for _, leak := range []string{secret, "eyJ", "testCustomer"} {
		if strings.Contains(out, leak) {
			t.Errorf("logs contain %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, `"request_id"`) || !strings.Contains(out, `"route":"POST /bank-linking/connect/start"`) || !strings.Contains(out, `"status":401`) {
		t.Errorf("logs lack request details:\n%s", out)
	}
}
