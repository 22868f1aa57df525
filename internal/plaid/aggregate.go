package plaid

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"banklink"
	"banklink/internal/rawjson"
)

// Plaid's objects, as far as banklink reads them.

type account struct {
	AccountID    string   `json:"account_id"`
	Name         string   `json:"name"`
	OfficialName *string  `json:"official_name"`
	Mask         *string  `json:"mask"`
	Type         string   `json:"type"`
	Subtype      *string  `json:"subtype"`
	Balances     balances `json:"balances"`
	// Owners come with /identity/get.
	Owners []owner `json:"owners"`
	// raw is the account as Plaid sent it (see rawjson.Keep).
	raw json.RawMessage
}

// Accounts, transactions, holdings and investment transactions keep the
// exact bytes Plaid sent for them (served as serviceProviderDetails, with
// the fields banklink does not map): their UnmarshalJSON decodes the
// fields and keeps a copy of the element's JSON object, not a re-encoding
// of the struct. A holding's is Plaid's holding object alone: Plaid sends
// its security separately (securities[]).

func (a *account) UnmarshalJSON(b []byte) (err error) {
	type fields account
	a.raw, err = rawjson.Keep(b, (*fields)(a))
	return err
}

func (t *transaction) UnmarshalJSON(b []byte) (err error) {
	type fields transaction
	t.raw, err = rawjson.Keep(b, (*fields)(t))
	return err
}

func (h *holding) UnmarshalJSON(b []byte) (err error) {
	type fields holding
	h.raw, err = rawjson.Keep(b, (*fields)(h))
	return err
}

func (t *investmentTransaction) UnmarshalJSON(b []byte) (err error) {
	type fields investmentTransaction
	t.raw, err = rawjson.Keep(b, (*fields)(t))
	return err
}

func (a *account) displayName() string {
	if a.Name != "" {
		return a.Name
	}
	return deref(a.OfficialName)
}

type balances struct {
	Available              *float64   `json:"available"`
	Current                *float64   `json:"current"`
	Limit                  *float64   `json:"limit"`
	ISOCurrencyCode        *string    `json:"iso_currency_code"`
	UnofficialCurrencyCode *string    `json:"unofficial_currency_code"`
	LastUpdatedDatetime    *time.Time `json:"last_updated_datetime"`
}

type owner struct {
	Names        []string         `json:"names"`
	PhoneNumbers []contact        `json:"phone_numbers"`
	Emails       []contact        `json:"emails"`
	Addresses    []addressContact `json:"addresses"`
}

type contact struct {
	Data    string `json:"data"`
	Primary *bool  `json:"primary"`
	Type    string `json:"type"`
}

type addressContact struct {
	Data struct {
		Street     *string `json:"street"`
		City       *string `json:"city"`
		Region     *string `json:"region"`
		PostalCode *string `json:"postal_code"`
		Country    *string `json:"country"`
	} `json:"data"`
	Primary *bool `json:"primary"`
}

type authNumbers struct {
	ACH []struct {
		AccountID string `json:"account_id"`
		Account   string `json:"account"`
		Routing   string `json:"routing"`
	} `json:"ach"`
	EFT []struct {
		AccountID   string `json:"account_id"`
		Account     string `json:"account"`
		Institution string `json:"institution"`
		Branch      string `json:"branch"`
	} `json:"eft"`
}

type transaction struct {
	TransactionID           string   `json:"transaction_id"`
	AccountID               string   `json:"account_id"`
	Amount                  float64  `json:"amount"`
	ISOCurrencyCode         *string  `json:"iso_currency_code"`
	UnofficialCurrencyCode  *string  `json:"unofficial_currency_code"`
	Date                    string   `json:"date"`
	AuthorizedDate          *string  `json:"authorized_date"`
	Name                    *string  `json:"name"`
	MerchantName            *string  `json:"merchant_name"`
	OriginalDescription     *string  `json:"original_description"`
	Pending                 bool     `json:"pending"`
	PendingTransactionID    *string  `json:"pending_transaction_id"`
	PersonalFinanceCategory *pfc     `json:"personal_finance_category"`
	Category                []string `json:"category"`
	raw                     json.RawMessage
}

