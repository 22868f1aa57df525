package finicity

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"banklink"
)

// Aggregate implements banklink.Aggregator for an institution login
// linked through Data Connect.
//
// Finicity aggregates active accounts itself once a day, and when Connect
// adds them. Aggregate reads the login's accounts (GET
// /aggregation/v1/customers/{c}/institutionLogins/{l}/accounts) and asks
// for a refresh (POST on the same path, which answers with the refreshed
// accounts) only when the last aggregation attempt is at least
// MinRefreshInterval old: right after the link, and on a refresh inside
// the interval, the data is read as it is. An account whose
// aggregationStatusCode is not 0 fails the aggregation with its
// reason (aggregationStatus).
//
// Then, for the chosen accounts and the requested products Finicity
// offers at the institution: ACH numbers (GET
// /aggregation/v3/…/accounts/{a}/details, deposit accounts), owners (GET
// /aggregation/v3/…/accounts/{a}/owner), transactions since req.Since
// (GET /aggregation/v4/…/accounts/{a}/transactions, 1000 a page, pending
// included), holdings (the account's positions) and, for investment
// accounts, investment transactions.
func (p *Provider) Aggregate(ctx context.Context, req banklink.AggregationRequest) ([]banklink.AggregatedAccount, error) {
	customerID, login, err := parseLoginID(req.LoginID)
	if err != nil {
		return nil, err
	}
	now := req.Now
	if now.IsZero() {
		now = p.cfg.Now()
	}
	k := p.keysFor(req.ProviderCredentials)
	var supported banklink.ProductSet
	if req.Institution != nil {
		supported = banklink.NewProductSet(req.Institution.Providers[ProviderType].Products...)
	}
	want := banklink.NewProductSet(req.Products...) & supported
	accts, err := p.loginAccounts(ctx, k, customerID, login)
	if err == nil && now.Sub(lastAttempt(accts)) >= p.cfg.MinRefreshInterval {
		accts, err = p.refresh(ctx, k, customerID, login)
	}
	if err != nil {
		return nil, mapError(err, phaseData, now)
	}
	out, err := p.read(ctx, k, req, customerID, accts, want, now)
	if err != nil {
		return nil, mapError(err, phaseData, now)
	}
	return out, nil
}

// lastAttempt is the newest aggregation attempt among accts.
func lastAttempt(accts []account) time.Time {
	var last time.Time
	for _, a := range accts {
		if t := unixTime(a.AggregationAttemptDate); t.After(last) {
			last = t
		}
	}
	return last
}

func loginPath(customerID, login string) string {
	return customerPath(customerID) + "/institutionLogins/" + url.PathEscape(login) + "/accounts"
}

func (p *Provider) listAccounts(ctx context.Context, k keys, path string) ([]account, error) {
	var resp struct {
		Accounts []account `json:"accounts"`
	}
	_, err := p.call(ctx, k, http.MethodGet, path, nil, nil, &resp)
	return resp.Accounts, err
}

// loginAccounts lists an institution login's accounts.
func (p *Provider) loginAccounts(ctx context.Context, k keys, customerID, login string) ([]account, error) {
	return p.listAccounts(ctx, k, loginPath(customerID, login))
}

// refresh asks Finicity to aggregate the login now and returns its
// accounts afterwards.
func (p *Provider) refresh(ctx context.Context, k keys, customerID, login string) ([]account, error) {
	var resp struct {
		Accounts []account `json:"accounts"`
	}
	_, err := p.call(ctx, k, http.MethodPost, loginPath(customerID, login), nil, nil, &resp)
	return resp.Accounts, err
}

// NextRefresh implements banklink.RefreshLimiter: the zero time when the
// login's last aggregation attempt is MinRefreshInterval old, otherwise
// when it will be. The refresh endpoint answers 429 with Retry-After until
// then: Finicity asks partners not to refresh repeatedly and Aggregate
// would only read the same data.
func (p *Provider) NextRefresh(ctx context.Context, loginID string, credentials map[string]string, now time.Time) (time.Time, error) {
	customerID, login, err := parseLoginID(loginID)
	if err != nil {
		return time.Time{}, err
	}
	accts, err := p.loginAccounts(ctx, p.keysFor(credentials), customerID, login)
	if err != nil {
		return time.Time{}, mapError(err, phaseData, now)
	}
	last := lastAttempt(accts)
	if next := last.Add(p.cfg.MinRefreshInterval); !last.IsZero() && next.After(now) {
		return next, nil
	}
	return time.Time{}, nil
}

// RemoveLogin implements banklink.LoginRemover: it deletes the
// institution login at Finicity (DELETE
// /aggregation/v1/customers/{c}/institutionLogins/{l}), so Finicity stops
// aggregating and billing for its accounts. A login Finicity no longer
// has counts as deleted.
func (p *Provider) RemoveLogin(ctx context.Context, loginID string, credentials map[string]string) error {
	customerID, login, err := parseLoginID(loginID)
	if err != nil {
		return err
	}
	_, err = p.call(ctx, p.keysFor(credentials), http.MethodDelete, customerPath(customerID)+"/institutionLogins/"+url.PathEscape(login), nil, nil, nil)
	if ae, ok := errors.AsType[*APIError](err); ok && ae.Status == http.StatusNotFound {
		return nil
	}
	return mapError(err, phaseData, p.cfg.Now())
}

