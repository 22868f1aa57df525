package httpapi_test

import (
	"strconv"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"banklink/internal/apitest"
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

// TestEveryKeyedOperationDocumentsRateLimit: the per-key limit answers any
// operation an API key authenticates, before its handler runs, so each of
// them must document 429 (and 401); a client validating answers against
// openapi.yaml would otherwise reject a correct one (CI once failed so on
// redeliver).
func TestEveryKeyedOperationDocumentsRateLimit(t *testing.T) {
	doc, _ := apitest.Spec(t, httpapi.OpenAPI)
	keyed := func(op *openapi3.Operation) bool {
		sec := doc.Security
		if op.Security != nil {
			sec = *op.Security
		}
		for _, req := range sec {
			if _, ok := req["apiKey"]; ok {
				return true
			}
		}
		return false
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !keyed(op) {
				continue
			}
			n++
			for _, status := range []int{401, 429} {
				if op.Responses.Status(status) == nil {
					t.Errorf("%s %s does not document %d", method, path, status)
				}
			}
		}
	}
	if n < 30 {
		t.Fatalf("only %d operations take an API key", n)
	}
}
