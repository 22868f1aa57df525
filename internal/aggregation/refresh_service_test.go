package aggregation_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/httpapi"
	"banklink/internal/sandbox"
	"banklink/internal/testenv"
	"banklink/internal/wiring/wiringtest"
)

// TestScheduledRefresh: a connection whose data is older than the
// refresh age is aggregated without anyone asking, the app hears about
// it through the usual events, and it is not claimed again until it is
// old again.
func TestScheduledRefresh(t *testing.T) {
	st := wiringtest.New(t)
	id := st.Link(`{"externalCustomerId":"scheduled","products":["BALANCES","TRANSACTIONS"]}`, "user_good")
	updated := func() int {
		var page struct {
			Events []map[string]any `json:"events"`
		}
		st.Get("/webhooks/events?limit=100&eventTypes=BANK_LINKING_ACCOUNTS_UPDATED&connectionId="+id, &page)
		return len(page.Events)
	}
	before := updated()
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	aggregatedAt := *conn.SuccessfullyAggregatedAt

	sem := make(chan struct{}, 2)
	if started, room, err := st.Runner.RefreshDue(t.Context(), time.Hour, sem); err != nil || started != 0 || room != 2 {
		t.Fatalf("fresh data: started %d (room %d), %v", started, room, err)
	}

	// Two hours later the data is older than an hour.
	st.Runner.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	started, _, err := st.Runner.RefreshDue(t.Context(), time.Hour, sem)
	if err != nil || started != 1 {
		t.Fatalf("stale data: started %d, %v", started, err)
	}
	st.Runner.Wait()
	if len(sem) != 0 {
		t.Errorf("%d worker slots still taken after the refresh", len(sem))
	}
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || *conn.SuccessfullyAggregatedAt <= aggregatedAt {
		t.Errorf("after the scheduled refresh: %s, aggregated %s (before %s)", conn.Status, *conn.SuccessfullyAggregatedAt, aggregatedAt)
	}
	if n := updated(); n <= before {
		t.Errorf("%d ACCOUNTS_UPDATED events, %d before the scheduled refresh", n, before)
	}
	if started, _, err := st.Runner.RefreshDue(t.Context(), time.Hour, sem); err != nil || started != 0 {
		t.Fatalf("just refreshed: started %d, %v", started, err)
	}
	// With every worker busy nothing is claimed.
	full := make(chan struct{}, 1)
	full <- struct{}{}
	st.Runner.Now = func() time.Time { return time.Now().Add(5 * time.Hour) }
	if started, room, err := st.Runner.RefreshDue(t.Context(), time.Hour, full); err != nil || started != 0 || room != 0 {
		t.Fatalf("no free worker: started %d (room %d), %v", started, room, err)
	}

	// The loop serve runs does the same on its own.
	aggregatedAt = *conn.SuccessfullyAggregatedAt
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); st.Runner.RefreshEvery(ctx, 10*time.Millisecond, time.Hour, 2) }()
	testenv.Eventually(t, 20*time.Second, "RefreshEvery refreshes the stale connection", func() bool {
		st.Get("/bank-linking/connections/"+id, &conn)
		return *conn.SuccessfullyAggregatedAt > aggregatedAt
	})
	cancel()
	<-done
}

// TestRefreshReadsTheRecentWindow: the first aggregation reads the
// 24-month history and announces it once; later refreshes read the
// recent window only, and announce no history again.
func TestRefreshReadsTheRecentWindow(t *testing.T) {
	var mu sync.Mutex
	var since []time.Time
	rec := &recordingAggregator{record: func(req banklink.AggregationRequest) {
		mu.Lock()
		defer mu.Unlock()
		since = append(since, req.Since)
	}}
	st := wiringtest.NewBuilt(t, []string{sandbox.ProviderType}, func(st *wiringtest.Stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator) {
		rec.Provider = st.Sbx
		return nil, map[string]banklink.Aggregator{sandbox.ProviderType: rec}
	})
	id := st.Link(`{"externalCustomerId":"window","products":["BALANCES","TRANSACTIONS"]}`, "user_good")
	historical := func() int {
		var page struct {
			Events []map[string]any `json:"events"`
		}
		st.Get("/webhooks/events?limit=100&eventTypes=BANK_LINKING_HISTORICAL_TRANSACTIONS_AGGREGATED&connectionId="+id, &page)
		return len(page.Events)
	}
	mu.Lock()
	linked := len(since)
	mu.Unlock()
	if linked != 2 || historical() != 1 {
		t.Fatalf("linking: %d passes, %d history events; want the window and the history, announced once", linked, historical())
	}
	if err := st.Runner.Aggregate(t.Context(), st.Scope, id); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(since) != 3 || time.Since(since[2]) > aggregation.InitialWindow+time.Hour {
		t.Errorf("refresh passes since %v; want one, over the recent window", since[linked:])
	}
	if n := historical(); n != 1 {
		t.Errorf("%d history events after a refresh, want still 1", n)
	}
}

// recordingAggregator is the sandbox provider, telling what it was asked.
type recordingAggregator struct {
	*sandbox.Provider
	record func(banklink.AggregationRequest)
}

func (r *recordingAggregator) Aggregate(ctx context.Context, req banklink.AggregationRequest) ([]banklink.AggregatedAccount, error) {
	r.record(req)
	return r.Provider.Aggregate(ctx, req)
}
