package sandbox

import (
	"encoding/json"
	"strings"

	"banklink"
)

// The sandbox bank's own records: what its (imaginary) API sends for an
// account, a transaction, a holding and an investment transaction, in its
// own snake_case shape. Aggregate sets them as the records' Raw payloads,
// so that sandbox data serves serviceProviderDetails the way a real
// provider's does (docs/sandbox.md). Each is a pure function of the
// record, so an unchanged record keeps its bytes.

type rawAccount struct {
	AccountID string      `json:"account_id"`
	LoginID   string      `json:"login_id"`
	Name      string      `json:"name"`
	Type      string      `json:"type"`
	Subtype   string      `json:"subtype"`
	Mask      string      `json:"mask"`
	Balance   *rawBalance `json:"balance"`
	Numbers   *rawNumbers `json:"numbers"`
	Holders   []rawHolder `json:"holders"`
	Status    string      `json:"status"`
}

type rawBalance struct {
	Current   float64  `json:"current"`
	Available *float64 `json:"available"`
	Currency  string   `json:"iso_currency_code"`
	AsOf      string   `json:"as_of"`
}

type rawNumbers struct {
	Account     string `json:"account,omitempty"`
	Routing     string `json:"routing,omitempty"`
	Institution string `json:"institution,omitempty"`
	Transit     string `json:"transit,omitempty"`
}

type rawHolder struct {
	Name   string   `json:"name"`
	Emails []string `json:"emails"`
	Phones []string `json:"phones"`
}

type rawTransaction struct {
	TransactionID string  `json:"transaction_id"`
	AccountID     string  `json:"account_id"`
	Amount        float64 `json:"amount"`
	Currency      string  `json:"iso_currency_code"`
	Description   string  `json:"description"`
	Date          string  `json:"date"`
	PostedDate    *string `json:"posted_date"`
	State         string  `json:"state"`
	Category      string  `json:"category"`
}

type rawHolding struct {
	HoldingID string   `json:"holding_id"`
	AccountID string   `json:"account_id"`
	Symbol    string   `json:"symbol"`
	Name      string   `json:"security_name"`
	CUSIP     string   `json:"cusip"`
	Quantity  float64  `json:"quantity"`
	Price     float64  `json:"price"`
	Value     float64  `json:"market_value"`
	CostBasis *float64 `json:"cost_basis"`
	Currency  string   `json:"iso_currency_code"`
	Kind      string   `json:"security_type"`
}

type rawInvestmentTransaction struct {
	TransactionID string  `json:"transaction_id"`
	AccountID     string  `json:"account_id"`
	Symbol        string  `json:"symbol"`
	Kind          string  `json:"kind"`
	Quantity      float64 `json:"quantity"`
	Price         float64 `json:"price"`
	Amount        float64 `json:"amount"`
	Currency      string  `json:"iso_currency_code"`
	Description   string  `json:"description"`
	Date          string  `json:"date"`
	PostedDate    *string `json:"posted_date"`
	State         string  `json:"state"`
}

func mustRaw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings and numbers
	}
	return b
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// setRaw fills in the Raw payloads of an aggregated account and its
// records.
func setRaw(loginID string, a *banklink.AggregatedAccount) {
	ra := rawAccount{AccountID: a.ProviderAccountID, LoginID: loginID, Name: a.Name, Type: strings.ToLower(a.Type),
		Subtype: strings.ToLower(a.Subtype), Mask: a.Mask, Status: "open"}
	if b := a.Balances; b != nil {
		ra.Balance = &rawBalance{Current: b.CurrentAmount, Available: b.AvailableAmount, Currency: b.Currency, AsOf: b.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z")}
	}
	if id := a.Identifiers; id != nil {
		ra.Numbers = &rawNumbers{}
		if id.ACH != nil {
			ra.Numbers.Account, ra.Numbers.Routing = id.ACH.AccountNumber, id.ACH.RoutingNumber
		}
		if id.EFT != nil {
			ra.Numbers.Account, ra.Numbers.Institution, ra.Numbers.Transit = id.EFT.AccountNumber, id.EFT.InstitutionNumber, id.EFT.BranchNumber
		}
	}
	for _, o := range a.Owners {
		ra.Holders = append(ra.Holders, rawHolder{Name: strings.Join(o.Names, " & "), Emails: o.Emails, Phones: o.PhoneNumbers})
	}
	a.Raw = mustRaw(ra)
	for i := range a.Transactions {
		t := &a.Transactions[i]
		t.Raw = mustRaw(rawTransaction{TransactionID: t.ProviderTransactionID, AccountID: a.ProviderAccountID, Amount: t.Amount, Currency: t.Currency,
			Description: t.Description, Date: t.TransactionDate, PostedDate: optional(t.PostedDate), State: strings.ToLower(t.Status),
			Category: strings.ToLower(t.Category)})
	}
	for i := range a.Holdings {
		h := &a.Holdings[i]
		h.Raw = mustRaw(rawHolding{HoldingID: h.ProviderHoldingID, AccountID: a.ProviderAccountID, Symbol: h.Symbol, Name: h.Description, CUSIP: h.CUSIP,
			Quantity: h.Quantity, Price: h.ClosePrice, Value: h.CurrentValue, CostBasis: h.CostBasis, Currency: h.Currency, Kind: strings.ToLower(h.Type)})
	}
	for i := range a.InvestmentTransactions {
		t := &a.InvestmentTransactions[i]
		t.Raw = mustRaw(rawInvestmentTransaction{TransactionID: t.ProviderTransactionID, AccountID: a.ProviderAccountID, Symbol: t.Symbol,
			Kind: strings.ToLower(t.Type), Quantity: t.Quantity, Price: t.Price, Amount: t.Amount, Currency: t.Currency, Description: t.Description,
			Date: t.TransactionDate, PostedDate: optional(t.PostedDate), State: strings.ToLower(t.Status)})
	}
}