// pfc is a personal_finance_category.
type pfc struct {
	Primary  string `json:"primary"`
	Detailed string `json:"detailed"`
}

type removedTransaction struct {
	TransactionID string `json:"transaction_id"`
	AccountID     string `json:"account_id"`
}

type security struct {
	SecurityID   string   `json:"security_id"`
	ISIN         *string  `json:"isin"`
	CUSIP        *string  `json:"cusip"`
	TickerSymbol *string  `json:"ticker_symbol"`
	Name         *string  `json:"name"`
	Type         *string  `json:"type"`
	ClosePrice   *float64 `json:"close_price"`
}

type holding struct {
	AccountID              string   `json:"account_id"`
	SecurityID             string   `json:"security_id"`
	InstitutionPrice       float64  `json:"institution_price"`
	InstitutionValue       float64  `json:"institution_value"`
	CostBasis              *float64 `json:"cost_basis"`
	Quantity               float64  `json:"quantity"`
	ISOCurrencyCode        *string  `json:"iso_currency_code"`
	UnofficialCurrencyCode *string  `json:"unofficial_currency_code"`
	raw                    json.RawMessage
}

type investmentTransaction struct {
	InvestmentTransactionID string   `json:"investment_transaction_id"`
	AccountID               string   `json:"account_id"`
	SecurityID              *string  `json:"security_id"`
	Date                    string   `json:"date"`
	Name                    string   `json:"name"`
	Quantity                float64  `json:"quantity"`
	Amount                  float64  `json:"amount"`
	Price                   float64  `json:"price"`
	Fees                    *float64 `json:"fees"`
	Type                    string   `json:"type"`
	Subtype                 string   `json:"subtype"`
	ISOCurrencyCode         *string  `json:"iso_currency_code"`
	UnofficialCurrencyCode  *string  `json:"unofficial_currency_code"`
	raw                     json.RawMessage
}

// Requests.

type accountOptions struct {
	AccountIDs []string `json:"account_ids,omitempty"`
}

type itemRequest struct {
	AccessToken string          `json:"access_token"`
	Options     *accountOptions `json:"options,omitempty"`
}

func itemReq(token string, ids []string) itemRequest {
	r := itemRequest{AccessToken: token}
	if len(ids) > 0 {
		r.Options = &accountOptions{AccountIDs: ids}
	}
	return r
}

// Page sizes: the most Plaid allows.
const (
	syncPageSize        = 500
	investmentsPageSize = 500
	// maxSyncRestarts bounds restarts after
	// TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION.
	maxSyncRestarts = 3
)

// getAccounts lists the Item's accounts; with realtime, balances are
// fetched from the institution now (/accounts/balance/get) rather than
// cached (/accounts/get).
//
// Some institutions have no real-time balance for some accounts: Capital
// One (ins_128026) for its non-depository ones (cards, loans), which it
// updates about daily. There /accounts/balance/get needs
// options.min_last_updated_datetime, the oldest balance acceptable
// (INVALID_FIELD without it), so it is always sent: Plaid ignores it
// elsewhere and for depository accounts. When no balance is that recent
// (LAST_UPDATED_DATETIME_OUT_OF_RANGE) the cached ones are read instead;
// their last_updated_datetime says how old they are.
func (p *Provider) getAccounts(ctx context.Context, token string, ids []string, realtime bool) ([]account, error) {
	var resp struct {
		Accounts []account `json:"accounts"`
	}
	if realtime {
		type options struct {
			AccountIDs             []string `json:"account_ids,omitempty"`
			MinLastUpdatedDatetime string   `json:"min_last_updated_datetime"`
		}
		req := struct {
			AccessToken string  `json:"access_token"`
			Options     options `json:"options"`
		}{token, options{ids, p.cfg.Now().Add(-p.cfg.MaxBalanceAge).UTC().Format(time.RFC3339)}}
		err := p.call(ctx, "/accounts/balance/get", req, &resp, maxResponse)
		if codeOf(err) != "LAST_UPDATED_DATETIME_OUT_OF_RANGE" {
			return resp.Accounts, err
		}
	}
	if err := p.call(ctx, "/accounts/get", itemReq(token, ids), &resp, maxResponse); err != nil {
		return nil, err
	}
	return resp.Accounts, nil
}

