package storetest

import (
	"fmt"
	"testing"
	"time"

	"banklink"
	"banklink/webhook"
)

func aggAccount(id string, txs ...banklink.Transaction) banklink.AggregatedAccount {
	avail := 90.5
	return banklink.AggregatedAccount{ProviderAccountID: id, Type: "DEPOSITORY", Subtype: "CHECKING", Name: "Checking " + id, Mask: "1234",
		Balances:     &banklink.AccountBalances{Currency: "USD", CurrentAmount: 100.25, AvailableAmount: &avail, UpdatedAt: t0},
		Identifiers:  &banklink.AccountIdentifiers{ACH: &banklink.ACHNumbers{AccountNumber: "0001234", RoutingNumber: "011000015"}},
		Owners:       []banklink.Owner{{Names: []string{"Alex Smith"}, Emails: []string{"a@example.com"}}},
		Transactions: txs}
}

func tx(id, date, status string, amount float64) banklink.Transaction {
	t := banklink.Transaction{ProviderTransactionID: id, Amount: amount, Currency: "USD", Description: "Coffee " + id, TransactionDate: date,
		Status: status, Category: "FOOD_AND_DRINK", Recurring: banklink.RecurringNo}
	if status == banklink.TxPosted {
		t.PostedDate = date
	}
	return t
}

func testSaveAggregation(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, _ := startOne(t, s)
	stats, err := s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{
		aggAccount("a1", tx("t1", "2026-11-01", banklink.TxPosted, 4.5), tx("t2", "2026-11-20", banklink.TxPending, 12)),
		aggAccount("a2"),
	}, false, t0)
	must(t, err)
	if stats != (banklink.AggregationStats{AccountsAdded: 2, TransactionsAdded: 2}) {
		t.Errorf("first stats = %+v", stats)
	}
	// Again: the pending one posted, one new, nothing duplicated.
	posted := tx("t2", "2026-11-20", banklink.TxPosted, 12)
	stats, err = s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{
		aggAccount("a1", tx("t1", "2026-11-01", banklink.TxPosted, 4.5), posted, tx("t3", "2026-11-22", banklink.TxPending, -50)),
	}, true, t0.Add(time.Hour))
	must(t, err)
	if stats != (banklink.AggregationStats{AccountsUpdated: 1, TransactionsAdded: 1, TransactionsUpdated: 1}) {
		t.Errorf("second stats = %+v", stats)
	}
	accts, remaining, err := s.FindFinancialAccounts(ctx, scope, banklink.FinancialAccountFilter{ConnectionID: conn.ID, Limit: 10})
	must(t, err)
	if len(accts) != 2 || remaining != 0 {
		t.Fatalf("accounts = %d, remaining %d", len(accts), remaining)
	}
	a := accts[0]
	if a.ProviderAccountID != "a1" || a.Balances.CurrentAmount != 100.25 || *a.Balances.AvailableAmount != 90.5 || a.Identifiers.ACH.RoutingNumber != "011000015" ||
		a.Owners[0].Names[0] != "Alex Smith" || !a.HistoricalAggregationSucceeded || a.ExternalCustomerID != "cust" || a.CustomerID != conn.CustomerID {
		t.Errorf("account = %+v", a)
	}
	got, err := s.FindFinancialAccountByID(ctx, scope, a.ID)
	must(t, err)
	if got.ID != a.ID || got.Key != a.Key {
		t.Errorf("by id = %+v", got)
	}
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	_, err = s.FindFinancialAccountByID(ctx, other, a.ID)
	wantCode(t, err, banklink.ENOTFOUND)

	list, _, err := s.FindTransactions(ctx, scope, banklink.TransactionFilter{FinancialAccountID: a.ID, Limit: 10})
	must(t, err)
	var ids []string
	for _, x := range list {
		ids = append(ids, x.ProviderTransactionID+":"+x.Status)
	}
	if fmt.Sprint(ids) != "[t3:PENDING t2:POSTED t1:POSTED]" {
		t.Errorf("transactions newest first = %v", ids)
	}
	for _, tc := range []struct {
		name string
		f    banklink.TransactionFilter
		want int
	}{
		{"pending", banklink.TransactionFilter{Status: banklink.TxPending}, 1},
		{"dates inclusive", banklink.TransactionFilter{StartDate: "2026-11-01", EndDate: "2026-11-20"}, 2},
		{"category", banklink.TransactionFilter{Category: "FOOD_AND_DRINK"}, 3},
		{"connection", banklink.TransactionFilter{ConnectionID: conn.ID}, 3},
		{"customer", banklink.TransactionFilter{ExternalCustomerID: "cust"}, 3},
		{"other customer", banklink.TransactionFilter{ExternalCustomerID: "nobody"}, 0},
	} {
		tc.f.Limit = 100
		got, _, err := s.FindTransactions(ctx, scope, tc.f)
		must(t, err)
		if len(got) != tc.want {
			t.Errorf("%s: %d transactions, want %d", tc.name, len(got), tc.want)
		}
	}
	one, err := s.FindTransactionByID(ctx, scope, list[0].ID)
	must(t, err)
	if one.Amount != -50 || one.FinancialAccountID != a.ID || one.ConnectionID != conn.ID || one.PostedDate != "" {
		t.Errorf("transaction = %+v", one)
	}
	_, err = s.FindTransactionByID(ctx, other, list[0].ID)
	wantCode(t, err, banklink.ENOTFOUND)
	_, _, err = s.FindTransactions(ctx, scope, banklink.TransactionFilter{After: "bogus", Limit: 1})
	wantCode(t, err, banklink.EBADREQUEST)
	conn2, err := s.FindConnectionByID(ctx, scope, conn.ID)
	must(t, err)
	if conn2.AggregatedAt == nil || !conn2.AggregatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("aggregatedAt = %v", conn2.AggregatedAt)
	}
}

