package storetest

import (
	"fmt"
	"testing"

	"banklink"
)

func testCustomers(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, _ := startOne(t, s) // customer "cust" with a connection
	_, err := s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{aggAccount("a1", tx("t1", "2026-11-01", banklink.TxPosted, 1))}, false, t0)
	must(t, err)
	mk := func(ext, email string) *banklink.Customer {
		c := NewCustomer(scope, ext)
		c.Details = banklink.CustomerDetails{FirstName: "F", LastName: ext, Email: email, Phone: "+1 555 0100", DateOfBirth: "1990-01-02"}
		return c
	}
	b, created, err := s.UpsertCustomer(ctx, mk("b", "b_x@example.com"))
	must(t, err)
	if !created || b.Details.Email != "b_x@example.com" || b.Status != banklink.CustomerStatusActive {
		t.Errorf("created = %v, %+v", created, b)
	}
	again, created, err := s.UpsertCustomer(ctx, mk("b", "new@example.com"))
	must(t, err)
	if created || again.ID != b.ID || again.Details.Email != "new@example.com" {
		t.Errorf("second upsert: created %v %+v", created, again)
	}
	_, _, err = s.UpsertCustomer(ctx, mk("a", "bXx@example.com"))
	must(t, err)
	_, _, err = s.UpsertCustomer(ctx, mk("c", "c@example.com"))
	must(t, err)

	list := func(f banklink.CustomerFilter) []string {
		t.Helper()
		if f.Limit == 0 {
			f.Limit = 100
		}
		got, _, err := s.FindCustomers(ctx, scope, f)
		must(t, err)
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ExternalID)
		}
		return ids
	}
	for _, tc := range []struct {
		name string
		f    banklink.CustomerFilter
		want string
	}{
		{"ordered by external id", banklink.CustomerFilter{}, "[a b c cust]"},
		{"by external id", banklink.CustomerFilter{ExternalID: "c"}, "[c]"},
		{"by email, underscore is literal", banklink.CustomerFilter{Email: "b_x@example.com"}, "[]"},
		{"by new email", banklink.CustomerFilter{Email: "new@example.com"}, "[b]"},
		{"by ids", banklink.CustomerFilter{IDs: []string{b.ID, conn.CustomerID}}, "[b cust]"},
	} {
		if got := fmt.Sprint(list(tc.f)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	page, remaining, err := s.FindCustomers(ctx, scope, banklink.CustomerFilter{Limit: 2})
	must(t, err)
	next, remaining2, err := s.FindCustomers(ctx, scope, banklink.CustomerFilter{Limit: 2, After: page[1].Key})
	must(t, err)
	if remaining != 2 || remaining2 != 0 || next[0].ExternalID != "c" || next[1].ExternalID != "cust" {
		t.Errorf("pages: %d %d %v", remaining, remaining2, next)
	}
	_, _, err = s.FindCustomers(ctx, scope, banklink.CustomerFilter{Limit: 2, After: "bogus"})
	wantCode(t, err, banklink.EBADREQUEST)

	// Delete: connections deleted, data gone, external id free again.
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	wantCode(t, s.DeleteCustomer(ctx, other, conn.CustomerID, t0), banklink.ENOTFOUND)
	must(t, s.DeleteCustomer(ctx, scope, conn.CustomerID, t0))
	wantCode(t, s.DeleteCustomer(ctx, scope, conn.CustomerID, t0), banklink.ENOTFOUND)
	c, err := s.FindConnectionByID(ctx, scope, conn.ID)
	must(t, err)
	if c.Status != banklink.StatusDeleted {
		t.Errorf("connection status %s", c.Status)
	}
	accts, _, err := s.FindFinancialAccounts(ctx, scope, banklink.FinancialAccountFilter{Limit: 10})
	must(t, err)
	if len(accts) != 0 {
		t.Errorf("%d accounts left", len(accts))
	}
	_, err = s.FindCustomerByID(ctx, scope, conn.CustomerID)
	wantCode(t, err, banklink.ENOTFOUND)
	if got := fmt.Sprint(list(banklink.CustomerFilter{})); got != "[a b c]" {
		t.Errorf("after delete: %s", got)
	}
	fresh, created, err := s.UpsertCustomer(ctx, NewCustomer(scope, "cust"))
	must(t, err)
	if !created || fresh.ID == conn.CustomerID {
		t.Errorf("external id not reusable after delete")
	}
}
