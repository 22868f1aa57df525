package fakemx

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// The JSON shapes below are the fields of MX's responses the fake fills;
// MX sends more.

// Institution is MX's InstitutionResponse.
type Institution struct {
	Code                          string  `json:"code"`
	Name                          string  `json:"name"`
	URL                           *string `json:"url"`
	ISOCountryCode                string  `json:"iso_country_code"`
	SmallLogoURL                  *string `json:"small_logo_url"`
	MediumLogoURL                 *string `json:"medium_logo_url"`
	IsDisabledByClient            bool    `json:"is_disabled_by_client"`
	SupportsAccountIdentification bool    `json:"supports_account_identification"`
	SupportsAccountStatement      bool    `json:"supports_account_statement"`
	SupportsAccountVerification   bool    `json:"supports_account_verification"`
	SupportsOAuth                 bool    `json:"supports_oauth"`
	SupportsTaxDocument           bool    `json:"supports_tax_document"`
	SupportsTransactionHistory    bool    `json:"supports_transaction_history"`
}

// Account is MX's AccountResponse.
type Account struct {
	GUID             string   `json:"guid"`
	MemberGUID       string   `json:"member_guid"`
	UserGUID         string   `json:"user_guid"`
	InstitutionCode  string   `json:"institution_code"`
	Name             string   `json:"name"`
	Type             string   `json:"type"`
	Subtype          string   `json:"subtype"`
	AccountNumber    string   `json:"account_number"`
	Balance          *float64 `json:"balance"`
	AvailableBalance *float64 `json:"available_balance"`
	AvailableCredit  *float64 `json:"available_credit"`
	CreditLimit      *float64 `json:"credit_limit"`
	CurrencyCode     string   `json:"currency_code"`
	IsClosed         bool     `json:"is_closed"`
	IsManual         bool     `json:"is_manual"`
}

// AccountNumber is MX's AccountNumberResponse.
type AccountNumber struct {
	GUID              string  `json:"guid"`
	AccountGUID       string  `json:"account_guid"`
	MemberGUID        string  `json:"member_guid"`
	UserGUID          string  `json:"user_guid"`
	AccountNumber     string  `json:"account_number"`
	RoutingNumber     *string `json:"routing_number"`
	InstitutionNumber *string `json:"institution_number"`
	TransitNumber     *string `json:"transit_number"`
	PassedValidation  bool    `json:"passed_validation"`
}

// AccountOwner is MX's AccountOwnerResponse.
type AccountOwner struct {
	GUID        string `json:"guid"`
	AccountGUID string `json:"account_guid"`
	MemberGUID  string `json:"member_guid"`
	UserGUID    string `json:"user_guid"`
	OwnerName   string `json:"owner_name"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Address     string `json:"address"`
	City        string `json:"city"`
	State       string `json:"state"`
	PostalCode  string `json:"postal_code"`
	Country     string `json:"country"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
}

// Transaction is MX's TransactionResponse.
type Transaction struct {
	GUID                string  `json:"guid"`
	AccountGUID         string  `json:"account_guid"`
	MemberGUID          string  `json:"member_guid"`
	UserGUID            string  `json:"user_guid"`
	Amount              float64 `json:"amount"`
	Type                string  `json:"type"`
	Status              string  `json:"status"`
	Date                string  `json:"date"`
	TransactedAt        string  `json:"transacted_at"`
	PostedAt            *string `json:"posted_at"`
	Description         string  `json:"description"`
	OriginalDescription string  `json:"original_description"`
	Category            string  `json:"category"`
	TopLevelCategory    string  `json:"top_level_category"`
	CurrencyCode        string  `json:"currency_code"`
	IsRecurring         *bool   `json:"is_recurring"`
}

// Holding is MX's InvestmentHoldingResponse (quantity is a string, as in
// MX's reference).
type Holding struct {
	GUID         string  `json:"guid"`
	AccountGUID  string  `json:"account_guid"`
	UserGUID     string  `json:"user_guid"`
	Symbol       string  `json:"symbol"`
	Description  string  `json:"description"`
	Quantity     string  `json:"quantity"`
	CurrentPrice float64 `json:"current_price"`
	MarketValue  float64 `json:"market_value"`
	CostBasis    float64 `json:"cost_basis"`
	CurrencyCode string  `json:"currency_code"`
	HoldingType  string  `json:"holding_type"`
}

