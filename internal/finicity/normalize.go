package finicity

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"banklink"
	"banklink/internal/rawjson"
)

// flexString is an id or code Finicity's spec declares a string but its
// API also sends as a number (Meld's recorded Finicity accounts carry
// numeric customerId and realAccountNumberLast4).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// account is the spec's CustomerAccount.
type account struct {
	ID                     string          `json:"-"`
	IDRaw                  flexString      `json:"id"`
	Number                 *string         `json:"number"`
	AccountNumberDisplay   *string         `json:"accountNumberDisplay"`
	RealAccountNumberLast4 *flexString     `json:"realAccountNumberLast4"`
	Name                   string          `json:"name"`
	Balance                *float64        `json:"balance"`
	Type                   string          `json:"type"`
	AggregationStatusCode  *int            `json:"aggregationStatusCode"`
	Status                 string          `json:"status"`
	CustomerID             flexString      `json:"customerId"`
	InstitutionID          flexString      `json:"institutionId"`
	BalanceDate            *int64          `json:"balanceDate"`
	AggregationSuccessDate *int64          `json:"aggregationSuccessDate"`
	AggregationAttemptDate *int64          `json:"aggregationAttemptDate"`
	CreatedDate            *int64          `json:"createdDate"`
	Currency               string          `json:"currency"`
	InstitutionLoginID     flexString      `json:"institutionLoginId"`
	Detail                 *accountDetail  `json:"detail"`
	Position               []position      `json:"position"`
	raw                    json.RawMessage `json:"-"`
}

type accountDetail struct {
	AvailableBalanceAmount *float64 `json:"availableBalanceAmount"`
	CurrentBalance         *float64 `json:"currentBalance"`
	CreditAvailableAmount  *float64 `json:"creditAvailableAmount"`
	AvailableCashBalance   *float64 `json:"availableCashBalance"`
}

// position is the spec's CustomerAccountPosition (a holding).
type position struct {
	ID             *int64   `json:"id"`
	Symbol         *string  `json:"symbol"`
	Units          *float64 `json:"units"`
	CurrentPrice   *float64 `json:"currentPrice"`
	SecurityName   *string  `json:"securityName"`
	MarketValue    *float64 `json:"marketValue"`
	CostBasis      *float64 `json:"costBasis"`
	SecurityType   *string  `json:"securityType"`
	SecurityID     *string  `json:"securityId"`
	SecurityIDType *string  `json:"securityIdType"`
	SecurityCurr   *string  `json:"securityCurrency"`
	raw            json.RawMessage
}

func (a *account) UnmarshalJSON(b []byte) error {
	type fields account
	var err error
	a.raw, err = rawjson.Keep(b, (*fields)(a))
	a.ID = string(a.IDRaw)
	return err
}

func (p *position) UnmarshalJSON(b []byte) error {
	type fields position
	var err error
	p.raw, err = rawjson.Keep(b, (*fields)(p))
	return err
}

func (a account) loginID() string { return string(a.InstitutionLoginID) }

// mask is the last four digits of the account number Finicity shows.
func (a account) mask() string {
	for _, s := range []string{string(deref(a.RealAccountNumberLast4)), deref(a.AccountNumberDisplay), deref(a.Number)} {
		var digits []byte
		for _, c := range []byte(s) {
			if c >= '0' && c <= '9' {
				digits = append(digits, c)
			}
		}
		if len(digits) >= 4 {
			return string(digits[len(digits)-4:])
		}
		if len(digits) > 0 && s == string(deref(a.RealAccountNumberLast4)) {
			return string(digits)
		}
	}
	return ""
}

