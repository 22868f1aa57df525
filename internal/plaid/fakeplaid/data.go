package fakeplaid

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Institution is an institution of the fake directory.
type Institution struct {
	ID           string
	Name         string
	Products     []string
	CountryCodes []string
	URL          string
	OAuth        bool
	// Status, when set (HEALTHY, DEGRADED, DOWN), is the item_logins
	// status /institutions/get_by_id reports with include_status.
	Status string
	// RoutingNumbers are listed as routing_numbers.
	RoutingNumbers []string
}

// DefaultInstitutions is the fake directory: Plaid's Sandbox institutions
// and a few well-known banks.
func DefaultInstitutions() []*Institution {
	all := []string{"assets", "auth", "balance", "identity", "investments", "liabilities", "transactions"}
	return []*Institution{
		{ID: "ins_56", Name: "Chase", Products: all, CountryCodes: []string{"US"}, URL: "https://www.chase.com", OAuth: true},
		{ID: "ins_127991", Name: "Wells Fargo", Products: all, CountryCodes: []string{"US"}, URL: "https://www.wellsfargo.com", OAuth: true},
		// Plaid's Sandbox answers auth with routing number 011401533.
		{ID: "ins_109508", Name: "First Platypus Bank", Products: all, CountryCodes: []string{"US", "CA"}, URL: "https://plaid.com", RoutingNumbers: []string{"011401533"}},
		{ID: "ins_109509", Name: "First Gingham Credit Union", Products: []string{"auth", "balance", "identity", "transactions"}, CountryCodes: []string{"US"}},
		{ID: "ins_109512", Name: "Houndstooth Bank", Products: all, CountryCodes: []string{"US"}},
		{ID: "ins_115616", Name: "Vanguard", Products: []string{"balance", "identity", "investments"}, CountryCodes: []string{"US"}, URL: "https://investor.vanguard.com"},
		{ID: "ins_39", Name: "RBC Royal Bank", Products: []string{"auth", "balance", "identity", "transactions"}, CountryCodes: []string{"CA"}, URL: "https://www.rbcroyalbank.com"},
		{ID: "ins_116999", Name: "Banque Société Générale", Products: []string{"balance", "transactions"}, CountryCodes: []string{"CA"}},
		{ID: CapitalOne, Name: "Capital One", Products: []string{"auth", "balance", "identity", "transactions"}, CountryCodes: []string{"US"},
			URL: "https://www.capitalone.com", OAuth: true},
	}
}

// CapitalOne is Plaid's Capital One, which has no real-time balance for
// its non-depository accounts (cards, loans): /accounts/balance/get on
// them needs options.min_last_updated_datetime, else INVALID_FIELD, and
// fails with LAST_UPDATED_DATETIME_OUT_OF_RANGE when the balance is
// older (Plaid's spec, MinLastUpdatedDatetime).
const CapitalOne = "ins_128026"

// Item is a linked login with its data. Amounts follow Plaid's rules:
// transaction amounts are positive when money leaves the account;
// balances are positive, and for credit accounts the amount owed.
type Item struct {
	ID            string
	InstitutionID string
	AccessToken   string
	Webhook       string
	// Products are those the Item was initialised with: the Link token's
	// products and the required_if_supported_products the institution
	// supports.
	Products []string
	// ConsentedProducts are those the customer agreed to share: the
	// Link token's products, required_if_supported_products and
	// optional_products the institution supports, and
	// additional_consented_products, less any the customer withheld.
	// Product endpoints answer ACCESS_NOT_GRANTED for the others.
	ConsentedProducts []string
	Accounts          []*Account
	Transactions      []*Transaction
	Securities        []*Security
	Holdings          []*Holding
	// InvestmentTransactions are newest first.
	InvestmentTransactions []*InvestmentTransaction
	// Error, when set, is the error code every product call fails with.
	Error string
	// NotReadySyncs is how many more /transactions/sync calls answer
	// NOT_READY (no data yet); InitialOnlySyncs how many more after them
	// answer INITIAL_UPDATE_COMPLETE (history not pulled yet).
	NotReadySyncs, InitialOnlySyncs int
	// MutateOnNextPage makes the next /transactions/sync call that
	// continues a pagination find the data changed
	// (TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION).
	MutateOnNextPage bool

	seq     int
	version int
	removed bool
	log     []change
}

