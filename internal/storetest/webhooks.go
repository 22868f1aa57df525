package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/webhook"
)

func newProfile(scope banklink.Scope, url string, types ...webhook.EventType) *banklink.WebhookProfile {
	return &banklink.WebhookProfile{ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment, URL: url,
		Version: "2022-11-10", Enabled: true, EventTypes: types, Secret: banklink.NewWebhookSecret(), CreatedAt: t0}
}

func testWebhookProfiles(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	p := newProfile(scope, "https://example.com/hooks", webhook.ConnectionDeleted)
	must(t, s.CreateWebhookProfile(ctx, p))
	wantCode(t, s.CreateWebhookProfile(ctx, p), banklink.ECONFLICT)
	wantCode(t, s.CreateWebhookProfile(ctx, newProfile(banklink.Scope{AccountID: "nope", Environment: banklink.Sandbox}, "https://x")), banklink.ENOTFOUND)

	got, err := s.FindWebhookProfileByID(ctx, scope, p.ID)
	must(t, err)
	if got.URL != p.URL || got.Secret != p.Secret || !slices.Equal(got.EventTypes, p.EventTypes) || !got.Enabled || got.PreviousSecretExpiresAt != nil {
		t.Errorf("profile = %+v", got)
	}
	_, err = s.FindWebhookProfileByID(ctx, other, p.ID)
	wantCode(t, err, banklink.ENOTFOUND)
	_, err = s.FindWebhookProfileByID(ctx, banklink.Scope{AccountID: a.ID, Environment: banklink.Production}, p.ID)
	wantCode(t, err, banklink.ENOTFOUND)

	// Rotation keeps the old secret until it expires.
	exp := t0.Add(24 * time.Hour)
	got.PreviousSecret, got.PreviousSecretExpiresAt, got.Secret = got.Secret, &exp, banklink.NewWebhookSecret()
	got.Enabled, got.EventTypes = false, nil
	must(t, s.UpdateWebhookProfile(ctx, got))
	again, err := s.FindWebhookProfileByID(ctx, scope, p.ID)
	must(t, err)
	if again.Enabled || len(again.EventTypes) != 0 || again.PreviousSecret != p.Secret || !again.PreviousSecretExpiresAt.Equal(exp) {
		t.Errorf("updated profile = %+v", again)
	}
	if secrets := again.Secrets(t0); len(secrets) != 2 || secrets[0] != again.Secret {
		t.Errorf("Secrets during overlap = %v", secrets)
	}
	if secrets := again.Secrets(exp); len(secrets) != 1 {
		t.Errorf("Secrets after overlap = %v", secrets)
	}
	stranger := *again
	stranger.AccountID = other.AccountID
	wantCode(t, s.UpdateWebhookProfile(ctx, &stranger), banklink.ENOTFOUND)

	list, err := s.FindWebhookProfiles(ctx, scope)
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("profiles = %d", len(list))
	}
	wantCode(t, s.DeleteWebhookProfile(ctx, other, p.ID), banklink.ENOTFOUND)
	must(t, s.DeleteWebhookProfile(ctx, scope, p.ID))
	wantCode(t, s.DeleteWebhookProfile(ctx, scope, p.ID), banklink.ENOTFOUND)
}

func eventTypes(t *testing.T, s banklink.Store, scope banklink.Scope, f banklink.EventFilter) []webhook.EventType {
	t.Helper()
	f.Limit = 100
	list, _, err := s.FindEvents(t.Context(), scope, f)
	must(t, err)
	var out []webhook.EventType
	for _, e := range list {
		out = append(out, e.Type)
	}
	return out
}

