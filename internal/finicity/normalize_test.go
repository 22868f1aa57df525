package finicity

import (
	"encoding/json"
	"testing"
	"time"

	"banklink"
)

func TestAccountTypes(t *testing.T) {
	for _, tc := range []struct{ in, typ, sub string }{
		{"checking", "DEPOSITORY", "CHECKING"},
		{"savings", "DEPOSITORY", "SAVINGS"},
		{"cd", "DEPOSITORY", "CD"},
		{"moneyMarket", "DEPOSITORY", "MONEY_MARKET"},
		{"creditCard", "CREDIT", "CREDIT_CARD"},
		{"lineOfCredit", "CREDIT", "LINE_OF_CREDIT"},
		{"investment", "INVESTMENT", "OTHER"},
		{"investmentTaxDeferred", "INVESTMENT", "OTHER"},
		{"roth", "INVESTMENT", "ROTH"},
		{"401k", "INVESTMENT", "401K"},
		{"529plan", "INVESTMENT", "529"},
		{"healthSavingsAccount", "INVESTMENT", "HSA"},
		{"mortgage", "LOAN", "MORTGAGE"},
		{"studentLoan", "LOAN", "STUDENT"},
		{"loan", "LOAN", "LOAN"},
		{"somethingNew", "OTHER", "SOMETHINGNEW"},
		{"", "OTHER", ""},
	} {
		if typ, sub := accountType(tc.in); typ != tc.typ || sub != tc.sub {
			t.Errorf("%q: %s/%s, want %s/%s", tc.in, typ, sub, tc.typ, tc.sub)
		}
	}
}

func i64(v int64) *int64 { return &v }

// TestTransactions: Finicity's sign inverted into banklink's (positive is
// money out), statuses (active, pending, shadow), dates.
func TestTransactions(t *testing.T) {
	day := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name               string
		tx                 transaction
		amount             float64
		status, date, post string
	}{
		{"money out", transaction{Amount: -12.5, Status: "active", TransactionDate: i64(day.Unix()), PostedDate: i64(day.AddDate(0, 0, 1).Unix())}, 12.5, banklink.TxPosted, "2026-11-20", "2026-11-21"},
		{"money in", transaction{Amount: 1500, Status: "active", PostedDate: i64(day.Unix())}, -1500, banklink.TxPosted, "2026-11-20", "2026-11-20"},
		{"pending", transaction{Amount: -4.5, Status: "pending", TransactionDate: i64(day.Unix())}, 4.5, banklink.TxPending, "2026-11-20", ""},
		{"shadow", transaction{Amount: -19.99, Status: "shadow", TransactionDate: i64(day.Unix())}, 19.99, TxShadow, "2026-11-20", ""},
		{"zero", transaction{Amount: 0, Status: "active", CreatedDate: i64(day.Unix())}, 0, banklink.TxPosted, "2026-11-20", "2026-11-20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := convertTransaction(tc.tx, "USD")
			if got.Amount != tc.amount || got.Status != tc.status || got.TransactionDate != tc.date || got.PostedDate != tc.post {
				t.Errorf("%+v", got)
			}
		})
	}
}

func TestCategories(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Paycheck", "INCOME"}, {"Restaurants", "FOOD_AND_DRINK"}, {"Groceries", "FOOD_AND_DRINK"}, {"Transfer", "TRANSFER"},
		{"Gas & Fuel", "TRANSPORTATION"}, {"Utilities", "BILLS"}, {"Bank Fee", "FEE"}, {"Mortgage & Rent", "HOME"}, {"Unknown thing", "OTHER"}, {"", "UNCATEGORIZED"},
	} {
		if got := category(&categorization{Category: tc.in}); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := category(nil); got != "UNCATEGORIZED" {
		t.Errorf("none: %s", got)
	}
}

func f64(v float64) *float64 { return &v }