// Account is an account of an Item.
type Account struct {
	ID, Name, OfficialName, Mask, Type, Subtype string
	Available, Current, Limit                   *float64
	Currency                                    string
	// LastUpdated, when set, is when the institution last updated the
	// balance (last_updated_datetime): Capital One's non-depository
	// accounts, whose balance is not real-time.
	LastUpdated *time.Time
	// ACH or EFT numbers, for checking and savings accounts.
	ACH *ACH
	EFT *EFT
	// Owners are what /identity/get reports.
	Owners []Owner
}

// ACH numbers (US).
type ACH struct{ Account, Routing, WireRouting string }

// EFT numbers (Canada).
type EFT struct{ Account, Institution, Branch string }

// Owner is an account holder as Identity reports it.
type Owner struct {
	Names                   []string
	Emails, Phones          []string
	Street, City, Region    string
	PostalCode, CountryCode string
}

// Transaction is a bank or card transaction.
type Transaction struct {
	ID, AccountID string
	// Amount is positive when money leaves the account.
	Amount         float64
	Currency       string
	Date           string
	AuthorizedDate string
	Name           string
	MerchantName   string
	Pending        bool
	// PendingTransactionID links a posted transaction to the pending one
	// it replaced.
	PendingTransactionID string
	Primary, Detailed    string
}

// Security is a security held or traded.
type Security struct {
	ID, Name, Ticker, CUSIP, ISIN, Type string
	ClosePrice                          float64
}

// Holding is a position.
type Holding struct {
	AccountID, SecurityID string
	Quantity, Price       float64
	Value                 float64
	CostBasis             *float64
	Currency              string
}

// InvestmentTransaction is a trade, dividend, fee or transfer.
type InvestmentTransaction struct {
	ID, AccountID, SecurityID, Date, Name, Type, Subtype string
	// Amount is positive when cash leaves the account.
	Quantity, Amount, Price, Fees float64
	Currency                      string
}

// change is one entry of an Item's transaction history, for incremental
// sync cursors.
type change struct {
	version int
	kind    string // added, modified, removed
	tx      Transaction
}

// AddTransaction adds t (call inside Mutate): /transactions/sync reports
// it.
func (it *Item) AddTransaction(t *Transaction) {
	it.version++
	it.Transactions = append(it.Transactions, t)
	it.log = append(it.log, change{it.version, "added", *t})
}

// RemoveTransaction removes the transaction id (call inside Mutate).
func (it *Item) RemoveTransaction(id string) {
	for i, t := range it.Transactions {
		if t.ID == id {
			it.version++
			it.Transactions = slices.Delete(it.Transactions, i, i+1)
			it.log = append(it.log, change{it.version, "removed", *t})
			return
		}
	}
}

// Post posts the pending transaction id as Plaid does: the pending one
// is removed and a posted one, with a new id and pending_transaction_id
// pointing back, is added. It returns the posted transaction.
func (it *Item) Post(id, postedID, date string) *Transaction {
	for _, t := range it.Transactions {
		if t.ID == id && t.Pending {
			posted := *t
			posted.ID, posted.Pending, posted.PendingTransactionID, posted.Date = postedID, false, id, date
			it.RemoveTransaction(id)
			it.AddTransaction(&posted)
			return &posted
		}
	}
	return nil
}

func f(v float64) *float64 { return &v }

func round(v float64) float64 { return math.Round(v*100) / 100 }

