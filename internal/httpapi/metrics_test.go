package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"banklink/internal/metrics"
)

// TestMetrics makes API requests, then scrapes /metrics and finds each
// counted under its route pattern (never the raw path) and status.
func TestMetrics(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	ts.api.Metrics = metrics.New()
	for _, tc := range []struct {
		name string
		call call
		want string
	}{
		{
			name: "created",
			call: call{path: "/bank-linking/connect/start", body: seedBody},
			want: `banklink_http_requests_total{method="POST",route="POST /bank-linking/connect/start",status="201"} 1`,
		},
		{
			name: "pattern with a path value",
			call: call{method: http.MethodGet, path: "/bank-linking/connections/nope"},
			want: `banklink_http_requests_total{method="GET",route="GET /bank-linking/connections/{id}",status="404"} 1`,
		},
		{
			name: "unauthenticated",
			call: call{method: http.MethodGet, path: "/accounts/customers", key: "-"},
			want: `banklink_http_requests_total{method="GET",route="GET /accounts/customers",status="401"} 1`,
		},
		{
			name: "health",
			call: call{method: http.MethodGet, path: "/healthz", key: "-"},
			want: `banklink_http_requests_total{method="GET",route="GET /healthz",status="200"} 1`,
		},
		{
			name: "unknown path is unmatched",
			call: call{method: http.MethodGet, path: "/no/such/thing/12345", key: "-"},
			want: `banklink_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts.do(tc.call)
			r := ts.do(call{method: http.MethodGet, path: "/metrics", key: "-"})
			if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
				t.Fatalf("GET /metrics: %d %s", r.status, r.header.Get("Content-Type"))
			}
			body := string(r.body)
			if !strings.Contains(body, tc.want) {
				t.Errorf("metrics lack %q:\n%s", tc.want, grepLines(body, "banklink_http_requests_total"))
			}
			if strings.Contains(body, "/bank-linking/connections/nope") || strings.Contains(body, "/no/such/thing") {
				t.Errorf("metrics carry a raw path:\n%s", grepLines(body, "banklink_http_requests_total"))
			}
		})
	}
}

func TestMetricsDisabled(t *testing.T) {
	ts := newTestServer(t, "sqlite") // Metrics left nil
	r := ts.do(call{method: http.MethodGet, path: "/metrics", key: "-"})
	if r.status != http.StatusNotFound || r.errorBody(t).Code != "NOT_FOUND" {
		t.Errorf("GET /metrics without metrics: %d %s", r.status, r.body)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
