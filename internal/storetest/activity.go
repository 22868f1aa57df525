package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"banklink"

	"github.com/google/go-cmp/cmp"
)

func testActivity(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, c1, inst := startOne(t, s)
	c2 := NewConnection(scope)
	must(t, s.StartConnection(ctx, NewCustomer(scope, "cust-2"), c2))
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	c3 := NewConnection(other)
	must(t, s.StartConnection(ctx, NewCustomer(other, "cust-3"), c3))
	prod := banklink.Scope{AccountID: scope.AccountID, Environment: banklink.Production}

	rec := func(conn, action, eventType string, at time.Time) *banklink.ActivityEvent {
		t.Helper()
		e := &banklink.ActivityEvent{ConnectionID: conn, Action: action, EventType: eventType, InstitutionID: inst.ID, Provider: "sandbox",
			Step: banklink.LoginStepCredentials, Reason: "INVALID_CREDENTIALS", Message: "Wrong password.", Detail: "", At: at}
		must(t, s.RecordActivity(ctx, e))
		return e
	}
	e1 := rec(c1.ID, banklink.ActivityWidgetOpened, "", t0)
	if e1.ID == "" || e1.Key == "" || e1.AccountID != scope.AccountID || e1.Environment != banklink.Sandbox || e1.CustomerID != c1.CustomerID {
		t.Fatalf("recorded = %+v: want id, key and the connection's account, environment and customer", e1)
	}
	e2 := rec(c1.ID, banklink.ActivityWidgetError, banklink.ActivityProviderFailure, t0.Add(time.Minute))
	e3 := rec(c2.ID, banklink.ActivityWidgetError, banklink.ActivityProviderInitFailure, t0.Add(2*time.Minute))
	e4 := rec(c1.ID, banklink.ActivityCompleted, "", t0.Add(3*time.Minute))
	rec(c3.ID, banklink.ActivityWidgetOpened, "", t0) // another tenant
	lost := &banklink.ActivityEvent{ConnectionID: "no-such-connection", Action: banklink.ActivityWidgetOpened}
	must(t, s.RecordActivity(ctx, lost))
	if lost.Key != "" {
		t.Errorf("activity of an unknown connection was recorded: %+v", lost)
	}

	ids := func(list []*banklink.ActivityEvent) []string {
		out := []string{}
		for _, e := range list {
			out = append(out, e.ID)
		}
		return out
	}
	tests := []struct {
		name      string
		scope     banklink.Scope
		f         banklink.ActivityFilter
		want      []string
		remaining int
	}{
		{"all, oldest first", scope, banklink.ActivityFilter{}, []string{e1.ID, e2.ID, e3.ID, e4.ID}, 0},
		{"by connection", scope, banklink.ActivityFilter{ConnectionID: c1.ID}, []string{e1.ID, e2.ID, e4.ID}, 0},
		{"by action", scope, banklink.ActivityFilter{Actions: []string{banklink.ActivityWidgetError}}, []string{e2.ID, e3.ID}, 0},
		{"by event type", scope, banklink.ActivityFilter{EventTypes: []string{banklink.ActivityProviderInitFailure, banklink.ActivityInternalFailure}}, []string{e3.ID}, 0},
		{"start inclusive, end exclusive", scope, banklink.ActivityFilter{Start: t0.Add(time.Minute), End: t0.Add(3 * time.Minute)}, []string{e2.ID, e3.ID}, 0},
		{"first page", scope, banklink.ActivityFilter{Limit: 3}, []string{e1.ID, e2.ID, e3.ID}, 1},
		{"after", scope, banklink.ActivityFilter{After: e1.Key, Limit: 2}, []string{e2.ID, e3.ID}, 1},
		{"before", scope, banklink.ActivityFilter{Before: e4.Key, Limit: 2}, []string{e2.ID, e3.ID}, 1},
		{"another environment", prod, banklink.ActivityFilter{}, []string{}, 0},
		{"another tenant's connection", other, banklink.ActivityFilter{ConnectionID: c1.ID}, []string{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, remaining, err := s.FindActivity(ctx, tt.scope, tt.f)
			must(t, err)
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" || remaining != tt.remaining {
				t.Errorf("ids (-want +got):\n%s\nremaining = %d, want %d", diff, remaining, tt.remaining)
			}
		})
	}
	got, _, err := s.FindActivity(ctx, scope, banklink.ActivityFilter{ConnectionID: c1.ID, Limit: 1})
	must(t, err)
	want := *e1
	want.At = t0
	if diff := cmp.Diff(&want, got[0]); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	// A key is only good in its own tenant.
	_, _, err = s.FindActivity(ctx, other, banklink.ActivityFilter{After: e1.Key})
	wantCode(t, err, banklink.EBADREQUEST)
}

func testPruneActivity(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, c1, _ := startOne(t, s)
	for i := range 5 {
		must(t, s.RecordActivity(ctx, &banklink.ActivityEvent{ConnectionID: c1.ID, Action: banklink.ActivityWidgetOpened, At: t0.Add(time.Duration(i) * time.Hour)}))
	}
	n, err := s.PruneActivity(ctx, t0.Add(3*time.Hour), 2)
	must(t, err)
	if n != 2 {
		t.Errorf("pruned %d, want the limit 2", n)
	}
	n, err = s.PruneActivity(ctx, t0.Add(3*time.Hour), 100)
	must(t, err)
	if n != 1 {
		t.Errorf("pruned %d, want the 1 left before the cut-off", n)
	}
	left, _, err := s.FindActivity(ctx, scope, banklink.ActivityFilter{})
	must(t, err)
	if len(left) != 2 || !left[0].At.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("left = %d entries from %v, want 2 from the cut-off on", len(left), left)
	}
}

// testBestEffortWrites: the activity log and the funnel are written under
// banklink.BestEffort by the widget, which answers the customer without
// waiting for them. A store may queue them, but a read right after still
// sees every one, in the order written, and a write survives its
// request's context being cancelled as soon as the call returns.
func testBestEffortWrites(t *testing.T, s banklink.Store) {
	scope, c1, inst := startOne(t, s)
	var keys []string
	for i := range 20 {
		ctx, cancel := context.WithCancel(t.Context())
		be := banklink.BestEffort(ctx)
		must(t, s.RecordActivity(be, &banklink.ActivityEvent{ID: fmt.Sprintf("act-%02d", i), ConnectionID: c1.ID,
			Action: banklink.ActivityWidgetOpened, At: t0.Add(time.Duration(i) * time.Second)}))
		// A failure, then a later one replacing it: their order matters.
		must(t, s.RecordFunnelStep(be, banklink.FunnelStep{ConnectionID: c1.ID, Step: banklink.FunnelFailed, InstitutionID: inst.ID,
			Provider: "sandbox", Reason: fmt.Sprintf("REASON_%02d", i), At: t0.Add(time.Duration(i) * time.Second)}))
		cancel() // the request is over
		keys = append(keys, fmt.Sprintf("act-%02d", i))
	}
	got, _, err := s.FindActivity(t.Context(), scope, banklink.ActivityFilter{ConnectionID: c1.ID, Limit: 100})
	must(t, err)
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if diff := cmp.Diff(keys, ids); diff != "" {
		t.Errorf("activity (-want +got):\n%s", diff)
	}
	steps, err := s.FunnelSteps(t.Context(), scope, t0, t0.Add(time.Hour))
	must(t, err)
	if len(steps) != 1 || steps[0].Reason != "REASON_19" {
		t.Errorf("funnel = %+v: want the last failure only", steps)
	}
}
