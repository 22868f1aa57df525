package banklink

import (
	"context"
	"encoding/json"
	"testing"

	"banklink/webhook"
)

func TestSavedAggregationEvents(t *testing.T) {
	ctx := WithRequestID(context.Background(), "req-1")
	conn := func(status ConnectionStatus, reason string, products ...Product) *Connection {
		return &Connection{ID: "conn-1", CustomerID: "cust-1", ExternalCustomerID: "ext-1", InstitutionID: "inst-1", InstitutionName: "Bank",
			ProviderType: "sandbox", ProviderLoginID: "login-1", Status: status, StatusReason: reason, Products: products}
	}
	base := ConnectionPayload(conn(StatusActive, ""))
	base.RequestID = "req-1"
	payload := func(accounts ...webhook.FinancialAccount) webhook.Payload {
		p := base
		p.FinancialAccounts = accounts
		return p
	}
	change := func(oldStatus ConnectionStatus, oldReason string, newStatus ConnectionStatus, newReason string) webhook.Payload {
		p := base
		p.OldStatus, p.OldStatusReason, p.NewStatus, p.NewStatusReason = string(oldStatus), oldReason, string(newStatus), newReason
		return p
	}
	type event struct {
		Type    webhook.EventType
		Payload webhook.Payload
	}
	yes, no, zero, two, one := true, false, 0, 2, 1
	fresh := SavedAccount{ID: "fa-1", Name: "Checking", Mask: "1234", New: true, Products: []Product{Balances, Owners}, TransactionsAdded: 2}
	known := SavedAccount{ID: "fa-2", Name: "Savings", Mask: "9876", TransactionsUpdated: 1, TransactionIDsRemoved: []string{"tx-9"}}
	gone := SavedAccount{ID: "fa-3", Name: "Old", Mask: "0000"}
	updated := []webhook.FinancialAccount{
		{ID: "fa-1", Name: "Checking", TruncatedAccountNumber: "1234", NewAccount: &yes, Products: []string{"BALANCES", "OWNERS"}},
		{ID: "fa-2", Name: "Savings", TruncatedAccountNumber: "9876", NewAccount: &no},
	}
	counts := []webhook.FinancialAccount{
		{ID: "fa-1", Name: "Checking", TruncatedAccountNumber: "1234", NumTransactionsAdded: &two, NumTransactionsUpdated: &zero,
			NumInvestmentTransactionsAdded: &zero, NumInvestmentTransactionsUpdated: &zero},
		{ID: "fa-2", Name: "Savings", TruncatedAccountNumber: "9876", NumTransactionsAdded: &zero, NumTransactionsUpdated: &one,
			TransactionIDsRemoved: []string{"tx-9"}, NumInvestmentTransactionsAdded: &zero, NumInvestmentTransactionsUpdated: &zero},
	}
	removed := webhook.FinancialAccount{ID: "fa-3", Name: "Old", TruncatedAccountNumber: "0000"}
	for _, tc := range []struct {
		name string
		save SavedAggregation
		want []event
	}{
		{"window pass, transactions held",
			SavedAggregation{Connection: conn(StatusActive, "", Balances, Transactions), OldStatus: StatusActive, Accounts: []SavedAccount{fresh, known}},
			[]event{{webhook.AccountsUpdated, payload(updated...)}, {webhook.TransactionsAggregated, payload(counts...)}}},
		{"window pass, no transactions product",
			SavedAggregation{Connection: conn(StatusActive, "", Balances), OldStatus: StatusActive, Accounts: []SavedAccount{fresh, known}},
			[]event{{webhook.AccountsUpdated, payload(updated...)}}},
		{"investment transactions, as an optional product",
			SavedAggregation{Connection: func() *Connection {
				c := conn(StatusActive, "", Balances)
				c.OptionalProducts = []Product{InvestmentTransactions}
				return c
			}(), OldStatus: StatusActive, Accounts: []SavedAccount{fresh, known}},
			[]event{{webhook.AccountsUpdated, payload(updated...)}, {webhook.TransactionsAggregated, payload(counts...)}}},
		{"window pass with nothing saved",
			SavedAggregation{Connection: conn(StatusActive, "", Transactions), OldStatus: StatusActive},
			[]event{{webhook.AccountsUpdated, payload()}, {webhook.TransactionsAggregated, payload()}}},
		{"accounts removed",
			SavedAggregation{Connection: conn(StatusActive, "", Transactions), OldStatus: StatusActive, Accounts: []SavedAccount{fresh, known}, Removed: []SavedAccount{gone}},
			[]event{{webhook.AccountsUpdated, payload(updated...)}, {webhook.AccountsRemoved, payload(removed)}, {webhook.TransactionsAggregated, payload(counts...)}}},
		{"historical pass, transactions held",
			SavedAggregation{Connection: conn(StatusActive, "", Transactions), OldStatus: StatusActive, Historical: true, Accounts: []SavedAccount{fresh, known}},
			[]event{{webhook.HistoricalTransactionsAggregated, payload(counts...)}}},
		{"historical pass, no transactions product",
			SavedAggregation{Connection: conn(StatusActive, "", Balances), OldStatus: StatusActive, Historical: true, Accounts: []SavedAccount{fresh, known}},
			nil},
		{"healed, status change first",
			SavedAggregation{Connection: conn(StatusActive, "", Balances), OldStatus: StatusDegraded, OldReason: "INSTITUTION_CURRENTLY_UNAVAILABLE"},
			[]event{{webhook.ConnectionStatusChange, change(StatusDegraded, "INSTITUTION_CURRENTLY_UNAVAILABLE", StatusActive, "")},
				{webhook.AccountsUpdated, payload()}}},
		{"healed by the historical pass",
			SavedAggregation{Connection: conn(StatusActive, "", Balances), OldStatus: StatusUnrecoverable, OldReason: "CONTINUED_AGGREGATION_FAILURES", Historical: true},
			[]event{{webhook.ConnectionStatusChange, change(StatusUnrecoverable, "CONTINUED_AGGREGATION_FAILURES", StatusActive, "")}}},
		{"new accounts available, announced last",
			SavedAggregation{Connection: conn(StatusActive, "NEW_ACCOUNTS_AVAILABLE", Balances), OldStatus: StatusActive, NewAccountsAvailable: true},
			[]event{{webhook.ConnectionStatusChange, change(StatusActive, "", StatusActive, "NEW_ACCOUNTS_AVAILABLE")},
				{webhook.AccountsUpdated, payload()}, {webhook.NewAccountsAvailable, payload()}}},
		{"new accounts on a connection that keeps its reason",
			SavedAggregation{Connection: conn(StatusReconnectRequired, "LOGIN_REQUIRED", Balances), OldStatus: StatusReconnectRequired, OldReason: "LOGIN_REQUIRED",
				Historical: true, NewAccountsAvailable: true},
			[]event{{webhook.NewAccountsAvailable, payload()}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []event
			for _, e := range tc.save.Events(ctx) {
				got = append(got, event{e.Type, e.Payload})
			}
			g, _ := json.MarshalIndent(got, "", "  ")
			w, _ := json.MarshalIndent(tc.want, "", "  ")
			if string(g) != string(w) {
				t.Errorf("events:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

func TestSavedAggregationStats(t *testing.T) {
	s := SavedAggregation{Accounts: []SavedAccount{
		{New: true, TransactionsAdded: 3, InvestmentTransactionsAdded: 1},
		{TransactionsAdded: 1, TransactionsUpdated: 2, InvestmentTransactionsUpdated: 4},
		{TransactionsUpdated: 1},
	}, Removed: []SavedAccount{{ID: "gone"}}}
	want := AggregationStats{AccountsAdded: 1, AccountsUpdated: 2, TransactionsAdded: 4, TransactionsUpdated: 3,
		InvestmentTransactionsAdded: 1, InvestmentTransactionsUpdated: 4}
	if got := s.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

func TestDeliveredProducts(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    AggregatedAccount
		want string
	}{
		{"nothing", AggregatedAccount{}, "[]"},
		{"transactions are never listed", AggregatedAccount{Transactions: []Transaction{{}}}, "[]"},
		{"everything", AggregatedAccount{Balances: &AccountBalances{}, Identifiers: &AccountIdentifiers{}, Owners: []Owner{{}}, Holdings: []Holding{}},
			`["BALANCES","IDENTIFIERS","OWNERS","INVESTMENT_HOLDINGS"]`},
		{"no owners", AggregatedAccount{Balances: &AccountBalances{}, Owners: []Owner{}}, `["BALANCES"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.a.DeliveredProducts()
			b, _ := json.Marshal(got)
			if got == nil {
				b = []byte("[]")
			}
			if string(b) != tc.want {
				t.Errorf("DeliveredProducts() = %s, want %s", b, tc.want)
			}
		})
	}
}
