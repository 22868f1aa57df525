package fakeplaid

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type itemRequest struct {
	auth
	AccessToken string `json:"access_token"`
	Options     *struct {
		AccountIDs []string `json:"account_ids"`
	} `json:"options"`
}

// consented fails with ACCESS_NOT_GRANTED unless the customer agreed to
// share product's data (Item.ConsentedProducts).
func (it *Item) consented(product string) error {
	if !slices.Contains(it.ConsentedProducts, product) {
		return fail("ACCESS_NOT_GRANTED", "%s", product)
	}
	return nil
}

// item finds the request's Item and applies its error state.
func (s *Server) item(token string) (*Item, error) {
	if err := required("access_token", token); err != nil {
		return nil, err
	}
	it := s.byToken[token]
	if it == nil || it.removed {
		return nil, fail("INVALID_ACCESS_TOKEN", "")
	}
	if it.Error != "" {
		return nil, fail(it.Error, "")
	}
	return it, nil
}

// accounts returns the Item's accounts, filtered by ids when given.
func (it *Item) accounts(ids []string) ([]*Account, error) {
	if len(ids) == 0 {
		return it.Accounts, nil
	}
	var out []*Account
	for _, id := range ids {
		i := slices.IndexFunc(it.Accounts, func(a *Account) bool { return a.ID == id })
		if i < 0 {
			return nil, fail("INVALID_ACCOUNT_ID", "%s", id)
		}
		out = append(out, it.Accounts[i])
	}
	return out, nil
}

func (r itemRequest) ids() []string {
	if r.Options == nil {
		return nil
	}
	return r.Options.AccountIDs
}

func (s *Server) itemAndAccounts(body []byte) (*Item, []*Account, error) {
	var req itemRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	it, err := s.item(req.AccessToken)
	if err != nil {
		return nil, nil, err
	}
	accts, err := it.accounts(req.ids())
	return it, accts, err
}

// accountJSON is Plaid's AccountBase. verification_status and
// persistent_account_id are left out: Plaid sends them only for Auth's
// manual verification flows and some OAuth institutions, and neither is
// nullable.
func accountJSON(a *Account) map[string]any {
	balances := map[string]any{"available": a.Available, "current": a.Current, "limit": a.Limit,
		"iso_currency_code": a.Currency, "unofficial_currency_code": nil}
	if a.LastUpdated != nil {
		balances["last_updated_datetime"] = a.LastUpdated.UTC().Format(time.RFC3339)
	}
	return map[string]any{"account_id": a.ID, "name": a.Name, "official_name": nullable(a.OfficialName), "mask": a.Mask,
		"type": a.Type, "subtype": a.Subtype, "balances": balances}
}

func accountsJSON(accts []*Account) []map[string]any {
	out := []map[string]any{}
	for _, a := range accts {
		out = append(out, accountJSON(a))
	}
	return out
}

// investmentAccountsJSON are the accounts of the investments endpoints
// (InvestmentAccount): their balances carry margin_loan_amount.
func investmentAccountsJSON(accts []*Account) []map[string]any {
	out := accountsJSON(accts)
	for _, a := range out {
		a["balances"].(map[string]any)["margin_loan_amount"] = nil
	}
	return out
}

func itemJSON(it *Item) map[string]any {
	return map[string]any{"item_id": it.ID, "institution_id": it.InstitutionID, "webhook": it.Webhook, "error": nil,
		"available_products": []string{"balance"}, "billed_products": slices.Concat([]string{}, it.Products), "products": slices.Concat([]string{}, it.Products),
		"consented_products": slices.Concat(it.ConsentedProducts, []string{"balance"}), "update_type": "background", "consent_expiration_time": nil}
}

func (s *Server) accountsGet(r *http.Request, body []byte) (any, error) {
	it, accts, err := s.itemAndAccounts(body)
	if err != nil {
		return nil, err
	}
	return map[string]any{"accounts": accountsJSON(accts), "item": itemJSON(it)}, nil
}