// Codes of the fake directory's named institutions.
const (
	// MXBank supports every product, with investment accounts.
	MXBank = "mxbank"
	// MXBankOAuth supports OAuth.
	MXBankOAuth = "mxbank_oauth"
	// MapleBank is Canadian (EFT numbers, CAD).
	MapleBank = "maple_mx_bank"
	// Disabled is disabled by the client.
	Disabled = "mx_disabled_bank"
)

// DirectorySize is how many institutions Directory lists: more than one
// page of 1,000 (and 13 pages of 100).
const DirectorySize = 1203

// Directory is the fake's institution list: the named institutions, then
// generated ones with varying flags.
func Directory() []Institution {
	url := func(s string) *string { return &s }
	out := []Institution{
		{Code: MXBank, Name: "MX Bank", URL: url("https://www.mxbank.com"), ISOCountryCode: "US", SmallLogoURL: url("https://content.moneydesktop.com/storage/MD_Assets/Ipad%20Logos/50x50/default_50x50.png"),
			MediumLogoURL:                 url("https://content.moneydesktop.com/storage/MD_Assets/Ipad%20Logos/100x100/default_100x100.png"),
			SupportsAccountIdentification: true, SupportsAccountStatement: true, SupportsAccountVerification: true, SupportsTransactionHistory: true},
		{Code: MXBankOAuth, Name: "MX Bank (OAuth)", URL: url("https://oauth.mxbank.com"), ISOCountryCode: "US", SupportsOAuth: true,
			SupportsAccountIdentification: true, SupportsAccountVerification: true},
		{Code: MapleBank, Name: "Maple MX Bank", URL: url("https://www.maplemx.ca"), ISOCountryCode: "CA", SupportsAccountVerification: true, SupportsAccountIdentification: true},
		{Code: Disabled, Name: "Disabled MX Bank", ISOCountryCode: "US", IsDisabledByClient: true},
	}
	kinds := []string{"Bank", "Credit Union", "Savings Bank", "Federal Credit Union", "Trust Company"}
	for i := len(out); i < DirectorySize; i++ {
		r := rand.New(rand.NewPCG(uint64(i), 42))
		country := "US"
		if i%5 == 0 {
			country = "CA"
		}
		out = append(out, Institution{Code: fmt.Sprintf("fake_inst_%04d", i), Name: fmt.Sprintf("Fake %04d %s", i, kinds[i%len(kinds)]),
			URL: url(fmt.Sprintf("https://www.fake%04d.example", i)), ISOCountryCode: country,
			SupportsAccountIdentification: r.IntN(2) == 0, SupportsAccountVerification: r.IntN(2) == 0,
			SupportsTransactionHistory: r.IntN(3) == 0, SupportsOAuth: r.IntN(4) == 0})
	}
	return out
}

// rng is seeded by the parts: a member's data is a pure function of it.
func rng(parts ...string) *rand.Rand {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return rand.New(rand.NewPCG(binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])))
}

func money(v float64) float64 { return math.Round(v*100) / 100 }

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

// aba completes 8 digits into a routing number with a valid checksum.
func aba(prefix string) string {
	w := []int{3, 7, 1, 3, 7, 1, 3, 7}
	sum := 0
	for i, c := range prefix {
		sum += int(c-'0') * w[i]
	}
	return prefix + fmt.Sprint((10-sum%10)%10)
}

// memberData is everything a connected member holds.
type memberData struct {
	accounts []Account
	numbers  []AccountNumber
	owners   []AccountOwner
	txs      []Transaction
	holdings []Holding
}

// HistoryDays is how far back a member's transactions go.
const HistoryDays = 700

type merchant struct {
	name, category, top string
	min, max            float64
}

