package storetest

import (
	"slices"
	"testing"

	"banklink"
)

// testDuplicatesShareData: the same login linked twice holds one set of
// data. Aggregations of either are saved to it, reads through either
// find it and list both as connectionIds, saving an aggregation of the
// inactive duplicate makes it the active one, and the data goes only with
// the last of them.
func testDuplicatesShareData(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, _, inst := startOne(t, s)
	accounts := []banklink.AggregatedAccount{
		{ProviderAccountID: "chk", Type: "DEPOSITORY", Subtype: "CHECKING", Name: "Checking", Mask: "1111",
			Balances: &banklink.AccountBalances{Currency: "USD", CurrentAmount: 10},
			Transactions: []banklink.Transaction{
				{ProviderTransactionID: "t1", Amount: 5, Currency: "USD", Description: "Coffee", TransactionDate: "2026-01-02", Status: banklink.TxPosted, Category: "FOOD_AND_DRINK", Recurring: banklink.RecurringNo},
				{ProviderTransactionID: "t2", Amount: 7, Currency: "USD", Description: "Lunch", TransactionDate: "2026-01-03", Status: banklink.TxPosted, Category: "FOOD_AND_DRINK", Recurring: banklink.RecurringNo},
			}},
		{ProviderAccountID: "sav", Type: "DEPOSITORY", Subtype: "SAVINGS", Name: "Savings", Mask: "2222",
			Balances: &banklink.AccountBalances{Currency: "USD", CurrentAmount: 20}},
	}
	first := linked(t, s, scope, inst, "dup", "sandbox", "L-shared")
	_, err := s.SaveAggregation(ctx, scope, first.ID, accounts, false, t0)
	must(t, err)
	second := linked(t, s, scope, inst, "dup", "sandbox", "L-shared")
	stats, err := s.SaveAggregation(ctx, scope, second.ID, accounts, false, t0.Add(1))
	must(t, err)
	if stats.AccountsAdded != 0 || stats.TransactionsAdded != 0 {
		t.Errorf("the duplicate's aggregation added %+v, want nothing new", stats)
	}
	check := func(when string, through []string, want int, group []string) {
		t.Helper()
		for _, id := range through {
			list, _, err := s.FindFinancialAccounts(ctx, scope, banklink.FinancialAccountFilter{ConnectionID: id, Limit: 10})
			must(t, err)
			if len(list) != want {
				t.Errorf("%s: %d accounts through %s, want %d", when, len(list), id, want)
			}
			for _, a := range list {
				if !slices.Equal(a.ConnectionIDs, group) {
					t.Errorf("%s: %s lists %v, want %v", when, a.Name, a.ConnectionIDs, group)
				}
			}
			txs, _, err := s.FindTransactions(ctx, scope, banklink.TransactionFilter{ConnectionID: id, Limit: 10})
			must(t, err)
			if len(txs) != want {
				t.Errorf("%s: %d transactions through %s, want %d", when, len(txs), id, want)
			}
			for _, tx := range txs {
				if !slices.Equal(tx.ConnectionIDs, group) {
					t.Errorf("%s: transaction %s lists %v, want %v", when, tx.Description, tx.ConnectionIDs, group)
				}
			}
		}
	}
	check("linked twice", []string{first.ID, second.ID}, 2, []string{first.ID, second.ID})

	// Saving an aggregation of the inactive duplicate activates it.
	_, err = s.SaveAggregation(ctx, scope, first.ID, accounts, false, t0.Add(2))
	must(t, err)
	for _, want := range []struct {
		id             string
		status, reason string
	}{{first.ID, "ACTIVE", ""}, {second.ID, "PARTIALLY_ACTIVE", "INACTIVE_DUPLICATE"}} {
		c, err := s.FindConnectionByID(ctx, scope, want.id)
		must(t, err)
		if string(c.Status) != want.status || c.StatusReason != want.reason {
			t.Errorf("after aggregating the inactive duplicate, %s is %s/%s, want %s/%s", want.id, c.Status, c.StatusReason, want.status, want.reason)
		}
	}

	_, err = s.DeleteConnection(ctx, scope, first.ID, t0.Add(3))
	must(t, err)
	check("one deleted", []string{second.ID}, 2, []string{second.ID})
	check("one deleted", []string{first.ID}, 0, nil)
	_, err = s.DeleteConnection(ctx, scope, second.ID, t0.Add(4))
	must(t, err)
	all, _, err := s.FindFinancialAccounts(ctx, scope, banklink.FinancialAccountFilter{CustomerID: second.CustomerID, Limit: 10})
	must(t, err)
	if len(all) != 0 {
		t.Errorf("after deleting both, %d accounts remain", len(all))
	}
}
