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
	ID                             string                      `json:"id"`
	Key                            string                      `json:"key"`
	AccountID                      string                      `json:"accountId"`
	CustomerID                     string                      `json:"customerId"`
	ExternalCustomerID             string                      `json:"externalCustomerId"`
	ConnectionIDs                  []string                    `json:"connectionIds"`
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
// Meld serves it: data is the payload unchanged, updatedAt when banklink
// received it.
type ServiceProviderDetailJSON struct {
	ServiceProvider string          `json:"serviceProvider"`
	UpdatedAt       string          `json:"updatedAt"`
	Data            json.RawMessage `json:"data"`
}

// serviceProviderDetails lists a record's provider payload: banklink keeps
// the newest, so there is at most one; none (an empty list, as Meld
// serves it) for data without a provider payload, such as the sandboxes'.
func serviceProviderDetails(raw json.RawMessage, provider string, at time.Time) []ServiceProviderDetailJSON {
	if len(raw) == 0 {
		return []ServiceProviderDetailJSON{}
	}
	return []ServiceProviderDetailJSON{{ServiceProvider: banklink.ProviderWireName(provider), UpdatedAt: at.UTC().Format(TimestampFormat), Data: raw}}
}

// BalancesJSON are an account's balances.
type BalancesJSON struct {
	Currency        string   `json:"currency"`
	CurrentAmount   float64  `json:"currentAmount"`
	AvailableAmount *float64 `json:"availableAmount"`
	UpdatedAt       string   `json:"updatedAt"`
}

// IdentifierJSON holds account and routing numbers.
type IdentifierJSON struct {
	ACH           *banklink.ACHNumbers `json:"ach"`
	EFT           *EFTJSON             `json:"eft"`
	International any                  `json:"international"`
	BACS          any                  `json:"bacs"`
}

// EFTJSON holds Canadian numbers.
type EFTJSON struct {
	AccountNumber     string `json:"accountNumber"`
	InstitutionNumber string `json:"institutionNumber"`
	BranchNumber      string `json:"branchNumber"`
}

// OwnerJSON is an account holder, in Meld's shape.
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

// AddressData is a postal address.
type AddressData struct {
	Street     string `json:"street"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
	Full       string `json:"full"`
}

// DataJSON wraps one value, as Meld does for emails and phone numbers.
type DataJSON struct {
	Data string `json:"data"`
}

func financialAccountJSON(a *banklink.FinancialAccount) FinancialAccountJSON {
	out := FinancialAccountJSON{
		ID: a.ID, Key: a.Key, AccountID: a.AccountID, CustomerID: a.CustomerID, ExternalCustomerID: a.ExternalCustomerID,
		ConnectionIDs: []string{a.ConnectionID}, InstitutionID: a.InstitutionID, InstitutionName: a.InstitutionName,
		Status: a.Status, Type: a.Type, Subtype: a.Subtype, Name: a.Name, TruncatedAccountNumber: a.Mask,
		HistoricalAggregationSucceeded: a.HistoricalAggregationSucceeded,
		ServiceProviderDetails:         serviceProviderDetails(a.Raw, a.RawProvider, a.RawUpdatedAt),
	}
	if b := a.Balances; b != nil {
		out.Balances = &BalancesJSON{Currency: b.Currency, CurrentAmount: b.CurrentAmount, AvailableAmount: b.AvailableAmount, UpdatedAt: b.UpdatedAt.UTC().Format(TimestampFormat)}
	}
	if id := a.Identifiers; id != nil {
		out.Identifiers = &IdentifierJSON{ACH: id.ACH}
		if id.EFT != nil {
			out.Identifiers.EFT = &EFTJSON{AccountNumber: id.EFT.AccountNumber, InstitutionNumber: id.EFT.InstitutionNumber, BranchNumber: id.EFT.BranchNumber}
		}
	}
	if a.Owners != nil {
		out.Owners = []OwnerJSON{}
		for _, o := range a.Owners {
			oj := OwnerJSON{Names: o.Names, Addresses: []AddressJSON{}, Emails: []DataJSON{}, PhoneNumbers: []DataJSON{}}
			for _, ad := range o.Addresses {
				primary := "FALSE"
				if ad.Primary {
					primary = "TRUE"
				}
				oj.Addresses = append(oj.Addresses, AddressJSON{Primary: primary, Data: AddressData{Street: ad.Street, City: ad.City, Region: ad.Region,
					PostalCode: ad.PostalCode, Country: ad.Country, Full: ad.Street + ", " + ad.City + ", " + ad.Region + " " + ad.PostalCode + ", " + ad.Country}})
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
	ExternalCustomerID     string                      `json:"externalCustomerId"`
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
		ID: t.ID, Key: t.Key, AccountID: t.AccountID, CustomerID: t.CustomerID, ExternalCustomerID: t.ExternalCustomerID,
		FinancialAccountID: t.FinancialAccountID, ConnectionIDs: []string{t.ConnectionID}, Amount: t.Amount, Currency: t.Currency,
		Description: t.Description, TransactionDate: t.TransactionDate, PostedDate: strPtr(t.PostedDate), Status: t.Status,
		Category: t.Category, Recurring: t.Recurring, ServiceProviderDetails: serviceProviderDetails(t.Raw, t.RawProvider, t.RawUpdatedAt),
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
