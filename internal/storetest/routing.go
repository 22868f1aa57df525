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

func testProviderConfigs(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	c := &banklink.ProviderConfig{AccountID: a.ID, Environment: banklink.Sandbox, ProviderType: "sandbox-b", DisplayOrder: 2, Enabled: true,
		Credentials: map[string]string{"clientId": "client-a", "secret": "s3cret-a"}}
	must(t, s.SaveProviderConfig(ctx, c))
	if c.ID == "" || c.Generation != 1 {
		t.Fatalf("created config = %+v", c)
	}
	must(t, s.SaveProviderConfig(ctx, &banklink.ProviderConfig{AccountID: a.ID, Environment: banklink.Sandbox, ProviderType: "sandbox", DisplayOrder: 1, Enabled: true}))
	wantCode(t, s.SaveProviderConfig(ctx, &banklink.ProviderConfig{AccountID: "nope", Environment: banklink.Sandbox, ProviderType: "sandbox"}), banklink.ENOTFOUND)
	list, err := s.FindProviderConfigs(ctx, scope)
	must(t, err)
	if len(list) != 2 || list[0].ProviderType != "sandbox" || list[1].Credentials["secret"] != "s3cret-a" {
		t.Fatalf("configs = %+v %+v", list[0], list[1])
	}
	if l, _ := s.FindProviderConfigs(ctx, other); len(l) != 0 {
		t.Errorf("another account sees %d configs", len(l))
	}

	// The same credentials, still enabled: the same generation.
	same := &banklink.ProviderConfig{AccountID: a.ID, Environment: banklink.Sandbox, ProviderType: "sandbox-b", DisplayOrder: 3, Enabled: true}
	must(t, s.SaveProviderConfig(ctx, same))
	if same.ID != c.ID || same.Generation != 1 || same.Credentials["clientId"] != "client-a" {
		t.Errorf("unchanged save = %+v", same)
	}
	// Disabled, then re-enabled: a new generation.
	same.Enabled = false
	must(t, s.SaveProviderConfig(ctx, same))
	same.Enabled = true
	must(t, s.SaveProviderConfig(ctx, same))
	if same.Generation != 2 {
		t.Errorf("re-enabled generation = %d, want 2", same.Generation)
	}
	// New credentials: another.
	same.Credentials = map[string]string{"clientId": "client-b", "secret": "s3cret-b"}
	must(t, s.SaveProviderConfig(ctx, same))
	if same.Generation != 3 {
		t.Errorf("new credentials generation = %d, want 3", same.Generation)
	}

	// Provider users per generation; the first write wins.
	cust := NewCustomer(scope, "cust")
	conn := NewConnection(scope)
	must(t, s.StartConnection(ctx, cust, conn))
	if id, err := s.ProviderUser(ctx, cust.ID, c.ID, 1); err != nil || id != "" {
		t.Fatalf("no user yet: %q %v", id, err)
	}
	id, err := s.SaveProviderUser(ctx, cust.ID, c.ID, 1, "u1", t0)
	must(t, err)
	again, err := s.SaveProviderUser(ctx, cust.ID, c.ID, 1, "u1-racer", t0)
	must(t, err)
	if id != "u1" || again != "u1" {
		t.Errorf("provider users = %q, %q", id, again)
	}
	if id, _ := s.ProviderUser(ctx, cust.ID, c.ID, 3); id != "" {
		t.Errorf("generation 3 sees generation 1's user %q", id)
	}

	must(t, s.SetRoutingRules(ctx, scope, []banklink.RoutingRule{{InstitutionID: "i1", ProviderType: "sandbox-b", Action: "FORCE"}, {InstitutionID: "i2", ProviderType: "sandbox", Action: "EXCLUDE"}}))
	rules, err := s.FindRoutingRules(ctx, scope)
	must(t, err)
	if len(rules) != 2 || rules[0].Action != "FORCE" {
		t.Errorf("rules = %+v", rules)
	}
	if r, _ := s.FindRoutingRules(ctx, other); len(r) != 0 {
		t.Errorf("another account sees rules %+v", r)
	}
	must(t, s.DeleteProviderConfig(ctx, scope, "sandbox-b"))
	wantCode(t, s.DeleteProviderConfig(ctx, scope, "sandbox-b"), banklink.ENOTFOUND)
}