// unavailable reports whether a product call failed only because the Item
// or its accounts do not offer that product: the product is then skipped
// rather than failing the aggregation. ACCESS_NOT_GRANTED is one of
// those: the customer did not consent to this product (at Plaid, or at
// an OAuth institution's own screen), which says nothing about the login
// or the other products; a repair (update mode) asks for it again.
func unavailable(err error) bool {
	switch codeOf(err) {
	case "PRODUCTS_NOT_SUPPORTED", "NO_AUTH_ACCOUNTS", "NO_INVESTMENT_ACCOUNTS", "NO_INVESTMENT_AUTH_ACCOUNTS",
		"INSTITUTION_NOT_SUPPORTED", "PRODUCT_NOT_ENABLED", "ACCESS_NOT_GRANTED":
		return true
	}
	return false
}

// Aggregate implements banklink.Aggregator, with the account's keys when
// the Item was linked with them. It reads the Item's transactions from
// the start of /transactions/sync.
func (p *Provider) Aggregate(ctx context.Context, req banklink.AggregationRequest) ([]banklink.AggregatedAccount, error) {
	req.ProviderState = ""
	agg, err := p.aggregate(withKeys(ctx, req.ProviderCredentials), req)
	if err != nil {
		return nil, mapError(err, phaseData)
	}
	return agg.Accounts, nil
}

// AggregateFrom implements banklink.StatefulAggregator: the state is
// /transactions/sync's cursor. From a cursor only the changes since are
// read (Incremental); from none, every transaction, and the cursor after
// them becomes the state. A cursor Plaid no longer accepts is dropped
// and everything read again.
func (p *Provider) AggregateFrom(ctx context.Context, req banklink.AggregationRequest) (banklink.Aggregation, error) {
	ctx = withKeys(ctx, req.ProviderCredentials)
	agg, err := p.aggregate(ctx, req)
	// Only /transactions/sync's INVALID_FIELD is about the cursor: other
	// calls answer it for their own fields.
	if ae, ok := errors.AsType[*APIError](err); ok && req.ProviderState != "" && ae.ErrorCode == "INVALID_FIELD" && ae.Path == "/transactions/sync" {
		req.ProviderState = ""
		agg, err = p.aggregate(ctx, req)
	}
	if err != nil {
		return banklink.Aggregation{}, mapError(err, phaseData)
	}
	return agg, nil
}

