package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"banklink"
)

// FinancialAccountJSON is the wire form of a financial account.
type FinancialAccountJSON struct {
	ID                 string     `json:"id"`
	Key                string     `json:"key"`
	AccountID          string     `json:"accountId"`
	CustomerID         string     `json:"customerId"`
	ExternalCustomerID NullString `json:"externalCustomerId"`
	ConnectionIDs      []string   `json:"connectionIds"`
	// ConnectionID is the connection the account was first linked
	// through: Meld's 2022-09-21 accounts carry it beside connectionIds,
	// and older clients read it.
	ConnectionID                   string                      `json:"connectionId"`
	InstitutionID                  string                      `json:"institutionId"`
	InstitutionName                string                      `json:"institutionName"`
	Status                         string                      `json:"status"`
	Type                           string                      `json:"type"`
	Subtype                        string                      `json:"subtype"`
	Name                           string                      `json:"name"`
	TruncatedAccountNumber         string                      `json:"truncatedAccountNumber"`
	HistoricalAggregationSucceeded bool                        `json:"historicalAggregationSucceeded"`
	Balances                       *BalancesJSON               `json:"balances"`
	Identifiers                    *IdentifierJSON             `json:"identifiers"`
	Owners                         []OwnerJSON                 `json:"owners"`
	ServiceProviderDetails         []ServiceProviderDetailJSON `json:"serviceProviderDetails"`
}

// ServiceProviderDetailJSON is a provider's own JSON for a record, as
// Meld serves it: {serviceProvider, updatedAt, <kind>: the payload
// unchanged}, the payload under the name of what it is (Meld's recorded
// accounts carry "account"). updatedAt is when banklink received it.
type ServiceProviderDetailJSON struct {
	ServiceProvider string
	UpdatedAt       string
	// Kind names the payload's member: one of the Raw* constants.
	Kind string
	Data json.RawMessage
}

// The members a serviceProviderDetails entry carries its payload under,
// by the kind of record.
const (
	RawAccount               = "account"
	RawTransaction           = "transaction"
	RawHolding               = "holding"
	RawInvestmentTransaction = "investmentTransaction"
)

// MarshalJSON writes the entry in Meld's shape.
func (d ServiceProviderDetailJSON) MarshalJSON() ([]byte, error) {
	sp, err := json.Marshal(d.ServiceProvider)
	if err != nil {
		return nil, err
	}
	at, err := json.Marshal(d.UpdatedAt)
	if err != nil {
		return nil, err
	}
	kind, err := json.Marshal(d.Kind)
	if err != nil {
		return nil, err
	}
	data := d.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	out := make([]byte, 0, len(data)+len(sp)+len(at)+64)
	out = append(out, `{"serviceProvider":`...)
	out = append(out, sp...)
	out = append(out, `,"updatedAt":`...)
	out = append(out, at...)
	out = append(out, ',')
	out = append(out, kind...)
	out = append(out, ':')
	out = append(out, data...)
	return append(out, '}'), nil
}

// UnmarshalJSON reads an entry written by MarshalJSON: the member other
// than serviceProvider and updatedAt is the payload.
func (d *ServiceProviderDetailJSON) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*d = ServiceProviderDetailJSON{}
	for k, v := range m {
		switch k {
		case "serviceProvider":
			if err := json.Unmarshal(v, &d.ServiceProvider); err != nil {
				return err
			}
		case "updatedAt":
			if err := json.Unmarshal(v, &d.UpdatedAt); err != nil {
				return err
			}
		default:
			d.Kind, d.Data = k, v
		}
	}
	return nil
}

// serviceProviderDetails lists a record's provider payload: banklink keeps
// the newest, so there is at most one; none (an empty list) for data
// without a provider payload.
func serviceProviderDetails(kind string, raw json.RawMessage, provider string, at time.Time) []ServiceProviderDetailJSON {
	if len(raw) == 0 {
		return []ServiceProviderDetailJSON{}
	}
	return []ServiceProviderDetailJSON{{ServiceProvider: banklink.ProviderWireName(provider), UpdatedAt: at.UTC().Format(TimestampFormat), Kind: kind, Data: raw}}
}