// balanceGet is /accounts/balance/get: the balances now, except where the
// institution has no real-time balance (CapitalOne's non-depository
// accounts), which need options.min_last_updated_datetime and fail when
// their balance is older than it.
func (s *Server) balanceGet(r *http.Request, body []byte) (any, error) {
	var req struct {
		auth
		AccessToken string `json:"access_token"`
		Options     *struct {
			AccountIDs             []string `json:"account_ids"`
			MinLastUpdatedDatetime *string  `json:"min_last_updated_datetime"`
		} `json:"options"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	it, err := s.item(req.AccessToken)
	if err != nil {
		return nil, err
	}
	var ids []string
	var min *time.Time
	if req.Options != nil {
		ids = req.Options.AccountIDs
		if v := req.Options.MinLastUpdatedDatetime; v != nil {
			t, err := time.Parse(time.RFC3339, *v)
			if err != nil {
				return nil, fail("INVALID_FIELD", "options.min_last_updated_datetime must be an ISO 8601 timestamp")
			}
			min = &t
		}
	}
	accts, err := it.accounts(ids)
	if err != nil {
		return nil, err
	}
	for _, a := range accts {
		if it.InstitutionID != CapitalOne || a.Type == "depository" {
			// The option is ignored: the balance is real-time.
			continue
		}
		if min == nil {
			return nil, fail("INVALID_FIELD", "options.min_last_updated_datetime is required for non-depository accounts at this institution")
		}
		if a.LastUpdated == nil || a.LastUpdated.Before(*min) {
			return nil, fail("LAST_UPDATED_DATETIME_OUT_OF_RANGE", "")
		}
	}
	return map[string]any{"accounts": accountsJSON(accts), "item": itemJSON(it)}, nil
}

func (s *Server) itemGet(r *http.Request, body []byte) (any, error) {
	var req itemRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	it := s.byToken[req.AccessToken]
	if it == nil || it.removed {
		return nil, fail("INVALID_ACCESS_TOKEN", "")
	}
	out := itemJSON(it)
	if it.Error != "" {
		def := catalog[it.Error]
		out["error"] = map[string]any{"error_type": def.typ, "error_code": it.Error, "error_message": def.message, "display_message": nil}
	}
	return map[string]any{"item": out}, nil
}

func (s *Server) authGet(r *http.Request, body []byte) (any, error) {
	it, accts, err := s.itemAndAccounts(body)
	if err != nil {
		return nil, err
	}
	if err := it.consented("auth"); err != nil {
		return nil, err
	}
	ach, eft := []map[string]any{}, []map[string]any{}
	var depository []*Account
	for _, a := range accts {
		if a.Type != "depository" {
			continue
		}
		depository = append(depository, a)
		if a.ACH != nil {
			ach = append(ach, map[string]any{"account_id": a.ID, "account": a.ACH.Account, "routing": a.ACH.Routing, "wire_routing": a.ACH.WireRouting})
		}
		if a.EFT != nil {
			eft = append(eft, map[string]any{"account_id": a.ID, "account": a.EFT.Account, "institution": a.EFT.Institution, "branch": a.EFT.Branch})
		}
	}
	if len(depository) == 0 {
		return nil, fail("NO_AUTH_ACCOUNTS", "")
	}
	return map[string]any{"accounts": accountsJSON(depository), "item": itemJSON(it),
		"numbers": map[string]any{"ach": ach, "eft": eft, "international": []any{}, "bacs": []any{}}}, nil
}

func (s *Server) identityGet(r *http.Request, body []byte) (any, error) {
	it, accts, err := s.itemAndAccounts(body)
	if err != nil {
		return nil, err
	}
	if err := it.consented("identity"); err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, a := range accts {
		j := accountJSON(a)
		owners := []map[string]any{}
		for _, o := range a.Owners {
			emails, phones := []map[string]any{}, []map[string]any{}
			for i, e := range o.Emails {
				emails = append(emails, map[string]any{"data": e, "primary": i == 0, "type": "primary"})
			}
			for i, p := range o.Phones {
				kind := "home"
				if i > 0 {
					kind = "work"
				}
				phones = append(phones, map[string]any{"data": p, "primary": i == 0, "type": kind})
			}
			owners = append(owners, map[string]any{"names": o.Names, "emails": emails, "phone_numbers": phones,
				"addresses": []map[string]any{{"primary": true, "data": map[string]any{"street": o.Street, "city": o.City,
					"region": o.Region, "postal_code": o.PostalCode, "country": o.CountryCode}}}})
		}
		j["owners"] = owners
		out = append(out, j)
	}
	return map[string]any{"accounts": out, "item": itemJSON(it)}, nil
}

func txJSON(t Transaction) map[string]any {
	j := map[string]any{"transaction_id": t.ID, "account_id": t.AccountID, "amount": t.Amount, "iso_currency_code": t.Currency,
		"unofficial_currency_code": nil, "date": t.Date, "authorized_date": nullable(t.AuthorizedDate), "datetime": nil,
		"authorized_datetime": nil, "name": t.Name, "merchant_name": nullable(t.MerchantName), "pending": t.Pending,
		"pending_transaction_id": nullable(t.PendingTransactionID), "payment_channel": "other", "account_owner": nil,
		"transaction_code": nil, "check_number": nil, "counterparties": []any{}, "category": nil, "category_id": nil,
		"personal_finance_category": nil,
		// Plaid sends both objects with every key, null when unknown.
		"location": map[string]any{"address": nil, "city": nil, "region": nil, "postal_code": nil, "country": nil, "lat": nil, "lon": nil,
			"store_number": nil},
		"payment_meta": map[string]any{"reference_number": nil, "ppd_id": nil, "payee": nil, "by_order_of": nil, "payer": nil,
			"payment_method": nil, "payment_processor": nil, "reason": nil}}
	if t.Primary != "" {
		j["personal_finance_category"] = map[string]any{"primary": t.Primary, "detailed": t.Detailed, "confidence_level": "VERY_HIGH"}
	}
	return j
}

// Sync cursors: "s<version>:<offset>" pages through a snapshot of the
// Item's transactions (an empty cursor starts one); "c<version>" is the
// position after everything up to version, from which later changes are
// reported.
func (s *Server) transactionsSync(r *http.Request, body []byte) (any, error) {
	var req struct {
		auth
		AccessToken string `json:"access_token"`
		Cursor      string `json:"cursor"`
		Count       *int   `json:"count"`
		Options     *struct {
			IncludeOriginalDescription bool   `json:"include_original_description"`
			DaysRequested              int    `json:"days_requested"`
			AccountID                  string `json:"account_id"`
		} `json:"options"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	it, err := s.item(req.AccessToken)
	if err != nil {
		return nil, err
	}
	if err := it.consented("transactions"); err != nil {
		return nil, err
	}
	count := 100
	if req.Count != nil {
		count = *req.Count
	}
	if count < 1 || count > 500 {
		return nil, fail("INVALID_FIELD", "count must be between 1 and 500")
	}
	if s.SyncPageLimit > 0 && count > s.SyncPageLimit {
		count = s.SyncPageLimit
	}
	accounts := accountsJSON(it.Accounts)
	if it.NotReadySyncs > 0 {
		it.NotReadySyncs--
		return map[string]any{"added": []any{}, "modified": []any{}, "removed": []any{}, "next_cursor": "", "has_more": false,
			"transactions_update_status": "NOT_READY", "accounts": accounts}, nil
	}
	status := "HISTORICAL_UPDATE_COMPLETE"
	if it.InitialOnlySyncs > 0 {
		it.InitialOnlySyncs--
		status = "INITIAL_UPDATE_COMPLETE"
	}
	added, modified, removed := []map[string]any{}, []map[string]any{}, []map[string]any{}
	next, more := "", false
	switch {
	case req.Cursor == "" || strings.HasPrefix(req.Cursor, "s"):
		version, offset := it.version, 0
		if req.Cursor != "" {
			v, o, ok := strings.Cut(req.Cursor[1:], ":")
			var e1, e2 error
			version, e1 = strconv.Atoi(v)
			offset, e2 = strconv.Atoi(o)
			if !ok || e1 != nil || e2 != nil || offset < 0 {
				return nil, fail("INVALID_FIELD", "cursor")
			}
			if it.MutateOnNextPage {
				it.MutateOnNextPage = false
				it.version++
			}
			if version != it.version {
				return nil, fail("TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION", "")
			}
		}
		end := min(offset+count, len(it.Transactions))
		for _, t := range it.Transactions[min(offset, end):end] {
			added = append(added, txJSON(*t))
		}
		if end < len(it.Transactions) {
			next, more = fmt.Sprintf("s%d:%d", version, end), true
		} else {
			next = fmt.Sprintf("c%d", version)
		}
	case strings.HasPrefix(req.Cursor, "c"):
		from, err := strconv.Atoi(req.Cursor[1:])
		if err != nil {
			return nil, fail("INVALID_FIELD", "cursor")
		}
		n := 0
		last := from
		for _, c := range it.log {
			if c.version <= from {
				continue
			}
			if n == count {
				more = true
				break
			}
			n++
			last = c.version
			switch c.kind {
			case "added":
				added = append(added, txJSON(c.tx))
			case "modified":
				modified = append(modified, txJSON(c.tx))
			case "removed":
				removed = append(removed, map[string]any{"transaction_id": c.tx.ID, "account_id": c.tx.AccountID})
			}
		}
		if !more {
			last = it.version
		}
		next = fmt.Sprintf("c%d", last)
	default:
		return nil, fail("INVALID_FIELD", "cursor")
	}
	return map[string]any{"added": added, "modified": modified, "removed": removed, "next_cursor": next, "has_more": more,
		"transactions_update_status": status, "accounts": accounts}, nil
}

func securitiesJSON(list []*Security) []map[string]any {
	out := []map[string]any{}
	for _, sec := range list {
		out = append(out, map[string]any{"security_id": sec.ID, "name": sec.Name, "ticker_symbol": sec.Ticker, "cusip": nullable(sec.CUSIP),
			"isin": nullable(sec.ISIN), "sedol": nil, "type": sec.Type, "close_price": sec.ClosePrice, "iso_currency_code": "USD",
			"unofficial_currency_code": nil, "is_cash_equivalent": sec.Type == "cash", "institution_id": nil, "institution_security_id": nil,
			"proxy_security_id": nil, "close_price_as_of": nil, "update_datetime": nil, "market_identifier_code": nil, "option_contract": nil,
			"sector": nil, "industry": nil, "cfi_code": nil, "fixed_income": nil})
	}
	return out
}

func (s *Server) investmentAccounts(it *Item, ids []string) ([]*Account, error) {
	if len(it.Securities) == 0 {
		return nil, fail("PRODUCTS_NOT_SUPPORTED", "investments")
	}
	if err := it.consented("investments"); err != nil {
		return nil, err
	}
	accts, err := it.accounts(ids)
	if err != nil {
		return nil, err
	}
	var out []*Account
	for _, a := range accts {
		if a.Type == "investment" {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fail("NO_INVESTMENT_ACCOUNTS", "")
	}
	return out, nil
}

func (s *Server) holdingsGet(r *http.Request, body []byte) (any, error) {
	var req itemRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	it, err := s.item(req.AccessToken)
	if err != nil {
		return nil, err
	}
	accts, err := s.investmentAccounts(it, req.ids())
	if err != nil {
		return nil, err
	}
	holdings := []map[string]any{}
	for _, h := range it.Holdings {
		if slices.ContainsFunc(accts, func(a *Account) bool { return a.ID == h.AccountID }) {
			holdings = append(holdings, map[string]any{"account_id": h.AccountID, "security_id": h.SecurityID, "quantity": h.Quantity,
				"institution_price": h.Price, "institution_value": h.Value, "cost_basis": h.CostBasis, "iso_currency_code": h.Currency,
				"unofficial_currency_code": nil, "institution_price_as_of": nil, "institution_price_datetime": nil, "vested_quantity": nil, "vested_value": nil})
		}
	}
	return map[string]any{"accounts": investmentAccountsJSON(accts), "holdings": holdings, "securities": securitiesJSON(it.Securities), "item": itemJSON(it)}, nil
}

func (s *Server) investmentTransactionsGet(r *http.Request, body []byte) (any, error) {
	var req struct {
		auth
		AccessToken string `json:"access_token"`
		StartDate   string `json:"start_date"`
		EndDate     string `json:"end_date"`
		Options     *struct {
			AccountIDs []string `json:"account_ids"`
			Count      *int     `json:"count"`
			Offset     int      `json:"offset"`
		} `json:"options"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := required("access_token", req.AccessToken, "start_date", req.StartDate, "end_date", req.EndDate); err != nil {
		return nil, err
	}
	start, e1 := time.Parse(time.DateOnly, req.StartDate)
	end, e2 := time.Parse(time.DateOnly, req.EndDate)
	if e1 != nil || e2 != nil || end.Before(start) {
		return nil, fail("INVALID_FIELD", "start_date and end_date must be YYYY-MM-DD, start before end")
	}
	it, err := s.item(req.AccessToken)
	if err != nil {
		return nil, err
	}
	var ids []string
	count, offset := 100, 0
	if req.Options != nil {
		ids, offset = req.Options.AccountIDs, req.Options.Offset
		if req.Options.Count != nil {
			count = *req.Options.Count
		}
	}
	if count < 1 || count > 500 || offset < 0 {
		return nil, fail("INVALID_FIELD", "options.count must be between 1 and 500 and options.offset not negative")
	}
	if s.InvestmentsPageLimit > 0 && count > s.InvestmentsPageLimit {
		count = s.InvestmentsPageLimit
	}
	accts, err := s.investmentAccounts(it, ids)
	if err != nil {
		return nil, err
	}
	var match []*InvestmentTransaction
	for _, t := range it.InvestmentTransactions {
		if t.Date >= req.StartDate && t.Date <= req.EndDate && slices.ContainsFunc(accts, func(a *Account) bool { return a.ID == t.AccountID }) {
			match = append(match, t)
		}
	}
	page := []map[string]any{}
	for _, t := range match[min(offset, len(match)):min(offset+count, len(match))] {
		page = append(page, map[string]any{"investment_transaction_id": t.ID, "account_id": t.AccountID, "security_id": nullable(t.SecurityID),
			"date": t.Date, "name": t.Name, "quantity": t.Quantity, "amount": t.Amount, "price": t.Price, "fees": t.Fees, "type": t.Type,
			"subtype": t.Subtype, "iso_currency_code": t.Currency, "unofficial_currency_code": nil, "cancel_transaction_id": nil})
	}
	return map[string]any{"accounts": investmentAccountsJSON(accts), "investment_transactions": page, "securities": securitiesJSON(it.Securities),
		"total_investment_transactions": len(match), "item": itemJSON(it)}, nil
}

func (s *Server) itemRemove(r *http.Request, body []byte) (any, error) {
	var req itemRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := required("access_token", req.AccessToken); err != nil {
		return nil, err
	}
	it := s.byToken[req.AccessToken]
	if it == nil || it.removed {
		return nil, fail("INVALID_ACCESS_TOKEN", "")
	}
	// Removal works whatever state the Item is in.
	it.removed = true
	return map[string]any{}, nil
}

// Removed reports whether the Item was removed with /item/remove.
func (it *Item) Removed() bool { return it.removed }

func (s *Server) resetLogin(r *http.Request, body []byte) (any, error) {
	var req itemRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	it, err := s.item(req.AccessToken)
	if err != nil {
		return nil, err
	}
	it.Error = "ITEM_LOGIN_REQUIRED"
	return map[string]any{"reset_login": true}, nil
}

func institutionJSON(in *Institution, metadata, status bool) map[string]any {
	j := map[string]any{"institution_id": in.ID, "name": in.Name, "products": in.Products, "country_codes": in.CountryCodes,
		"routing_numbers": append([]string{}, in.RoutingNumbers...), "dtc_numbers": []string{}, "oauth": in.OAuth, "url": nil, "primary_color": nil, "logo": nil}
	if metadata {
		j["url"] = nullable(in.URL)
		j["primary_color"] = "#1f1f1f"
		// A 1×1 PNG.
		j["logo"] = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	}
	if status && in.Status != "" {
		ps := map[string]any{"status": in.Status, "last_status_change": "2024-01-01T00:00:00Z",
			"breakdown": map[string]any{"success": 0.9, "error_plaid": 0.05, "error_institution": 0.05}}
		j["status"] = map[string]any{"item_logins": ps, "transactions_updates": nil, "auth": nil, "identity": nil,
			"investments_updates": nil, "liabilities_updates": nil, "liabilities": nil, "investments": nil, "health_incidents": nil}
	}
	return j
}

func (s *Server) institutionsGet(r *http.Request, body []byte) (any, error) {
	var req struct {
		auth
		Count        *int     `json:"count"`
		Offset       *int     `json:"offset"`
		CountryCodes []string `json:"country_codes"`
		Options      *struct {
			Products                         []string `json:"products"`
			RoutingNumbers                   []string `json:"routing_numbers"`
			OAuth                            *bool    `json:"oauth"`
			IncludeOptionalMetadata          bool     `json:"include_optional_metadata"`
			IncludeAuthMetadata              bool     `json:"include_auth_metadata"`
			IncludePaymentInitiationMetadata bool     `json:"include_payment_initiation_metadata"`
		} `json:"options"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := required("count", req.Count != nil, "offset", req.Offset != nil, "country_codes", req.CountryCodes); err != nil {
		return nil, err
	}
	if *req.Count < 1 || *req.Count > 500 || *req.Offset < 0 {
		return nil, fail("INVALID_FIELD", "count must be between 1 and 500 and offset not negative")
	}
	count := *req.Count
	if s.InstitutionsPageLimit > 0 && count > s.InstitutionsPageLimit {
		count = s.InstitutionsPageLimit
	}
	var match []*Institution
	for _, in := range s.institutions {
		served := slices.ContainsFunc(req.CountryCodes, func(c string) bool { return slices.Contains(in.CountryCodes, c) })
		if req.Options != nil {
			for _, p := range req.Options.Products {
				served = served && slices.Contains(in.Products, p)
			}
			if req.Options.OAuth != nil {
				served = served && in.OAuth == *req.Options.OAuth
			}
		}
		if served {
			match = append(match, in)
		}
	}
	metadata := req.Options != nil && req.Options.IncludeOptionalMetadata
	out := []map[string]any{}
	for _, in := range match[min(*req.Offset, len(match)):min(*req.Offset+count, len(match))] {
		out = append(out, institutionJSON(in, metadata, false))
	}
	return map[string]any{"institutions": out, "total": len(match)}, nil
}

func (s *Server) institutionsGetByID(r *http.Request, body []byte) (any, error) {
	var req struct {
		auth
		InstitutionID string   `json:"institution_id"`
		CountryCodes  []string `json:"country_codes"`
		Options       *struct {
			IncludeOptionalMetadata          bool `json:"include_optional_metadata"`
			IncludeStatus                    bool `json:"include_status"`
			IncludeAuthMetadata              bool `json:"include_auth_metadata"`
			IncludePaymentInitiationMetadata bool `json:"include_payment_initiation_metadata"`
		} `json:"options"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := required("institution_id", req.InstitutionID, "country_codes", req.CountryCodes); err != nil {
		return nil, err
	}
	for _, in := range s.institutions {
		if in.ID == req.InstitutionID {
			return map[string]any{"institution": institutionJSON(in, req.Options != nil && req.Options.IncludeOptionalMetadata,
				req.Options != nil && req.Options.IncludeStatus)}, nil
		}
	}
	return nil, fail("INVALID_INSTITUTION", "")
}
