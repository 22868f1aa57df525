package storetest

import (
	"slices"
	"testing"
	"time"

	"banklink"
	"banklink/webhook"
)

// testVanishedPendingExpire: a pending transaction the provider no longer
// reports (declined, or posted under a new id) becomes EXPIRED on the next
// window aggregation, and the app is told which ones; the historical pass
// and an aggregation that did not read transactions expire nothing.
func testVanishedPendingExpire(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, _ := startOne(t, s)
	save := func(historical bool, at time.Time, accounts ...banklink.AggregatedAccount) banklink.AggregationStats {
		t.Helper()
		stats, err := s.SaveAggregation(ctx, scope, conn.ID, accounts, historical, at)
		must(t, err)
		return stats
	}
	statuses := func() map[string]string { return txStatuses(t, s, scope, conn.ID) }
	save(false, t0, aggAccount("a1",
		tx("posted", "2026-11-01", banklink.TxPosted, 4.5),
		tx("stays", "2026-11-22", banklink.TxPending, 12),
		tx("declined", "2026-11-22", banklink.TxPending, 80),
		tx("reissued", "2026-11-23", banklink.TxPending, 9)))

	// The historical pass and an aggregation without transactions (nil:
	// not read) leave pending transactions alone.
	save(true, t0.Add(time.Hour), aggAccount("a1", tx("posted", "2026-11-01", banklink.TxPosted, 4.5)))
	save(false, t0.Add(2*time.Hour), aggAccount("a1"))
	if got := statuses(); got["declined"] != banklink.TxPending || got["stays"] != banklink.TxPending {
		t.Fatalf("after aggregations that did not read the window: %v", got)
	}

	// "declined" vanished; "reissued" posted under a new id.
	stats := save(false, t0.Add(3*time.Hour), aggAccount("a1",
		tx("posted", "2026-11-01", banklink.TxPosted, 4.5),
		tx("stays", "2026-11-22", banklink.TxPending, 12),
		tx("reissued-posted", "2026-11-23", banklink.TxPosted, 9)))
	if stats.TransactionsAdded != 1 || stats.TransactionsUpdated != 2 {
		t.Errorf("stats = %+v, want 1 added and the 2 expired updated", stats)
	}
	want := map[string]string{"posted": banklink.TxPosted, "stays": banklink.TxPending, "declined": banklink.TxExpired,
		"reissued": banklink.TxExpired, "reissued-posted": banklink.TxPosted}
	got := statuses()
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s is %s, want %s (all: %v)", id, got[id], st, got)
		}
	}
	// Expired ones are found by status, and named in the event.
	expired, _, err := s.FindTransactions(ctx, scope, banklink.TransactionFilter{ConnectionID: conn.ID, Status: banklink.TxExpired, Limit: 100})
	must(t, err)
	var ids []string
	for _, tx := range expired {
		ids = append(ids, tx.ID)
	}
	slices.Sort(ids)
	events, _, err := s.FindEvents(ctx, scope, banklink.EventFilter{ConnectionID: conn.ID, Types: []webhook.EventType{webhook.TransactionsAggregated}, Limit: 100})
	must(t, err)
	last := events[len(events)-1].Payload.FinancialAccounts
	if len(ids) != 2 || len(last) != 1 || !slices.Equal(last[0].TransactionIDsRemoved, ids) {
		t.Fatalf("expired %v; the last TRANSACTIONS_AGGREGATED names %+v", ids, last)
	}
	// Reported again, an expired transaction comes back.
	save(false, t0.Add(4*time.Hour), aggAccount("a1", tx("declined", "2026-11-22", banklink.TxPending, 80)))
	if got := statuses(); got["declined"] != banklink.TxPending {
		t.Errorf("declined reported again is %s", got["declined"])
	}
}