// BalancesJSON are an account's balances.
type BalancesJSON struct {
	Currency        string   `json:"currency"`
	CurrentAmount   float64  `json:"currentAmount"`
	AvailableAmount *float64 `json:"availableAmount"`
	UpdatedAt       string   `json:"updatedAt"`
}

// IdentifierJSON holds account and routing numbers. Every account carries
// it, with all four members, null when unknown, as in Meld's recording.
type IdentifierJSON struct {
	ACH           *ACHJSON `json:"ach"`
	EFT           *EFTJSON `json:"eft"`
	International any      `json:"international"`
	BACS          any      `json:"bacs"`
}

// ACHJSON holds US account and routing numbers.
type ACHJSON struct {
	AccountNumber string `json:"accountNumber"`
	RoutingNumber string `json:"routingNumber"`
}

// EFTJSON holds Canadian numbers.
type EFTJSON struct {
	AccountNumber     string `json:"accountNumber"`
	InstitutionNumber string `json:"institutionNumber"`
	BranchNumber      string `json:"branchNumber"`
}

// OwnerJSON is an account holder, in Meld's shape: emails and
// phoneNumbers are null when the provider gave none, as recorded.
type OwnerJSON struct {
	Names        []string      `json:"names"`
	Addresses    []AddressJSON `json:"addresses"`
	Emails       []DataJSON    `json:"emails"`
	PhoneNumbers []DataJSON    `json:"phoneNumbers"`
}

// AddressJSON wraps an address.
type AddressJSON struct {
	Data    AddressData `json:"data"`
	Primary string      `json:"primary"`
}

// AddressData is a postal address; a part the provider did not give is
// null, as recorded.
type AddressData struct {
	Street     *string `json:"street"`
	City       *string `json:"city"`
	Region     *string `json:"region"`
	PostalCode *string `json:"postalCode"`
	Country    *string `json:"country"`
	Full       string  `json:"full"`
}

