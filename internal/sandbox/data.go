package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"banklink"
)

var _ banklink.Aggregator = (*Provider)(nil)

// HistoryMonths is how far back the sandbox bank keeps transactions.
const HistoryMonths = 24

// rng returns a generator seeded by the parts: every piece of sandbox data
// is a pure function of what it describes, so the same login yields the
// same data on every aggregation and across restarts.
func rng(parts ...string) *rand.Rand {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return rand.New(rand.NewPCG(binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])))
}

func money(v float64) float64 { return math.Round(v*100) / 100 }

// Aggregate implements banklink.Aggregator.
func (p *Provider) Aggregate(ctx context.Context, req banklink.AggregationRequest) ([]banklink.AggregatedAccount, error) {
	if p.isDown(req.Institution) {
		return nil, downError()
	}
	switch {
	case strings.HasPrefix(req.LoginID, "sbx_ur_"):
		return nil, downError()
	case strings.HasPrefix(req.LoginID, "sbx_dg_") && req.Now.Sub(req.Since) > 100*24*time.Hour:
		// The recent window works; the long history never does.
		return nil, downError()
	case strings.HasPrefix(req.LoginID, "sbx_rc_"):
		return nil, &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials, DisplayMessage: "The institution asks the customer to log in again."}
	}
	// Only what was asked for and what the institution supports.
	want := banklink.NewProductSet(req.Products...) & banklink.NewProductSet(req.Institution.Providers[p.Type()].Products...)
	canadian := isCanadian(req.Institution)
	var out []banklink.AggregatedAccount
	for _, a := range accounts(req.Institution, req.LoginID, p.Type()) {
		if len(req.AccountIDs) > 0 && !slices.Contains(req.AccountIDs, a.ID) {
			continue
		}
		agg := banklink.AggregatedAccount{ProviderAccountID: a.ID, Type: a.Type, Subtype: a.Subtype, Name: a.Name, Mask: a.Mask}
		r := rng("account", req.LoginID, a.ID)
		currency := "USD"
		if canadian {
			currency = "CAD"
		}
		if want.Has(banklink.Balances) || want == 0 {
			agg.Balances = balances(r, a, currency, req.Now)
		}
		if want.Has(banklink.Identifiers) && (a.Type == "DEPOSITORY") {
			agg.Identifiers = identifiers(r, a, req.Institution, canadian)
		}
		if want.Has(banklink.Owners) {
			agg.Owners = []banklink.Owner{owner(req.LoginID, canadian)}
		}
		if want.Has(banklink.Transactions) && a.Type != "INVESTMENT" {
			agg.Transactions = transactions(req.LoginID, a, currency, req.Since, req.Now)
		}
		if a.Type == "INVESTMENT" {
			holdings, txs, value := investments(req.LoginID, a, currency, req.Since, req.Now,
				want.Has(banklink.InvestmentHoldings), want.Has(banklink.InvestmentTransactions))
			agg.Holdings, agg.InvestmentTransactions = holdings, txs
			if agg.Balances != nil && value > 0 {
				// An investment account is worth its holdings.
				agg.Balances.CurrentAmount, agg.Balances.AvailableAmount = money(value), nil
			}
		}
		setRaw(req.LoginID, &agg)
		out = append(out, agg)
	}
	if strings.HasPrefix(req.LoginID, "sbx_na_") {
		out = append(out, banklink.AggregatedAccount{ProviderAccountID: req.LoginID + "_acc_new", Type: "DEPOSITORY", Subtype: "CD",
			Name: "New Certificate of Deposit", Mask: "7777", NotShared: true})
	}
	return out, nil
}

func isCanadian(in *banklink.Institution) bool {
	for _, r := range in.Regions {
		if r.Country() != "CA" {
			return false
		}
	}
	return len(in.Regions) > 0
}

func balances(r *rand.Rand, a banklink.ProviderAccount, currency string, now time.Time) *banklink.AccountBalances {
	var cur float64
	var avail *float64
	switch a.Type {
	case "DEPOSITORY":
		if a.Subtype == "SAVINGS" {
			cur = 1000 + r.Float64()*49000
		} else {
			cur = 500 + r.Float64()*7500
		}
		v := money(cur - r.Float64()*120)
		avail = &v
	case "CREDIT":
		cur = 100 + r.Float64()*3900
		limit := float64(5000 + 1000*r.IntN(15))
		v := money(limit - cur)
		avail = &v
	case "LOAN":
		cur = 5000 + r.Float64()*25000
	default:
		cur = 10000 + r.Float64()*190000
	}
	return &banklink.AccountBalances{Currency: currency, CurrentAmount: money(cur), AvailableAmount: avail, UpdatedAt: now.UTC().Truncate(time.Second)}
}

