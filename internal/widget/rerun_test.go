package widget_test

import (
	"context"
	"sync"
	"testing"

	"banklink"
	"banklink/internal/sandbox"
)

// gatedAggregator is the sandbox provider with a gate: while held, every
// aggregation waits at the door, so a test can make news arrive while one
// runs.
type gatedAggregator struct {
	*sandbox.Provider
	mu      sync.Mutex
	hold    chan struct{}
	calls   int
	entered chan struct{}
}

func (g *gatedAggregator) Aggregate(ctx context.Context, req banklink.AggregationRequest) ([]banklink.AggregatedAccount, error) {
	g.mu.Lock()
	g.calls++
	hold := g.hold
	g.mu.Unlock()
	if hold != nil {
		select {
		case g.entered <- struct{}{}:
		default:
		}
		<-hold
	}
	return g.Provider.Aggregate(ctx, req)
}

func (g *gatedAggregator) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

// TestStartDuringARunRunsOnceMore: refreshes (or a provider's webhooks)
// that arrive while a connection is being aggregated are not lost: the
// connection is aggregated once more after the running job, however many
// arrived, and never twice at once.
func TestStartDuringARunRunsOnceMore(t *testing.T) {
	gate := &gatedAggregator{entered: make(chan struct{}, 1)}
	st := newStackBuilt(t, []string{sandbox.ProviderType}, func(st *stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator) {
		gate.Provider = st.Sbx
		return nil, map[string]banklink.Aggregator{sandbox.ProviderType: gate}
	})
	id := st.Link(`{"externalCustomerId":"rerun","products":["BALANCES","TRANSACTIONS"]}`, "user_good")
	// Provider calls of one refresh (its passes).
	before := gate.count()
	if err := st.Runner.Aggregate(t.Context(), st.Scope, id); err != nil {
		t.Fatal(err)
	}
	perJob := gate.count() - before
	if perJob == 0 {
		t.Fatal("the gated provider did not aggregate")
	}

	hold := make(chan struct{})
	gate.mu.Lock()
	gate.hold, gate.calls = hold, 0
	gate.mu.Unlock()
	st.Runner.Start(t.Context(), st.Scope, id)
	<-gate.entered
	for range 3 {
		st.Runner.Start(t.Context(), st.Scope, id)
	}
	close(hold)
	st.Runner.Wait()
	if got := gate.count(); got != 2*perJob {
		t.Fatalf("%d provider calls, want %d: one job and exactly one more", got, 2*perJob)
	}
}
