package sandbox

import (
	"fmt"
	"math"
	"strings"
	"time"

	"banklink"
)

// security is one instrument the sandbox brokerage holds.
type security struct {
	symbol, name, typ, cusip string
	price                    float64 // price on 2026-01-01
}

var universe = []security{
	{"AAPL", "Apple Inc.", "STOCK", "037833100", 240},
	{"MSFT", "Microsoft Corporation", "STOCK", "594918104", 430},
	{"VTI", "Vanguard Total Stock Market ETF", "ETF", "922908769", 290},
	{"VXUS", "Vanguard Total International Stock ETF", "ETF", "921909768", 62},
	{"BND", "Vanguard Total Bond Market ETF", "ETF", "921937835", 72},
	{"FXAIX", "Fidelity 500 Index Fund", "MUTUALFUND", "315911750", 200},
}

// price is a security's deterministic close on a day: a gentle drift plus
// a daily wobble, so values move but the same day always has one price.
func price(s security, day time.Time) float64 {
	days := day.Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24
	r := rng("price", s.symbol, day.Format(time.DateOnly))
	return money(s.price * math.Pow(1.0003, days) * (0.99 + r.Float64()*0.02))
}

func isin(cusip string) string { return "US" + cusip + "0" }

// investments builds an investment account's holdings and trades: the
// holdings a login owns, a monthly purchase, quarterly dividends.
func investments(loginID string, a banklink.ProviderAccount, currency string, since, now time.Time, wantHoldings, wantTx bool) ([]banklink.Holding, []banklink.InvestmentTransaction, float64) {
	r := rng("portfolio", loginID, a.ID)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var holdings []banklink.Holding
	var txs []banklink.InvestmentTransaction
	total := 0.0
	for _, s := range universe {
		if r.IntN(3) == 0 {
			continue // not every account holds everything
		}
		qty := math.Round((5+r.Float64()*120)*1000) / 1000
		close := price(s, today)
		value := money(qty * close)
		total += value
		basis := money(value * (0.7 + r.Float64()*0.25))
		if wantHoldings {
			holdings = append(holdings, banklink.Holding{ProviderHoldingID: a.ID + "_" + s.symbol, Symbol: s.symbol, Description: s.name,
				Quantity: qty, ClosePrice: close, CurrentValue: value, CostBasis: &basis, Currency: currency, CUSIP: s.cusip, ISIN: isin(s.cusip), Type: s.typ})
		}
		if !wantTx {
			continue
		}
		start := now.AddDate(0, -HistoryMonths, 0)
		if since.After(start) {
			start = since
		}
		for d := today; !d.Before(start); d = d.AddDate(0, 0, -1) {
			date := d.Format(time.DateOnly)
			add := func(kind, desc string, q, amount float64) {
				tx := banklink.InvestmentTransaction{ProviderTransactionID: fmt.Sprintf("%s_%s_%s_%s", a.ID, s.symbol, strings.ReplaceAll(date, "-", ""), kind),
					Amount: money(amount), Quantity: q, Price: price(s, d), Symbol: s.symbol, Description: desc, Currency: currency,
					TransactionDate: date, Status: banklink.TxPosted, Type: kind}
				if today.Sub(d) < 48*time.Hour {
					tx.Status = banklink.TxPending
				} else {
					tx.PostedDate = d.AddDate(0, 0, 2).Format(time.DateOnly)
				}
				txs = append(txs, tx)
			}
			switch {
			case d.Day() == 15:
				q := math.Round(100/price(s, d)*1000) / 1000
				add("BUY", "Buy "+s.symbol+" (automatic investment)", q, q*price(s, d))
			case d.Day() == 28 && d.Month()%3 == 0 && s.typ != "MUTUALFUND":
				add("CASH", "Dividend "+s.symbol, 0, -money(qty*price(s, d)*0.004))
			}
		}
	}
	return holdings, txs, total
}