// testTransactionCursors walks newest-first pages with after cursors while
// a new aggregation adds transactions, and walks back with before.
func testTransactionCursors(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, _ := startOne(t, s)
	var txs []banklink.Transaction
	for i := range 40 {
		txs = append(txs, tx(fmt.Sprint("t", i), time.Date(2026, 1, 1+i/2, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), banklink.TxPosted, float64(i)))
	}
	_, err := s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{aggAccount("a1", txs...)}, false, t0)
	must(t, err)
	all, _, err := s.FindTransactions(ctx, scope, banklink.TransactionFilter{Limit: 1000})
	must(t, err)
	if len(all) != 40 {
		t.Fatalf("%d transactions", len(all))
	}
	seen := map[string]bool{}
	f := banklink.TransactionFilter{Limit: 7}
	for page := 0; ; page++ {
		got, remaining, err := s.FindTransactions(ctx, scope, f)
		must(t, err)
		for _, x := range got {
			if seen[x.ID] {
				t.Fatalf("%s twice", x.ID)
			}
			seen[x.ID] = true
		}
		if page == 1 { // a refresh adds newer and older transactions mid-walk
			more := append(txs, tx("new", "2026-12-01", banklink.TxPending, 1), tx("old", "2025-01-01", banklink.TxPosted, 1))
			_, err := s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{aggAccount("a1", more...)}, true, t0)
			must(t, err)
		}
		if remaining == 0 {
			break
		}
		f.After = got[len(got)-1].Key
	}
	for _, x := range all {
		if !seen[x.ID] {
			t.Errorf("%s never seen", x.ID)
		}
	}
	if !seen[findByProvider(t, s, scope, "old")] {
		t.Errorf("an older transaction added mid-walk, ahead of the cursor, was not reached")
	}
	back, remaining, err := s.FindTransactions(ctx, scope, banklink.TransactionFilter{Limit: 5, Before: all[20].Key})
	must(t, err)
	if len(back) != 5 || back[0].ID != all[15].ID || back[4].ID != all[19].ID || remaining != 16 {
		t.Errorf("before page starts at %v, remaining %d", back[0].ProviderTransactionID, remaining)
	}
}

func findByProvider(t *testing.T, s banklink.Store, scope banklink.Scope, pid string) string {
	list, _, err := s.FindTransactions(t.Context(), scope, banklink.TransactionFilter{Limit: 1000})
	must(t, err)
	for _, x := range list {
		if x.ProviderTransactionID == pid {
			return x.ID
		}
	}
	t.Fatalf("no transaction %s", pid)
	return ""
}

func testAggregationFailures(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, _ := startOne(t, s)
	for want := 1; want <= 3; want++ {
		n, err := s.RecordAggregationFailure(ctx, scope, conn.ID, banklink.StatusDegraded, "INSTITUTION_CURRENTLY_UNAVAILABLE", t0)
		must(t, err)
		if n != want {
			t.Errorf("failures = %d, want %d", n, want)
		}
	}
	c, err := s.FindConnectionByID(ctx, scope, conn.ID)
	must(t, err)
	if c.Status != banklink.StatusDegraded || c.StatusReason != "INSTITUTION_CURRENTLY_UNAVAILABLE" {
		t.Errorf("connection = %s %s", c.Status, c.StatusReason)
	}
	_, err = s.SaveAggregation(ctx, scope, conn.ID, nil, false, t0)
	must(t, err)
	n, err := s.RecordAggregationFailure(ctx, scope, conn.ID, banklink.StatusDegraded, "X", t0)
	must(t, err)
	if n != 1 {
		t.Errorf("failures after a success = %d, want 1", n)
	}
}

