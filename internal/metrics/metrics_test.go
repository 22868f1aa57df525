package metrics_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"banklink/internal/metrics"
)

// scrape returns what Handler serves.
func scrape(t *testing.T, m *metrics.Metrics) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Code, string(b)
}

func TestNilMetricsIsNoOp(t *testing.T) {
	var m *metrics.Metrics
	for _, tc := range []struct {
		name string
		call func()
	}{
		{"ObserveRequest", func() { m.ObserveRequest(http.MethodGet, "GET /healthz", 200, time.Millisecond) }},
		{"ObserveWebhook", func() { m.ObserveWebhook(metrics.WebhookDelivered, time.Millisecond) }},
		{"SetWebhookPending", func() { m.SetWebhookPending(3) }},
		{"SetAggregations", func() { m.SetAggregations(1, 2, 3) }},
		{"ObserveProvider", func() { m.ObserveProvider("sandbox", "accounts", errors.New("down"), time.Millisecond) }},
		{"ObserveAggregation", func() { m.ObserveAggregation(nil, time.Second) }},
		{"Handler", func() {
			if code, _ := scrape(t, m); code != http.StatusNotFound {
				t.Errorf("nil Handler answered %d, want 404", code)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.call() })
	}
}

func TestHandlerExposesObservations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		observe func(m *metrics.Metrics)
		want    []string
	}{
		{
			name: "request by route pattern and status",
			observe: func(m *metrics.Metrics) {
				m.ObserveRequest("GET", "GET /bank-linking/connections/{id}", 404, time.Millisecond)
			},
			want: []string{
				`banklink_http_requests_total{method="GET",route="GET /bank-linking/connections/{id}",status="404"} 1`,
				`banklink_http_request_duration_seconds_count{method="GET",route="GET /bank-linking/connections/{id}"} 1`,
			},
		},
		{
			name:    "empty route counts as unmatched",
			observe: func(m *metrics.Metrics) { m.ObserveRequest("POST", "", 404, time.Millisecond) },
			want:    []string{`banklink_http_requests_total{method="POST",route="unmatched",status="404"} 1`},
		},
		{
			name:    "odd method counts as other",
			observe: func(m *metrics.Metrics) { m.ObserveRequest("BREW", "unmatched", 404, time.Millisecond) },
			want:    []string{`banklink_http_requests_total{method="other",route="unmatched",status="404"} 1`},
		},
		{
			name:    "nothing written counts as 200",
			observe: func(m *metrics.Metrics) { m.ObserveRequest("GET", "GET /healthz", 0, time.Millisecond) },
			want:    []string{`banklink_http_requests_total{method="GET",route="GET /healthz",status="200"} 1`},
		},
		{
			name: "webhook deliveries and pending",
			observe: func(m *metrics.Metrics) {
				m.ObserveWebhook(metrics.WebhookRetry, time.Second)
				m.ObserveWebhook(metrics.WebhookRetry, time.Second)
				m.SetWebhookPending(7)
			},
			want: []string{
				`banklink_webhook_deliveries_total{outcome="retry"} 2`,
				`banklink_webhook_deliveries_total{outcome="delivered"} 0`,
				`banklink_webhook_delivery_duration_seconds_count 2`,
				`banklink_webhook_pending 7`,
			},
		},
		{
			name:    "aggregation backlog",
			observe: func(m *metrics.Metrics) { m.SetAggregations(4, 8, 4400) },
			want: []string{
				`banklink_aggregations_running 4`,
				`banklink_aggregations_queued 8`,
				`banklink_aggregations_pending 4400`,
			},
		},
		{
			name: "provider error",
			observe: func(m *metrics.Metrics) {
				m.ObserveProvider("sandbox", "transactions", errors.New("timeout"), time.Second)
			},
			want: []string{
				`banklink_provider_requests_total{operation="transactions",outcome="error",provider="sandbox"} 1`,
				`banklink_provider_request_duration_seconds_count{operation="transactions",provider="sandbox"} 1`,
			},
		},
		{
			name:    "aggregation ok",
			observe: func(m *metrics.Metrics) { m.ObserveAggregation(nil, 3*time.Second) },
			want: []string{
				`banklink_aggregation_jobs_total{outcome="ok"} 1`,
				`banklink_aggregation_jobs_total{outcome="error"} 0`,
				`banklink_aggregation_duration_seconds_count 1`,
			},
		},
		{
			name:    "Go runtime collector",
			observe: func(m *metrics.Metrics) {},
			want:    []string{"go_goroutines ", "go_memstats_alloc_bytes "},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New() // each has its own registry
			tc.observe(m)
			code, body := scrape(t, m)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("output lacks %q:\n%s", w, body)
				}
			}
		})
	}
}
