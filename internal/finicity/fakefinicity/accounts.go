package fakefinicity

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

func unix(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

// accountJSON is the spec's CustomerAccount.
func (s *Server) accountJSON(l *Login, a *Account) map[string]any {
	last4 := a.Number[len(a.Number)-4:]
	m := map[string]any{"id": a.ID, "number": "xx" + last4, "accountNumberDisplay": last4, "realAccountNumberLast4": last4,
		"name": a.Name, "accountNickname": a.Name, "balance": a.Balance, "type": a.Type, "aggregationStatusCode": a.StatusCode,
		"status": "active", "customerId": l.CustomerID, "institutionId": strconv.FormatInt(l.InstitutionID, 10),
		"balanceDate": a.AggAttempt.Unix(), "aggregationAttemptDate": a.AggAttempt.Unix(), "createdDate": a.Created.Unix(),
		"currency": a.Currency, "institutionLoginId": mustInt(l.ID), "displayPosition": 1}
	if t := unix(a.AggSuccess); t != nil {
		m["aggregationSuccessDate"] = t
	}
	detail := map[string]any{"dateAsOf": a.AggAttempt.Unix()}
	if a.Available != nil {
		switch a.Type {
		case "creditCard":
			detail["creditAvailableAmount"] = *a.Available
		default:
			detail["availableBalanceAmount"] = *a.Available
		}
	}
	m["detail"] = detail
	if len(a.Positions) > 0 {
		var ps []map[string]any
		for _, p := range a.Positions {
			ps = append(ps, map[string]any{"id": p.ID, "symbol": p.Symbol, "securityName": p.SecurityName, "units": p.Units,
				"currentPrice": p.Price, "marketValue": p.Value, "securityType": "Stock", "securityId": p.CUSIP, "securityIdType": "CUSIP",
				"securityCurrency": "USD", "currentPriceDate": a.AggAttempt.Unix()})
		}
		m["position"] = ps
	}
	return m
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// customer checks the path's customer: 404 when it is not enrolled.
func (s *Server) customer(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := s.customers[r.PathValue("customerId")]; !ok {
		writeError(w, http.StatusNotFound, "14001", "Customer not found.")
		return false
	}
	return true
}

// institutionAccounts is GET …/customers/{c}/institutions/{i}/accounts:
// the customer's active accounts at the institution.
func (s *Server) institutionAccounts(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.customer(w, r) {
		return
	}
	inst, _ := strconv.ParseInt(r.PathValue("institutionId"), 10, 64)
	ids := make([]string, 0, len(s.logins))
	for id := range s.logins {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	accts := []map[string]any{}
	for _, id := range ids {
		l := s.logins[id]
		if l.Deleted || l.CustomerID != r.PathValue("customerId") || l.InstitutionID != inst {
			continue
		}
		for _, a := range l.Accounts {
			accts = append(accts, s.accountJSON(l, a))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": accts})
}

// login finds the path's institution login (404, code 38007, otherwise).
func (s *Server) login(w http.ResponseWriter, r *http.Request) *Login {
	if !s.customer(w, r) {
		return nil
	}
	l, ok := s.logins[r.PathValue("institutionLoginId")]
	if !ok || l.Deleted || l.CustomerID != r.PathValue("customerId") {
		writeError(w, http.StatusNotFound, "38007", "Customer does not have any accounts associated with institutionLoginId.")
		return nil
	}
	return l
}

func (s *Server) writeAccounts(w http.ResponseWriter, l *Login) {
	accts := []map[string]any{}
	for _, a := range l.Accounts {
		accts = append(accts, s.accountJSON(l, a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": accts})
}

// loginAccounts is GET …/institutionLogins/{l}/accounts.
func (s *Server) loginAccounts(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.login(w, r); l != nil {
		s.writeAccounts(w, l)
	}
}

// refresh is POST …/institutionLogins/{l}/accounts: Finicity aggregates
// the login now and answers with its accounts. A login whose accounts
// fail (a non-zero aggregation status) answers 500 with the code, as
// Finicity answers aggregation failures during API calls.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.login(w, r)
	if l == nil {
		return
	}
	now := s.now()
	l.Refreshes++
	for _, a := range l.Accounts {
		a.AggAttempt = now
		if a.StatusCode != 0 {
			writeError(w, http.StatusInternalServerError, strconv.Itoa(a.StatusCode), "Aggregation failed.")
			return
		}
		a.AggSuccess = now
	}
	s.writeAccounts(w, l)
}

// deleteLogin is DELETE …/institutionLogins/{l}.
func (s *Server) deleteLogin(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.login(w, r); l != nil {
		l.Deleted = true
		w.WriteHeader(http.StatusNoContent)
	}
}

// account finds the path's account among the customer's logins.
func (s *Server) account(w http.ResponseWriter, r *http.Request) (*Login, *Account) {
	if !s.customer(w, r) {
		return nil, nil
	}
	for _, l := range s.logins {
		if l.Deleted || l.CustomerID != r.PathValue("customerId") {
			continue
		}
		for _, a := range l.Accounts {
			if a.ID == r.PathValue("accountId") {
				return l, a
			}
		}
	}
	writeError(w, http.StatusNotFound, "38000", "Account not found.")
	return nil, nil
}

// details is GET /aggregation/v3/…/details: ACH numbers of checking,
// savings and money market accounts (400 for other types).
func (s *Server) details(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, a := s.account(w, r)
	if a == nil {
		return
	}
	if a.Routing == "" {
		writeError(w, http.StatusBadRequest, "10106", "Invalid Account Type")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"paymentInstruction": []map[string]any{{"type": "ach", "accountNumber": a.Number,
		"descriptors": []map[string]string{{"type": "routingNumber", "value": a.Routing}}}}})
}

// owner is GET /aggregation/v3/…/owner.
func (s *Server) owner(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, a := s.account(w, r)
	if a == nil {
		return
	}
	holders := []map[string]any{}
	if a.OwnerName != "" {
		holders = append(holders, map[string]any{"ownerName": a.OwnerName, "nameClassification": "person", "nameClassificationConfidenceScore": 1,
			"addresses": []map[string]any{{"ownerAddress": "7195 BELMONT ST. " + a.OwnerCity + ", NJ 08859", "type": "Home", "line1": "7195 BELMONT ST.",
				"city": a.OwnerCity, "state": "NJ", "postalCode": "08859", "country": "USA"}},
			"emails": []map[string]any{{"isPrimary": true, "email": a.OwnerEmail}},
			"phones": []map[string]any{{"type": "Mobile", "country": "+1", "phone": "8016667777"}}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"holders": holders})
}

// TxPageLimit is the most transactions a page holds.
const TxPageLimit = 1000

// transactions is GET /aggregation/v4/…/transactions: the account's
// transactions dated (transactionDate, else postedDate) from fromDate to
// toDate, pending ones only with includePending=true, sorted by date
// (sort asc or desc, desc by default), from the start-th record (1-based)
// limit at a time (25 by default, at most 1000).
func (s *Server) transactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := strconv.ParseInt(q.Get("fromDate"), 10, 64)
	to, err2 := strconv.ParseInt(q.Get("toDate"), 10, 64)
	if err1 != nil || err2 != nil || from > to {
		writeError(w, http.StatusBadRequest, "10005", "fromDate and toDate are required and fromDate must not be after toDate.")
		return
	}
	start, limit := 1, 25
	if v, err := strconv.Atoi(q.Get("start")); err == nil && v >= 1 {
		start = v
	}
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v >= 1 && v <= TxPageLimit {
		limit = v
	}
	pending := q.Get("includePending") == "true"
	s.mu.Lock()
	defer s.mu.Unlock()
	l, a := s.account(w, r)
	if a == nil {
		return
	}
	var list []*Transaction
	for _, t := range a.Transactions {
		if d := txDate(t).Unix(); d < from || d > to || (t.Status == "pending" && !pending) {
			continue
		}
		list = append(list, t)
	}
	slices.SortStableFunc(list, func(x, y *Transaction) int {
		c := txDate(x).Compare(txDate(y))
		if c == 0 {
			c = int(x.ID - y.ID)
		}
		if q.Get("sort") != "asc" {
			c = -c
		}
		return c
	})
	first := min(len(list), start-1)
	last := min(len(list), first+limit)
	out := []map[string]any{}
	for _, t := range list[first:last] {
		m := map[string]any{"id": t.ID, "amount": t.Amount, "accountId": mustInt(a.ID), "customerId": mustInt(l.CustomerID),
			"status": t.Status, "description": t.Description, "createdDate": t.Added.Unix(), "transactionDate": t.Date.Unix()}
		if !t.Posted.IsZero() {
			m["postedDate"] = t.Posted.Unix()
		}
		if t.Category != "" {
			m["categorization"] = map[string]any{"normalizedPayeeName": t.Description, "category": t.Category, "country": "USA"}
		}
		out = append(out, m)
	}
	sort := q.Get("sort")
	if sort == "" {
		sort = "desc"
	}
	writeJSON(w, http.StatusOK, map[string]any{"found": len(list), "displaying": len(out), "moreAvailable": strconv.FormatBool(last < len(list)),
		"fromDate": q.Get("fromDate"), "toDate": q.Get("toDate"), "sort": sort, "transactions": out})
}

func txDate(t *Transaction) time.Time {
	if !t.Date.IsZero() {
		return t.Date
	}
	return t.Posted
}