// accountTypes maps Finicity's account types (the spec's AccountType list)
// to banklink's type and subtype. Unknown types are OTHER with the type
// as subtype.
var accountTypes = map[string][2]string{
	"checking":                  {"DEPOSITORY", "CHECKING"},
	"savings":                   {"DEPOSITORY", "SAVINGS"},
	"cd":                        {"DEPOSITORY", "CD"},
	"moneyMarket":               {"DEPOSITORY", "MONEY_MARKET"},
	"creditCard":                {"CREDIT", "CREDIT_CARD"},
	"lineOfCredit":              {"CREDIT", "LINE_OF_CREDIT"},
	"investment":                {"INVESTMENT", "OTHER"},
	"investmentTaxDeferred":     {"INVESTMENT", "OTHER"},
	"employeeStockPurchasePlan": {"INVESTMENT", "ESPP"},
	"ira":                       {"INVESTMENT", "IRA"},
	"401k":                      {"INVESTMENT", "401K"},
	"roth":                      {"INVESTMENT", "ROTH"},
	"403b":                      {"INVESTMENT", "403B"},
	"529":                       {"INVESTMENT", "529"},
	"529plan":                   {"INVESTMENT", "529"},
	"rollover":                  {"INVESTMENT", "ROLLOVER"},
	"ugma":                      {"INVESTMENT", "UGMA"},
	"utma":                      {"INVESTMENT", "UTMA"},
	"keogh":                     {"INVESTMENT", "KEOGH"},
	"457":                       {"INVESTMENT", "457"},
	"457plan":                   {"INVESTMENT", "457"},
	"401a":                      {"INVESTMENT", "401A"},
	"brokerageAccount":          {"INVESTMENT", "BROKERAGE"},
	"educationSavings":          {"INVESTMENT", "EDUCATION_SAVINGS"},
	"healthSavingsAccount":      {"INVESTMENT", "HSA"},
	"pension":                   {"INVESTMENT", "PENSION"},
	"profitSharingPlan":         {"INVESTMENT", "PROFIT_SHARING_PLAN"},
	"roth401k":                  {"INVESTMENT", "ROTH_401K"},
	"sepIRA":                    {"INVESTMENT", "SEP_IRA"},
	"simpleIRA":                 {"INVESTMENT", "SIMPLE_IRA"},
	"thriftSavingsPlan":         {"INVESTMENT", "THRIFT_SAVINGS_PLAN"},
	"variableAnnuity":           {"INVESTMENT", "VARIABLE_ANNUITY"},
	"cryptocurrency":            {"INVESTMENT", "CRYPTO"},
	"mortgage":                  {"LOAN", "MORTGAGE"},
	"loan":                      {"LOAN", "LOAN"},
	"studentLoan":               {"LOAN", "STUDENT"},
	"studentLoanGroup":          {"LOAN", "STUDENT"},
	"studentLoanAccount":        {"LOAN", "STUDENT"},
}

func accountType(t string) (typ, sub string) {
	if m, ok := accountTypes[strings.TrimSpace(t)]; ok {
		return m[0], m[1]
	}
	if t = strings.TrimSpace(t); t == "" {
		return "OTHER", ""
	}
	return "OTHER", strings.ToUpper(t)
}

// balances maps an account's balances. Finicity reports what is owed on
// cards and loans as a negative balance; banklink's balances are
// positive when owed, so those are negated. Available is
// detail.availableBalanceAmount for deposit accounts,
// detail.creditAvailableAmount for cards and lines of credit and
// detail.availableCashBalance for investment accounts.
func balances(a account, typ string, fallbackCurrency string, asOf time.Time) *banklink.AccountBalances {
	if a.Balance == nil {
		return nil
	}
	b := &banklink.AccountBalances{Currency: strings.ToUpper(strings.TrimSpace(a.Currency)), CurrentAmount: *a.Balance}
	if b.Currency == "" {
		b.Currency = fallbackCurrency
	}
	if at := unixTime(a.BalanceDate); !at.IsZero() {
		b.UpdatedAt = at
	} else {
		b.UpdatedAt = asOf.UTC().Truncate(time.Second)
	}
	var avail *float64
	if d := a.Detail; d != nil {
		switch typ {
		case "CREDIT":
			avail = d.CreditAvailableAmount
		case "INVESTMENT":
			avail = d.AvailableCashBalance
		case "DEPOSITORY":
			avail = d.AvailableBalanceAmount
		}
	}
	if typ == "CREDIT" || typ == "LOAN" {
		b.CurrentAmount = -b.CurrentAmount
	}
	if avail != nil {
		v := *avail
		b.AvailableAmount = &v
	}
	return b
}

