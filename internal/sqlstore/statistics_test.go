package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/internal/storetest"
	"banklink/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// countCapture keeps the last transactions count the store sent.
type countCapture struct {
	mu   sync.Mutex
	sql  string
	args []any
}

func (c *countCapture) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(d.SQL, "SELECT COUNT(*) FROM (SELECT 1 FROM transactions") {
		c.mu.Lock()
		c.sql, c.args = d.SQL, d.Args
		c.mu.Unlock()
	}
	return ctx
}

func (c *countCapture) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestPostgresKeepsPlannerStatistics: a database that grew from empty
// without an ANALYZE (autovacuum off, as on the benchmark machine, or
// not yet awake) had the planner count one connection's transactions
// through the tenant-wide index (since dropped), reading every row of the
// tenant: 500 ms a page under bench -mix. Without statistics the
// tenant-wide list, account by account, likewise reads and sorts every
// transaction of the tenant for its first page. analyzeStale gathers the
// statistics of the tables that changed, after which the count walks
// transactions_connection and the list sorts one account at a time
// (Incremental Sort, presorted by the account), stopping at the page.
func TestPostgresKeepsPlannerStatistics(t *testing.T) {
	ctx := t.Context()
	tr := &countCapture{}
	db, err := Open(ctx, testenv.PostgresDSN(t), Options{Migrate: true, Tracer: tr, AnalyzeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Keep a server's autovacuum out of this test's way.
	if _, err := db.pool.Exec(ctx, `ALTER TABLE transactions SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	scope := banklink.Scope{AccountID: storetest.MustAccount(t, db, "Acme").ID, Environment: banklink.Sandbox}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var first string
	// 60 accounts: beyond the 50 changed rows that make
	// financial_accounts stale.
	for i := range 60 {
		c := storetest.NewConnection(scope)
		if err := db.StartConnection(ctx, storetest.NewCustomer(scope, fmt.Sprint("cust-", i)), c); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = c.ID
		}
		var txs []banklink.Transaction
		for j := range 150 {
			txs = append(txs, banklink.Transaction{ProviderTransactionID: fmt.Sprint("t", j), Amount: 1, Currency: "USD", Description: "x",
				TransactionDate: day.AddDate(0, 0, j).Format(time.DateOnly), Status: banklink.TxPending, Category: "OTHER", Recurring: banklink.RecurringNo})
		}
		if _, err := db.SaveAggregation(ctx, scope, c.ID, []banklink.AggregatedAccount{{ProviderAccountID: "a", Type: "DEPOSITORY", Subtype: "CHECKING",
			Name: "Checking", Mask: "1234", Transactions: txs}}, false, day); err != nil {
			t.Fatal(err)
		}
	}
	plan := func() string {
		if _, _, err := db.FindTransactions(ctx, scope, banklink.TransactionFilter{ConnectionID: first, Limit: 10}); err != nil {
			t.Fatal(err)
		}
		tr.mu.Lock()
		q, args := tr.sql, tr.args
		tr.mu.Unlock()
		if q == "" {
			t.Fatal("the store sent no transactions count")
		}
		return explainPG(t, db, "EXPLAIN", q, args...)
	}
	tenantPlan := func() string {
		q, c, err := db.transactionsQuery(scope, banklink.TransactionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return explainPG(t, db, "EXPLAIN", q.selectSQL(c, true, 101), c.args...)
	}
	// fullSort reports a Sort of the whole tenant's rows: by account
	// first, and not incremental (a sort of one account's rows, inside
	// its own subquery, is bounded by that account).
	fullSort := func(plan string) bool {
		lines := strings.Split(plan, "\n")
		for i, l := range lines[:len(lines)-1] {
			if strings.Contains(l, "Sort  (") && !strings.Contains(l, "Incremental Sort") && strings.Contains(lines[i+1], "Sort Key: fa.seq") {
				return true
			}
		}
		return false
	}
	t.Logf("count of one connection's transactions, never analysed:\n%s", plan())
	t.Logf("the tenant-wide list's first page, never analysed:\n%s", tenantPlan())

	tables := analyzeWhenCounted(t, db)
	for _, want := range []string{"connections", "transactions", "financial_accounts"} {
		if !slices.Contains(tables, want) {
			t.Errorf("analysed %v: want %s among them", tables, want)
		}
	}
	if got := plan(); !strings.Contains(got, "transactions_connection") || strings.Contains(got, "transactions_scope") {
		t.Errorf("after analysing, the count does not walk transactions_connection:\n%s", got)
	}
	if got := tenantPlan(); fullSort(got) {
		t.Errorf("after analysing, the tenant-wide list still sorts every transaction:\n%s", got)
	}
	// Analysed tables are not analysed again until they change again.
	again, err := db.analyzeStale(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(again, "transactions") {
		t.Errorf("analysed again at once: %v", again)
	}
}

// TestPostgresAnalyzesOneReplicaAtATime: with another replica holding the
// lock, analyzeStale leaves the work to it.
func TestPostgresAnalyzesOneReplicaAtATime(t *testing.T) {
	ctx := t.Context()
	dsn := testenv.PostgresDSN(t)
	db, err := Open(ctx, dsn, Options{Migrate: true, AnalyzeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	scope := banklink.Scope{AccountID: storetest.MustAccount(t, db, "Acme").ID, Environment: banklink.Sandbox}
	for i := range 60 {
		if err := db.StartConnection(ctx, storetest.NewCustomer(scope, fmt.Sprint("cust-", i)), storetest.NewConnection(scope)); err != nil {
			t.Fatal(err)
		}
	}
	waitCounted(t, db)
	other, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	busy, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := busy.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, analyzeLock); err != nil {
		t.Fatal(err)
	}
	if tables, err := db.analyzeStale(ctx); err != nil || len(tables) != 0 {
		t.Errorf("with the lock held elsewhere: analysed %v, %v; want nothing", tables, err)
	}
	if err := busy.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if tables := analyzeWhenCounted(t, db); len(tables) == 0 {
		t.Errorf("with the lock free: analysed nothing; want the connections and customers written")
	}
}

// analyzeWhenCounted runs analyzeStale once the server's statistics count
// the writes so far (waitCounted).
func analyzeWhenCounted(t *testing.T, db *DB) []string {
	t.Helper()
	waitCounted(t, db)
	tables, err := db.analyzeStale(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

// waitCounted waits until the server's statistics show some table due for
// analysing.
func waitCounted(t *testing.T, db *DB) {
	t.Helper()
	ctx := t.Context()
	reportCounts(t, db)
	testenv.Eventually(t, 20*time.Second, "the server's statistics counting the writes", func() bool {
		var due int
		if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_user_tables WHERE `+staleTables).Scan(&due); err != nil {
			t.Fatal(err)
		}
		return due > 0
	})
}