// abaCheck completes an 8-digit prefix into a routing number with a valid
// ABA checksum: 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) ≡ 0 mod 10.
func abaCheck(prefix string) string {
	w := []int{3, 7, 1, 3, 7, 1, 3, 7}
	sum := 0
	for i, c := range prefix {
		sum += int(c-'0') * w[i]
	}
	return prefix + fmt.Sprint((10-sum%10)%10)
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

func identifiers(r *rand.Rand, a banklink.ProviderAccount, in *banklink.Institution, canadian bool) *banklink.AccountIdentifiers {
	ir := rng("institution-numbers", in.ID)
	if canadian {
		return &banklink.AccountIdentifiers{EFT: &banklink.EFTNumbers{
			AccountNumber:     digits(r, 3) + a.Mask,
			InstitutionNumber: fmt.Sprintf("%03d", 1+ir.IntN(899)),
			BranchNumber:      digits(ir, 5),
		}}
	}
	// The institution's own routing number, as the directory lists it;
	// one drawn from its id for an institution listed without one.
	// Federal Reserve routing symbols start 01-12 (or 21-32 for thrifts).
	routing := abaCheck(fmt.Sprintf("%02d", 1+ir.IntN(12)) + digits(ir, 6))
	if len(in.RoutingNumbers) > 0 {
		routing = in.RoutingNumbers[0]
	}
	return &banklink.AccountIdentifiers{ACH: &banklink.ACHNumbers{AccountNumber: digits(r, 6+r.IntN(4)) + a.Mask, RoutingNumber: routing}}
}

var (
	firstNames = strings.Fields("Alex Jordan Taylor Morgan Casey Riley Avery Quinn Jamie Drew Sam Robin Charlie Emerson Hayden Parker Reese Rowan Skyler Dana")
	lastNames  = strings.Fields("Smith Johnson Nguyen Garcia Tremblay Martin Roy Patel Brown Wilson Gagnon Lee Walker Young Clark Lewis Hall Allen King Wright")
	streets    = strings.Fields("Maple Oak Cedar Pine Elm Main Park Lake Hill River")
	usCities   = []struct{ city, region, zip string }{{"Springfield", "IL", "62701"}, {"Austin", "TX", "73301"}, {"Portland", "OR", "97201"}, {"Columbus", "OH", "43004"}, {"Denver", "CO", "80201"}}
	caCities   = []struct{ city, region, zip string }{{"Toronto", "ON", "M5H 2N2"}, {"Montréal", "QC", "H2Y 1C6"}, {"Calgary", "AB", "T2P 1J9"}, {"Halifax", "NS", "B3H 1A1"}, {"Vancouver", "BC", "V6B 1A1"}}
)

func owner(loginID string, canadian bool) banklink.Owner {
	r := rng("owner", loginID)
	first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	city, country := usCities[r.IntN(len(usCities))], "US"
	if canadian {
		city, country = caCities[r.IntN(len(caCities))], "CA"
	}
	return banklink.Owner{
		Names: []string{first + " " + last},
		Addresses: []banklink.Address{{
			Street: fmt.Sprintf("%d %s Street", 10+r.IntN(980), streets[r.IntN(len(streets))]),
			City:   city.city, Region: city.region, PostalCode: city.zip, Country: country, Primary: true,
		}},
		Emails:       []string{strings.ToLower(first+"."+last) + "@example.com"},
		PhoneNumbers: []string{fmt.Sprintf("+1 555 %03d %04d", r.IntN(1000), r.IntN(10000))},
	}
}

// merchant is a kind of spending with its typical amount range.
type merchant struct {
	name, category string
	min, max       float64
	perWeek        float64 // expected occurrences per week
}

var everyday = []merchant{
	{"Whole Foods Market", "FOOD_AND_DRINK", 25, 180, 1.2},
	{"Trader Joe's", "FOOD_AND_DRINK", 20, 120, 0.8},
	{"Starbucks", "FOOD_AND_DRINK", 4, 14, 2},
	{"Chipotle", "FOOD_AND_DRINK", 9, 32, 0.6},
	{"Shell", "TRANSPORTATION", 30, 75, 0.7},
	{"Uber", "TRANSPORTATION", 9, 48, 0.5},
	{"Amazon", "SHOPPING", 12, 240, 0.9},
	{"Target", "SHOPPING", 15, 160, 0.4},
	{"CVS Pharmacy", "HEALTH", 6, 60, 0.3},
	{"AMC Theatres", "ENTERTAINMENT", 12, 45, 0.15},
	{"Delta Air Lines", "TRAVEL", 180, 650, 0.03},
}

// recurring bills: day of month, amount.
var bills = []struct {
	name, category string
	day            int
	amount         float64
	jitter         bool
}{
	{"Rent - Parkside Apartments", "HOME", 1, 1850, false},
	{"City Power & Light", "BILLS", 12, 95, true},
	{"Comcast Internet", "BILLS", 15, 79.99, false},
	{"Netflix", "ENTERTAINMENT", 7, 15.49, false},
	{"Spotify", "ENTERTAINMENT", 21, 10.99, false},
	{"Geico Insurance", "BILLS", 24, 132.40, false},
}

// transactions generates an account's transactions between since and now.
// Each calendar day's transactions depend only on the login, the account
// and the day, so the window can move without changing any day.
func transactions(loginID string, a banklink.ProviderAccount, currency string, since, now time.Time) []banklink.Transaction {
	now = now.UTC()
	start := now.AddDate(0, -HistoryMonths, 0)
	if since.After(start) {
		start = since.UTC()
	}
	day0 := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var out []banklink.Transaction
	for d := today; !d.Before(day0); d = d.AddDate(0, 0, -1) {
		date := d.Format(time.DateOnly)
		r := rng("day", loginID, a.ID, date)
		n := 0
		add := func(desc, cat string, amount float64, rec string) {
			age := int(today.Sub(d).Hours() / 24)
			tx := banklink.Transaction{
				ProviderTransactionID: fmt.Sprintf("%s_%s_%d", a.ID, strings.ReplaceAll(date, "-", ""), n),
				Amount:                money(amount), Currency: currency, Description: desc,
				TransactionDate: date, Status: banklink.TxPosted, Category: cat, Recurring: rec,
			}
			n++
			switch {
			case age <= 2:
				tx.Status = banklink.TxPending
			case age <= 10 && r.IntN(40) == 0:
				// An authorisation that never settled.
				tx.Status = banklink.TxExpired
			default:
				tx.PostedDate = d.AddDate(0, 0, 1+r.IntN(2)).Format(time.DateOnly)
			}
			out = append(out, tx)
		}
		switch a.Subtype {
		case "CHECKING":
			if d.Weekday() == time.Friday && (d.YearDay()/7)%2 == 0 {
				add("Payroll - Acme Corp", "INCOME", -(2400 + float64(r.IntN(6))*10), banklink.RecurringYes)
			}
			for _, b := range bills {
				if d.Day() == b.day {
					amt := b.amount
					if b.jitter {
						amt *= 0.7 + r.Float64()*0.6
					}
					add(b.name, b.category, amt, banklink.RecurringYes)
				}
			}
			if d.Day() == 3 {
				add("Transfer to Savings", "TRANSFER", 300, banklink.RecurringYes)
			}
			for _, m := range everyday {
				if r.Float64() < m.perWeek/7*0.6 {
					add(m.name, m.category, m.min+r.Float64()*(m.max-m.min), banklink.RecurringNo)
				}
			}
			if d.Day() == 28 {
				add("Monthly maintenance fee", "FEE", 4.95, banklink.RecurringYes)
			}
		case "SAVINGS":
			if d.Day() == 3 {
				add("Transfer from Checking", "TRANSFER", -300, banklink.RecurringYes)
			}
			if d.Day() == 30 || (d.Month() == time.February && d.Day() == 28) {
				add("Interest payment", "INCOME", -(1 + r.Float64()*20), banklink.RecurringYes)
			}
		case "CREDIT_CARD":
			for _, m := range everyday {
				if r.Float64() < m.perWeek/7*0.5 {
					add(m.name, m.category, m.min+r.Float64()*(m.max-m.min), banklink.RecurringNo)
				}
			}
			if d.Day() == 18 {
				add("Payment - Thank you", "TRANSFER", -(300 + r.Float64()*900), banklink.RecurringYes)
			}
		case "AUTO":
			if d.Day() == 5 {
				add("Loan payment", "LOAN", -412.37, banklink.RecurringYes)
			}
		}
	}
	return out
}
