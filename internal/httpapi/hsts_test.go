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
