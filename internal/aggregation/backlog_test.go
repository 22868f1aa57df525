package aggregation_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/testenv"
	"banklink/internal/wiring/wiringtest"
)

// gate holds every aggregation until it is opened, and records the
// logins it let through and the most running at once.
type gate struct {
	banklink.Aggregator
	open chan struct{}

	mu      sync.Mutex
	running int
	most    int
	served  []string
}

func (g *gate) Aggregate(ctx context.Context, req banklink.AggregationRequest) ([]banklink.AggregatedAccount, error) {
	g.mu.Lock()
	g.running++
	g.most = max(g.most, g.running)
	g.mu.Unlock()
	<-g.open
	g.mu.Lock()
	g.running--
	g.served = append(g.served, req.LoginID)
	g.mu.Unlock()
	return g.Aggregator.Aggregate(ctx, req)
}

func (g *gate) snapshot() (most int, served []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.most, slices.Clone(g.served)
}

// TestBacklogWaitsInTheStore: more aggregations than workers run
// MaxRunning at a time; a few wait in memory, the rest in the store, not
// one goroutine each; every one of them runs, the first accepted first.
func TestBacklogWaitsInTheStore(t *testing.T) {
	st := wiringtest.New(t)
	const links = 3 * aggregation.QueueLimit
	ids := make([]string, links)
	logins := make([]string, links) // each connection's, as the provider sees it
	for i := range ids {
		ids[i] = st.Link(`{"externalCustomerId":"backlog","products":["BALANCES"]}`, "user_good")
		conn, err := st.Store.FindConnectionByID(t.Context(), st.Scope, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		logins[i] = conn.ProviderLoginID
	}
	st.Runner.Wait()

	g := &gate{Aggregator: st.Runner.Providers["sandbox"], open: make(chan struct{})}
	st.Runner.Providers = map[string]banklink.Aggregator{"sandbox": g}
	st.Runner.MaxRunning = 2
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { st.Runner.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	testenv.Eventually(t, 5*time.Second, "Run claiming work", st.Runner.Claiming)

	for _, id := range ids {
		if err := st.Runner.Start(t.Context(), st.Scope, id); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 5*time.Second, "two aggregations running", func() bool {
		most, _ := g.snapshot()
		return most == 2
	})
	if load := st.Runner.Load(); load.Running != 2 || load.Queued > aggregation.QueueLimit {
		t.Fatalf("load under a backlog of %d = %+v, want 2 running and at most %d queued", links, load, aggregation.QueueLimit)
	}

	close(g.open)
	testenv.Eventually(t, 20*time.Second, "every accepted aggregation ran", func() bool {
		_, served := g.snapshot()
		return len(served) >= links
	})
	most, served := g.snapshot()
	if most > 2 {
		t.Errorf("%d aggregations ran at once, want at most MaxRunning (2)", most)
	}
	for i, l := range logins {
		if !slices.Contains(served, l) {
			t.Errorf("connection %s accepted but never aggregated", ids[i])
		}
	}
	// The ones that waited in this process ran first.
	first := 2 + aggregation.QueueLimit
	if got, want := sorted(served[:first]), sorted(logins[:first]); !slices.Equal(got, want) {
		t.Errorf("first %d aggregated = %v, want the first %d accepted %v", first, got, first, want)
	}
	testenv.Eventually(t, 5*time.Second, "the runner idle", func() bool {
		return st.Runner.Load() == aggregation.Load{}
	})

	// Once the backlog is gone, the next request runs at once (well
	// before Run's next tick, a third of the 30 s lease).
	if err := st.Runner.Start(t.Context(), st.Scope, ids[0]); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, "a request after the backlog aggregated", func() bool {
		_, served := g.snapshot()
		return len(served) == links+1
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