// newItem creates an Item at inst with deterministic data: checking and
// savings accounts with ACH (US) or EFT (Canada) numbers, a credit card,
// and where the institution has investments a brokerage account; about
// 22 months of transactions, two of them pending and one posted that
// replaced a pending one.
func (s *Server) newItem(inst *Institution, req linkTokenCreateRequest, withheld []string, now time.Time) *Item {
	it := &Item{ID: "item-" + s.id("it"), InstitutionID: inst.ID, Webhook: req.Webhook, Products: slices.Clone(req.Products)}
	supported := func(p string) bool { return slices.Contains(inst.Products, p) }
	for _, p := range req.RequiredIfSupportedProducts {
		if supported(p) {
			it.Products = append(it.Products, p)
		}
	}
	consent := slices.Clone(it.Products)
	for _, p := range req.OptionalProducts {
		if supported(p) {
			consent = append(consent, p)
		}
	}
	consent = append(consent, req.AdditionalConsentedProducts...)
	for _, p := range consent {
		if !slices.Contains(withheld, p) && !slices.Contains(it.ConsentedProducts, p) {
			it.ConsentedProducts = append(it.ConsentedProducts, p)
		}
	}
	it.AccessToken = "access-sandbox-" + it.ID
	it.seq = s.seq
	cur := "USD"
	canadian := !slices.Contains(inst.CountryCodes, "US")
	if canadian {
		cur = "CAD"
	}
	owner := Owner{Names: []string{"Alberta Bobbeth Charleson"}, Emails: []string{"accountholder0@example.com"},
		Phones: []string{"+1 111-555-3333", "+1 111-555-4444"}, Street: "2992 Cameron Road", City: "Malakoff",
		Region: "NY", PostalCode: "14236", CountryCode: "US"}
	acct := func(n int, name, official, typ, sub string, avail, current, limit *float64) *Account {
		a := &Account{ID: fmt.Sprintf("%s-acc%d", it.ID, n), Name: name, OfficialName: official, Mask: fmt.Sprintf("%04d", 1111*n),
			Type: typ, Subtype: sub, Available: avail, Current: current, Limit: limit, Currency: cur, Owners: []Owner{owner}}
		if typ == "depository" {
			if canadian {
				a.EFT = &EFT{Account: fmt.Sprintf("11112222%04d", 1111*n), Institution: "021", Branch: "01140"}
			} else {
				a.ACH = &ACH{Account: fmt.Sprintf("111122223333%04d", 1111*n), Routing: "011401533", WireRouting: "021000021"}
			}
		}
		return a
	}
	checking := acct(0, "Plaid Checking", "Plaid Gold Standard 0% Interest Checking", "depository", "checking", f(100), f(110), nil)
	savings := acct(1, "Plaid Saving", "Plaid Silver Standard 0.1% Interest Saving", "depository", "savings", f(200), f(210), nil)
	card := acct(3, "Plaid Credit Card", "Plaid Diamond 12.5% APR Interest Credit Card", "credit", "credit card", nil, f(410), f(2000))
	it.Accounts = []*Account{checking, savings, card}
	if inst.ID == CapitalOne {
		// Capital One updates its cards' balances about once a day.
		updated := now.Add(-10 * time.Hour).UTC().Truncate(time.Second)
		card.LastUpdated = &updated
	}
	if slices.Contains(inst.Products, "investments") {
		brokerage := acct(5, "Plaid Brokerage", "", "investment", "brokerage", nil, nil, nil)
		brokerage.Owners = []Owner{owner}
		it.Accounts = append(it.Accounts, brokerage)
		s.investments(it, brokerage, now)
	}
	s.transactions(it, checking, savings, card, now)
	s.items[it.ID] = it
	s.byToken[it.AccessToken] = it
	return it
}