var merchants = []merchant{
	{"Whole Foods", "Groceries", "Food & Dining", 20, 180},
	{"Starbucks", "Coffee Shops", "Food & Dining", 4, 12},
	{"Shell", "Gas", "Auto & Transport", 30, 70},
	{"Amazon", "Shopping", "Shopping", 10, 250},
	{"Netflix", "Television", "Entertainment", 15.49, 15.49},
	{"Xcel Energy", "Utilities", "Bills & Utilities", 60, 140},
	{"CVS", "Pharmacy", "Health & Fitness", 5, 60},
	{"Delta Air Lines", "Air Travel", "Travel", 180, 600},
}

// generate builds a member's accounts and data at an institution, as of
// now. The data depends only on the member guid and the institution.
func generate(m *memberRec, in Institution, now time.Time) memberData {
	r := rng("member", m.guid)
	currency := "USD"
	if in.ISOCountryCode == "CA" {
		currency = "CAD"
	}
	var d memberData
	var accts []*Account
	add := func(name, typ, sub string) *Account {
		a := &Account{GUID: newGUID("ACT", m.guid, name), MemberGUID: m.guid, UserGUID: m.userGUID, InstitutionCode: in.Code,
			Name: name, Type: typ, Subtype: sub, AccountNumber: "XXXXXX" + digits(r, 4), CurrencyCode: currency}
		accts = append(accts, a)
		return a
	}
	checking := add("MX Checking", "CHECKING", "NONE")
	checking.Balance = ptr(money(500 + r.Float64()*7500))
	checking.AvailableBalance = ptr(money(*checking.Balance - r.Float64()*100))
	savings := add("MX Savings", "SAVINGS", "MONEY_MARKET")
	savings.Balance = ptr(money(1000 + r.Float64()*40000))
	savings.AvailableBalance = savings.Balance
	card := add("MX Rewards Card", "CREDIT_CARD", "NONE")
	card.Balance = ptr(money(100 + r.Float64()*3000))
	card.CreditLimit = ptr(float64(5000 + 1000*r.IntN(10)))
	card.AvailableCredit = ptr(money(*card.CreditLimit - *card.Balance))
	loan := add("MX Auto Loan", "LOAN", "AUTO")
	loan.Balance = ptr(money(4000 + r.Float64()*20000))
	var brokerage *Account
	if in.Code == MXBank {
		brokerage = add("MX Brokerage", "INVESTMENT", "BROKERAGE")
	}
	// Closed accounts are not offered for linking.
	closed := add("Old Checking", "CHECKING", "NONE")
	closed.IsClosed, closed.Balance = true, ptr(0.0)
	if m.numbers {
		for _, a := range []*Account{checking, savings} {
			n := AccountNumber{GUID: newGUID("ACN", a.GUID), AccountGUID: a.GUID, MemberGUID: m.guid, UserGUID: m.userGUID,
				AccountNumber: digits(r, 6) + a.AccountNumber[len(a.AccountNumber)-4:], PassedValidation: true}
			ir := rng("institution", in.Code)
			if in.ISOCountryCode == "CA" {
				n.InstitutionNumber, n.TransitNumber = ptr(fmt.Sprintf("%03d", 1+ir.IntN(899))), ptr(digits(ir, 5))
			} else {
				n.RoutingNumber = ptr(aba(fmt.Sprintf("%02d", 1+ir.IntN(12)) + digits(ir, 6)))
			}
			d.numbers = append(d.numbers, n)
		}
	}
	if m.owners {
		first, last := []string{"Donnie", "Avery", "Quinn"}[r.IntN(3)], []string{"Darko", "Nguyen", "Tremblay"}[r.IntN(3)]
		for _, a := range []*Account{checking, savings, card, loan} {
			d.owners = append(d.owners, AccountOwner{GUID: newGUID("ACO", a.GUID), AccountGUID: a.GUID, MemberGUID: m.guid, UserGUID: m.userGUID,
				OwnerName: first + " " + last, FirstName: first, LastName: last, Address: fmt.Sprintf("%d This Way", 10+r.IntN(900)),
				City: "Middlesex", State: "VA", PostalCode: "23071", Country: in.ISOCountryCode,
				Email: strings.ToLower(first) + "@example.com", Phone: "555-555-" + digits(r, 4)})
		}
	}
	if m.transactions {
		d.txs = transactions(m, currency, []*Account{checking, savings, card}, now)
	}
	if brokerage != nil {
		value := 0.0
		for i, h := range []struct{ symbol, desc, typ string }{{"VTI", "Vanguard Total Stock Market ETF", "ETF"},
			{"AAPL", "Apple Inc.", "EQUITY"}, {"VFIAX", "Vanguard 500 Index Admiral", "MUTUAL_FUND"}} {
			qty := float64(1 + r.IntN(200))
			price := money(20 + r.Float64()*400)
			mv := money(qty * price)
			value += mv
			d.holdings = append(d.holdings, Holding{GUID: newGUID("HOL", brokerage.GUID, h.symbol), AccountGUID: brokerage.GUID, UserGUID: m.userGUID,
				Symbol: h.symbol, Description: h.desc, Quantity: fmt.Sprintf("%.1f", qty), CurrentPrice: price, MarketValue: mv,
				CostBasis: money(mv * (0.7 + 0.1*float64(i))), CurrencyCode: currency, HoldingType: h.typ})
		}
		brokerage.Balance = ptr(money(value))
	}
	for _, a := range accts {
		d.accounts = append(d.accounts, *a)
	}
	return d
}