// fullAddress joins an address's parts in the usual order, skipping
// those it lacks: "street, city, region postalCode, country".
func fullAddress(a banklink.Address) string {
	var parts []string
	for _, p := range []string{a.Street, a.City, strings.TrimSpace(a.Region + " " + a.PostalCode), a.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// DataJSON wraps one value, as Meld does for emails and phone numbers.
type DataJSON struct {
	Data string `json:"data"`
}

func financialAccountJSON(a *banklink.FinancialAccount) FinancialAccountJSON {
	out := FinancialAccountJSON{
		ID: a.ID, Key: a.Key, AccountID: a.AccountID, CustomerID: a.CustomerID, ExternalCustomerID: NullString(a.ExternalCustomerID),
		ConnectionIDs: connectionIDs(a.ConnectionIDs, a.ConnectionID), ConnectionID: a.ConnectionID, InstitutionID: a.InstitutionID, InstitutionName: a.InstitutionName,
		Status: a.Status, Type: a.Type, Subtype: a.Subtype, Name: a.Name, TruncatedAccountNumber: a.Mask,
		HistoricalAggregationSucceeded: a.HistoricalAggregationSucceeded,
		ServiceProviderDetails:         serviceProviderDetails(RawAccount, a.Raw, a.RawProvider, a.RawUpdatedAt),
		Identifiers:                    &IdentifierJSON{},
	}
	if b := a.Balances; b != nil {
		out.Balances = &BalancesJSON{Currency: b.Currency, CurrentAmount: b.CurrentAmount, AvailableAmount: b.AvailableAmount, UpdatedAt: b.UpdatedAt.UTC().Format(TimestampFormat)}
	}
	if id := a.Identifiers; id != nil {
		if id.ACH != nil {
			out.Identifiers.ACH = &ACHJSON{AccountNumber: id.ACH.AccountNumber, RoutingNumber: id.ACH.RoutingNumber}
		}
		if id.EFT != nil {
			out.Identifiers.EFT = &EFTJSON{AccountNumber: id.EFT.AccountNumber, InstitutionNumber: id.EFT.InstitutionNumber, BranchNumber: id.EFT.BranchNumber}
		}
	}
	if a.Owners != nil {
		out.Owners = []OwnerJSON{}
		for _, o := range a.Owners {
			oj := OwnerJSON{Names: o.Names, Addresses: []AddressJSON{}}
			if oj.Names == nil {
				oj.Names = []string{}
			}
			for _, ad := range o.Addresses {
				primary := "FALSE"
				if ad.Primary {
					primary = "TRUE"
				}
				oj.Addresses = append(oj.Addresses, AddressJSON{Primary: primary, Data: AddressData{Street: strPtr(ad.Street), City: strPtr(ad.City),
					Region: strPtr(ad.Region), PostalCode: strPtr(ad.PostalCode), Country: strPtr(ad.Country), Full: fullAddress(ad)}})
			}
			for _, e := range o.Emails {
				oj.Emails = append(oj.Emails, DataJSON{Data: e})
			}
			for _, p := range o.PhoneNumbers {
				oj.PhoneNumbers = append(oj.PhoneNumbers, DataJSON{Data: p})
			}
			out.Owners = append(out.Owners, oj)
		}
	}
	return out
}

// TransactionJSON is the wire form of a transaction.
type TransactionJSON struct {
	ID                     string                      `json:"id"`
	Key                    string                      `json:"key"`
	AccountID              string                      `json:"accountId"`
	CustomerID             string                      `json:"customerId"`
	ExternalCustomerID     NullString                  `json:"externalCustomerId"`
	FinancialAccountID     string                      `json:"financialAccountId"`
	ConnectionIDs          []string                    `json:"connectionIds"`
	Amount                 float64                     `json:"amount"`
	Currency               string                      `json:"currency"`
	Description            string                      `json:"description"`
	TransactionDate        string                      `json:"transactionDate"`
	PostedDate             *string                     `json:"postedDate"`
	Status                 string                      `json:"status"`
	Category               string                      `json:"category"`
	Recurring              string                      `json:"recurring"`
	ServiceProviderDetails []ServiceProviderDetailJSON `json:"serviceProviderDetails"`
}

func transactionJSON(t *banklink.Transaction) TransactionJSON {
	return TransactionJSON{
		ID: t.ID, Key: t.Key, AccountID: t.AccountID, CustomerID: t.CustomerID, ExternalCustomerID: NullString(t.ExternalCustomerID),
		FinancialAccountID: t.FinancialAccountID, ConnectionIDs: connectionIDs(t.ConnectionIDs, t.ConnectionID), Amount: t.Amount, Currency: t.Currency,
		Description: t.Description, TransactionDate: t.TransactionDate, PostedDate: strPtr(t.PostedDate), Status: t.Status,
		Category: t.Category, Recurring: t.Recurring, ServiceProviderDetails: serviceProviderDetails(RawTransaction, t.Raw, t.RawProvider, t.RawUpdatedAt),
	}
}

// pageParams reads limit (default def, at most max) and one cursor.
func pageParams(v url.Values, def, max int) (limit int, after, before string, err error) {
	limit, after, before = def, v.Get("after"), v.Get("before")
	if after != "" && before != "" {
		return 0, "", "", banklink.Errorf(banklink.EBADREQUEST, "Pass either [before] or [after], not both.")
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > max {
			return 0, "", "", banklink.FieldErrorf("limit", "must be a whole number from 1 to %d", max)
		}
		limit = n
	}
	return limit, after, before, nil
}

func (s *Server) handleSearchFinancialAccounts(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	limit, after, before, err := pageParams(v, 10, 100)
	if err != nil {
		return err
	}
	if v.Get("customerId") != "" && v.Get("externalCustomerId") != "" {
		return banklink.Errorf(banklink.EBADREQUEST, "Pass either [customerId] or [externalCustomerId], not both.")
	}
	list, remaining, err := s.Store.FindFinancialAccounts(r.Context(), apiKeyFrom(r.Context()).Scope(), banklink.FinancialAccountFilter{
		CustomerID: v.Get("customerId"), ExternalCustomerID: v.Get("externalCustomerId"), InstitutionID: v.Get("institutionId"),
		ConnectionID: v.Get("connectionId"), After: after, Before: before, Limit: limit,
	})
	if err != nil {
		return err
	}
	writeList(w, "financialAccounts", list, remaining, financialAccountJSON)
	return nil
}

func (s *Server) handleSearchTransactions(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	limit, after, before, err := pageParams(v, 100, 1000)
	if err != nil {
		return err
	}
	f := banklink.TransactionFilter{
		CustomerID: v.Get("customerId"), FinancialAccountID: v.Get("financialAccountId"), ConnectionID: v.Get("connectionId"),
		After: after, Before: before, Limit: limit,
	}
	if f.CustomerID == "" { // customerId wins, as in Meld
		f.ExternalCustomerID = v.Get("externalCustomerId")
	}
	if st := strings.ToUpper(v.Get("status")); st != "" {
		if st != banklink.TxPending && st != banklink.TxPosted && st != banklink.TxExpired {
			return banklink.FieldErrorf("status", "must be PENDING, POSTED or EXPIRED")
		}
		f.Status = st
	}
	if c := strings.ToUpper(v.Get("category")); c != "" {
		if !slices.Contains(banklink.TransactionCategories, c) {
			return banklink.FieldErrorf("category", "contains unknown category %q", truncate(c, 64))
		}
		f.Category = c
	}
	if f.StartDate, f.EndDate, err = dateRange(v); err != nil {
		return err
	}
	list, remaining, err := s.Store.FindTransactions(r.Context(), apiKeyFrom(r.Context()).Scope(), f)
	if err != nil {
		return err
	}
	writeList(w, "financialAccountTransactions", list, remaining, transactionJSON)
	return nil
}

// dateRange reads startDate and endDate (yyyy-mm-dd, both inclusive).
func dateRange(v url.Values) (start, end string, err error) {
	for _, d := range []struct {
		name string
		dst  *string
	}{{"startDate", &start}, {"endDate", &end}} {
		if raw := v.Get(d.name); raw != "" {
			if _, err := time.Parse(time.DateOnly, raw); err != nil {
				return "", "", banklink.FieldErrorf(d.name, "must be a date in yyyy-mm-dd format")
			}
			*d.dst = raw
		}
	}
	if start != "" && end != "" && end < start {
		return "", "", banklink.FieldErrorf("endDate", "must not be before [startDate]")
	}
	return start, end, nil
}

// writeList writes Meld's list envelope: {<name>: [...], count, remaining}.
func writeList[T, J any](w http.ResponseWriter, name string, list []*T, remaining int, conv func(*T) J) {
	items := make([]J, 0, len(list))
	for _, v := range list {
		items = append(items, conv(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{name: items, "count": len(list), "remaining": remaining})
}

// getOne serves GET …/{id} for a record found by id within the caller's
// scope.
func getOne[T, J any](find func(context.Context, banklink.Scope, string) (*T, error), conv func(*T) J) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := find(r.Context(), apiKeyFrom(r.Context()).Scope(), r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, conv(v))
		return nil
	}
}

// connectionIDs is a record's connectionIds: the connections sharing it
// (duplicates hold one set of data), or else its own connection.
func connectionIDs(shared []string, own string) []string {
	if len(shared) > 0 {
		return shared
	}
	return []string{own}
}
