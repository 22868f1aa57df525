package storetest

import (
	"fmt"
	"testing"
	"time"

	"banklink"
)

// testRemainingCap: "remaining" is exact up to banklink.RemainingCap and
// RemainingCap beyond it, and a walk that pages while remaining > 0 sees
// every record once.
func testRemainingCap(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, conn, _ := startOne(t, s)
	total := banklink.RemainingCap + 1200
	txs := make([]banklink.Transaction, total)
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range txs {
		txs[i] = tx(fmt.Sprint("t", i), day.AddDate(0, 0, -i/20).Format(time.DateOnly), banklink.TxPosted, float64(i))
	}
	_, err := s.SaveAggregation(ctx, scope, conn.ID, []banklink.AggregatedAccount{aggAccount("a1", txs...)}, false, t0)
	must(t, err)

	seen := map[string]bool{}
	f := banklink.TransactionFilter{Limit: 1000}
	for page := 0; ; page++ {
		got, remaining, err := s.FindTransactions(ctx, scope, f)
		must(t, err)
		for _, x := range got {
			if seen[x.ID] {
				t.Fatalf("%s twice", x.ID)
			}
			seen[x.ID] = true
		}
		exact := total - len(seen)
		want := min(exact, banklink.RemainingCap)
		if remaining != want {
			t.Errorf("page %d: remaining %d, want %d (%d beyond the page)", page, remaining, want, exact)
		}
		if remaining == 0 {
			break
		}
		f.After = got[len(got)-1].Key
	}
	if len(seen) != total {
		t.Errorf("the walk saw %d of %d transactions", len(seen), total)
	}
}
