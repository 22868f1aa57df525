package plaid

import (
	"slices"
	"testing"
	"time"

	"banklink"
	"banklink/internal/plaid/fakeplaid"
)

// TestAggregateFromCursor: from no cursor every transaction is read and
// the cursor after them returned; from that cursor only what changed
// since comes back (a new transaction, a posted one under its pending
// one's id, a removal), in a page or two instead of the whole history;
// a cursor Plaid refuses is dropped and everything read again.
func TestAggregateFromCursor(t *testing.T) {
	e := newEnv(t)
	e.fp.SyncPageLimit = 50
	in := e.institution(t, "ins_109508")
	step, _ := e.link(t, in, banklink.Balances, banklink.Transactions)
	now := time.Now()
	req := banklink.AggregationRequest{Institution: in, LoginID: step.LoginID, Products: []banklink.Product{banklink.Balances, banklink.Transactions},
		Since: now.AddDate(0, -24, 0), Now: now}
	count := func(agg banklink.Aggregation) (n int) {
		for _, a := range agg.Accounts {
			n += len(a.Transactions)
		}
		return n
	}

	calls := e.fp.Calls("/transactions/sync")
	full, err := e.p.AggregateFrom(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	it := e.fp.Item(step.LoginID)
	fullPages := e.fp.Calls("/transactions/sync") - calls
	if full.Incremental || full.State == "" || count(full) != len(it.Transactions) || fullPages < 2 {
		t.Fatalf("from no cursor: incremental %v, state %q, %d transactions of %d, %d pages", full.Incremental, full.State, count(full), len(it.Transactions), fullPages)
	}

	// Nothing changed: nothing comes back, in one page.
	req.ProviderState = full.State
	calls = e.fp.Calls("/transactions/sync")
	same, err := e.p.AggregateFrom(t.Context(), req)
	if err != nil || !same.Incremental || count(same) != 0 || e.fp.Calls("/transactions/sync")-calls != 1 || same.State == "" {
		t.Fatalf("unchanged: %+v, %v (%d pages)", same, err, e.fp.Calls("/transactions/sync")-calls)
	}

	var pendings []string
	for _, tx := range it.Transactions {
		if tx.Pending {
			pendings = append(pendings, tx.ID)
		}
	}
	if len(pendings) < 2 {
		t.Fatalf("%d pending transactions", len(pendings))
	}
	e.fp.Mutate(step.LoginID, func(it *fakeplaid.Item) {
		it.AddTransaction(&fakeplaid.Transaction{ID: "cursor-new", AccountID: it.Accounts[0].ID, Amount: 7, Currency: "USD",
			Date: now.Format(time.DateOnly), Name: "BAKERY"})
		it.Post(pendings[0], "cursor-posted", now.Format(time.DateOnly))
		it.RemoveTransaction(pendings[1])
	})
	req.ProviderState = same.State
	changed, err := e.p.AggregateFrom(t.Context(), req)
	if err != nil || !changed.Incremental {
		t.Fatalf("after changes: %+v, %v", changed, err)
	}
	var ids, removed []string
	for _, a := range changed.Accounts {
		for _, tx := range a.Transactions {
			ids = append(ids, tx.ProviderTransactionID+" "+tx.Status)
		}
		removed = append(removed, a.RemovedTransactionIDs...)
	}
	slices.Sort(ids)
	want := []string{"cursor-new POSTED", pendings[0] + " POSTED"}
	slices.Sort(want)
	// The posting removes the pending transaction at Plaid too; banklink
	// keeps it (the posted one carries its id), which SaveAggregationFrom
	// sees by its coming back in the same aggregation.
	if !slices.Equal(ids, want) || !slices.Contains(removed, pendings[1]) {
		t.Fatalf("changes %v removed %v, want %v and %s removed", ids, removed, want, pendings[1])
	}

	// A cursor Plaid does not accept: read everything again.
	req.ProviderState = "not-a-cursor"
	again, err := e.p.AggregateFrom(t.Context(), req)
	if err != nil || again.Incremental || again.State == "" || count(again) != len(e.fp.Item(step.LoginID).Transactions) {
		t.Fatalf("from a refused cursor: incremental %v, %d transactions, %v", again.Incremental, count(again), err)
	}
}
