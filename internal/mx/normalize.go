package mx

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"banklink"
	"banklink/internal/rawjson"
)

// account is MX's account (AccountResponse), the fields banklink uses.
type account struct {
	GUID             string   `json:"guid"`
	MemberGUID       *string  `json:"member_guid"`
	Name             *string  `json:"name"`
	Nickname         *string  `json:"nickname"`
	Type             *string  `json:"type"`
	Subtype          *string  `json:"subtype"`
	AccountNumber    *string  `json:"account_number"`
	Balance          *float64 `json:"balance"`
	AvailableBalance *float64 `json:"available_balance"`
	AvailableCredit  *float64 `json:"available_credit"`
	CurrencyCode     *string  `json:"currency_code"`
	IsClosed         *bool    `json:"is_closed"`
	// raw is the account as MX sent it (see rawjson.Keep).
	raw json.RawMessage
}

// Accounts, transactions and holdings keep the exact bytes MX sent for
// them (served as serviceProviderDetails, with the fields banklink does
// not map): their UnmarshalJSON decodes the fields above and keeps a copy
// of the element's JSON object, not a re-encoding of the struct.

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

func (a account) displayName() string {
	for _, s := range []*string{a.Name, a.Nickname} {
		if v := strings.TrimSpace(deref(s)); v != "" {
			return v
		}
	}
	return strings.ReplaceAll(deref(a.Type), "_", " ")
}

// accountNumber is MX's AccountNumberResponse: US account and routing
// numbers, or Canadian account, institution and transit numbers.
type accountNumber struct {
	AccountGUID       *string `json:"account_guid"`
	AccountNumber     *string `json:"account_number"`
	RoutingNumber     *string `json:"routing_number"`
	InstitutionNumber *string `json:"institution_number"`
	TransitNumber     *string `json:"transit_number"`
}

// accountOwner is MX's AccountOwnerResponse.
type accountOwner struct {
	AccountGUID *string `json:"account_guid"`
	OwnerName   *string `json:"owner_name"`
	FirstName   *string `json:"first_name"`
	LastName    *string `json:"last_name"`
	Address     *string `json:"address"`
	City        *string `json:"city"`
	State       *string `json:"state"`
	PostalCode  *string `json:"postal_code"`
	Country     *string `json:"country"`
	Email       *string `json:"email"`
	Phone       *string `json:"phone"`
}

// transaction is MX's TransactionResponse.
type transaction struct {
	GUID                string   `json:"guid"`
	AccountGUID         *string  `json:"account_guid"`
	Amount              *float64 `json:"amount"`
	Type                *string  `json:"type"`
	Status              *string  `json:"status"`
	Date                *string  `json:"date"`
	TransactedAt        *string  `json:"transacted_at"`
	PostedAt            *string  `json:"posted_at"`
	Description         *string  `json:"description"`
	OriginalDescription *string  `json:"original_description"`
	TopLevelCategory    *string  `json:"top_level_category"`
	Category            *string  `json:"category"`
	CurrencyCode        *string  `json:"currency_code"`
	IsRecurring         *bool    `json:"is_recurring"`
	raw                 json.RawMessage
}

// holding is MX's InvestmentHoldingResponse. quantity is a string in
// MX's reference ("5000.0"); a number is accepted too.
type holding struct {
	GUID         string          `json:"guid"`
	AccountGUID  *string         `json:"account_guid"`
	Symbol       *string         `json:"symbol"`
	Description  *string         `json:"description"`
	Quantity     json.RawMessage `json:"quantity"`
	CurrentPrice *float64        `json:"current_price"`
	MarketValue  *float64        `json:"market_value"`
	CostBasis    *float64        `json:"cost_basis"`
	CurrencyCode *string         `json:"currency_code"`
	HoldingType  *string         `json:"holding_type"`
	raw          json.RawMessage
}

// accountType maps MX's account type and subtype (MX's "Account Types"
// list: ANY, CHECKING, SAVINGS, LOAN, CREDIT_CARD, INVESTMENT,
// LINE_OF_CREDIT, MORTGAGE, PROPERTY, CASH, INSURANCE, PREPAID,
// CHECKING_LINE_OF_CREDIT) to banklink's. A subtype of NONE or none at
// all takes the type's name; other subtypes keep MX's name (PLAN_401_K,
// MONEY_MARKET, HOME_EQUITY …).
func accountType(a account) (typ, sub string) {
	t := strings.ToUpper(strings.TrimSpace(deref(a.Type)))
	sub = strings.ToUpper(strings.TrimSpace(deref(a.Subtype)))
	if sub == "NONE" {
		sub = ""
	}
	or := func(def string) string {
		if sub != "" {
			return sub
		}
		return def
	}
	switch t {
	case "CHECKING", "SAVINGS", "CASH", "PREPAID":
		if sub == "CERTIFICATE_OF_DEPOSIT" {
			return "DEPOSITORY", "CD"
		}
		return "DEPOSITORY", or(t)
	case "CREDIT_CARD":
		return "CREDIT", "CREDIT_CARD"
	case "LINE_OF_CREDIT", "CHECKING_LINE_OF_CREDIT":
		return "CREDIT", or("LINE_OF_CREDIT")
	case "LOAN":
		return "LOAN", or("LOAN")
	case "MORTGAGE":
		return "LOAN", or("MORTGAGE")
	case "INVESTMENT":
		return "INVESTMENT", or("INVESTMENT")
	}
	if t == "" || t == "ANY" {
		return "OTHER", sub
	}
	return "OTHER", or(t)
}

