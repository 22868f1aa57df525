package storetest

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"banklink"

	"github.com/google/go-cmp/cmp"
)

func testOperators(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	b := MustAccount(t, s, "Other")
	if n, err := s.CountOperators(ctx); err != nil || n != 0 {
		t.Fatalf("CountOperators on an empty store = %d, %v", n, err)
	}
	o := &banklink.Operator{AccountID: a.ID, Email: "  Ops@Example.COM ", PasswordHash: []byte("$2a$04$hash"), CreatedAt: t0}
	must(t, s.CreateOperator(ctx, o))
	if o.ID == "" || o.Email != "ops@example.com" {
		t.Fatalf("created operator = %+v", o)
	}
	got, err := s.FindOperatorByEmail(ctx, "OPS@example.com")
	must(t, err)
	if diff := cmp.Diff(o, got); diff != "" {
		t.Errorf("FindOperatorByEmail mismatch (-want +got):\n%s", diff)
	}
	// Emails are unique across accounts, whatever their case.
	wantCode(t, s.CreateOperator(ctx, &banklink.Operator{AccountID: b.ID, Email: "ops@EXAMPLE.com", PasswordHash: []byte("x")}), banklink.ECONFLICT)
	wantCode(t, s.CreateOperator(ctx, &banklink.Operator{AccountID: "no-such-account", Email: "x@example.com", PasswordHash: []byte("x")}), banklink.ENOTFOUND)
	_, err = s.FindOperatorByEmail(ctx, "nobody@example.com")
	wantCode(t, err, banklink.ENOTFOUND)

	must(t, s.CreateOperator(ctx, &banklink.Operator{AccountID: b.ID, Email: "b@example.com", PasswordHash: []byte("x"), CreatedAt: t0}))
	must(t, s.CreateOperator(ctx, &banklink.Operator{AccountID: a.ID, Email: "second@example.com", PasswordHash: []byte("x"), CreatedAt: t0.Add(time.Second)}))
	list, err := s.FindOperators(ctx, a.ID)
	must(t, err)
	if len(list) != 2 || list[0].Email != "ops@example.com" || list[1].Email != "second@example.com" {
		t.Errorf("FindOperators = %v", list)
	}
	if n, err := s.CountOperators(ctx); err != nil || n != 3 {
		t.Errorf("CountOperators = %d, %v; want 3", n, err)
	}
}

func sessionHash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

func testOperatorSessions(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	o := &banklink.Operator{AccountID: a.ID, Email: "ops@example.com", PasswordHash: []byte("x")}
	must(t, s.CreateOperator(ctx, o))
	sess := &banklink.OperatorSession{IDHash: sessionHash("one"), OperatorID: o.ID, CSRFToken: "csrf-1", CreatedAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}
	must(t, s.CreateOperatorSession(ctx, sess))
	got, err := s.FindOperatorSession(ctx, sessionHash("one"), t0.Add(time.Hour))
	must(t, err)
	if !bytes.Equal(got.IDHash, sess.IDHash) || got.OperatorID != o.ID || got.AccountID != a.ID || got.Email != "ops@example.com" ||
		got.CSRFToken != "csrf-1" || !got.CreatedAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(12*time.Hour)) || !got.LastSeenAt.Equal(t0) {
		t.Errorf("FindOperatorSession = %+v", got)
	}
	_, err = s.FindOperatorSession(ctx, sessionHash("two"), t0)
	wantCode(t, err, banklink.ENOTFOUND)
	// Expired: not found, although the row is still there.
	_, err = s.FindOperatorSession(ctx, sessionHash("one"), t0.Add(12*time.Hour))
	wantCode(t, err, banklink.ENOTFOUND)

	must(t, s.TouchOperatorSession(ctx, sessionHash("one"), t0.Add(2*time.Hour)))
	must(t, s.TouchOperatorSession(ctx, sessionHash("one"), t0.Add(time.Hour))) // never backwards
	got, err = s.FindOperatorSession(ctx, sessionHash("one"), t0.Add(3*time.Hour))
	must(t, err)
	if !got.LastSeenAt.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, t0.Add(2*time.Hour))
	}

	wantCode(t, s.CreateOperatorSession(ctx, &banklink.OperatorSession{IDHash: sessionHash("x"), OperatorID: "nobody", CSRFToken: "c",
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}), banklink.ENOTFOUND)

	// A session created after the first expired removes it.
	must(t, s.CreateOperatorSession(ctx, &banklink.OperatorSession{IDHash: sessionHash("two"), OperatorID: o.ID, CSRFToken: "csrf-2",
		CreatedAt: t0.Add(13 * time.Hour), ExpiresAt: t0.Add(25 * time.Hour)}))
	_, err = s.FindOperatorSession(ctx, sessionHash("one"), t0)
	wantCode(t, err, banklink.ENOTFOUND)

	must(t, s.DeleteOperatorSession(ctx, sessionHash("two")))
	_, err = s.FindOperatorSession(ctx, sessionHash("two"), t0.Add(14*time.Hour))
	wantCode(t, err, banklink.ENOTFOUND)
	must(t, s.DeleteOperatorSession(ctx, sessionHash("two"))) // twice is fine
}