func testEventsFollowChanges(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, inst := startOne(t, s)
	all := newProfile(scope, "https://example.com/all")
	deletions := newProfile(scope, "https://example.com/deleted", webhook.ConnectionDeleted)
	off := newProfile(scope, "https://example.com/off")
	off.Enabled = false
	for _, p := range []*banklink.WebhookProfile{all, deletions, off} {
		must(t, s.CreateWebhookProfile(ctx, p))
	}
	ctx = banklink.WithRequestID(ctx, "req-1")
	_, err := s.CompleteConnection(ctx, scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox", LoginID: "sbx_1", At: time.Now()})
	must(t, err)
	// A completion that loses emits nothing.
	_, err = s.CompleteConnection(ctx, scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox", LoginID: "sbx_1", At: time.Now()})
	wantCode(t, err, banklink.ECONFLICT)
	_, err = s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{aggAccount("a1", tx("t1", "2026-11-01", banklink.TxPosted, 4.5)), aggAccount("a2")}, false, t0)
	must(t, err)
	_, err = s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{aggAccount("a1", tx("t1", "2026-11-01", banklink.TxPosted, 4.5))}, true, t0)
	must(t, err)
	// a2 is gone at the next aggregation.
	_, err = s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{aggAccount("a1")}, false, t0)
	must(t, err)
	for range 2 { // the second identical failure is not news
		_, err = s.RecordAggregationFailure(ctx, scope, conn.ID, banklink.StatusReconnectRequired, "LOGIN_REQUIRED", t0)
		must(t, err)
	}
	_, err = s.DeleteConnection(ctx, scope, conn.ID, t0)
	must(t, err)

	want := []webhook.EventType{webhook.ConnectionCompleted, webhook.ConnectionStatusChange,
		webhook.AccountsUpdated, webhook.TransactionsAggregated, webhook.HistoricalTransactionsAggregated,
		webhook.AccountsUpdated, webhook.AccountsRemoved, webhook.TransactionsAggregated,
		webhook.ConnectionStatusChange, webhook.CustomerActionRequired, webhook.ConnectionDeleted}
	if got := eventTypes(t, s, scope, banklink.EventFilter{}); !slices.Equal(got, want) {
		t.Fatalf("events = %v\nwant     %v", got, want)
	}
	list, _, err := s.FindEvents(ctx, scope, banklink.EventFilter{Limit: 100})
	must(t, err)
	for _, e := range list {
		if e.Payload.ConnectionID != conn.ID || e.Payload.CustomerID != conn.CustomerID || e.Payload.ExternalCustomerID != "cust" ||
			e.Payload.InstitutionID != inst.ID || e.Payload.InstitutionName != inst.Name || e.Payload.RequestID != "req-1" || e.AccountID != scope.AccountID {
			t.Errorf("%s payload = %+v", e.Type, e.Payload)
		}
	}
	if p := list[1].Payload; p.OldStatus != "IN_PROGRESS" || p.NewStatus != "ACTIVE" {
		t.Errorf("status change = %+v", p)
	}
	if fa := list[2].Payload.FinancialAccounts; len(fa) != 2 || fa[0].NewAccount == nil || !*fa[0].NewAccount || !slices.Contains(fa[0].Products, "BALANCES") || slices.Contains(fa[0].Products, "TRANSACTIONS") {
		t.Errorf("ACCOUNTS_UPDATED accounts = %+v", fa)
	}
	if fa := list[3].Payload.FinancialAccounts; len(fa) != 2 || *fa[0].NumTransactionsAdded != 1 || *fa[1].NumTransactionsAdded != 0 {
		t.Errorf("TRANSACTIONS_AGGREGATED accounts = %+v", fa)
	}
	if fa := list[6].Payload.FinancialAccounts; len(fa) != 1 || fa[0].ID != list[2].Payload.FinancialAccounts[1].ID {
		t.Errorf("ACCOUNTS_REMOVED accounts = %+v", fa)
	}
	if p := list[8].Payload; p.OldStatus != "ACTIVE" || p.NewStatus != "RECONNECT_REQUIRED" || p.NewStatusReason != "LOGIN_REQUIRED" {
		t.Errorf("status change = %+v", p)
	}
	if p := list[9].Payload; p.Reason != "LOGIN_REQUIRED" {
		t.Errorf("customer action = %+v", p)
	}
	// Deliveries: every event to "all", only the deletion to "deletions",
	// nothing to the disabled profile.
	for i, e := range list {
		ds, err := s.FindDeliveries(ctx, scope, e.ID)
		must(t, err)
		var to []string
		for _, d := range ds {
			to = append(to, d.ProfileID)
		}
		want := []string{all.ID}
		if i == len(list)-1 {
			want = append(want, deletions.ID)
		}
		if slices.Sort(to); !slices.Equal(to, sorted(want)) {
			t.Errorf("%s delivered to %v, want %v", e.Type, to, want)
		}
	}
	n, err := s.PendingDeliveries(ctx)
	must(t, err)
	if n != len(list)+1 {
		t.Errorf("pending = %d, want %d", n, len(list)+1)
	}
	// Filters and cursors.
	if got := eventTypes(t, s, scope, banklink.EventFilter{Types: []webhook.EventType{webhook.ConnectionDeleted, webhook.CustomerActionRequired}}); !slices.Equal(got, []webhook.EventType{webhook.CustomerActionRequired, webhook.ConnectionDeleted}) {
		t.Errorf("filtered events = %v", got)
	}
	if got := eventTypes(t, s, scope, banklink.EventFilter{ConnectionID: "other"}); len(got) != 0 {
		t.Errorf("other connection's events = %v", got)
	}
	page, remaining, err := s.FindEvents(ctx, scope, banklink.EventFilter{After: list[8].Key, Limit: 1})
	must(t, err)
	if len(page) != 1 || page[0].ID != list[9].ID || remaining != 1 {
		t.Errorf("after page = %v, remaining %d", page, remaining)
	}
	_, _, err = s.FindEvents(ctx, scope, banklink.EventFilter{After: "bogus"})
	wantCode(t, err, banklink.EBADREQUEST)
	otherScope := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	if got := eventTypes(t, s, otherScope, banklink.EventFilter{}); len(got) != 0 {
		t.Errorf("another account sees %v", got)
	}
	_, err = s.FindEventByID(ctx, otherScope, list[0].ID)
	wantCode(t, err, banklink.ENOTFOUND)
	_, err = s.FindDeliveries(ctx, otherScope, list[0].ID)
	wantCode(t, err, banklink.ENOTFOUND)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// emitN emits n events for each of conns and returns their ids in order.
