package widget_test

import (
	"context"
	"testing"
	"time"

	"banklink/internal/httpapi"
)

// TestScheduledRefresh: a connection whose data is older than the
// refresh age is aggregated without anyone asking, the app hears about
// it through the usual events, and it is not claimed again until it is
// old again.
func TestScheduledRefresh(t *testing.T) {
	st := newStack(t)
	id := st.link(`{"externalCustomerId":"scheduled","products":["BALANCES","TRANSACTIONS"]}`, "user_good")
	updated := func() int {
		var page struct {
			Events []map[string]any `json:"events"`
		}
		st.get("/webhooks/events?limit=100&eventTypes=BANK_LINKING_ACCOUNTS_UPDATED&connectionId="+id, &page)
		return len(page.Events)
	}
	before := updated()
	var conn httpapi.ConnectionJSON
	st.get("/bank-linking/connections/"+id, &conn)
	aggregatedAt := *conn.SuccessfullyAggregatedAt

	sem := make(chan struct{}, 2)
	if started, room, err := st.runner.RefreshDue(t.Context(), time.Hour, sem); err != nil || started != 0 || room != 2 {
		t.Fatalf("fresh data: started %d (room %d), %v", started, room, err)
	}

	// Two hours later the data is older than an hour.
	st.runner.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	started, _, err := st.runner.RefreshDue(t.Context(), time.Hour, sem)
	if err != nil || started != 1 {
		t.Fatalf("stale data: started %d, %v", started, err)
	}
	st.runner.Wait()
	if len(sem) != 0 {
		t.Errorf("%d worker slots still taken after the refresh", len(sem))
	}
	st.get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || *conn.SuccessfullyAggregatedAt <= aggregatedAt {
		t.Errorf("after the scheduled refresh: %s, aggregated %s (before %s)", conn.Status, *conn.SuccessfullyAggregatedAt, aggregatedAt)
	}
	if n := updated(); n <= before {
		t.Errorf("%d ACCOUNTS_UPDATED events, %d before the scheduled refresh", n, before)
	}
	if started, _, err := st.runner.RefreshDue(t.Context(), time.Hour, sem); err != nil || started != 0 {
		t.Fatalf("just refreshed: started %d, %v", started, err)
	}
	// With every worker busy nothing is claimed.
	full := make(chan struct{}, 1)
	full <- struct{}{}
	st.runner.Now = func() time.Time { return time.Now().Add(5 * time.Hour) }
	if started, room, err := st.runner.RefreshDue(t.Context(), time.Hour, full); err != nil || started != 0 || room != 0 {
		t.Fatalf("no free worker: started %d (room %d), %v", started, room, err)
	}

	// The loop serve runs does the same on its own.
	aggregatedAt = *conn.SuccessfullyAggregatedAt
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); st.runner.RefreshEvery(ctx, 10*time.Millisecond, time.Hour, 2) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st.get("/bank-linking/connections/"+id, &conn)
		if *conn.SuccessfullyAggregatedAt > aggregatedAt {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("RefreshEvery did not refresh the stale connection")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}
