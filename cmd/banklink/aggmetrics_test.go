package main

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/metrics"
	"banklink/internal/testenv"
)

// pendingStore answers PendingAggregations with a fixed backlog.
type pendingStore struct {
	banklink.AggregationWorkStore
	n int
}

func (s pendingStore) PendingAggregations(context.Context) (int, error) { return s.n, nil }

// TestAggregationGauges: serve's observer publishes the backlog the
// store counts and the runner's own load.
func TestAggregationGauges(t *testing.T) {
	m := metrics.New()
	runner := aggregation.New(nil, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { observeAggregations(ctx, runner, pendingStore{n: 42}, m); close(done) }()
	defer func() { cancel(); <-done }()
	testenv.Eventually(t, 5*time.Second, "the gauges published", func() bool {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		return strings.Contains(string(body), "\nbanklink_aggregations_pending 42\n") &&
			strings.Contains(string(body), "\nbanklink_aggregations_running 0\n")
	})
}