func emitN(t *testing.T, s banklink.Store, scope banklink.Scope, conns []string, n int) {
	t.Helper()
	for i := range n {
		for _, c := range conns {
			must(t, s.EmitEvents(t.Context(), scope, banklink.NewEvent(t.Context(), webhook.AccountsUpdating,
				webhook.Payload{ConnectionID: c, RequestID: fmt.Sprint(i)})))
		}
	}
}

func testClaimDeliveries(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	p := newProfile(scope, "https://example.com/hooks")
	must(t, s.CreateWebhookProfile(ctx, p))
	conns := []string{"c1", "c2", "c3", "c4", "c5", "c6"}
	emitN(t, s, scope, conns, 5) // 30 deliveries, 5 per connection

	// Concurrent claimers never share a delivery, and take at most one
	// (the oldest) of each connection at a time.
	now := time.Now()
	var mu sync.Mutex
	claimed := map[string]string{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			list, err := s.ClaimDeliveries(ctx, fmt.Sprint("w", w), now, now.Add(time.Minute), 10)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, d := range list {
				if prev, ok := claimed[d.ID]; ok {
					t.Errorf("delivery %s claimed by %s and w%d", d.ID, prev, w)
				}
				claimed[d.ID] = fmt.Sprint("w", w)
				if d.Event == nil || d.Profile == nil || d.Profile.Secret != p.Secret || d.Event.Payload.RequestID != "0" {
					t.Errorf("claimed delivery = %+v", d)
				}
			}
		})
	}
	wg.Wait()
	if len(claimed) != len(conns) {
		t.Fatalf("claimed %d deliveries, want one per connection (%d)", len(claimed), len(conns))
	}
	// Nothing else is due while those are leased.
	more, err := s.ClaimDeliveries(ctx, "late", now, now.Add(time.Minute), 100)
	must(t, err)
	if len(more) != 0 {
		t.Fatalf("claimed %d behind in-flight deliveries", len(more))
	}
	// Finishing needs the lease.
	var one string
	for id := range claimed {
		one = id
		break
	}
	ok := banklink.DeliveryOutcome{Attempt: banklink.DeliveryAttempt{Attempt: 1, At: now, URL: p.URL, StatusCode: 200}, Delivered: true}
	wantCode(t, s.FinishDelivery(ctx, "intruder", one, ok), banklink.ECONFLICT)
	for id, owner := range claimed {
		if id == one {
			must(t, s.FinishDelivery(ctx, owner, id, ok))
			continue
		}
		next := now.Add(time.Minute)
		must(t, s.FinishDelivery(ctx, owner, id, banklink.DeliveryOutcome{
			Attempt: banklink.DeliveryAttempt{Attempt: 1, At: now, URL: p.URL, StatusCode: 500, Reason: "HTTP error: 500"}, NextAttemptAt: &next}))
	}
	// A failed attempt waiting for its retry no longer holds its
	// connection back: the next event of every connection is due.
	list, err := s.ClaimDeliveries(ctx, "w9", now, now.Add(time.Minute), 100)
	must(t, err)
	if len(list) != len(conns) {
		t.Fatalf("second round claimed %d, want %d", len(list), len(conns))
	}
	for _, d := range list {
		if d.Event.Payload.RequestID != "1" {
			t.Errorf("second round claimed event %s", d.Event.Payload.RequestID)
		}
	}
	// A crashed worker's lease expires and another takes over.
	later := now.Add(2 * time.Minute)
	taken, err := s.ClaimDeliveries(ctx, "w10", later, later.Add(time.Minute), 100)
	must(t, err)
	if len(taken) != 2*len(conns)-1 { // the expired leases and the retries now due
		t.Errorf("after expiry claimed %d, want %d", len(taken), 2*len(conns)-1)
	}
	wantCode(t, s.FinishDelivery(ctx, "w9", list[0].ID, ok), banklink.ECONFLICT)
	// Release gives the leases back at once.
	must(t, s.ReleaseDeliveries(ctx, "w10"))
	back, err := s.ClaimDeliveries(ctx, "w11", later, later.Add(time.Minute), 100)
	must(t, err)
	if len(back) != len(taken) {
		t.Errorf("after release claimed %d, want %d", len(back), len(taken))
	}
	// The attempt log keeps every attempt, including the intruder-free ones.
	ds, err := s.FindDeliveries(ctx, scope, claimedEvent(t, s, scope, one))
	must(t, err)
	if len(ds) != 1 || ds[0].State != banklink.DeliveryDelivered || len(ds[0].AttemptLog) != 2 || ds[0].DeliveredAt == nil {
		t.Errorf("delivered delivery = %+v", ds)
	}
	// Giving up: no next attempt.
	must(t, s.FinishDelivery(ctx, "w11", back[0].ID, banklink.DeliveryOutcome{Attempt: banklink.DeliveryAttempt{Attempt: 2, At: later, Reason: "Timeout"}}))
	next, err := s.NextDeliveryAt(ctx)
	must(t, err)
	if next == nil {
		t.Error("NextDeliveryAt = nil with deliveries pending")
	}
}

