package sqlstore_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"banklink"
	"banklink/internal/sqlstore"
	"banklink/internal/storetest"
)

// BenchmarkSaveAggregation saves one connection's aggregation: three
// accounts of 400 transactions each. insert stores them into a fresh
// connection; again saves the same data once more, the steady state of a
// daily refresh where nothing changed. none carries no provider payloads
// (the sandboxes), raw an MX-like payload on every account and
// transaction, and changing a different payload every time (the worst
// case: every row's payload rewritten).
func BenchmarkSaveAggregation(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *sqlstore.DB
	}{{"sqlite", MustOpenSQLite}, {"postgres", MustOpenPostgres}} {
		b.Run(db.name, func(b *testing.B) {
			s := db.open(b)
			acct := &banklink.Account{ID: banklink.NewID(), Name: "bench"}
			if err := s.CreateAccount(b.Context(), acct); err != nil {
				b.Fatal(err)
			}
			scope := banklink.Scope{AccountID: acct.ID, Environment: banklink.Sandbox}
			newConnection := func(b *testing.B) string {
				c := storetest.NewConnection(scope)
				c.ExpiresAt = time.Now().Add(time.Hour)
				if err := s.StartConnection(b.Context(), storetest.NewCustomer(scope, "bench-"+c.ID), c); err != nil {
					b.Fatal(err)
				}
				return c.ID
			}
			for _, payload := range benchPayloads {
				data := benchAggregation(payload.versions[0])
				b.Run("insert/"+payload.name, func(b *testing.B) {
					for b.Loop() {
						b.StopTimer()
						id := newConnection(b)
						b.StartTimer()
						if _, err := s.SaveAggregation(b.Context(), scope, id, data, false, time.Now()); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("again/"+payload.name, func(b *testing.B) {
					id := newConnection(b)
					if _, err := s.SaveAggregation(b.Context(), scope, id, data, false, time.Now()); err != nil {
						b.Fatal(err)
					}
					var next [][]banklink.AggregatedAccount
					for _, v := range payload.versions {
						next = append(next, benchAggregation(v))
					}
					for i := 0; b.Loop(); i++ {
						if _, err := s.SaveAggregation(b.Context(), scope, id, next[(i+1)%len(next)], false, time.Now()); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// benchPayloads: the payload versions saved in turn (0: none).
var benchPayloads = []struct {
	name     string
	versions []int
}{{"none", []int{0}}, {"raw", []int{1}}, {"changing", []int{1, 2}}}

// benchAggregation is the data with payload version v (0: none).
func benchAggregation(v int) []banklink.AggregatedAccount {
	raw := func(format string, args ...any) json.RawMessage {
		if v == 0 {
			return nil
		}
		return json.RawMessage(fmt.Sprintf(format, args...))
	}
	var out []banklink.AggregatedAccount
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for a := range 3 {
		acc := banklink.AggregatedAccount{ProviderAccountID: fmt.Sprintf("ACT-%d", a), Type: "DEPOSITORY", Subtype: "CHECKING", Name: "Checking", Mask: "1234",
			Balances: &banklink.AccountBalances{Currency: "USD", CurrentAmount: 1000, UpdatedAt: start},
			Raw: raw(`{"guid":"ACT-%d","member_guid":"MBR-1","user_guid":"USR-1","institution_code":"mxbank","name":"Checking","type":"CHECKING",`+
				`"subtype":"NONE","account_number":"****1234","balance":1000,"available_balance":990,"currency_code":"USD","is_closed":false,"version":%d}`, a, v)}
		for i := range 400 {
			day := start.AddDate(0, 0, i).Format(time.DateOnly)
			acc.Transactions = append(acc.Transactions, banklink.Transaction{ProviderTransactionID: fmt.Sprintf("TRN-%d-%d", a, i), Amount: float64(i) + 0.25,
				Currency: "USD", Description: "Coffee shop", TransactionDate: day, PostedDate: day, Status: banklink.TxPosted, Category: "FOOD_AND_DRINK",
				Recurring: banklink.RecurringUnknown,
				Raw: raw(`{"guid":"TRN-%d-%d","account_guid":"ACT-%d","member_guid":"MBR-1","user_guid":"USR-1","amount":%d.25,"type":"DEBIT",`+
					`"status":"POSTED","date":"%s","transacted_at":"%sT12:00:00Z","posted_at":"%sT12:00:00Z","description":"Coffee shop",`+
					`"original_description":"COFFEE SHOP #123 SEATTLE WA","category":"Coffee Shops","top_level_category":"Food & Dining",`+
					`"currency_code":"USD","is_recurring":false,"merchant_guid":"MCH-7d3c","version":%d}`, a, i, a, i, day, day, day, v)})
		}
		out = append(out, acc)
	}
	return out
}

// BenchmarkAggregationWork is the bookkeeping durable aggregation work adds
// to each aggregation (issue 22): counting the request and taking the
// lease, then finishing the ticket and releasing the lease. Compare it
// with BenchmarkSaveAggregation and the widget's BenchmarkRefreshByProvider.
func BenchmarkAggregationWork(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *sqlstore.DB
	}{{"sqlite", MustOpenSQLite}, {"postgres", MustOpenPostgres}} {
		b.Run(db.name, func(b *testing.B) {
			s := db.open(b)
			acct := &banklink.Account{ID: banklink.NewID(), Name: "bench"}
			if err := s.CreateAccount(b.Context(), acct); err != nil {
				b.Fatal(err)
			}
			scope := banklink.Scope{AccountID: acct.ID, Environment: banklink.Sandbox}
			c := storetest.NewConnection(scope)
			c.ExpiresAt = time.Now().Add(time.Hour)
			if err := s.StartConnection(b.Context(), storetest.NewCustomer(scope, "bench"), c); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				now := time.Now()
				w, _, err := s.RequestAggregation(b.Context(), scope, c.ID, now, banklink.Lease{Owner: "bench", Until: now.Add(time.Minute)})
				if err != nil {
					b.Fatal(err)
				}
				if _, more, err := s.FinishAggregation(b.Context(), w, "bench"); err != nil || more {
					b.Fatal(err, more)
				}
			}
		})
	}
}