// transaction is the spec's Transaction.
type transaction struct {
	ID                        flexString      `json:"id"`
	Amount                    float64         `json:"amount"`
	AccountID                 flexString      `json:"accountId"`
	Status                    string          `json:"status"`
	Description               string          `json:"description"`
	Memo                      *string         `json:"memo"`
	TransactionDate           *int64          `json:"transactionDate"`
	PostedDate                *int64          `json:"postedDate"`
	CreatedDate               *int64          `json:"createdDate"`
	UnitQuantity              *float64        `json:"unitQuantity"`
	UnitPrice                 *float64        `json:"unitPrice"`
	Ticker                    *string         `json:"ticker"`
	InvestmentTransactionType *string         `json:"investmentTransactionType"`
	CurrencySymbol            *string         `json:"currencySymbol"`
	Categorization            *categorization `json:"categorization"`
	raw                       json.RawMessage
}

type categorization struct {
	NormalizedPayeeName string `json:"normalizedPayeeName"`
	Category            string `json:"category"`
}

func (t *transaction) UnmarshalJSON(b []byte) error {
	type fields transaction
	var err error
	t.raw, err = rawjson.Keep(b, (*fields)(t))
	return err
}

func dateOf(s *int64) string {
	if t := unixTime(s); !t.IsZero() {
		return t.Format(time.DateOnly)
	}
	return ""
}

// TxShadow is the status of Finicity's "shadow" transactions, kept as
// Meld keeps them (SHADOW): a provisional record Finicity derives while
// the institution has not reported the transaction itself.
const TxShadow = "SHADOW"

// convertTransaction maps a transaction. Finicity's amounts are negative
// for money leaving the account; banklink's (Meld's) are positive for
// money out, so the sign is inverted. The transaction date is when it
// happened (transactionDate), else when it posted; the posted date is
// postedDate, empty while pending.
func convertTransaction(t transaction, currency string) banklink.Transaction {
	out := banklink.Transaction{ProviderTransactionID: string(t.ID), Amount: -t.Amount, Currency: currency,
		Description: strings.TrimSpace(t.Description), Category: category(t.Categorization), Recurring: banklink.RecurringUnknown, Raw: t.raw}
	if out.Amount == 0 {
		out.Amount = 0 // no negative zero
	}
	if out.Description == "" {
		out.Description = strings.TrimSpace(deref(t.Memo))
	}
	out.TransactionDate = dateOf(t.TransactionDate)
	if out.TransactionDate == "" {
		out.TransactionDate = dateOf(t.PostedDate)
	}
	if out.TransactionDate == "" {
		out.TransactionDate = dateOf(t.CreatedDate)
	}
	switch strings.ToLower(strings.TrimSpace(t.Status)) {
	case "pending":
		out.Status = banklink.TxPending
	case "shadow":
		out.Status = TxShadow
	default: // "active": posted
		out.Status = banklink.TxPosted
		out.PostedDate = dateOf(t.PostedDate)
		if out.PostedDate == "" {
			out.PostedDate = out.TransactionDate
		}
	}
	return out
}

// categoryWords maps words of Finicity's categories (categorization
// .category: "Restaurants", "Paycheck", "Mortgage & Rent"…) to Meld's;
// the first match wins, other names are OTHER and none is UNCATEGORIZED.
var categoryWords = []struct{ word, category string }{
	{"paycheck", "INCOME"}, {"income", "INCOME"}, {"interest income", "INCOME"}, {"deposit", "INCOME"},
	{"transfer", "TRANSFER"}, {"credit card payment", "TRANSFER"},
	{"fee", "FEE"}, {"atm", "FEE"},
	{"tax", "TAXES"},
	{"mortgage", "HOME"}, {"rent", "HOME"}, {"home", "HOME"},
	{"loan", "LOAN"},
	{"tuition", "EDUCATION"}, {"education", "EDUCATION"},
	{"restaurant", "FOOD_AND_DRINK"}, {"food", "FOOD_AND_DRINK"}, {"groceries", "FOOD_AND_DRINK"}, {"coffee", "FOOD_AND_DRINK"}, {"fast food", "FOOD_AND_DRINK"},
	{"entertainment", "ENTERTAINMENT"}, {"movies", "ENTERTAINMENT"},
	{"doctor", "MEDICAL"}, {"pharmacy", "MEDICAL"}, {"health", "HEALTH"}, {"gym", "HEALTH"},
	{"gas", "TRANSPORTATION"}, {"auto", "TRANSPORTATION"}, {"parking", "TRANSPORTATION"}, {"public transportation", "TRANSPORTATION"},
	{"travel", "TRAVEL"}, {"air travel", "TRAVEL"}, {"hotel", "TRAVEL"},
	{"utilities", "BILLS"}, {"bills", "BILLS"}, {"mobile phone", "BILLS"}, {"internet", "BILLS"}, {"insurance", "BILLS"},
	{"investment", "INVESTMENTS"}, {"buy", "INVESTMENTS"}, {"sell", "INVESTMENTS"},
	{"shopping", "SHOPPING"}, {"clothing", "SHOPPING"}, {"electronics", "SHOPPING"},
	{"kids", "FAMILY"}, {"pets", "FAMILY"},
}