// claimedEvent finds the event of a delivery by scanning the log.
func claimedEvent(t *testing.T, s banklink.Store, scope banklink.Scope, deliveryID string) string {
	t.Helper()
	list, _, err := s.FindEvents(t.Context(), scope, banklink.EventFilter{Limit: 100})
	must(t, err)
	for _, e := range list {
		ds, err := s.FindDeliveries(t.Context(), scope, e.ID)
		must(t, err)
		for _, d := range ds {
			if d.ID == deliveryID {
				return e.ID
			}
		}
	}
	t.Fatalf("no event for delivery %s", deliveryID)
	return ""
}

func testRedeliver(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	p := newProfile(scope, "https://example.com/hooks")
	q := newProfile(scope, "https://example.com/deleted-only", webhook.ConnectionDeleted)
	must(t, s.CreateWebhookProfile(ctx, p))
	must(t, s.CreateWebhookProfile(ctx, q))
	test := banklink.NewEvent(ctx, webhook.Test, webhook.Payload{})
	test.ProfileID = q.ID
	must(t, s.EmitEvents(ctx, scope, test))
	ds, err := s.FindDeliveries(ctx, scope, test.ID)
	must(t, err)
	if len(ds) != 1 || ds[0].ProfileID != q.ID {
		t.Fatalf("test event deliveries = %+v", ds)
	}
	emitN(t, s, scope, []string{"c1"}, 1)
	list, _, err := s.FindEvents(ctx, scope, banklink.EventFilter{Types: []webhook.EventType{webhook.AccountsUpdating}})
	must(t, err)
	ev := list[0]
	got, err := s.Redeliver(ctx, scope, ev.ID, "", t0)
	must(t, err)
	if len(got) != 1 || got[0].ProfileID != p.ID {
		t.Errorf("redeliveries = %+v", got)
	}
	// Explicitly to a profile that does not subscribe: the caller asked.
	got, err = s.Redeliver(ctx, scope, ev.ID, q.ID, t0)
	must(t, err)
	if len(got) != 1 || got[0].ProfileID != q.ID {
		t.Errorf("redeliveries to q = %+v", got)
	}
	_, err = s.Redeliver(ctx, scope, ev.ID, "nope", t0)
	wantCode(t, err, banklink.ENOTFOUND)
	_, err = s.Redeliver(ctx, scope, "nope", "", t0)
	wantCode(t, err, banklink.ENOTFOUND)
	p.Enabled = false
	must(t, s.UpdateWebhookProfile(ctx, p))
	_, err = s.Redeliver(ctx, scope, ev.ID, p.ID, t0)
	wantCode(t, err, banklink.ECONFLICT)
	_, err = s.Redeliver(ctx, scope, ev.ID, "", t0)
	wantCode(t, err, banklink.ECONFLICT)
	all, err := s.FindDeliveries(ctx, scope, ev.ID)
	must(t, err)
	if len(all) != 3 {
		t.Errorf("deliveries after redelivery = %d, want 3", len(all))
	}
}