// mask is the last four digits of MX's (usually masked) account number.
func mask(a account) string {
	var digits []byte
	for _, c := range []byte(deref(a.AccountNumber)) {
		if c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	return string(digits[max(0, len(digits)-4):])
}

// currencyOf is the currency assumed when MX gives none: CAD at an
// institution that serves only Canada, USD otherwise. MX's currency_code
// is nullable and the reference does not say what an absent one means.
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

// balances maps MX's balances. Both follow the same convention: positive,
// and for debt accounts (cards, loans, lines of credit, mortgages) the
// amount owed. The available amount is available_balance for deposit
// accounts and available_credit for credit accounts.
func balances(a account, typ, fallbackCurrency string, asOf time.Time) *banklink.AccountBalances {
	var avail *float64
	switch typ {
	case "DEPOSITORY":
		avail = a.AvailableBalance
	case "CREDIT":
		avail = a.AvailableCredit
	}
	if a.Balance == nil && avail == nil {
		return nil
	}
	cur := strings.ToUpper(strings.TrimSpace(deref(a.CurrencyCode)))
	if cur == "" {
		cur = fallbackCurrency
	}
	out := &banklink.AccountBalances{Currency: cur, AvailableAmount: avail, UpdatedAt: asOf.UTC().Truncate(time.Second)}
	if a.Balance != nil {
		out.CurrentAmount = *a.Balance
	} else {
		out.CurrentAmount = *avail
	}
	return out
}

// identifiers maps one account number record: a routing number makes it
// ACH, institution and transit numbers EFT.
func identifiers(n accountNumber) *banklink.AccountIdentifiers {
	num := strings.TrimSpace(deref(n.AccountNumber))
	if num == "" {
		return nil
	}
	if r := strings.TrimSpace(deref(n.RoutingNumber)); r != "" {
		return &banklink.AccountIdentifiers{ACH: &banklink.ACHNumbers{AccountNumber: num, RoutingNumber: r}}
	}
	inst, transit := strings.TrimSpace(deref(n.InstitutionNumber)), strings.TrimSpace(deref(n.TransitNumber))
	if inst != "" || transit != "" {
		return &banklink.AccountIdentifiers{EFT: &banklink.EFTNumbers{AccountNumber: num, InstitutionNumber: inst, BranchNumber: transit}}
	}
	return nil
}

func owner(o accountOwner) banklink.Owner {
	var out banklink.Owner
	name := strings.TrimSpace(deref(o.OwnerName))
	if name == "" {
		name = strings.TrimSpace(deref(o.FirstName) + " " + deref(o.LastName))
	}
	if name != "" {
		out.Names = []string{name}
	}
	addr := banklink.Address{Street: strings.TrimSpace(deref(o.Address)), City: strings.TrimSpace(deref(o.City)),
		Region: strings.TrimSpace(deref(o.State)), PostalCode: strings.TrimSpace(deref(o.PostalCode)), Country: strings.TrimSpace(deref(o.Country)), Primary: true}
	if addr != (banklink.Address{Primary: true}) {
		out.Addresses = []banklink.Address{addr}
	}
	if e := strings.TrimSpace(deref(o.Email)); e != "" {
		out.Emails = []string{e}
	}
	if ph := strings.TrimSpace(deref(o.Phone)); ph != "" {
		out.PhoneNumbers = []string{ph}
	}
	return out
}

// dateOf is the yyyy-mm-dd of an MX date or timestamp.
func dateOf(s *string) string {
	v := strings.TrimSpace(deref(s))
	if len(v) >= len(time.DateOnly) {
		if _, err := time.Parse(time.DateOnly, v[:len(time.DateOnly)]); err == nil {
			return v[:len(time.DateOnly)]
		}
	}
	return ""
}

// convertTransaction maps an MX transaction. MX amounts are positive and
// the direction is the type: DEBIT takes money out of the account (a
// purchase, also on a card), CREDIT brings it in. banklink's amounts are
// positive when money leaves the account and negative when it arrives.
func convertTransaction(t transaction, currency string) banklink.Transaction {
	amount := math.Abs(deref(t.Amount))
	if strings.EqualFold(deref(t.Type), "CREDIT") {
		amount = -amount
	}
	if c := strings.ToUpper(strings.TrimSpace(deref(t.CurrencyCode))); c != "" {
		currency = c
	}
	desc := strings.TrimSpace(deref(t.Description))
	if desc == "" {
		desc = strings.TrimSpace(deref(t.OriginalDescription))
	}
	out := banklink.Transaction{ProviderTransactionID: t.GUID, Amount: amount, Currency: currency, Description: desc,
		Status: banklink.TxPosted, Category: category(deref(t.TopLevelCategory)), Recurring: banklink.RecurringUnknown, Raw: t.raw}
	// date is when the transaction happened; transacted_at its time.
	out.TransactionDate = dateOf(t.Date)
	if out.TransactionDate == "" {
		out.TransactionDate = dateOf(t.TransactedAt)
	}
	if strings.EqualFold(deref(t.Status), "PENDING") {
		out.Status = banklink.TxPending
	} else {
		out.PostedDate = dateOf(t.PostedAt)
		if out.PostedDate == "" {
			out.PostedDate = out.TransactionDate
		}
	}
	if t.IsRecurring != nil {
		out.Recurring = banklink.RecurringNo
		if *t.IsRecurring {
			out.Recurring = banklink.RecurringYes
		}
	}
	return out
}

// categoryWords maps words of MX's top-level category names to Meld's
// categories. MX's reference shows names such as "Income" and "Food &
// Dining" but lists none, so names are matched by word; the first match
// wins and unknown names are OTHER.
var categoryWords = []struct{ word, category string }{
	{"uncategorized", "UNCATEGORIZED"},
	{"income", "INCOME"},
	{"paycheck", "INCOME"},
	{"transfer", "TRANSFER"},
	{"fee", "FEE"},
	{"tax", "TAXES"},
	{"bill", "BILLS"},
	{"utilit", "BILLS"},
	{"food", "FOOD_AND_DRINK"},
	{"dining", "FOOD_AND_DRINK"},
	{"transport", "TRANSPORTATION"},
	{"travel", "TRAVEL"},
	{"shopping", "SHOPPING"},
	{"entertainment", "ENTERTAINMENT"},
	{"education", "EDUCATION"},
	{"health", "HEALTH"},
	{"medical", "MEDICAL"},
	{"home", "HOME"},
	{"kids", "FAMILY"},
	{"invest", "INVESTMENTS"},
	{"loan", "LOAN"},
}

func category(topLevel string) string {
	n := strings.ToLower(strings.TrimSpace(topLevel))
	if n == "" {
		return "UNCATEGORIZED"
	}
	for _, w := range categoryWords {
		if strings.Contains(n, w.word) {
			return w.category
		}
	}
	return "OTHER"
}

// holdingTypes maps MX's holding_type (the reference's example is
// MUTUAL_FUND; it lists no values) to Meld's holding types.
var holdingTypes = map[string]string{
	"EQUITY": "STOCK", "STOCK": "STOCK", "MUTUAL_FUND": "MUTUALFUND", "ETF": "ETF", "EXCHANGE_TRADED_FUND": "ETF",
	"CASH": "CASH", "MONEY_MARKET": "CASH", "OPTIONS": "DERIVATIVE", "OPTION": "DERIVATIVE", "FUTURES": "DERIVATIVE",
	"CRYPTOCURRENCY": "DIGITALASSET", "REAL_ESTATE": "REALESTATE",
}

func quantity(raw json.RawMessage) float64 {
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return f
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return f
		}
	}
	return 0
}

func convertHolding(h holding, fallbackCurrency string, asOf time.Time) banklink.Holding {
	cur := strings.ToUpper(strings.TrimSpace(deref(h.CurrencyCode)))
	if cur == "" {
		cur = fallbackCurrency
	}
	typ, ok := holdingTypes[strings.ToUpper(deref(h.HoldingType))]
	if !ok {
		typ = "OTHER"
	}
	return banklink.Holding{ProviderHoldingID: h.GUID, Symbol: strings.TrimSpace(deref(h.Symbol)), Description: strings.TrimSpace(deref(h.Description)),
		Quantity: quantity(h.Quantity), ClosePrice: deref(h.CurrentPrice), CurrentValue: deref(h.MarketValue), CostBasis: h.CostBasis,
		Currency: cur, Type: typ, UpdatedAt: asOf.UTC().Truncate(time.Second), Raw: h.raw}
}