func (p *Provider) aggregate(ctx context.Context, req banklink.AggregationRequest) (banklink.Aggregation, error) {
	var agg banklink.Aggregation
	token, err := p.accessToken(ctx, req.LoginID)
	if err != nil {
		return agg, err
	}
	want := banklink.NewProductSet(req.Products...)
	if req.Institution != nil {
		if pi, ok := req.Institution.Providers[ProviderType]; ok {
			want &= banklink.NewProductSet(pi.Products...)
		}
	}
	accts, err := p.getAccounts(ctx, token, req.AccountIDs, want.Has(banklink.Balances))
	if err != nil {
		return agg, err
	}
	now := req.Now
	if now.IsZero() {
		now = p.cfg.Now()
	}
	byID := map[string]*banklink.AggregatedAccount{}
	out := make([]banklink.AggregatedAccount, 0, len(accts))
	var depository, investment, all []string
	for _, a := range accts {
		if len(req.AccountIDs) > 0 && !slices.Contains(req.AccountIDs, a.AccountID) {
			continue
		}
		agg := banklink.AggregatedAccount{ProviderAccountID: a.AccountID, Type: accountType(a.Type), Subtype: subtype(a.Subtype),
			Name: a.displayName(), Mask: deref(a.Mask), Raw: a.raw}
		if want.Has(banklink.Balances) {
			agg.Balances = mapBalances(a.Balances, now)
		}
		out = append(out, agg)
		all = append(all, a.AccountID)
		switch agg.Type {
		case "DEPOSITORY":
			depository = append(depository, a.AccountID)
		case "INVESTMENT":
			investment = append(investment, a.AccountID)
		}
	}
	for i := range out {
		byID[out[i].ProviderAccountID] = &out[i]
	}
	if want.Has(banklink.Identifiers) && len(depository) > 0 {
		if err := p.addIdentifiers(ctx, token, depository, byID); err != nil {
			return agg, err
		}
	}
	if want.Has(banklink.Owners) && len(all) > 0 {
		if err := p.addOwners(ctx, token, all, byID); err != nil {
			return agg, err
		}
	}
	if want.Has(banklink.Transactions) && len(all) > 0 {
		historical := now.Sub(req.Since) > 100*24*time.Hour
		if req.ProviderState != "" {
			agg.State, err = p.addChanges(ctx, token, req.ProviderState, byID)
			agg.Incremental = true
		} else {
			agg.State, err = p.addTransactions(ctx, token, req.Since, historical, byID)
		}
		if err != nil {
			return agg, err
		}
	}
	if want.Has(banklink.InvestmentHoldings) && len(investment) > 0 {
		if err := p.addHoldings(ctx, token, investment, now, byID); err != nil {
			return agg, err
		}
	}
	if want.Has(banklink.InvestmentTransactions) && len(investment) > 0 {
		if err := p.addInvestmentTransactions(ctx, token, investment, req.Since, now, byID); err != nil {
			return agg, err
		}
	}
	agg.Accounts = out
	return agg, nil
}

func (p *Provider) addIdentifiers(ctx context.Context, token string, ids []string, byID map[string]*banklink.AggregatedAccount) error {
	var resp struct {
		Numbers authNumbers `json:"numbers"`
	}
	if err := p.call(ctx, "/auth/get", itemReq(token, ids), &resp, maxResponse); err != nil {
		if unavailable(err) {
			return nil
		}
		return err
	}
	for _, n := range resp.Numbers.ACH {
		if a := byID[n.AccountID]; a != nil {
			if a.Identifiers == nil {
				a.Identifiers = &banklink.AccountIdentifiers{}
			}
			a.Identifiers.ACH = &banklink.ACHNumbers{AccountNumber: n.Account, RoutingNumber: n.Routing}
		}
	}
	for _, n := range resp.Numbers.EFT {
		if a := byID[n.AccountID]; a != nil {
			if a.Identifiers == nil {
				a.Identifiers = &banklink.AccountIdentifiers{}
			}
			a.Identifiers.EFT = &banklink.EFTNumbers{AccountNumber: n.Account, InstitutionNumber: n.Institution, BranchNumber: n.Branch}
		}
	}
	return nil
}

func (p *Provider) addOwners(ctx context.Context, token string, ids []string, byID map[string]*banklink.AggregatedAccount) error {
	var resp struct {
		Accounts []account `json:"accounts"`
	}
	if err := p.call(ctx, "/identity/get", itemReq(token, ids), &resp, maxResponse); err != nil {
		if unavailable(err) {
			return nil
		}
		return err
	}
	for _, acc := range resp.Accounts {
		a := byID[acc.AccountID]
		if a == nil {
			continue
		}
		for _, o := range acc.Owners {
			a.Owners = append(a.Owners, mapOwner(o))
		}
	}
	return nil
}

// addTransactions reads every transaction of the Item with
// /transactions/sync, keeps those of the chosen accounts dated since, and
// returns the cursor after them.
func (p *Provider) addTransactions(ctx context.Context, token string, since time.Time, historical bool, byID map[string]*banklink.AggregatedAccount) (string, error) {
	txs, cursor, err := p.syncAll(ctx, token, historical)
	if err != nil {
		return "", err
	}
	p.addMapped(txs, since.UTC().Format(time.DateOnly), byID)
	return cursor, nil
}