func (s *Server) transactions(it *Item, checking, savings, card *Account, now time.Time) {
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	n := 0
	add := func(a *Account, amount float64, d time.Time, name, merchant, primary, detailed string, authorized bool) *Transaction {
		n++
		t := &Transaction{ID: fmt.Sprintf("%s-tx%04d", it.ID, n), AccountID: a.ID, Amount: round(amount), Currency: a.Currency,
			Date: day(d), Name: name, MerchantName: merchant, Primary: primary, Detailed: detailed}
		if authorized {
			t.AuthorizedDate = day(d.AddDate(0, 0, -1))
		}
		it.AddTransaction(t)
		return t
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, time.UTC)
	start := today.AddDate(0, -22, 0)
	for m := start; !m.After(today.AddDate(0, 0, -3)); m = m.AddDate(0, 1, 0) {
		add(checking, -2500, m, "PAYROLL ACME CORP", "Acme Corp", "INCOME", "INCOME_WAGES", false)
		add(checking, 1500, m.AddDate(0, 0, 2), "RENT PAYMENT 4421", "", "RENT_AND_UTILITIES", "RENT_AND_UTILITIES_RENT", false)
		add(savings, -1.25, m.AddDate(0, 0, 1), "INTEREST PAYMENT", "", "INCOME", "INCOME_INTEREST_EARNED", false)
		add(card, -500, m.AddDate(0, 0, 5), "AUTOMATIC PAYMENT - THANK YOU", "", "LOAN_PAYMENTS", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT", false)
	}
	merchants := []struct{ name, merchant, primary, detailed string }{
		{"Uber 063015 SF**POOL**", "Uber", "TRANSPORTATION", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES"},
		{"Starbucks", "Starbucks", "FOOD_AND_DRINK", "FOOD_AND_DRINK_COFFEE"},
		{"AMAZON MKTPL", "Amazon", "GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES"},
		{"Touchstone Climbing", "Touchstone", "PERSONAL_CARE", "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS"},
	}
	i := 0
	for d := start.AddDate(0, 0, 1); !d.After(today.AddDate(0, 0, -3)); d = d.AddDate(0, 0, 4) {
		m := merchants[i%len(merchants)]
		add(card, 5+float64((i*37)%9000)/100, d, m.name, m.merchant, m.primary, m.detailed, true)
		if i%2 == 0 {
			add(checking, 40+float64((i*53)%6000)/100, d.AddDate(0, 0, 1), "SAFEWAY #1234", "Safeway", "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", true)
		}
		i++
	}
	// A refund: money back on the card.
	add(card, -23.50, today.AddDate(0, 0, -6), "AMAZON MKTPL REFUND", "Amazon", "GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", true)
	// A posted card transaction that replaced a pending one no longer
	// listed.
	posted := add(card, 12.99, today.AddDate(0, 0, -2), "Netflix", "Netflix", "ENTERTAINMENT", "ENTERTAINMENT_TV_AND_MOVIES", true)
	posted.PendingTransactionID = it.ID + "-pending-netflix"
	// Pending ones.
	p1 := add(checking, 4.33, today, "Starbucks", "Starbucks", "FOOD_AND_DRINK", "FOOD_AND_DRINK_COFFEE", false)
	p1.Pending = true
	p2 := add(card, 21.50, today.AddDate(0, 0, -1), "Uber 072515 SF**POOL**", "Uber", "TRANSPORTATION", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES", false)
	p2.Pending = true
	// The log starts from here: an Item's history is what it holds now.
	it.log = nil
	for _, t := range it.Transactions {
		it.log = append(it.log, change{it.version, "added", *t})
	}
}

func (s *Server) investments(it *Item, a *Account, now time.Time) {
	it.Securities = []*Security{
		{ID: "sec-vti", Name: "Vanguard Total Stock Market ETF", Ticker: "VTI", CUSIP: "922908769", ISIN: "US9229087690", Type: "etf", ClosePrice: 250.10},
		{ID: "sec-aapl", Name: "Apple Inc.", Ticker: "AAPL", CUSIP: "037833100", ISIN: "US0378331005", Type: "equity", ClosePrice: 190.50},
		{ID: "sec-usd", Name: "U S Dollar", Ticker: "CUR:USD", Type: "cash", ClosePrice: 1},
	}
	it.Holdings = []*Holding{
		{AccountID: a.ID, SecurityID: "sec-vti", Quantity: 10, Price: 250.10, Value: 2501.00, CostBasis: f(2000), Currency: a.Currency},
		{AccountID: a.ID, SecurityID: "sec-aapl", Quantity: 5, Price: 190.50, Value: 952.50, CostBasis: f(800), Currency: a.Currency},
		{AccountID: a.ID, SecurityID: "sec-usd", Quantity: 100, Price: 1, Value: 100, Currency: a.Currency},
	}
	total := 0.0
	for _, h := range it.Holdings {
		total += h.Value
	}
	a.Current = f(round(total))
	today := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, time.UTC)
	n := 0
	add := func(d time.Time, sec, name, typ, sub string, qty, amount, price, fees float64) {
		n++
		it.InvestmentTransactions = append(it.InvestmentTransactions, &InvestmentTransaction{ID: fmt.Sprintf("%s-inv%03d", it.ID, n),
			AccountID: a.ID, SecurityID: sec, Date: d.Format(time.DateOnly), Name: name, Type: typ, Subtype: sub,
			Quantity: qty, Amount: round(amount), Price: price, Fees: fees, Currency: a.Currency})
	}
	for m := 1; m <= 20; m++ {
		d := today.AddDate(0, -m, 0)
		add(d, "sec-vti", "BUY Vanguard Total Stock Market ETF", "buy", "buy", 1, 230+float64(m), 230+float64(m), 0)
		if m%3 == 0 {
			add(d.AddDate(0, 0, 5), "sec-vti", "DIVIDEND Vanguard Total Stock Market ETF", "cash", "dividend", 0, -12.34, 0, 0)
		}
	}
	add(today.AddDate(0, 0, -40), "sec-aapl", "SELL Apple Inc.", "sell", "sell", -1, -185, 185, 0)
	add(today.AddDate(0, 0, -41), "", "ACCOUNT FEE", "fee", "account fee", 0, 1.99, 0, 0)
	slices.SortStableFunc(it.InvestmentTransactions, func(x, y *InvestmentTransaction) int {
		switch {
		case x.Date > y.Date:
			return -1
		case x.Date < y.Date:
			return 1
		}
		return 0
	})
}
