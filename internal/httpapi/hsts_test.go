package httpapi_test

import (
	"testing"

	"banklink/internal/httpapi"
)

// TestHSTS: with an https public URL every answer (success, error,
// unknown path, the spec) tells browsers to keep to https; over http
// none does.
func TestHSTS(t *testing.T) {
	for _, tc := range []struct {
		name string
		hsts bool
		want string
	}{
		{"https public URL", true, "max-age=63072000; includeSubDomains"},
		{"http public URL", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, "sqlite", func(c *httpapi.Config) { c.HSTS = tc.hsts })
			for _, c := range []call{
				{method: "GET", path: "/healthz"},
				{method: "GET", path: "/openapi.yaml"},
				{method: "GET", path: "/bank-linking/connections"},
				{method: "GET", path: "/bank-linking/connections", key: "-"},
				{method: "GET", path: "/no/such/path"},
			} {
				r := ts.do(c)
				if got := r.header.Get("Strict-Transport-Security"); got != tc.want {
					t.Errorf("%s %s (%d): Strict-Transport-Security %q, want %q", c.method, c.path, r.status, got, tc.want)
				}
			}
		})
	}
}

// TestAPIHeaders: every API answer (success, error, unauthenticated,
// unknown path) carries the caching and framing headers Meld sends, so
// no connect token sits in a cache.
func TestAPIHeaders(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	for _, tc := range []struct {
		name string
		c    call
	}{
		{"connect/start", call{path: "/bank-linking/connect/start", body: `{"externalCustomerId":"h","products":["BALANCES"]}`}},
		{"list", call{method: "GET", path: "/bank-linking/connections"}},
		{"not found", call{method: "GET", path: "/bank-linking/connections/nope"}},
		{"no key", call{method: "GET", path: "/bank-linking/connections", key: "-"}},
		{"bad body", call{path: "/bank-linking/connect/start", body: `{`}},
		{"unknown path", call{method: "GET", path: "/no/such/path"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(tc.c)
			for _, kv := range [][2]string{
				{"Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"},
				{"Pragma", "no-cache"},
				{"Expires", "0"},
				{"X-Content-Type-Options", "nosniff"},
				{"X-Frame-Options", "DENY"},
			} {
				if got := r.header.Get(kv[0]); got != kv[1] {
					t.Errorf("%d: %s = %q, want %q", r.status, kv[0], got, kv[1])
				}
			}
		})
	}
}