// addChanges reads the Item's transaction changes since cursor: added and
// modified ones join their accounts' transactions, removed ones their
// RemovedTransactionIDs. It returns the cursor after them.
func (p *Provider) addChanges(ctx context.Context, token, cursor string, byID map[string]*banklink.AggregatedAccount) (string, error) {
	restarts := 0
	for {
		ch, err := p.syncFrom(ctx, token, cursor)
		if codeOf(err) == "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION" && restarts < maxSyncRestarts {
			restarts++
			continue
		}
		if err != nil {
			return "", err
		}
		p.addMapped(ch.changed, "", byID)
		for _, r := range ch.removed {
			if a := byID[r.AccountID]; a != nil {
				a.RemovedTransactionIDs = append(a.RemovedTransactionIDs, r.TransactionID)
			}
		}
		return ch.next, nil
	}
}

// addMapped adds Plaid's transactions dated from (any when empty) to
// their accounts in banklink's terms.
func (p *Provider) addMapped(txs []transaction, from string, byID map[string]*banklink.AggregatedAccount) {
	// A posted transaction that replaces a pending one carries the
	// pending one's id in pending_transaction_id; banklink keeps one
	// transaction whose status changes, so the posted one takes the
	// pending one's id (and wins if both are present).
	seen := map[string]int{}
	for _, t := range txs {
		a := byID[t.AccountID]
		if a == nil {
			continue
		}
		bt := mapTransaction(t)
		if from != "" && bt.TransactionDate < from {
			continue
		}
		if i, dup := seen[bt.ProviderTransactionID]; dup {
			if !t.Pending {
				a.Transactions[i] = bt
			}
			continue
		}
		seen[bt.ProviderTransactionID] = len(a.Transactions)
		a.Transactions = append(a.Transactions, bt)
	}
}

// syncAll pages through /transactions/sync from the start and returns the
// Item's current transactions and the cursor after them. It restarts when
// Plaid reports that the data changed during pagination, and waits (up to
// cfg.SyncWait) while Plaid is still pulling the Item's transactions: the
// first pull, and for the historical pass the full history.
func (p *Provider) syncAll(ctx context.Context, token string, historical bool) ([]transaction, string, error) {
	deadline := p.cfg.Now().Add(p.cfg.SyncWait)
	restarts := 0
	for {
		ch, err := p.syncFrom(ctx, token, "")
		if codeOf(err) == "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION" && restarts < maxSyncRestarts {
			restarts++
			continue
		}
		if err != nil {
			return nil, "", err
		}
		ready := ch.status != "NOT_READY" && (!historical || ch.status != "INITIAL_UPDATE_COMPLETE")
		if ready {
			return ch.changed, ch.next, nil
		}
		if !p.cfg.Now().Before(deadline) {
			return nil, "", &banklink.ProviderError{Reason: banklink.LoginProviderDown, Retryable: true, DisplayMessage: msgNotReady}
		}
		if err := sleep(ctx, p.cfg.SyncPoll); err != nil {
			return nil, "", err
		}
	}
}

// syncChanges is what /transactions/sync reported from a cursor.
type syncChanges struct {
	// changed are the added and modified transactions, each once (its
	// latest version), removed ones left out.
	changed []transaction
	// removed are those removed, when reading from a cursor; from the
	// start they never show.
	removed []removedTransaction
	status  string
	// next is the cursor after these changes.
	next string
}

