package sqlstore

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
	db, scope, _ := linkedAccounts(t, 3, 5000, 5)
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

// TestPostgresTenantCountStaysInItsAccounts: the count beyond a page of
// the tenant-wide list reads only the accounts after the cursor, through
// their index. Joined plainly, PostgreSQL's plan for the cursor's own
// values hashed the accounts and scanned the whole transactions table,
// betting that the count's LIMIT would stop it early: on two million
// transactions 2 ms when it did and 773 ms when it did not.
func TestPostgresTenantCountStaysInItsAccounts(t *testing.T) {
	ctx := t.Context()
	const perAccount = 100
	db, scope, ids := linkedAccounts(t, 120, perAccount, 1)
	// The first accounts' rows move to the end of the table, as a
	// refresh's updates move them: a sequential scan meets them last.
	if _, err := db.pool.Exec(ctx, `UPDATE transactions SET description = 'y' WHERE financial_account_id = ANY($1)`, ids[:30]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `VACUUM ANALYZE transactions`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	// The newest transaction of the 30th account linked: 29 accounts and
	// 99 transactions lie beyond it, more than the count's cap.
	newest, _, err := db.FindTransactions(ctx, scope, banklink.TransactionFilter{FinancialAccountID: ids[29], Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	q, c, err := db.transactionsQuery(scope, banklink.TransactionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.cursorCond(ctx, db, &c, "after", newest[0].Key, true); err != nil {
		t.Fatal(err)
	}
	// EXPLAIN with parameters plans for their values, as a prepared
	// statement's first five executions do. On this small table the plain
	// join's plan is right anyway; with nested loops disabled the planner
	// takes the hash join it chose on two million rows, which the LATERAL
	// form leaves it no room for.
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET enable_nestloop = off`); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), `RESET enable_nestloop`)
	rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, TIMING OFF) "+q.countSQL(c), c.args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	read := 0
	for _, m := range regexp.MustCompile(`on transactions(?:_account)? t .*actual (?:time=\S+ )?rows=(\d+) loops=(\d+)`).FindAllStringSubmatch(plan, -1) {
		rows, _ := strconv.Atoi(m[1])
		loops, _ := strconv.Atoi(m[2])
		read += rows * loops
	}
	if read == 0 || read > banklink.RemainingCap+perAccount {
		t.Errorf("the count read %d transactions to count up to %d:\n%s", read, banklink.RemainingCap, plan)
	}
	var n int
	if err := conn.QueryRow(ctx, q.countSQL(c), c.args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != banklink.RemainingCap {
		t.Errorf("count = %d, want %d", n, banklink.RemainingCap)
	}
}

// linkedAccounts is a PostgreSQL store whose tenant has the given number
// of connections, linked one after another, each with one account of
// perAccount posted transactions, perDay a day from 2020-01-01 on; and
// those accounts' ids in the order they were linked.
func linkedAccounts(t *testing.T, accounts, perAccount, perDay int) (*DB, banklink.Scope, []string) {
	t.Helper()
	ctx := t.Context()
	db, err := Open(ctx, testenv.PostgresDSN(t), Options{Migrate: true, AnalyzeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	scope := banklink.Scope{AccountID: storetest.MustAccount(t, db, "Acme").ID, Environment: banklink.Sandbox}
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range accounts {
		c := storetest.NewConnection(scope)
		if err := db.StartConnection(ctx, storetest.NewCustomer(scope, fmt.Sprint("cust-", i)), c); err != nil {
			t.Fatal(err)
		}
		var txs []banklink.Transaction
		for j := range perAccount {
			txs = append(txs, banklink.Transaction{ProviderTransactionID: fmt.Sprint("t", j), Amount: 1, Currency: "USD", Description: "x",
				TransactionDate: day.AddDate(0, 0, j/perDay).Format(time.DateOnly), Status: banklink.TxPosted, Category: "OTHER", Recurring: banklink.RecurringNo})
		}
		if _, err := db.SaveAggregation(ctx, scope, c.ID, []banklink.AggregatedAccount{{ProviderAccountID: "a", Type: "DEPOSITORY", Subtype: "CHECKING",
			Name: "Checking", Mask: "1234", Transactions: txs}}, false, day); err != nil {
			t.Fatal(err)
		}
		saved, _, err := db.FindFinancialAccounts(ctx, scope, banklink.FinancialAccountFilter{ConnectionID: c.ID, Limit: 1})
		if err != nil || len(saved) != 1 {
			t.Fatalf("accounts of %s: %v, %v", c.ID, saved, err)
		}
		ids = append(ids, saved[0].ID)
	}
	return db, scope, ids
}
