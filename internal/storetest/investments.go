package storetest

import (
	"testing"

	"banklink"
)

func testInvestments(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, _ := startOne(t, s)
	basis := 90.0
	acct := aggAccount("inv")
	acct.Type, acct.Subtype = "INVESTMENT", "BROKERAGE"
	acct.Holdings = []banklink.Holding{
		{ProviderHoldingID: "h-aapl", Symbol: "AAPL", Description: "Apple", Quantity: 1.5, ClosePrice: 200, CurrentValue: 300, CostBasis: &basis, Currency: "USD", CUSIP: "037833100", ISIN: "US0378331005", Type: "STOCK"},
		{ProviderHoldingID: "h-vti", Symbol: "VTI", Quantity: 2, ClosePrice: 300, CurrentValue: 600, Currency: "USD", Type: "ETF"},
	}
	acct.InvestmentTransactions = []banklink.InvestmentTransaction{
		{ProviderTransactionID: "b1", Amount: 100, Quantity: 0.5, Price: 200, Symbol: "AAPL", Currency: "USD", TransactionDate: "2026-10-15", PostedDate: "2026-10-17", Status: banklink.TxPosted, Type: "BUY"},
		{ProviderTransactionID: "d1", Amount: -3, Symbol: "VTI", Currency: "USD", TransactionDate: "2026-11-20", Status: banklink.TxPending, Type: "CASH"},
	}
	stats, err := s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{acct}, false, t0)
	must(t, err)
	if stats.InvestmentTransactionsAdded != 2 {
		t.Errorf("stats = %+v", stats)
	}
	hs, _, err := s.FindHoldings(ctx, scope, banklink.HoldingFilter{ConnectionID: conn.ID, Limit: 10})
	must(t, err)
	if len(hs) != 2 || hs[0].Symbol != "AAPL" || *hs[0].CostBasis != 90 || hs[1].CostBasis != nil || hs[0].ExternalCustomerID != "cust" {
		t.Fatalf("holdings = %+v", hs)
	}
	// The next snapshot drops VTI and changes AAPL: same id for AAPL.
	acct.Holdings = acct.Holdings[:1]
	acct.Holdings[0].Quantity = 3
	acct.InvestmentTransactions[1].Status, acct.InvestmentTransactions[1].PostedDate = banklink.TxPosted, "2026-11-22"
	stats, err = s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{acct}, false, t0)
	must(t, err)
	if stats.InvestmentTransactionsUpdated != 1 || stats.InvestmentTransactionsAdded != 0 {
		t.Errorf("second stats = %+v", stats)
	}
	hs2, _, err := s.FindHoldings(ctx, scope, banklink.HoldingFilter{Limit: 10})
	must(t, err)
	if len(hs2) != 1 || hs2[0].ID != hs[0].ID || hs2[0].Quantity != 3 {
		t.Errorf("holdings after snapshot = %+v", hs2)
	}
	h, err := s.FindHoldingByID(ctx, scope, hs[0].ID)
	must(t, err)
	if h.ISIN != "US0378331005" {
		t.Errorf("holding = %+v", h)
	}
	txs, _, err := s.FindInvestmentTransactions(ctx, scope, banklink.InvestmentTransactionFilter{Limit: 10, Statuses: []string{banklink.TxPosted}})
	must(t, err)
	if len(txs) != 2 || txs[0].ProviderTransactionID != "d1" || txs[0].PostedDate != "2026-11-22" {
		t.Errorf("investment transactions = %+v", txs)
	}
	one, err := s.FindInvestmentTransactionByID(ctx, scope, txs[1].ID)
	must(t, err)
	if one.Type != "BUY" || one.Amount != 100 {
		t.Errorf("by id = %+v", one)
	}
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	_, err = s.FindHoldingByID(ctx, other, hs[0].ID)
	wantCode(t, err, banklink.ENOTFOUND)
	_, err = s.FindInvestmentTransactionByID(ctx, other, txs[0].ID)
	wantCode(t, err, banklink.ENOTFOUND)
	_, _, err = s.FindInvestmentTransactions(ctx, scope, banklink.InvestmentTransactionFilter{Limit: 1, After: "x"})
	wantCode(t, err, banklink.EBADREQUEST)
}