// syncFrom pages through /transactions/sync from cursor ("" for the
// start) to the end.
func (p *Provider) syncFrom(ctx context.Context, token, cursor string) (syncChanges, error) {
	type syncRequest struct {
		AccessToken string `json:"access_token"`
		Cursor      string `json:"cursor,omitempty"`
		Count       int    `json:"count"`
	}
	var order []string
	byID := map[string]transaction{}
	removed := map[string]removedTransaction{}
	for {
		var resp struct {
			Added                    []transaction        `json:"added"`
			Modified                 []transaction        `json:"modified"`
			Removed                  []removedTransaction `json:"removed"`
			NextCursor               string               `json:"next_cursor"`
			HasMore                  bool                 `json:"has_more"`
			TransactionsUpdateStatus string               `json:"transactions_update_status"`
		}
		if err := p.call(ctx, "/transactions/sync", syncRequest{AccessToken: token, Cursor: cursor, Count: syncPageSize}, &resp, maxResponse); err != nil {
			return syncChanges{}, err
		}
		for _, list := range [][]transaction{resp.Added, resp.Modified} {
			for _, t := range list {
				if _, ok := byID[t.TransactionID]; !ok {
					order = append(order, t.TransactionID)
				}
				byID[t.TransactionID] = t
				delete(removed, t.TransactionID)
			}
		}
		for _, r := range resp.Removed {
			delete(byID, r.TransactionID)
			removed[r.TransactionID] = r
		}
		if !resp.HasMore {
			ch := syncChanges{status: resp.TransactionsUpdateStatus, next: resp.NextCursor}
			for _, id := range order {
				if t, ok := byID[id]; ok {
					ch.changed = append(ch.changed, t)
				}
			}
			for _, r := range removed {
				ch.removed = append(ch.removed, r)
			}
			slices.SortFunc(ch.removed, func(a, b removedTransaction) int { return strings.Compare(a.TransactionID, b.TransactionID) })
			return ch, nil
		}
		if resp.NextCursor == "" || resp.NextCursor == cursor {
			return syncChanges{}, &banklink.Error{Code: banklink.EPROVIDER, Message: "Plaid's transaction pages did not advance."}
		}
		cursor = resp.NextCursor
	}
}

func (p *Provider) addHoldings(ctx context.Context, token string, ids []string, now time.Time, byID map[string]*banklink.AggregatedAccount) error {
	var resp struct {
		Holdings   []holding  `json:"holdings"`
		Securities []security `json:"securities"`
	}
	if err := p.call(ctx, "/investments/holdings/get", itemReq(token, ids), &resp, maxResponse); err != nil {
		if unavailable(err) {
			return nil
		}
		return err
	}
	secs := map[string]security{}
	for _, s := range resp.Securities {
		secs[s.SecurityID] = s
	}
	for _, h := range resp.Holdings {
		if a := byID[h.AccountID]; a != nil {
			a.Holdings = append(a.Holdings, mapHolding(h, secs[h.SecurityID], now))
		}
	}
	// Asked for and none held: an empty snapshot, not "not requested".
	for _, id := range ids {
		if a := byID[id]; a != nil && a.Holdings == nil {
			a.Holdings = []banklink.Holding{}
		}
	}
	return nil
}

func (p *Provider) addInvestmentTransactions(ctx context.Context, token string, ids []string, since, now time.Time, byID map[string]*banklink.AggregatedAccount) error {
	type options struct {
		AccountIDs []string `json:"account_ids,omitempty"`
		Count      int      `json:"count"`
		Offset     int      `json:"offset"`
	}
	type request struct {
		AccessToken string  `json:"access_token"`
		StartDate   string  `json:"start_date"`
		EndDate     string  `json:"end_date"`
		Options     options `json:"options"`
	}
	secs := map[string]security{}
	offset := 0
	for {
		var resp struct {
			InvestmentTransactions      []investmentTransaction `json:"investment_transactions"`
			Securities                  []security              `json:"securities"`
			TotalInvestmentTransactions int                     `json:"total_investment_transactions"`
		}
		err := p.call(ctx, "/investments/transactions/get", request{AccessToken: token,
			StartDate: since.UTC().Format(time.DateOnly), EndDate: now.UTC().Format(time.DateOnly),
			Options: options{AccountIDs: ids, Count: investmentsPageSize, Offset: offset}}, &resp, maxResponse)
		if err != nil {
			if unavailable(err) {
				return nil
			}
			return err
		}
		for _, s := range resp.Securities {
			secs[s.SecurityID] = s
		}
		for _, t := range resp.InvestmentTransactions {
			if a := byID[t.AccountID]; a != nil {
				var sec security
				if t.SecurityID != nil {
					sec = secs[*t.SecurityID]
				}
				a.InvestmentTransactions = append(a.InvestmentTransactions, mapInvestmentTransaction(t, sec))
			}
		}
		offset += len(resp.InvestmentTransactions)
		if len(resp.InvestmentTransactions) == 0 || offset >= resp.TotalInvestmentTransactions {
			return nil
		}
	}
}