// TestBalances: what is owed on cards and loans is positive in banklink.
func TestBalances(t *testing.T) {
	for _, tc := range []struct {
		name         string
		a            account
		typ          string
		current      float64
		avail        *float64
		currency     string
		fallbackCurr string
	}{
		{"checking", account{Balance: f64(100), Currency: "USD", Detail: &accountDetail{AvailableBalanceAmount: f64(90)}}, "DEPOSITORY", 100, f64(90), "USD", "USD"},
		{"card owed", account{Balance: f64(-250.75), Detail: &accountDetail{CreditAvailableAmount: f64(4749.25)}}, "CREDIT", 250.75, f64(4749.25), "CAD", "CAD"},
		{"mortgage", account{Balance: f64(-200000), Currency: "usd"}, "LOAN", 200000, nil, "USD", "USD"},
		{"investment", account{Balance: f64(11001), Detail: &accountDetail{AvailableCashBalance: f64(1)}}, "INVESTMENT", 11001, f64(1), "USD", "USD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := balances(tc.a, tc.typ, tc.fallbackCurr, time.Now())
			if b.CurrentAmount != tc.current || b.Currency != tc.currency || (b.AvailableAmount == nil) != (tc.avail == nil) ||
				(tc.avail != nil && *b.AvailableAmount != *tc.avail) {
				t.Errorf("%+v", b)
			}
		})
	}
	if balances(account{}, "DEPOSITORY", "USD", time.Now()) != nil {
		t.Error("no balance, balances")
	}
}

func TestIdentifiers(t *testing.T) {
	var pis []paymentInstruction
	json.Unmarshal([]byte(`[{"type":"rtp","accountNumber":"1","descriptors":[{"type":"routingNumber","value":"r1"}]},
		{"type":"ach","accountNumber":"2","descriptors":[{"type":"routingNumber","value":"r2"}]},
		{"type":"fednow","accountNumber":"3","descriptors":[{"type":"routingNumber","value":"r3"}]}]`), &pis)
	if ids := identifiers(pis); ids == nil || ids.ACH.AccountNumber != "2" || ids.ACH.RoutingNumber != "r2" {
		t.Errorf("ach preferred: %+v", ids)
	}
	if ids := identifiers(pis[2:]); ids == nil || ids.ACH.AccountNumber != "3" {
		t.Errorf("fednow alone: %+v", ids)
	}
	if ids := identifiers(nil); ids != nil {
		t.Errorf("none: %+v", ids)
	}
}

// TestRawKept: the account, transaction and position objects keep
// Finicity's bytes, numeric ids included (Meld's recorded accounts carry
// customerId as a number).
func TestRawKept(t *testing.T) {
	body := `{"id":5011648377,"customerId":1005061234,"institutionLoginId":1007302745,"realAccountNumberLast4":2323,"name":"ROTH","type":"roth",
		"position":[{"id":1,"symbol":"DAL","units":2,"marketValue":80}],"detail":{"vestedBalance":null}}`
	var a account
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	if a.ID != "5011648377" || a.loginID() != "1007302745" || a.mask() != "2323" || string(a.raw) != body || string(a.Position[0].raw) != `{"id":1,"symbol":"DAL","units":2,"marketValue":80}` {
		t.Errorf("%+v raw %s", a, a.raw)
	}
	var tx transaction
	tb := `{"id":1,"amount":-3,"accountId":5,"customerId":6,"status":"active","description":"X","createdDate":1}`
	if err := json.Unmarshal([]byte(tb), &tx); err != nil || string(tx.raw) != tb || string(tx.ID) != "1" {
		t.Errorf("%+v %v", tx, err)
	}
}

// TestInvestmentTransactions: types and the sign rule.
func TestInvestmentTransactions(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		amount   float64
	}{{"purchased", "BUY", 100}, {"sold", "SELL", -100}, {"dividend", "CASH", -5}, {"transfer", "TRANSFER", 10}, {"cancel", "CANCEL", 0}, {"odd", "OTHER", 1}} {
		typ := tc.in
		got := convertInvestmentTransaction(transaction{Amount: -tc.amount, Status: "active", InvestmentTransactionType: &typ, CreatedDate: i64(1)}, "USD")
		if got.Type != tc.want || got.Amount != tc.amount {
			t.Errorf("%s: %+v", tc.in, got)
		}
	}
}
