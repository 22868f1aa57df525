package sqlstore_test

import (
	"testing"
	"time"

	"banklink"
	"banklink/internal/sqlstore"
	"banklink/internal/storetest"
)

// BenchmarkActivity: record is one widget step written to the activity
// log (the write each widget request now adds); timeline reads a
// connection's 200 latest entries among 20,000 of its tenant's, as the
// dashboard's connection page does.
func BenchmarkActivity(b *testing.B) {
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
			var conns []string
			for range 100 {
				c := storetest.NewConnection(scope)
				c.ExpiresAt = time.Now().Add(time.Hour)
				if err := s.StartConnection(b.Context(), storetest.NewCustomer(scope, "bench-"+c.ID), c); err != nil {
					b.Fatal(err)
				}
				conns = append(conns, c.ID)
			}
			event := func(conn string) *banklink.ActivityEvent {
				return &banklink.ActivityEvent{ConnectionID: conn, Action: banklink.ActivityWidgetError, EventType: banklink.ActivityProviderFailure,
					InstitutionID: "inst", Provider: "sandbox", Step: banklink.LoginStepCredentials, Reason: banklink.LoginInvalidCredentials,
					Message: "The username or password is incorrect."}
			}
			b.Run("record", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if err := s.RecordActivity(b.Context(), event(conns[i%len(conns)])); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("timeline", func(b *testing.B) {
				for i := range 20000 {
					if err := s.RecordActivity(b.Context(), event(conns[i%len(conns)])); err != nil {
						b.Fatal(err)
					}
				}
				for b.Loop() {
					list, _, err := s.FindActivity(b.Context(), scope, banklink.ActivityFilter{ConnectionID: conns[7], Before: banklink.LatestCursor, Limit: 200})
					if err != nil || len(list) != 200 {
						b.Fatalf("%d entries, %v", len(list), err)
					}
				}
			})
		})
	}
}
