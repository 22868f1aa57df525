package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"banklink"
)

// HoldingJSON is the wire form of an investment holding.
type HoldingJSON struct {
	ID                     string                      `json:"id"`
	Key                    string                      `json:"key"`
	AccountID              string                      `json:"accountId"`
	CustomerID             string                      `json:"customerId"`
	ExternalCustomerID     NullString                  `json:"externalCustomerId"`
	FinancialAccountID     string                      `json:"financialAccountId"`
	ConnectionIDs          []string                    `json:"connectionIds"`
	Symbol                 string                      `json:"symbol"`
	Description            string                      `json:"description"`
	Quantity               float64                     `json:"quantity"`
	ClosePrice             float64                     `json:"closePrice"`
	CurrentValue           float64                     `json:"currentValue"`
	CostBasis              *float64                    `json:"costBasis"`
	Currency               string                      `json:"currency"`
	CUSIP                  *string                     `json:"cusip"`
	ISIN                   *string                     `json:"isin"`
	Type                   string                      `json:"type"`
	UpdatedAt              string                      `json:"updatedAt"`
	ServiceProviderDetails []ServiceProviderDetailJSON `json:"serviceProviderDetails"`
}

func holdingJSON(h *banklink.Holding) HoldingJSON {
	return HoldingJSON{ID: h.ID, Key: h.Key, AccountID: h.AccountID, CustomerID: h.CustomerID, ExternalCustomerID: NullString(h.ExternalCustomerID),
		FinancialAccountID: h.FinancialAccountID, ConnectionIDs: connectionIDs(h.ConnectionIDs, h.ConnectionID), Symbol: h.Symbol, Description: h.Description,
		Quantity: h.Quantity, ClosePrice: h.ClosePrice, CurrentValue: h.CurrentValue, CostBasis: h.CostBasis, Currency: h.Currency,
		CUSIP: strPtr(h.CUSIP), ISIN: strPtr(h.ISIN), Type: h.Type, UpdatedAt: h.UpdatedAt.UTC().Format(TimestampFormat),
		ServiceProviderDetails: serviceProviderDetails(RawHolding, h.Raw, h.RawProvider, h.RawUpdatedAt)}
}

// InvestmentTransactionJSON is the wire form of an investment transaction.
type InvestmentTransactionJSON struct {
	ID                 string     `json:"id"`
	Key                string     `json:"key"`
	AccountID          string     `json:"accountId"`
	CustomerID         string     `json:"customerId"`
	ExternalCustomerID NullString `json:"externalCustomerId"`
	FinancialAccountID string     `json:"financialAccountId"`
	ConnectionIDs      []string   `json:"connectionIds"`
	Amount             float64    `json:"amount"`
	Quantity           float64    `json:"quantity"`
	// CostBasis is the price per unit, as Meld names it; Price repeats
	// it under banklink's earlier name (an addition, listed in
	// docs/api.md).
	CostBasis              float64                     `json:"costBasis"`
	Price                  float64                     `json:"price"`
	Symbol                 string                      `json:"symbol"`
	Description            string                      `json:"description"`
	Currency               string                      `json:"currency"`
	TransactionDate        string                      `json:"transactionDate"`
	PostedDate             *string                     `json:"postedDate"`
	Status                 string                      `json:"status"`
	Type                   string                      `json:"type"`
	ServiceProviderDetails []ServiceProviderDetailJSON `json:"serviceProviderDetails"`
}

func investmentTransactionJSON(t *banklink.InvestmentTransaction) InvestmentTransactionJSON {
	return InvestmentTransactionJSON{ID: t.ID, Key: t.Key, AccountID: t.AccountID, CustomerID: t.CustomerID, ExternalCustomerID: NullString(t.ExternalCustomerID),
		FinancialAccountID: t.FinancialAccountID, ConnectionIDs: connectionIDs(t.ConnectionIDs, t.ConnectionID), Amount: t.Amount, Quantity: t.Quantity, CostBasis: t.Price, Price: t.Price,
		Symbol: t.Symbol, Description: t.Description, Currency: t.Currency, TransactionDate: t.TransactionDate, PostedDate: strPtr(t.PostedDate),
		Status: t.Status, Type: t.Type, ServiceProviderDetails: serviceProviderDetails(RawInvestmentTransaction, t.Raw, t.RawProvider, t.RawUpdatedAt)}
}

func (s *Server) handleSearchHoldings(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	limit, after, before, err := pageParams(v, 100, 1000)
	if err != nil {
		return err
	}
	f := banklink.HoldingFilter{CustomerID: v.Get("customerId"), FinancialAccountID: v.Get("financialAccountId"), ConnectionID: v.Get("connectionId"),
		After: after, Before: before, Limit: limit}
	if f.CustomerID == "" {
		f.ExternalCustomerID = v.Get("externalCustomerId")
	}
	list, remaining, err := s.Store.FindHoldings(r.Context(), apiKeyFrom(r.Context()).Scope(), f)
	if err != nil {
		return err
	}
	writeList(w, "investmentHoldings", list, remaining, holdingJSON)
	return nil
}

func (s *Server) handleSearchInvestmentTransactions(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	limit, after, before, err := pageParams(v, 100, 1000)
	if err != nil {
		return err
	}
	f := banklink.InvestmentTransactionFilter{CustomerID: v.Get("customerId"), FinancialAccountID: v.Get("financialAccountId"),
		ConnectionID: v.Get("connectionId"), After: after, Before: before, Limit: limit}
	if f.CustomerID == "" {
		f.ExternalCustomerID = v.Get("externalCustomerId")
	}
	for _, st := range csv(v, "statuses") {
		st = strings.ToUpper(st)
		if !slices.Contains([]string{banklink.TxPending, banklink.TxPosted}, st) {
			return banklink.FieldErrorf("statuses", "may contain PENDING and POSTED only")
		}
		f.Statuses = append(f.Statuses, st)
	}
	if f.StartDate, f.EndDate, err = dateRange(v); err != nil {
		return err
	}
	list, remaining, err := s.Store.FindInvestmentTransactions(r.Context(), apiKeyFrom(r.Context()).Scope(), f)
	if err != nil {
		return err
	}
	writeList(w, "investmentTransactions", list, remaining, investmentTransactionJSON)
	return nil
}