func testNewAccountsAvailable(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, inst := startOne(t, s)
	_, err := s.CompleteConnection(ctx, scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox", LoginID: "sbx_1", At: time.Now()})
	must(t, err)
	opened := banklink.AggregatedAccount{ProviderAccountID: "new1", Type: "DEPOSITORY", Name: "New CD", NotShared: true}
	for range 2 { // announced once
		_, err = s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{aggAccount("a1"), opened}, false, t0)
		must(t, err)
	}
	want := []webhook.EventType{webhook.ConnectionCompleted, webhook.ConnectionStatusChange,
		webhook.ConnectionStatusChange, webhook.AccountsUpdated, webhook.TransactionsAggregated, webhook.NewAccountsAvailable,
		webhook.AccountsUpdated, webhook.TransactionsAggregated}
	if got := eventTypes(t, s, scope, banklink.EventFilter{}); !slices.Equal(got, want) {
		t.Fatalf("events = %v\nwant     %v", got, want)
	}
	got, err := s.FindConnectionByID(ctx, scope, conn.ID)
	must(t, err)
	if got.Status != banklink.StatusActive || got.StatusReason != "NEW_ACCOUNTS_AVAILABLE" || !got.Repairable() {
		t.Errorf("connection = %s / %s", got.Status, got.StatusReason)
	}
	accts, _, err := s.FindFinancialAccounts(ctx, scope, banklink.FinancialAccountFilter{ConnectionID: conn.ID, Limit: 10})
	must(t, err)
	if len(accts) != 1 {
		t.Errorf("an unshared account was stored: %d accounts", len(accts))
	}
}
