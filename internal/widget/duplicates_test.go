package widget_test

import (
	"encoding/json"
	"slices"
	"testing"

	"banklink/internal/httpapi"
)

// TestDuplicateConnectionsShareAccounts: linking the same login twice
// makes duplicates that share one set of accounts, as in Meld
// (docs/api.md): the counts do not change, every account lists both
// connections, refreshing the inactive duplicate makes it the active
// one, deleting one keeps the accounts, deleting both removes them.
func TestDuplicateConnectionsShareAccounts(t *testing.T) {
	st := newStack(t)
	body := `{"externalCustomerId":"dup","products":["BALANCES","TRANSACTIONS"],"optionalProducts":["INVESTMENT_HOLDINGS","INVESTMENT_TRANSACTIONS"]}`
	type counts struct{ accounts, transactions, holdings, investmentTransactions int }
	customer := ""
	count := func() counts {
		t.Helper()
		var c counts
		for _, r := range []struct {
			path, items string
			dst         *int
		}{
			{"/bank-linking/accounts?limit=100&customerId=" + customer, "financialAccounts", &c.accounts},
			{"/bank-linking/transactions?limit=1000&customerId=" + customer, "financialAccountTransactions", &c.transactions},
			{"/bank-linking/investments/holdings?limit=100&customerId=" + customer, "investmentHoldings", &c.holdings},
			{"/bank-linking/investments/transactions?limit=1000&customerId=" + customer, "investmentTransactions", &c.investmentTransactions},
		} {
			// Walk every page: remaining stops counting at
			// banklink.RemainingCap.
			after := ""
			for {
				var page map[string]json.RawMessage
				st.Get(r.path+after, &page)
				var items []struct{ Key string }
				var remaining int
				if err := json.Unmarshal(page[r.items], &items); err != nil {
					t.Fatalf("%s: %v", r.path, err)
				}
				if err := json.Unmarshal(page["remaining"], &remaining); err != nil {
					t.Fatalf("%s: %v", r.path, err)
				}
				*r.dst += len(items)
				if remaining == 0 || len(items) == 0 {
					break
				}
				after = "&after=" + items[len(items)-1].Key
			}
		}
		return c
	}
	accounts := func(connID string) []httpapi.FinancialAccountJSON {
		t.Helper()
		var list struct {
			FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
		}
		st.Get("/bank-linking/accounts?limit=100&connectionId="+connID, &list)
		return list.FinancialAccounts
	}
	status := func(id string) string {
		t.Helper()
		var c httpapi.ConnectionJSON
		st.Get("/bank-linking/connections/"+id, &c)
		reason := ""
		if c.StatusReason != nil {
			reason = "/" + *c.StatusReason
		}
		return c.Status + reason
	}
	checkShared := func(when string, want []string) {
		t.Helper()
		for _, id := range want {
			for _, a := range accounts(id) {
				got := slices.Clone(a.ConnectionIDs)
				slices.Sort(got)
				w := slices.Clone(want)
				slices.Sort(w)
				if !slices.Equal(got, w) {
					t.Errorf("%s: account %s (read through %s) has connectionIds %v, want %v", when, a.Name, id, a.ConnectionIDs, want)
				}
			}
		}
	}

	first := st.Link(body, "user_good")
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+first, &conn)
	customer = conn.CustomerID
	once := count()
	if once.accounts == 0 || once.transactions == 0 || once.holdings == 0 {
		t.Fatalf("after one link: %+v", once)
	}
	second := st.Link(body, "user_good")
	if twice := count(); twice != once {
		t.Errorf("after linking the same login twice: %+v, after once %+v", twice, once)
	}
	if len(accounts(first)) != once.accounts || len(accounts(second)) != once.accounts {
		t.Errorf("accounts by connection: %d and %d, want %d each", len(accounts(first)), len(accounts(second)), once.accounts)
	}
	checkShared("after the second link", []string{first, second})
	for _, want := range []struct{ id, status string }{{first, "PARTIALLY_ACTIVE/INACTIVE_DUPLICATE"}, {second, "ACTIVE"}} {
		if got := status(want.id); got != want.status {
			t.Errorf("after the second link, %s is %s, want %s", want.id, got, want.status)
		}
	}

	// Refreshing the inactive duplicate makes it the active one.
	var accepted map[string]any
	if code, _ := st.Send("POST", "/bank-linking/connections/"+first+"/refresh", "", &accepted); code != 200 {
		t.Fatalf("refresh: %d %v", code, accepted)
	}
	st.Runner.Wait()
	for _, want := range []struct{ id, status string }{{first, "ACTIVE"}, {second, "PARTIALLY_ACTIVE/INACTIVE_DUPLICATE"}} {
		if got := status(want.id); got != want.status {
			t.Errorf("after refreshing the inactive duplicate, %s is %s, want %s", want.id, got, want.status)
		}
	}
	if again := count(); again != once {
		t.Errorf("after the refresh: %+v, want %+v", again, once)
	}

	// Deleting one keeps the accounts; deleting both removes them.
	var deleted httpapi.ConnectionJSON
	if code, _ := st.Send("DELETE", "/bank-linking/connections/"+first, "", &deleted); code != 200 {
		t.Fatalf("delete %s: %d", first, code)
	}
	if left := count(); left != once {
		t.Errorf("after deleting one duplicate: %+v, want %+v", left, once)
	}
	checkShared("after deleting one", []string{second})
	if n := len(accounts(first)); n != 0 {
		t.Errorf("the deleted connection still lists %d accounts", n)
	}
	if code, _ := st.Send("DELETE", "/bank-linking/connections/"+second, "", &deleted); code != 200 {
		t.Fatalf("delete %s: %d", second, code)
	}
	if gone := count(); gone != (counts{}) {
		t.Errorf("after deleting both: %+v, want none", gone)
	}
}
