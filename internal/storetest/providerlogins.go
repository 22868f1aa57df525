package storetest

import (
	"slices"
	"testing"
	"time"

	"banklink"
	"banklink/webhook"
)

// linked starts a connection for a new customer of scope and completes it
// through provider's login loginID.
func linked(t *testing.T, s banklink.Store, scope banklink.Scope, inst *banklink.Institution, customer, provider, loginID string) *banklink.Connection {
	t.Helper()
	conn := NewConnection(scope)
	conn.ExpiresAt = time.Now().Add(time.Hour)
	must(t, s.StartConnection(t.Context(), NewCustomer(scope, customer), conn))
	c, err := s.CompleteConnection(t.Context(), scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: provider, LoginID: loginID, At: time.Now()})
	must(t, err)
	return c
}

func testFindConnectionsByProviderLogin(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	// startOne's connection is IN_PROGRESS: no provider, no login.
	scope, _, inst := startOne(t, s)
	// The same Item in another account and environment (Plaid item ids
	// are unique, but banklink does not rely on it), other logins and
	// providers, and a deleted connection of the same login.
	prod := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Production}
	first := linked(t, s, scope, inst, "c1", "plaid", "item-1")
	linked(t, s, scope, inst, "c2", "plaid", "item-2")
	sbx := linked(t, s, scope, inst, "c3", "sandbox", "item-1")
	second := linked(t, s, prod, inst, "c4", "plaid", "item-1")
	gone := linked(t, s, scope, inst, "c5", "plaid", "item-1")
	_, err := s.DeleteConnection(ctx, scope, gone.ID, t0)
	must(t, err)

	for _, tc := range []struct {
		name, provider, login string
		want                  []*banklink.Connection
	}{
		{"every account and environment, oldest first", "plaid", "item-1", []*banklink.Connection{first, second}},
		{"another provider's login of the same id", "sandbox", "item-1", []*banklink.Connection{sbx}},
		{"unknown login", "plaid", "item-9", nil},
		{"empty login matches no unlinked connection", "", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.FindConnectionsByProviderLogin(ctx, tc.provider, tc.login)
			must(t, err)
			if !slices.Equal(ids(got), ids(tc.want)) {
				t.Fatalf("got %v, want %v", ids(got), ids(tc.want))
			}
			for i, c := range got {
				w := tc.want[i]
				if c.AccountID != w.AccountID || c.Environment != w.Environment || c.Status != banklink.StatusActive ||
					c.ProviderType != tc.provider || c.ProviderLoginID != tc.login {
					t.Errorf("connection %d = %+v", i, c)
				}
			}
		})
	}
}

func ids(list []*banklink.Connection) []string {
	out := []string{}
	for _, c := range list {
		out = append(out, c.ID)
	}
	return out
}

func testChangeConnectionStatus(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, _, inst := startOne(t, s)
	conn := linked(t, s, scope, inst, "c1", "plaid", "item-1")
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	expiring := banklink.StatusChange{From: banklink.StatusActive, To: banklink.StatusActive, ToReason: "ACCESS_EXPIRING_SOON", At: t0}
	relogin := banklink.StatusChange{From: banklink.StatusActive, FromReason: "ACCESS_EXPIRING_SOON", To: banklink.StatusReconnectRequired, ToReason: "LOGIN_REQUIRED", At: t0}
	repaired := banklink.StatusChange{From: banklink.StatusReconnectRequired, FromReason: "LOGIN_REQUIRED", To: banklink.StatusActive, At: t0}

	for _, step := range []struct {
		name       string
		scope      banklink.Scope
		change     banklink.StatusChange
		wantCode   string
		wantOK     bool
		wantStatus banklink.ConnectionStatus
		wantReason string
	}{
		{"another tenant's connection", other, expiring, banklink.ENOTFOUND, false, banklink.StatusActive, ""},
		{"not in the expected status", scope, repaired, "", false, banklink.StatusActive, ""},
		{"ACTIVE to ACCESS_EXPIRING_SOON", scope, expiring, "", true, banklink.StatusActive, "ACCESS_EXPIRING_SOON"},
		{"the same change again finds it moved on", scope, expiring, "", false, banklink.StatusActive, "ACCESS_EXPIRING_SOON"},
		{"to RECONNECT_REQUIRED", scope, relogin, "", true, banklink.StatusReconnectRequired, "LOGIN_REQUIRED"},
		{"back to ACTIVE", scope, repaired, "", true, banklink.StatusActive, ""},
	} {
		ok, err := s.ChangeConnectionStatus(ctx, step.scope, conn.ID, step.change)
		if banklink.ErrorCode(err) != step.wantCode || ok != step.wantOK {
			t.Fatalf("%s: changed %v, err %v; want %v, code %q", step.name, ok, err, step.wantOK, step.wantCode)
		}
		c, err := s.FindConnectionByID(ctx, scope, conn.ID)
		must(t, err)
		if c.Status != step.wantStatus || c.StatusReason != step.wantReason {
			t.Fatalf("%s: connection is %s/%s, want %s/%s", step.name, c.Status, c.StatusReason, step.wantStatus, step.wantReason)
		}
	}
	want := []webhook.EventType{webhook.ConnectionCompleted, webhook.ConnectionStatusChange, // completion
		webhook.ConnectionStatusChange,                                 // expiring soon
		webhook.ConnectionStatusChange, webhook.CustomerActionRequired, // the customer must log in
		webhook.ConnectionStatusChange} // repaired
	if got := eventTypes(t, s, scope, banklink.EventFilter{}); !slices.Equal(got, want) {
		t.Fatalf("events = %v\nwant     %v", got, want)
	}
	list, _, err := s.FindEvents(ctx, scope, banklink.EventFilter{Limit: 100})
	must(t, err)
	if p := list[2].Payload; p.OldStatus != "ACTIVE" || p.OldStatusReason != "" || p.NewStatus != "ACTIVE" || p.NewStatusReason != "ACCESS_EXPIRING_SOON" {
		t.Errorf("expiring status change = %+v", p)
	}
	if p := list[4].Payload; p.Reason != "LOGIN_REQUIRED" || p.ConnectionID != conn.ID {
		t.Errorf("customer action = %+v", p)
	}

	// Moving to ACTIVE restarts the count of failed aggregations.
	for range 2 {
		_, err := s.RecordAggregationFailure(ctx, scope, conn.ID, banklink.StatusReconnectRequired, "LOGIN_REQUIRED", t0)
		must(t, err)
	}
	ok, err := s.ChangeConnectionStatus(ctx, scope, conn.ID, repaired)
	if err != nil || !ok {
		t.Fatalf("repair: %v %v", ok, err)
	}
	n, err := s.RecordAggregationFailure(ctx, scope, conn.ID, banklink.StatusDegraded, "INSTITUTION_CURRENTLY_UNAVAILABLE", t0)
	must(t, err)
	if n != 1 {
		t.Errorf("failures after the move to ACTIVE = %d, want 1", n)
	}

	// A deleted connection is in DELETED, never in the status a change
	// expects.
	_, err = s.DeleteConnection(ctx, scope, conn.ID, t0)
	must(t, err)
	if ok, err := s.ChangeConnectionStatus(ctx, scope, conn.ID, banklink.StatusChange{From: banklink.StatusDegraded,
		FromReason: "INSTITUTION_CURRENTLY_UNAVAILABLE", To: banklink.StatusActive}); ok || err != nil {
		t.Errorf("deleted connection changed: %v %v", ok, err)
	}
}