// TestPostgresStoreAnalyzesOnItsOwn: an open store runs analyzeStale by
// itself, every AnalyzeEvery.
func TestPostgresStoreAnalyzesOnItsOwn(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, testenv.PostgresDSN(t), Options{Migrate: true, AnalyzeEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.pool.Exec(ctx, `ALTER TABLE connections SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	scope := banklink.Scope{AccountID: storetest.MustAccount(t, db, "Acme").ID, Environment: banklink.Sandbox}
	for i := range 60 {
		if err := db.StartConnection(ctx, storetest.NewCustomer(scope, fmt.Sprint("cust-", i)), storetest.NewConnection(scope)); err != nil {
			t.Fatal(err)
		}
	}
	reportCounts(t, db)
	testenv.Eventually(t, 30*time.Second, "the store analysing connections by itself", func() bool {
		var analysed bool
		if err := db.pool.QueryRow(ctx, `SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = 'connections'`).Scan(&analysed); err != nil {
			t.Fatal(err)
		}
		return analysed
	})
}

// reportCounts asks every pooled connection to report its table counts to
// the server's statistics now: a backend reports when it goes idle, at
// most once a second (otherwise within ten).
func reportCounts(t *testing.T, db *DB) {
	ctx := t.Context()
	// database/sql keeps idle connections of its own; hand them back to
	// the pool so that AcquireAllIdle reaches them.
	db.w.SetMaxIdleConns(0)
	db.w.SetMaxIdleConns(2)
	for _, c := range db.pool.AcquireAllIdle(ctx) {
		c.Exec(ctx, `SELECT pg_stat_force_next_flush()`) // PostgreSQL 15 and later
		c.Release()
	}
}

// explainPG is PostgreSQL's plan for query, as explain (EXPLAIN and its
// options) prints it.
func explainPG(t *testing.T, db *DB, explain, query string, args ...any) string {
	t.Helper()
	rows, err := db.pool.Query(t.Context(), explain+" "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