// ownerTypes are the account types GET …/details serves ("Supported
// account types": checking, savings, moneyMarket).
var detailTypes = []string{"checking", "savings", "moneyMarket"}

// read gathers the chosen accounts and the wanted products.
func (p *Provider) read(ctx context.Context, k keys, req banklink.AggregationRequest, customerID string, accts []account, want banklink.ProductSet, now time.Time) ([]banklink.AggregatedAccount, error) {
	fallbackCurrency := currencyOf(req.Institution)
	var out []banklink.AggregatedAccount
	for _, a := range accts {
		if len(req.AccountIDs) > 0 && !slices.Contains(req.AccountIDs, a.ID) {
			continue
		}
		if pe := aggregationStatus(deref(a.AggregationStatusCode), phaseData); pe != nil {
			return nil, pe
		}
		typ, sub := accountType(a.Type)
		agg := banklink.AggregatedAccount{ProviderAccountID: a.ID, Type: typ, Subtype: sub, Name: a.Name, Mask: a.mask(), Raw: a.raw}
		asOf := unixTime(a.AggregationSuccessDate)
		if asOf.IsZero() {
			asOf = now
		}
		if want.Has(banklink.Balances) || want == 0 {
			agg.Balances = balances(a, typ, fallbackCurrency, asOf)
		}
		cur := fallbackCurrency
		if agg.Balances != nil && agg.Balances.Currency != "" {
			cur = agg.Balances.Currency
		}
		acctPath := "/customers/" + url.PathEscape(customerID) + "/accounts/" + url.PathEscape(a.ID)
		if want.Has(banklink.Identifiers) && slices.Contains(detailTypes, a.Type) {
			var resp struct {
				PaymentInstruction []paymentInstruction `json:"paymentInstruction"`
			}
			if _, err := p.call(ctx, k, http.MethodGet, "/aggregation/v3"+acctPath+"/details", nil, nil, &resp); err != nil {
				return nil, err
			}
			agg.Identifiers = identifiers(resp.PaymentInstruction)
		}
		if want.Has(banklink.Owners) {
			var resp struct {
				Holders []ownerHolder `json:"holders"`
			}
			if _, err := p.call(ctx, k, http.MethodGet, "/aggregation/v3"+acctPath+"/owner", nil, nil, &resp); err != nil {
				return nil, err
			}
			for _, h := range resp.Holders {
				agg.Owners = append(agg.Owners, owner(h))
			}
		}
		investment := typ == "INVESTMENT"
		wantInvTx := investment && want.Has(banklink.InvestmentTransactions)
		if want.Has(banklink.Transactions) || wantInvTx {
			txs, err := p.transactions(ctx, k, "/aggregation/v4"+acctPath+"/transactions", req.Since, now)
			if err != nil {
				return nil, err
			}
			for _, t := range txs {
				if wantInvTx {
					agg.InvestmentTransactions = append(agg.InvestmentTransactions, convertInvestmentTransaction(t, cur))
				} else {
					agg.Transactions = append(agg.Transactions, convertTransaction(t, cur))
				}
			}
		}
		if want.Has(banklink.InvestmentHoldings) && investment {
			agg.Holdings = []banklink.Holding{}
			for _, pos := range a.Position {
				agg.Holdings = append(agg.Holdings, convertHolding(pos, cur, asOf))
			}
		}
		out = append(out, agg)
	}
	return out, nil
}

// maxTransactions bounds what one account's read holds.
const maxTransactions = 1_000_000

// transactions reads every page of an account's transactions from since
// to now: start is the index of the first record (1-based), and pages
// follow while moreAvailable is "true" and found says there are more.
func (p *Provider) transactions(ctx context.Context, k keys, path string, since, now time.Time) ([]transaction, error) {
	from := since
	if from.IsZero() {
		// Finicity keeps up to 180 days before an account was added.
		from = now.AddDate(0, 0, -180)
	}
	// Finicity stamps a day's transactions at a time of day (noon, or
	// midnight in the bank's zone), so today's pending ones can carry a
	// time after now: read to a day ahead, or the morning's reads miss
	// them until the afternoon.
	to := now.Add(24 * time.Hour)
	var out []transaction
	for start := 1; ; {
		q := url.Values{"fromDate": {strconv.FormatInt(from.Unix(), 10)}, "toDate": {strconv.FormatInt(to.Unix(), 10)},
			"start": {strconv.Itoa(start)}, "limit": {strconv.Itoa(pageSize)}, "sort": {"asc"}, "includePending": {"true"}}
		var resp struct {
			Found         int           `json:"found"`
			MoreAvailable string        `json:"moreAvailable"`
			Transactions  []transaction `json:"transactions"`
		}
		if _, err := p.call(ctx, k, http.MethodGet, path, q, nil, &resp); err != nil {
			return nil, err
		}
		out = append(out, resp.Transactions...)
		start += len(resp.Transactions)
		// found bounds the pages: an answer that keeps saying more are
		// available does not page forever.
		if len(resp.Transactions) == 0 || resp.MoreAvailable != "true" || start > resp.Found || start > maxTransactions {
			return out, nil
		}
	}
}

// currencyOf is the currency of an institution's accounts when Finicity
// gives none: CAD for an institution only in Canada, USD otherwise.
func currencyOf(in *banklink.Institution) string {
	if in == nil || len(in.Regions) == 0 {
		return "USD"
	}
	for _, r := range in.Regions {
		if r.Country() != "CA" {
			return "USD"
		}
	}
	return "CAD"
}
