package sqlstore

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"banklink"
	"banklink/internal/storetest"
	"banklink/internal/testenv"
)

// TestPostgresTenantListReadsAPage: the tenant-wide transactions list
// reads at most a page from each account it visits. Joined plainly,
// PostgreSQL read every row of each account (an Incremental Sort keeps
// the accounts' order but sorts within each): with accounts of 20,000
// transactions a page took 25 ms instead of 0.3 ms.
func TestPostgresTenantListReadsAPage(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, testenv.PostgresDSN(t), Options{Migrate: true, AnalyzeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	scope := banklink.Scope{AccountID: storetest.MustAccount(t, db, "Acme").ID, Environment: banklink.Sandbox}
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		c := storetest.NewConnection(scope)
		if err := db.StartConnection(ctx, storetest.NewCustomer(scope, fmt.Sprint("cust-", i)), c); err != nil {
			t.Fatal(err)
		}
		var txs []banklink.Transaction
		for j := range 5000 {
			txs = append(txs, banklink.Transaction{ProviderTransactionID: fmt.Sprint("t", j), Amount: 1, Currency: "USD", Description: "x",
				TransactionDate: day.AddDate(0, 0, j/5).Format(time.DateOnly), Status: banklink.TxPosted, Category: "OTHER", Recurring: banklink.RecurringNo})
		}
		if _, err := db.SaveAggregation(ctx, scope, c.ID, []banklink.AggregatedAccount{{ProviderAccountID: "a", Type: "DEPOSITORY", Subtype: "CHECKING",
			Name: "Checking", Mask: "1234", Transactions: txs}}, false, day); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	// The rows each visit of the transactions table returned, from the
	// plan's "actual … rows=N loops=M" on its scan.
	scanned := regexp.MustCompile(`on transactions t .*actual (?:time=\S+ )?rows=(\d+) loops=`)
	for _, tc := range []struct {
		name string
		f    banklink.TransactionFilter
	}{
		{"first page", banklink.TransactionFilter{}},
		{"posted, in a date range", banklink.TransactionFilter{Status: banklink.TxPosted, StartDate: "2020-06-01", EndDate: "2022-06-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, c, err := db.transactionsQuery(scope, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			plan := explainPG(t, db, "EXPLAIN (ANALYZE, TIMING OFF)", q.selectSQL(c, true, 101), c.args...)
			m := scanned.FindStringSubmatch(plan)
			if m == nil {
				t.Fatalf("no scan of transactions in:\n%s", plan)
			}
			if n, _ := strconv.Atoi(m[1]); n > 2*101 {
				t.Errorf("a visit read %d transactions for a page of 101:\n%s", n, plan)
			}
		})
	}
}