func testFunnel(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, c1, inst := startOne(t, s)
	c2 := NewConnection(scope)
	must(t, s.StartConnection(ctx, NewCustomer(scope, "cust-2"), c2))
	prod := banklink.Scope{AccountID: scope.AccountID, Environment: banklink.Production}
	c3 := NewConnection(prod)
	must(t, s.StartConnection(ctx, NewCustomer(prod, "cust-3"), c3))
	otherScope := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	c4 := NewConnection(otherScope)
	must(t, s.StartConnection(ctx, NewCustomer(otherScope, "cust-4"), c4))

	day1, day2 := t0.Truncate(24*time.Hour), t0.Truncate(24*time.Hour).Add(24*time.Hour)
	rec := func(conn, step, institution, provider string, at time.Time) {
		t.Helper()
		must(t, s.RecordFunnelStep(ctx, banklink.FunnelStep{ConnectionID: conn, Step: step, InstitutionID: institution, Provider: provider, At: at}))
	}
	rec(c1.ID, banklink.FunnelOpened, "", "", day1.Add(time.Hour))
	rec(c1.ID, banklink.FunnelChosen, inst.ID, "sandbox", day1.Add(2*time.Hour))
	rec(c1.ID, banklink.FunnelChosen, inst.ID, "sandbox", day1.Add(150*time.Minute)) // ignored: once per step and place
	rec(c1.ID, banklink.FunnelChosen, "another", "sandbox-b", day1.Add(3*time.Hour)) // the customer switched banks
	must(t, s.RecordFunnelStep(ctx, banklink.FunnelStep{ConnectionID: c1.ID, Step: banklink.FunnelFailed, InstitutionID: "another",
		Provider: "sandbox-b", Reason: "INVALID_CREDENTIALS", At: day1.Add(4 * time.Hour)}))
	must(t, s.RecordFunnelStep(ctx, banklink.FunnelStep{ConnectionID: c1.ID, Step: banklink.FunnelFailed, InstitutionID: "another",
		Provider: "sandbox-b", Reason: "ACCOUNT_LOCKED", At: day1.Add(270 * time.Minute)})) // replaces the failure before
	rec(c1.ID, banklink.FunnelLoggedIn, inst.ID, "sandbox", day2.Add(time.Minute))
	rec(c2.ID, banklink.FunnelOpened, "", "", day1.Add(5*time.Hour))
	rec(c2.ID, banklink.FunnelOpened, "", "", day2.Add(5*time.Hour)) // ignored
	rec(c3.ID, banklink.FunnelOpened, "", "", day1)                  // production
	rec(c4.ID, banklink.FunnelOpened, "", "", day1)                  // another account
	rec("no-such-connection", banklink.FunnelOpened, "", "", day1)   // nothing

	got, err := s.FunnelSteps(ctx, scope, day1, day2.Add(24*time.Hour))
	must(t, err)
	want := []banklink.FunnelStep{
		{ConnectionID: c1.ID, Step: banklink.FunnelOpened, At: day1.Add(time.Hour)},
		{ConnectionID: c1.ID, Step: banklink.FunnelChosen, InstitutionID: inst.ID, Provider: "sandbox", At: day1.Add(2 * time.Hour)},
		{ConnectionID: c1.ID, Step: banklink.FunnelChosen, InstitutionID: "another", Provider: "sandbox-b", At: day1.Add(3 * time.Hour)},
		{ConnectionID: c1.ID, Step: banklink.FunnelFailed, InstitutionID: "another", Provider: "sandbox-b", Reason: "ACCOUNT_LOCKED", At: day1.Add(270 * time.Minute)},
		{ConnectionID: c2.ID, Step: banklink.FunnelOpened, At: day1.Add(5 * time.Hour)},
		{ConnectionID: c1.ID, Step: banklink.FunnelLoggedIn, InstitutionID: inst.ID, Provider: "sandbox", At: day2.Add(time.Minute)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FunnelSteps mismatch (-want +got):\n%s", diff)
	}
	// [from, to) bounds.
	got, err = s.FunnelSteps(ctx, scope, day2, day2.Add(24*time.Hour))
	must(t, err)
	if len(got) != 1 || got[0].Step != banklink.FunnelLoggedIn {
		t.Errorf("day 2 only = %+v", got)
	}
	got, err = s.FunnelSteps(ctx, prod, day1, day2)
	must(t, err)
	if len(got) != 1 || got[0].ConnectionID != c3.ID {
		t.Errorf("production = %+v", got)
	}
	got, err = s.FunnelSteps(ctx, banklink.Scope{AccountID: "nobody", Environment: banklink.Sandbox}, day1, day2)
	must(t, err)
	if got == nil || len(got) != 0 {
		t.Errorf("unknown account = %#v, want empty", got)
	}
}

// testLatestCursor pages newest first from LatestCursor.
func testLatestCursor(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	var ids []string
	for range 5 {
		c := NewConnection(scope)
		must(t, s.StartConnection(ctx, NewCustomer(scope, "cust"), c))
		ids = append(ids, c.ID)
	}
	page, remaining, err := s.FindConnections(ctx, scope, banklink.ConnectionFilter{Before: banklink.LatestCursor, Limit: 2, Now: t0})
	must(t, err)
	if len(page) != 2 || page[0].ID != ids[3] || page[1].ID != ids[4] || remaining != 3 {
		t.Errorf("newest connections = %d, remaining %d", len(page), remaining)
	}
	emitN(t, s, scope, ids[:1], 4)
	events, remaining, err := s.FindEvents(ctx, scope, banklink.EventFilter{Before: banklink.LatestCursor, Limit: 3})
	must(t, err)
	all, _, err := s.FindEvents(ctx, scope, banklink.EventFilter{Limit: 10})
	must(t, err)
	if len(events) != 3 || remaining != 1 || len(all) != 4 || events[2].ID != all[3].ID || events[0].ID != all[1].ID {
		t.Errorf("newest events = %d, remaining %d", len(events), remaining)
	}
}
