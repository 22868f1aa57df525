package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"banklink"
)

// testTenantTransactionsByAccount: without a customer, connection or
// financial account the transactions list runs account by account, the
// most recently linked first, newest first within each (Meld's order).
// Pages of any size, forward and back, give that one sequence; date
// filters keep it; a cursor whose connection is deleted mid-walk goes on
// with the next account.
func testTenantTransactionsByAccount(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, first, _ := startOne(t, s)
	second := NewConnection(scope)
	second.ExpiresAt = time.Now().Add(time.Hour)
	must(t, s.StartConnection(ctx, NewCustomer(scope, "cust2"), second))
	// Dates interleave across the accounts, and repeat within one, so a
	// tenant-wide timeline and the per-account order differ.
	dated := func(prefix string, n, offset int) []banklink.Transaction {
		var out []banklink.Transaction
		for i := range n {
			out = append(out, tx(fmt.Sprint(prefix, i), time.Date(2026, 1, 1+(i*3+offset)%20, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), banklink.TxPosted, float64(i)))
		}
		return out
	}
	_, err := s.SaveAggregation(ctx, scope, first.ID, []banklink.AggregatedAccount{aggAccount("a1", dated("a1-", 7, 0)...), aggAccount("a2", dated("a2-", 5, 1)...)}, false, t0)
	must(t, err)
	_, err = s.SaveAggregation(ctx, scope, second.ID, []banklink.AggregatedAccount{aggAccount("b1", dated("b1-", 8, 2)...)}, false, t0)
	must(t, err)
	accounts, _, err := s.FindFinancialAccounts(ctx, scope, banklink.FinancialAccountFilter{Limit: 10})
	must(t, err)
	if len(accounts) != 3 {
		t.Fatalf("%d accounts", len(accounts))
	}
	all, remaining, err := s.FindTransactions(ctx, scope, banklink.TransactionFilter{Limit: 1000})
	must(t, err)
	if len(all) != 20 || remaining != 0 {
		t.Fatalf("%d transactions, remaining %d", len(all), remaining)
	}
	// The accounts come in reverse creation order, each one's rows
	// together and newest first.
	var order []string
	for i, x := range all {
		if i == 0 || x.FinancialAccountID != all[i-1].FinancialAccountID {
			if slices.Contains(order, x.FinancialAccountID) {
				t.Fatalf("account %s's transactions are split: %v", x.FinancialAccountID, providerIDs(all))
			}
			order = append(order, x.FinancialAccountID)
		} else if x.TransactionDate > all[i-1].TransactionDate {
			t.Errorf("%s (%s) after %s (%s): not newest first", x.ProviderTransactionID, x.TransactionDate, all[i-1].ProviderTransactionID, all[i-1].TransactionDate)
		}
	}
	if want := []string{accounts[2].ID, accounts[1].ID, accounts[0].ID}; !slices.Equal(order, want) {
		t.Errorf("accounts in order %v, want the newest linked first %v", order, want)
	}

	for _, size := range []int{1, 3, 7} {
		var forward []*banklink.Transaction
		f := banklink.TransactionFilter{Limit: size}
		for {
			got, remaining, err := s.FindTransactions(ctx, scope, f)
			must(t, err)
			forward = append(forward, got...)
			if want := min(len(all)-len(forward), banklink.RemainingCap); remaining != want {
				t.Errorf("pages of %d: remaining %d after %d, want %d", size, remaining, len(forward), want)
			}
			if remaining == 0 || len(got) == 0 {
				break
			}
			f.After = got[len(got)-1].Key
		}
		if !slices.Equal(providerIDs(forward), providerIDs(all)) {
			t.Errorf("pages of %d with after: %v, want %v", size, providerIDs(forward), providerIDs(all))
		}
		back := []*banklink.Transaction{all[len(all)-1]}
		f = banklink.TransactionFilter{Limit: size, Before: all[len(all)-1].Key}
		for {
			got, remaining, err := s.FindTransactions(ctx, scope, f)
			must(t, err)
			back = append(slices.Clone(got), back...)
			if remaining == 0 || len(got) == 0 {
				break
			}
			f.Before = got[0].Key
		}
		if !slices.Equal(providerIDs(back), providerIDs(all)) {
			t.Errorf("pages of %d with before: %v, want %v", size, providerIDs(back), providerIDs(all))
		}
	}

	dates := banklink.TransactionFilter{StartDate: "2026-01-05", EndDate: "2026-01-14", Limit: 1000}
	got, _, err := s.FindTransactions(ctx, scope, dates)
	must(t, err)
	var want []*banklink.Transaction
	for _, x := range all {
		if x.TransactionDate >= dates.StartDate && x.TransactionDate <= dates.EndDate {
			want = append(want, x)
		}
	}
	if !slices.Equal(providerIDs(got), providerIDs(want)) {
		t.Errorf("dates %s to %s: %v, want %v", dates.StartDate, dates.EndDate, providerIDs(got), providerIDs(want))
	}

	// The first page ends inside the second connection's account; the
	// connection goes, and the next page starts with the next account.
	page, _, err := s.FindTransactions(ctx, scope, banklink.TransactionFilter{Limit: 3})
	must(t, err)
	if page[2].ConnectionID != second.ID {
		t.Fatalf("the first page ends in connection %s, want %s", page[2].ConnectionID, second.ID)
	}
	_, err = s.DeleteConnection(ctx, scope, second.ID, t0)
	must(t, err)
	next, _, err := s.FindTransactions(ctx, scope, banklink.TransactionFilter{Limit: 1000, After: page[2].Key})
	must(t, err)
	if !slices.Equal(providerIDs(next), providerIDs(all[8:])) {
		t.Errorf("after the deleted connection's cursor: %v, want %v", providerIDs(next), providerIDs(all[8:]))
	}
}

func providerIDs(list []*banklink.Transaction) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = x.ProviderTransactionID
	}
	return out
}