func category(c *categorization) string {
	if c == nil || strings.TrimSpace(c.Category) == "" {
		return "UNCATEGORIZED"
	}
	n := strings.ToLower(c.Category)
	for _, w := range categoryWords {
		if strings.Contains(n, w.word) {
			return w.category
		}
	}
	return "OTHER"
}

// holdingTypes maps a position's securityType to Meld's holding types.
var holdingTypes = map[string]string{
	"stock": "STOCK", "mutualfund": "MUTUALFUND", "mutual fund": "MUTUALFUND", "etf": "ETF", "cash": "CASH", "moneymarket": "CASH",
	"option": "DERIVATIVE", "options": "DERIVATIVE", "crypto": "DIGITALASSET", "cryptocurrency": "DIGITALASSET",
}

// convertHolding maps a position; its id is the position's id, else the
// security's.
func convertHolding(p position, fallbackCurrency string, asOf time.Time) banklink.Holding {
	cur := strings.ToUpper(strings.TrimSpace(deref(p.SecurityCurr)))
	if cur == "" {
		cur = fallbackCurrency
	}
	typ, ok := holdingTypes[strings.ToLower(strings.TrimSpace(deref(p.SecurityType)))]
	if !ok {
		typ = "OTHER"
	}
	id := deref(p.SecurityID)
	if p.ID != nil {
		id = jsonInt(*p.ID)
	}
	h := banklink.Holding{ProviderHoldingID: id, Symbol: strings.TrimSpace(deref(p.Symbol)), Description: strings.TrimSpace(deref(p.SecurityName)),
		Quantity: deref(p.Units), ClosePrice: deref(p.CurrentPrice), CurrentValue: deref(p.MarketValue), CostBasis: p.CostBasis,
		Currency: cur, Type: typ, UpdatedAt: asOf.UTC().Truncate(time.Second), Raw: p.raw}
	switch strings.ToUpper(deref(p.SecurityIDType)) {
	case "CUSIP":
		h.CUSIP = deref(p.SecurityID)
	case "ISIN":
		h.ISIN = deref(p.SecurityID)
	}
	return h
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// investmentTypes maps investmentTransactionType to Meld's investment
// transaction types; unknown ones are OTHER.
var investmentTypes = map[string]string{
	"purchased": "BUY", "purchasedtoopen": "BUY", "purchasedtocover": "BUY", "buy": "BUY", "reinvestofincome": "BUY",
	"sold": "SELL", "soldtoclose": "SELL", "soldtoopen": "SELL", "sell": "SELL",
	"dividend": "CASH", "interest": "CASH", "income": "CASH", "capitalgain": "CASH", "deposit": "CASH", "withdrawal": "CASH", "fee": "CASH",
	"transfer": "TRANSFER", "transferin": "TRANSFER", "transferout": "TRANSFER", "contribution": "TRANSFER",
	"cancel": "CANCEL",
}

// convertInvestmentTransaction maps a transaction of an investment
// account, with the same sign rule as convertTransaction.
func convertInvestmentTransaction(t transaction, currency string) banklink.InvestmentTransaction {
	tx := convertTransaction(t, currency)
	typ, ok := investmentTypes[strings.ToLower(strings.TrimSpace(deref(t.InvestmentTransactionType)))]
	if !ok {
		typ = "OTHER"
	}
	return banklink.InvestmentTransaction{ProviderTransactionID: tx.ProviderTransactionID, Amount: tx.Amount, Quantity: deref(t.UnitQuantity),
		Price: deref(t.UnitPrice), Symbol: strings.TrimSpace(deref(t.Ticker)), Description: tx.Description, Currency: currency,
		TransactionDate: tx.TransactionDate, PostedDate: tx.PostedDate, Status: tx.Status, Type: typ, Raw: t.raw}
}

// ownerHolder is one of the spec's AccountOwnerDetails.
type ownerHolder struct {
	OwnerName string `json:"ownerName"`
	Addresses []struct {
		OwnerAddress *string `json:"ownerAddress"`
		Type         *string `json:"type"`
		Line1        *string `json:"line1"`
		Line2        *string `json:"line2"`
		Line3        *string `json:"line3"`
		City         *string `json:"city"`
		State        *string `json:"state"`
		PostalCode   *string `json:"postalCode"`
		Country      *string `json:"country"`
	} `json:"addresses"`
	Emails []struct {
		IsPrimary *bool   `json:"isPrimary"`
		Email     *string `json:"email"`
	} `json:"emails"`
	Phones []struct {
		Phone *string `json:"phone"`
	} `json:"phones"`
}

// owner maps an account holder.
func owner(h ownerHolder) banklink.Owner {
	o := banklink.Owner{}
	if n := strings.TrimSpace(h.OwnerName); n != "" {
		o.Names = []string{n}
	}
	for i, a := range h.Addresses {
		street := strings.TrimSpace(strings.Join(nonEmpty(deref(a.Line1), deref(a.Line2), deref(a.Line3)), " "))
		if street == "" && deref(a.City) == "" {
			// Only the one-line form: keep it as the street.
			street = strings.TrimSpace(deref(a.OwnerAddress))
		}
		o.Addresses = append(o.Addresses, banklink.Address{Street: street, City: strings.TrimSpace(deref(a.City)),
			Region: strings.TrimSpace(deref(a.State)), PostalCode: strings.TrimSpace(deref(a.PostalCode)),
			Country: strings.ToUpper(strings.TrimSpace(deref(a.Country))), Primary: i == 0 || strings.EqualFold(deref(a.Type), "home")})
	}
	for _, e := range h.Emails {
		if v := strings.TrimSpace(deref(e.Email)); v != "" {
			o.Emails = append(o.Emails, v)
		}
	}
	for _, p := range h.Phones {
		if v := strings.TrimSpace(deref(p.Phone)); v != "" {
			o.PhoneNumbers = append(o.PhoneNumbers, v)
		}
	}
	return o
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// paymentInstruction is one of the spec's PaymentInstructions.
type paymentInstruction struct {
	Type          string `json:"type"`
	AccountNumber string `json:"accountNumber"`
	Descriptors   []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"descriptors"`
}

// identifiers maps the payment instructions of GET
// /aggregation/v3/…/details: the account number and routing number
// (descriptor routingNumber) of the "ach" instruction, else of an "rtp"
// or "fednow" one, are the account's ACH numbers. The spec is for the US;
// an "eft" instruction (institutionNumber and transitNumber descriptors,
// Finicity's Canadian names) is read as EFT numbers.
func identifiers(pis []paymentInstruction) *banklink.AccountIdentifiers {
	var ids banklink.AccountIdentifiers
	rank := map[string]int{"ach": 3, "rtp": 2, "fednow": 1}
	best := 0
	for _, pi := range pis {
		desc := map[string]string{}
		for _, d := range pi.Descriptors {
			desc[strings.ToLower(strings.ReplaceAll(strings.TrimSpace(d.Type), "_", ""))] = strings.TrimSpace(d.Value)
		}
		typ := strings.ToLower(strings.TrimSpace(pi.Type))
		if typ == "eft" {
			if ids.EFT == nil && pi.AccountNumber != "" {
				ids.EFT = &banklink.EFTNumbers{AccountNumber: pi.AccountNumber, InstitutionNumber: desc["institutionnumber"], BranchNumber: desc["transitnumber"]}
			}
			continue
		}
		routing := desc["routingnumber"]
		if r := rank[typ]; r > best && pi.AccountNumber != "" && routing != "" {
			best = r
			ids.ACH = &banklink.ACHNumbers{AccountNumber: pi.AccountNumber, RoutingNumber: routing}
		}
	}
	if ids.ACH == nil && ids.EFT == nil {
		return nil
	}
	return &ids
}
