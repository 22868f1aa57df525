package httpapi_test

import (
	"strconv"
	"testing"

	"banklink/internal/httpapi"
)

func TestRateLimitPerAPIKey(t *testing.T) {
	ts := newTestServer(t, "sqlite", func(c *httpapi.Config) { c.RateLimit, c.RateBurst = 0.5, 2 })
	for i := range 2 {
		if r := ts.do(call{path: "/bank-linking/connect/start", body: `{"externalCustomerId":"c"}`}); r.status != 201 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := ts.do(call{path: "/bank-linking/connect/start", body: `{"externalCustomerId":"c"}`})
	if r.status != 429 || r.errorBody(t).Code != "RATE_LIMITED" {
		t.Fatalf("third request: %d %s", r.status, r.body)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 2 {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	// Another key of the same account has its own bucket.
	if r := ts.do(call{path: "/bank-linking/connect/start", body: `{"externalCustomerId":"c"}`, key: ts.newKey(ts.account.ID, "sandbox")}); r.status != 201 {
		t.Errorf("other key: %d", r.status)
	}
}
