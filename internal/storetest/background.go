package storetest

import (
	"fmt"
	"testing"
	"time"

	"banklink"
)

// testBackgroundSave: a large save made in the background
// (banklink.Background, as the aggregation runner makes them) may be
// written in several transactions (sqlstore on SQLite writes its new
// transactions in chunks first), but what it stores and reports must be
// what the same save reports when made by a request: every transaction
// once, the counts, the history flag and the search key, a refresh adding
// nothing, and nothing added to a deleted connection.
func testBackgroundSave(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	bg := banklink.Background(ctx)
	// Two accounts, 700 transactions over two years: several chunks.
	history := func(acct string, n int) []banklink.Transaction {
		var txs []banklink.Transaction
		for i := range n {
			day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%700)
			txs = append(txs, tx(fmt.Sprintf("%s-t%d", acct, i), day.Format(time.DateOnly), banklink.TxPosted, float64(i)))
		}
		return txs
	}
	accounts := []banklink.AggregatedAccount{aggAccount("a1", history("a1", 450)...), aggAccount("a2", history("a2", 250)...)}

	want := map[bool]banklink.AggregationStats{}
	for _, background := range []bool{false, true} {
		scope, conn, _ := startOne(t, s)
		c := ctx
		if background {
			c = bg
		}
		// The window first (a few), then the history (the rest), as an
		// aggregation of a new link does.
		window := []banklink.AggregatedAccount{aggAccount("a1", accounts[0].Transactions[440:]...), aggAccount("a2", accounts[1].Transactions[245:]...)}
		_, err := s.SaveAggregationFrom(c, scope, conn.ID, banklink.Aggregation{Accounts: window}, false, t0)
		must(t, err)
		at := t0.Add(time.Minute)
		stats, err := s.SaveAggregationFrom(c, scope, conn.ID, banklink.Aggregation{Accounts: accounts}, true, at)
		must(t, err)
		want[background] = stats
		if stats != (banklink.AggregationStats{AccountsUpdated: 2, TransactionsAdded: 685}) {
			t.Errorf("background %v: history stats = %+v", background, stats)
		}
		all, _, err := s.FindTransactions(ctx, scope, banklink.TransactionFilter{ConnectionID: conn.ID, Limit: 1000})
		must(t, err)
		if len(all) != 700 {
			t.Errorf("background %v: %d transactions stored, want 700", background, len(all))
		}
		accts, _, err := s.FindFinancialAccounts(ctx, scope, banklink.FinancialAccountFilter{ConnectionID: conn.ID, Limit: 10})
		must(t, err)
		for _, a := range accts {
			if !a.HistoricalAggregationSucceeded {
				t.Errorf("background %v: account %s not marked historical", background, a.ProviderAccountID)
			}
		}
		// A refresh of the same data adds and updates nothing.
		stats, err = s.SaveAggregationFrom(c, scope, conn.ID, banklink.Aggregation{Accounts: accounts}, true, at.Add(time.Minute))
		must(t, err)
		if stats != (banklink.AggregationStats{AccountsUpdated: 2}) {
			t.Errorf("background %v: refresh stats = %+v", background, stats)
		}
		// Nothing is added to a deleted connection.
		_, err = s.DeleteConnection(ctx, scope, conn.ID, t0)
		must(t, err)
		more := []banklink.AggregatedAccount{aggAccount("a1", history("late", 300)...)}
		_, err = s.SaveAggregationFrom(c, scope, conn.ID, banklink.Aggregation{Accounts: more}, true, at.Add(2*time.Minute))
		wantCode(t, err, banklink.ECONFLICT)
	}
	if want[false] != want[true] {
		t.Errorf("a background save reports %+v, the same save by a request %+v", want[true], want[false])
	}
}

// testBackgroundNewAccount: a large background save of a new account
// reports it new, with every transaction added once.
func testBackgroundNewAccount(t *testing.T, s banklink.Store) {
	bg := banklink.Background(t.Context())
	scope, conn, _ := startOne(t, s)
	var txs []banklink.Transaction
	for i := range 400 {
		txs = append(txs, tx(fmt.Sprint("n", i), time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly), banklink.TxPosted, 1))
	}
	stats, err := s.SaveAggregationFrom(bg, scope, conn.ID, banklink.Aggregation{Accounts: []banklink.AggregatedAccount{aggAccount("new", txs...)}}, true, t0)
	must(t, err)
	if stats != (banklink.AggregationStats{AccountsAdded: 1, TransactionsAdded: 400}) {
		t.Errorf("stats = %+v", stats)
	}
	got, _, err := s.FindTransactions(t.Context(), scope, banklink.TransactionFilter{ConnectionID: conn.ID, Limit: 1000})
	must(t, err)
	if len(got) != 400 {
		t.Errorf("%d transactions, want 400", len(got))
	}
}