// testIncrementalAggregation: a stateful provider's state is saved with
// its data; an incremental aggregation adds and updates what it lists,
// expires what it says was removed (unless the same aggregation reports
// it again), and leaves everything else alone.
func testIncrementalAggregation(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, _ := startOne(t, s)
	save := func(agg banklink.Aggregation, at time.Time) banklink.AggregationStats {
		t.Helper()
		stats, err := s.SaveAggregationFrom(ctx, scope, conn.ID, agg, false, at)
		must(t, err)
		return stats
	}
	statuses := func() map[string]string { return txStatuses(t, s, scope, conn.ID) }
	state := func() string {
		t.Helper()
		c, err := s.FindConnectionByID(ctx, scope, conn.ID)
		must(t, err)
		return c.ProviderState
	}
	save(banklink.Aggregation{State: "cursor-1", Accounts: []banklink.AggregatedAccount{aggAccount("a1",
		tx("old", "2026-10-01", banklink.TxPosted, 1),
		tx("pending-a", "2026-11-22", banklink.TxPending, 2),
		tx("pending-b", "2026-11-22", banklink.TxPending, 3),
		tx("pending-c", "2026-11-23", banklink.TxPending, 4))}}, t0)
	if got := state(); got != "cursor-1" {
		t.Fatalf("state %q, want cursor-1", got)
	}
	a := aggAccount("a1",
		tx("new", "2026-11-24", banklink.TxPosted, 5),
		tx("pending-a", "2026-11-22", banklink.TxPosted, 2)) // posted, same id
	a.RemovedTransactionIDs = []string{"pending-a", "pending-b", "never-seen"}
	stats := save(banklink.Aggregation{State: "cursor-2", Incremental: true, Accounts: []banklink.AggregatedAccount{a}}, t0.Add(time.Hour))
	if stats.TransactionsAdded != 1 || stats.TransactionsUpdated != 2 {
		t.Errorf("stats = %+v, want 1 added, 2 updated (posted, expired)", stats)
	}
	want := map[string]string{"old": banklink.TxPosted, "pending-a": banklink.TxPosted, "pending-b": banklink.TxExpired,
		"pending-c": banklink.TxPending, "new": banklink.TxPosted}
	got := statuses()
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s is %s, want %s (all: %v)", id, got[id], st, got)
		}
	}
	if got := state(); got != "cursor-2" {
		t.Errorf("state %q, want cursor-2", got)
	}
	// An aggregation without a state keeps the one held.
	save(banklink.Aggregation{Incremental: true, Accounts: []banklink.AggregatedAccount{aggAccount("a1")}}, t0.Add(2*time.Hour))
	if got := state(); got != "cursor-2" {
		t.Errorf("state after a stateless aggregation %q, want cursor-2", got)
	}
	// A failed save keeps both data and state: nothing half-applied.
	_, err := s.DeleteConnection(ctx, scope, conn.ID, t0.Add(3*time.Hour))
	must(t, err)
	_, err = s.SaveAggregationFrom(ctx, scope, conn.ID, banklink.Aggregation{State: "cursor-3"}, false, t0.Add(4*time.Hour))
	wantCode(t, err, banklink.ECONFLICT)
	if got := state(); got != "cursor-2" {
		t.Errorf("state after a refused save %q, want cursor-2", got)
	}
}

// testRemovedByAlias: a removal names a transaction by either of its ids.
// A provider that gives a posted transaction a new id (Plaid) has it kept
// under its pending one's id with the new one as ProviderAliasID, and may
// later remove it by that new id.
func testRemovedByAlias(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, _ := startOne(t, s)
	save := func(agg banklink.Aggregation, at time.Time) banklink.AggregationStats {
		t.Helper()
		stats, err := s.SaveAggregationFrom(ctx, scope, conn.ID, agg, false, at)
		must(t, err)
		return stats
	}
	statuses := func() map[string]string { return txStatuses(t, s, scope, conn.ID) }
	posted := func(id, alias string) banklink.Transaction {
		x := tx(id, "2026-11-22", banklink.TxPosted, 2)
		x.ProviderAliasID = alias
		return x
	}
	save(banklink.Aggregation{State: "c1", Accounts: []banklink.AggregatedAccount{aggAccount("a1",
		tx("pending-a", "2026-11-22", banklink.TxPending, 2),
		tx("pending-b", "2026-11-22", banklink.TxPending, 2),
		posted("inserted-posted", "its-own-id"))}}, t0)
	// pending-a posts: Plaid removes the pending id and adds the posted
	// transaction under its own id, which banklink keeps as the alias.
	a := aggAccount("a1", posted("pending-a", "posted-a"), posted("pending-b", "posted-b"))
	a.RemovedTransactionIDs = []string{"pending-a", "pending-b"}
	save(banklink.Aggregation{State: "c2", Incremental: true, Accounts: []banklink.AggregatedAccount{a}}, t0.Add(time.Hour))
	if got := statuses(); got["pending-a"] != banklink.TxPosted || got["pending-b"] != banklink.TxPosted {
		t.Fatalf("after posting: %v", got)
	}
	// Later Plaid removes the posted ones by their own ids.
	a = aggAccount("a1")
	a.RemovedTransactionIDs = []string{"posted-a", "its-own-id"}
	if stats := save(banklink.Aggregation{State: "c3", Incremental: true, Accounts: []banklink.AggregatedAccount{a}}, t0.Add(2*time.Hour)); stats.TransactionsUpdated != 2 {
		t.Errorf("stats = %+v, want the 2 removed updated", stats)
	}
	want := map[string]string{"pending-a": banklink.TxExpired, "inserted-posted": banklink.TxExpired, "pending-b": banklink.TxPosted}
	got := statuses()
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s is %s, want %s (all: %v)", id, got[id], st, got)
		}
	}
}

// txStatuses maps a connection's provider transaction ids to their status.
func txStatuses(t *testing.T, s banklink.Store, scope banklink.Scope, connID string) map[string]string {
	t.Helper()
	list, _, err := s.FindTransactions(t.Context(), scope, banklink.TransactionFilter{ConnectionID: connID, Limit: 100})
	must(t, err)
	out := map[string]string{}
	for _, tx := range list {
		out[tx.ProviderTransactionID] = tx.Status
	}
	return out
}
