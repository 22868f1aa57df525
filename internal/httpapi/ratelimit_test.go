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

// TestEveryOperationDocumentsSharedErrors: some answers come from the
// middleware, not the handler, so any operation can give them: 500 from
// the panic guard on every operation; 401, the per-key limit's 429 and the
// store outage's 503 on every operation an API key authenticates. Each
// must be documented, or a client validating answers against openapi.yaml
// rejects a correct one (CI once failed so: 429 on redeliver).
func TestEveryOperationDocumentsSharedErrors(t *testing.T) {
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
			want := []int{500}
			if keyed(op) {
				n++
				want = append(want, 401, 429, 503)
			}
			for _, status := range want {
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