// testSaveAggregationHeals: a save stores the status the domain rule
// (banklink.AfterAggregation) gives the connection, with its status change
// event, in the save's transaction.
func testSaveAggregationHeals(t *testing.T, s banklink.Store) {
	unshared := banklink.AggregatedAccount{ProviderAccountID: "opened", Type: "DEPOSITORY", Name: "New CD", NotShared: true}
	for _, tc := range []struct {
		name       string
		status     banklink.ConnectionStatus
		reason     string
		accounts   []banklink.AggregatedAccount
		want       banklink.ConnectionStatus
		wantReason string
	}{
		{"degraded heals", banklink.StatusDegraded, "INSTITUTION_CURRENTLY_UNAVAILABLE",
			[]banklink.AggregatedAccount{aggAccount("a1")}, banklink.StatusActive, ""},
		{"unrecoverable heals and announces new accounts", banklink.StatusUnrecoverable, "CONTINUED_AGGREGATION_FAILURES",
			[]banklink.AggregatedAccount{aggAccount("a1"), unshared}, banklink.StatusActive, "NEW_ACCOUNTS_AVAILABLE"},
		{"reconnect required stays", banklink.StatusReconnectRequired, "LOGIN_REQUIRED",
			[]banklink.AggregatedAccount{aggAccount("a1"), unshared}, banklink.StatusReconnectRequired, "LOGIN_REQUIRED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			scope, _, inst := startOne(t, s)
			conn := linked(t, s, scope, inst, "heal", "sandbox", "L-heal")
			_, err := s.RecordAggregationFailure(ctx, scope, conn.ID, tc.status, tc.reason, t0)
			must(t, err)
			changes := func() []*banklink.Event {
				list, _, err := s.FindEvents(ctx, scope, banklink.EventFilter{ConnectionID: conn.ID, Types: []webhook.EventType{webhook.ConnectionStatusChange}, Limit: 100})
				must(t, err)
				return list
			}
			before := len(changes())
			_, err = s.SaveAggregation(ctx, scope, conn.ID, tc.accounts, false, t0.Add(time.Minute))
			must(t, err)
			c, err := s.FindConnectionByID(ctx, scope, conn.ID)
			must(t, err)
			if c.Status != tc.want || c.StatusReason != tc.wantReason {
				t.Errorf("connection = %s / %q, want %s / %q", c.Status, c.StatusReason, tc.want, tc.wantReason)
			}
			after := changes()
			if tc.want == tc.status && tc.wantReason == tc.reason {
				if len(after) != before {
					t.Errorf("%d status changes emitted for no change", len(after)-before)
				}
				return
			}
			if len(after) != before+1 {
				t.Fatalf("%d status changes emitted, want 1", len(after)-before)
			}
			p := after[len(after)-1].Payload
			if p.OldStatus != string(tc.status) || p.OldStatusReason != tc.reason || p.NewStatus != string(tc.want) || p.NewStatusReason != tc.wantReason {
				t.Errorf("status change %s/%q -> %s/%q, want %s/%q -> %s/%q", p.OldStatus, p.OldStatusReason, p.NewStatus, p.NewStatusReason,
					tc.status, tc.reason, tc.want, tc.wantReason)
			}
		})
	}
}

func testDeleteConnection(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, _ := startOne(t, s)
	_, err := s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{aggAccount("a1", tx("t1", "2026-11-01", banklink.TxPosted, 1))}, false, t0)
	must(t, err)
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	_, err = s.DeleteConnection(ctx, other, conn.ID, t0)
	wantCode(t, err, banklink.ENOTFOUND)
	c, err := s.DeleteConnection(ctx, scope, conn.ID, t0)
	must(t, err)
	if c.Status != banklink.StatusDeleted {
		t.Errorf("status = %s", c.Status)
	}
	accts, _, err := s.FindFinancialAccounts(ctx, scope, banklink.FinancialAccountFilter{ConnectionID: conn.ID, Limit: 10})
	must(t, err)
	txs, _, err := s.FindTransactions(ctx, scope, banklink.TransactionFilter{Limit: 10})
	must(t, err)
	if len(accts) != 0 || len(txs) != 0 {
		t.Errorf("data left after delete: %d accounts, %d transactions", len(accts), len(txs))
	}
	_, err = s.DeleteConnection(ctx, scope, conn.ID, t0)
	wantCode(t, err, banklink.ECONFLICT)
	_, err = s.SaveAggregation(ctx, scope, conn.ID, nil, false, t0)
	wantCode(t, err, banklink.ECONFLICT)
}

func testAcceptRefresh(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, _ := startOne(t, s)
	_, err := s.AcceptRefresh(ctx, scope, conn.ID, t0, time.Minute)
	must(t, err)
	next, err := s.AcceptRefresh(ctx, scope, conn.ID, t0.Add(30*time.Second), time.Minute)
	wantCode(t, err, banklink.ERATELIMITED)
	if !next.Equal(t0.Add(time.Minute)) {
		t.Errorf("next = %v", next)
	}
	_, err = s.AcceptRefresh(ctx, scope, conn.ID, t0.Add(time.Minute), time.Minute)
	must(t, err)
	_, err = s.AcceptRefresh(ctx, banklink.Scope{AccountID: "x", Environment: banklink.Sandbox}, conn.ID, t0, time.Minute)
	wantCode(t, err, banklink.ENOTFOUND)
}
