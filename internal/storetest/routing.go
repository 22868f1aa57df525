package storetest

import (
	"testing"
	"time"

	"banklink"
)

func testProviderHealth(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	window := t0.Add(-15 * time.Minute)
	n, _, err := s.ProviderFailures(ctx, "a", "inst", window)
	must(t, err)
	if n != 0 {
		t.Fatalf("failures of an unknown pair = %d", n)
	}
	must(t, s.RecordProviderAttempt(ctx, "a", "inst", false, "too old", t0.Add(-time.Hour)))
	must(t, s.RecordProviderAttempt(ctx, "a", "inst", false, "INSTITUTION_DOWN", t0.Add(-10*time.Minute)))
	must(t, s.RecordProviderAttempt(ctx, "a", "inst", true, "", t0.Add(-9*time.Minute)))
	must(t, s.RecordProviderAttempt(ctx, "a", "inst", false, "SERVICE_PROVIDER_DOWN", t0.Add(-5*time.Minute)))
	must(t, s.RecordProviderAttempt(ctx, "a", "inst", false, "INSTITUTION_DOWN", t0.Add(-time.Minute)))
	must(t, s.RecordProviderAttempt(ctx, "b", "inst", false, "x", t0.Add(-time.Minute)))
	n, reason, err := s.ProviderFailures(ctx, "a", "inst", window)
	must(t, err)
	if n != 2 || reason != "INSTITUTION_DOWN" { // only those after the success
		t.Errorf("failures = %d (%q), want 2 after the last success", n, reason)
	}
	must(t, s.RecordProviderAttempt(ctx, "a", "inst", true, "", t0))
	if n, _, _ := s.ProviderFailures(ctx, "a", "inst", window); n != 0 {
		t.Errorf("failures after a success = %d", n)
	}
}

func testRoutingDecisionStored(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, inst := startOne(t, s)
	d := &banklink.RoutingDecision{Provider: "sandbox-b", Reason: banklink.RouteWaterfall, At: t0,
		Skipped: []banklink.RoutingSkip{{Provider: "sandbox", Reason: banklink.SkipDown}}}
	got, err := s.CompleteConnection(ctx, scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox-b", LoginID: "l1", At: time.Now(), Routing: d})
	must(t, err)
	if got.RoutingDecision == nil || got.RoutingDecision.Provider != "sandbox-b" || len(got.RoutingDecision.Skipped) != 1 ||
		got.RoutingDecision.Skipped[0].Reason != banklink.SkipDown || !got.RoutingDecision.At.Equal(t0) {
		t.Errorf("routing decision = %+v", got.RoutingDecision)
	}
	if conn.RequestedProvider != "" {
		t.Errorf("requested provider = %q", conn.RequestedProvider)
	}
	explicit := NewConnection(scope)
	explicit.RequestedProvider = "sandbox-b"
	must(t, s.StartConnection(ctx, NewCustomer(scope, "cust"), explicit))
	again, err := s.FindConnectionByID(ctx, scope, explicit.ID)
	must(t, err)
	if again.RequestedProvider != "sandbox-b" || again.RoutingDecision != nil {
		t.Errorf("explicit connection = %q %+v", again.RequestedProvider, again.RoutingDecision)
	}
}