// transactions are two years of activity: purchases (DEBIT) on checking
// and the card, paychecks and interest (CREDIT), a monthly card payment;
// the last three days are PENDING.
func transactions(m *memberRec, currency string, accts []*Account, now time.Time) []Transaction {
	checking, savings, card := accts[0], accts[1], accts[2]
	var out []Transaction
	today := now.UTC().Truncate(24 * time.Hour)
	add := func(a *Account, day time.Time, amount float64, typ, desc, cat, top string, recurring *bool) {
		t := Transaction{GUID: newGUID("TRN", a.GUID, fmt.Sprint(len(out))), AccountGUID: a.GUID, MemberGUID: m.guid, UserGUID: m.userGUID,
			Amount: money(amount), Type: typ, Status: "POSTED", Date: day.Format(time.DateOnly), TransactedAt: day.Add(12 * time.Hour).Format(time.RFC3339),
			Description: desc, OriginalDescription: strings.ToUpper(desc) + " #" + fmt.Sprint(len(out)%97), Category: cat, TopLevelCategory: top,
			CurrencyCode: currency, IsRecurring: recurring}
		if today.Sub(day) < 3*24*time.Hour {
			t.Status = "PENDING"
		} else {
			t.PostedAt = ptr(day.Add(36 * time.Hour).Format(time.RFC3339))
		}
		out = append(out, t)
	}
	yes, no := ptr(true), ptr(false)
	r := rng("transactions", m.guid)
	for back := HistoryDays; back >= 0; back-- {
		day := today.AddDate(0, 0, -back)
		if day.Day() == 1 || day.Day() == 15 {
			add(checking, day, 2450+r.Float64()*20, "CREDIT", "MX Technologies Payroll", "Paycheck", "Income", yes)
		}
		if day.Day() == 28 {
			add(savings, day, 1+r.Float64()*20, "CREDIT", "Interest Payment", "Interest Income", "Income", yes)
			add(card, day, 300+r.Float64()*500, "CREDIT", "Payment Thank You", "Credit Card Payment", "Transfer", yes)
			add(checking, day, 300+r.Float64()*500, "DEBIT", "Card Payment", "Credit Card Payment", "Transfer", yes)
		}
		// About one purchase a day per account: well over one page of
		// 1,000 in two years, so readers must page.
		for _, a := range []*Account{checking, card} {
			for range r.IntN(3) {
				mc := merchants[r.IntN(len(merchants))]
				add(a, day, mc.min+r.Float64()*(mc.max-mc.min), "DEBIT", mc.name, mc.category, mc.top, no)
			}
		}
		if r.IntN(60) == 0 {
			// A refund.
			mc := merchants[r.IntN(len(merchants))]
			add(card, day, mc.min, "CREDIT", mc.name+" Refund", mc.category, mc.top, nil)
		}
	}
	slices.SortFunc(out, func(a, b Transaction) int {
		if c := strings.Compare(a.Date, b.Date); c != 0 {
			return c
		}
		return strings.Compare(a.GUID, b.GUID)
	})
	return out
}
