// The scale run (-scale): does banklink stay fast when the database is
// full?
//
// It builds two complete banklinks per backend (the -mix stack: widget,
// aggregation, webhooks), one on a small database and one on a database
// the generator fills to -scale-customers customers, two connections each,
// two accounts of -scale-tx transactions per connection (the defaults:
// 10,000 customers, 20,000 connections, 2,000,000 transactions) and an
// investment account with five holdings on every tenth connection. The
// generator writes through the store's own paths (StartConnection,
// CompleteConnection, SaveAggregation), so indexes, keys and events are
// what production writes.
//
// The baseline database holds 110 customers (one page of every list, see
// baselineCustomers). Then it sends the same requests to both, one at a time and alternating
// between them so the machine's drift hits both alike, and prints each
// request's p50 and p99 on the full database with its ratio to the empty
// one: list and get endpoints (first pages, filters, cursors deep in the
// list), /institutions, connect/start and an aggregation of the sandbox's
// 24 months. It also reports start-up time on the full database, the
// process's RSS and the database's size per 1,000 transactions.
//
//	go run ./bench -scale [-postgres DSN]
//
// With -postgres the DSN must be a URL (postgres://…/db); the run creates
// two databases beside it and drops them at the end.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"banklink"
	"banklink/internal/sandbox"
	bsearch "banklink/internal/search"
	"banklink/internal/sqlstore"
)

type scaleOptions struct {
	customers int // each with two connections
	txPerAcct int // two transaction accounts per connection
	samples   int // per request and database
	postgres  string
	// keep leaves the databases behind (their names are printed), for
	// EXPLAIN.
	keep bool
}

// filled is what the generator leaves behind for the reads to aim at.
type filled struct {
	connections  []*banklink.Connection // in creation order
	customers    []string               // ids, in creation order
	investors    []string               // customers with holdings
	transactions int
	took         time.Duration
}

var scaleCategories = []string{"FOOD_AND_DRINK", "GROCERIES", "TRANSFER", "SHOPPING", "TRAVEL", "UTILITIES", "INCOME"}

// fill writes the customers, connections and data into s's tenant with
// workers writers at a time.
func fill(ctx context.Context, s *mixStack, o scaleOptions, workers int) filled {
	scope := banklink.Scope{AccountID: s.key.AccountID, Environment: banklink.Sandbox}
	inst, err := s.db.FindInstitutionByID(ctx, sandbox.TestBankID)
	if err != nil {
		log.Fatalf("%s: the sandbox bank: %v", s.name, err)
	}
	today := time.Now().UTC()
	// Dates are precomputed: the generator must not be what is measured.
	dates := make([]string, 730)
	for i := range dates {
		dates[i] = today.AddDate(0, 0, -i).Format(time.DateOnly)
	}
	n := o.customers * 2
	out := filled{connections: make([]*banklink.Connection, n), customers: make([]string, o.customers)}
	var next, txs atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	t0 := time.Now()
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				// Connections are written in pairs per customer: the
				// second reuses the first's customer by external id.
				now := time.Now()
				cust := &banklink.Customer{ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment,
					ExternalID: fmt.Sprintf("scale-%06d", i/2), CreatedAt: now}
				conn := &banklink.Connection{ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment,
					Products: []banklink.Product{banklink.Balances, banklink.Transactions, banklink.InvestmentHoldings}, Regions: []banklink.Region{"US"},
					RoutingProfile: "default", InstitutionID: inst.ID, Status: banklink.StatusInProgress, CreatedAt: now, UpdatedAt: now,
					ExpiresAt: now.Add(banklink.ConnectionCompletionWindow)}
				if err := s.db.StartConnection(ctx, cust, conn); err != nil {
					log.Fatalf("%s: start connection %d: %v", s.name, i, err)
				}
				c, err := s.db.CompleteConnection(ctx, scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: sandbox.ProviderType,
					LoginID: fmt.Sprintf("scale-login-%d", i), At: now})
				if err != nil {
					log.Fatalf("%s: complete connection %d: %v", s.name, i, err)
				}
				accts := []banklink.AggregatedAccount{scaleAccount(i, 0, "CHECKING", o.txPerAcct, dates), scaleAccount(i, 1, "CREDIT_CARD", o.txPerAcct, dates)}
				investor := i%10 == 0
				if investor {
					accts = append(accts, scaleBrokerage(i))
				}
				if _, err := s.db.SaveAggregation(ctx, scope, conn.ID, accts, true, now); err != nil {
					log.Fatalf("%s: save aggregation %d: %v", s.name, i, err)
				}
				txs.Add(int64(2 * o.txPerAcct))
				mu.Lock()
				out.connections[i] = c
				if i%2 == 0 {
					out.customers[i/2] = c.CustomerID
				}
				if investor {
					out.investors = append(out.investors, c.CustomerID)
				}
				mu.Unlock()
				if done := i + 1; done%2000 == 0 {
					fmt.Fprintf(os.Stderr, "%s: %d of %d connections, %d transactions, %.0f transactions/s\n",
						s.name, done, n, txs.Load(), float64(txs.Load())/time.Since(t0).Seconds())
				}
			}
		})
	}
	wg.Wait()
	out.transactions, out.took = int(txs.Load()), time.Since(t0)
	return out
}

func scaleAccount(conn, n int, subtype string, txs int, dates []string) banklink.AggregatedAccount {
	typ := "DEPOSITORY"
	if subtype == "CREDIT_CARD" {
		typ = "CREDIT"
	}
	avail := 1000.0
	a := banklink.AggregatedAccount{ProviderAccountID: fmt.Sprintf("acct-%d-%d", conn, n), Type: typ, Subtype: subtype,
		Name: "Account " + subtype, Mask: fmt.Sprintf("%04d", conn%10000),
		Balances:     &banklink.AccountBalances{Currency: "USD", CurrentAmount: 1234.56, AvailableAmount: &avail, UpdatedAt: time.Now()},
		Transactions: make([]banklink.Transaction, txs)}
	for j := range txs {
		// Spread over 24 months, newest first, each account on its own
		// days so the tenant-wide list interleaves them.
		d := dates[(j*len(dates)/txs+conn)%len(dates)]
		status, posted := banklink.TxPosted, d
		if j < 2 {
			status, posted = banklink.TxPending, ""
		}
		a.Transactions[j] = banklink.Transaction{ProviderTransactionID: fmt.Sprintf("tx-%d-%d-%d", conn, n, j), Amount: float64(1+(j*37+conn)%9000) / 100,
			Currency: "USD", Description: "PURCHASE " + scaleCategories[j%len(scaleCategories)], TransactionDate: d, PostedDate: posted,
			Status: status, Category: scaleCategories[j%len(scaleCategories)], Recurring: banklink.RecurringNo}
	}
	return a
}

func scaleBrokerage(conn int) banklink.AggregatedAccount {
	a := banklink.AggregatedAccount{ProviderAccountID: fmt.Sprintf("acct-%d-brokerage", conn), Type: "INVESTMENT", Subtype: "BROKERAGE",
		Name: "Brokerage", Mask: "9999", Balances: &banklink.AccountBalances{Currency: "USD", CurrentAmount: 25000, UpdatedAt: time.Now()},
		Holdings: []banklink.Holding{}}
	for j, sym := range []string{"VTI", "VXUS", "BND", "AAPL", "MSFT"} {
		a.Holdings = append(a.Holdings, banklink.Holding{ProviderHoldingID: fmt.Sprintf("h-%d-%d", conn, j), Symbol: sym, Description: sym,
			Quantity: float64(10 + j), ClosePrice: 100 + float64(j), CurrentValue: float64(10+j) * (100 + float64(j)), Currency: "USD"})
	}
	return a
}

// scaleRequest is one kind of request, built for a stack and its data.
type scaleRequest struct {
	name string
	// do sends request i to stack s, aimed at t's data, and checks its
	// status.
	do func(s *mixStack, t *scaleTarget, i int) error
}

// scaleTarget is a stack with the ids its requests aim at.
type scaleTarget struct {
	stack *mixStack
	data  filled
	// deepConnection and deepTransaction are cursors near the end of the
	// tenant-wide lists.
	deepConnection, deepTransaction string
	// aggConnection is linked through the widget: the aggregation target.
	aggConnection string
	// accounts are financial account ids of data.customers[0..].
	accounts []string
}

func (t *scaleTarget) customer(i int) string { return t.data.customers[i%len(t.data.customers)] }

func (t *scaleTarget) connection(i int) string {
	return t.data.connections[i%len(t.data.connections)].ID
}

func (t *scaleTarget) investor(i int) string { return t.data.investors[i%len(t.data.investors)] }

func scaleRequests() []scaleRequest {
	get := func(path func(t *scaleTarget, i int) string) func(*mixStack, *scaleTarget, int) error {
		return func(s *mixStack, t *scaleTarget, i int) error {
			return s.call("GET", path(t, i), s.auth, "", 200, nil)
		}
	}
	return []scaleRequest{
		{"GET /bank-linking/connections (first 100)", get(func(*scaleTarget, int) string { return "/bank-linking/connections?limit=100" })},
		{"GET /bank-linking/connections (100, cursor near the end)", get(func(t *scaleTarget, _ int) string {
			return "/bank-linking/connections?limit=100&after=" + url.QueryEscape(t.deepConnection)
		})},
		{"GET /bank-linking/connections?customerId=", get(func(t *scaleTarget, i int) string {
			return "/bank-linking/connections?customerId=" + t.customer(i*7919)
		})},
		{"GET /bank-linking/connections/{id}", get(func(t *scaleTarget, i int) string { return "/bank-linking/connections/" + t.connection(i*7919) })},
		{"GET /accounts/customers (first 100)", get(func(*scaleTarget, int) string { return "/accounts/customers?limit=100" })},
		{"GET /bank-linking/accounts?customerId=", get(func(t *scaleTarget, i int) string {
			return "/bank-linking/accounts?customerId=" + t.customer(i*7919)
		})},
		{"GET /bank-linking/accounts/{id}", get(func(t *scaleTarget, i int) string {
			return "/bank-linking/accounts/" + t.accounts[i%len(t.accounts)]
		})},
		{"GET /bank-linking/transactions (first 100)", get(func(*scaleTarget, int) string { return "/bank-linking/transactions?limit=100" })},
		{"GET /bank-linking/transactions (100, cursor near the end)", func(s *mixStack, t *scaleTarget, _ int) error {
			// A cursor at the very end answers an empty page in no time:
			// the page must be full to measure anything.
			var page struct {
				Transactions []json.RawMessage `json:"financialAccountTransactions"`
			}
			if err := s.call("GET", "/bank-linking/transactions?limit=100&after="+url.QueryEscape(t.deepTransaction), s.auth, "", 200, &page); err != nil {
				return err
			}
			if len(page.Transactions) != 100 {
				return fmt.Errorf("the page near the end has %d transactions, want 100", len(page.Transactions))
			}
			return nil
		}},
		{"GET /bank-linking/transactions?customerId=&status=POSTED&startDate=&endDate=", get(func(t *scaleTarget, i int) string {
			end := time.Now().UTC().AddDate(0, 0, -30)
			return "/bank-linking/transactions?customerId=" + t.customer(i*7919) + "&status=POSTED&startDate=" +
				end.AddDate(0, -6, 0).Format(time.DateOnly) + "&endDate=" + end.Format(time.DateOnly)
		})},
		{"GET /bank-linking/transactions?financialAccountId= (100)", get(func(t *scaleTarget, i int) string {
			return "/bank-linking/transactions?limit=100&financialAccountId=" + t.accounts[i%len(t.accounts)]
		})},
		{"GET /bank-linking/investments/holdings?customerId=", get(func(t *scaleTarget, i int) string {
			return "/bank-linking/investments/holdings?customerId=" + t.investor(i)
		})},
		{"GET /institutions?name=<prefix>&limit=20", get(func(t *scaleTarget, i int) string {
			return "/institutions?limit=20&name=" + t.stack.prefixes[i%len(t.stack.prefixes)]
		})},
		{"POST /bank-linking/connect/start", func(s *mixStack, _ *scaleTarget, i int) error {
			return s.call("POST", "/bank-linking/connect/start", s.auth, fmt.Sprintf(body, fmt.Sprintf("scale-start-%d-%d", time.Now().UnixNano(), i)), 201, nil)
		}},
	}
}

// prepare finds the targets' cursors and accounts through the API, as an
// app would, and links one connection through the widget.
func (t *scaleTarget) prepare() error {
	s := t.stack
	// The key about 100 connections before the end (the list is in
	// creation order; the writers interleave by a few).
	near := t.data.connections[max(0, len(t.data.connections)-101)]
	t.deepConnection = near.Key
	var accts struct {
		Accounts []struct {
			ID string `json:"id"`
		} `json:"financialAccounts"`
	}
	for i := range 50 {
		if err := s.call("GET", "/bank-linking/accounts?customerId="+t.customer(i*101), s.auth, "", 200, &accts); err != nil {
			return err
		}
		for _, a := range accts.Accounts {
			t.accounts = append(t.accounts, a.ID)
		}
	}
	if len(t.accounts) == 0 {
		return fmt.Errorf("%s: no accounts", s.name)
	}
	// The tenant-wide list runs account by account, the newest linked
	// first. Customer 101's accounts are among the first linked, so the
	// newest transaction of one is near the end of the list with more
	// than a page after it (the oldest transaction of customer 0's first
	// account, the cursor before, is now the very last row).
	if err := s.call("GET", "/bank-linking/accounts?customerId="+t.customer(101), s.auth, "", 200, &accts); err != nil {
		return err
	}
	if len(accts.Accounts) == 0 {
		return fmt.Errorf("%s: no accounts for customer 101", s.name)
	}
	var txs struct {
		Transactions []struct {
			Key string `json:"key"`
		} `json:"financialAccountTransactions"`
	}
	if err := s.call("GET", "/bank-linking/transactions?limit=1&financialAccountId="+accts.Accounts[0].ID, s.auth, "", 200, &txs); err != nil {
		return err
	}
	if len(txs.Transactions) == 0 {
		return fmt.Errorf("%s: no transactions", s.name)
	}
	t.deepTransaction = txs.Transactions[0].Key
	id, err := s.flow(&mixStats{}, "scale-aggregation")
	if err != nil {
		return err
	}
	s.runner.Wait()
	t.aggConnection = id
	return nil
}

// baselineCustomers fill the baseline database: just over one page of
// every list (110 customers, 220 connections, 440 transaction accounts),
// so the two databases answer the same pages and the ratio measures the
// database's size, not the page's. (At 60, the first page of customers
// held 60 on the baseline and 100 on the full database.)
const baselineCustomers = 110

// emptyTarget is the baseline: a database as small as a real tenant's
// first day.
func emptyTarget(ctx context.Context, s *mixStack, o scaleOptions) *scaleTarget {
	small := o
	small.customers = baselineCustomers
	return &scaleTarget{stack: s, data: fill(ctx, s, small, 1)}
}

type scaleRow struct {
	name string
	// empty and full hold the latencies (lat) on each database.
	empty, full result
}

// measure sends each request samples times to both targets, alternating.
func measure(ctx context.Context, empty, full *scaleTarget, samples int) []scaleRow {
	var rows []scaleRow
	for _, r := range scaleRequests() {
		row := scaleRow{name: r.name}
		for i := range samples + samples/10 {
			for k, t := range []*scaleTarget{empty, full} {
				t0 := time.Now()
				if err := r.do(t.stack, t, i); err != nil {
					log.Fatalf("%s on %s: %v", r.name, t.stack.name, err)
				}
				if i < samples/10 {
					continue // warm-up
				}
				if k == 0 {
					row.empty.lat = append(row.empty.lat, time.Since(t0))
				} else {
					row.full.lat = append(row.full.lat, time.Since(t0))
				}
			}
		}
		rows = append(rows, row)
	}
	// An aggregation: the sandbox's 24 months again (a refresh) on the
	// connection linked through the widget. Half as many samples as the
	// reads (at a tenth, the p99 of 200 samples was the worst of 19).
	row := scaleRow{name: "aggregation (sandbox, 24 months, refresh)"}
	for i := range max(6, samples/2) {
		for k, t := range []*scaleTarget{empty, full} {
			scope := banklink.Scope{AccountID: t.stack.key.AccountID, Environment: banklink.Sandbox}
			t0 := time.Now()
			if err := t.stack.runner.Aggregate(ctx, scope, t.aggConnection); err != nil {
				log.Fatalf("aggregation on %s: %v", t.stack.name, err)
			}
			if i == 0 {
				continue
			}
			if k == 0 {
				row.empty.lat = append(row.empty.lat, time.Since(t0))
			} else {
				row.full.lat = append(row.full.lat, time.Since(t0))
			}
		}
	}
	rows = append(rows, row)
	for i := range rows {
		slices.Sort(rows[i].empty.lat)
		slices.Sort(rows[i].full.lat)
	}
	return rows
}

// scaleDB is one backend's pair of databases.
type scaleDB struct {
	name        string
	empty, full string
	drop        func()
}

func runScale(o scaleOptions, concurrency int) int {
	ctx := context.Background()
	dir := sandbox.Directory(sandbox.DefaultSeed, sandbox.DefaultDirectorySize)
	tmp, err := os.MkdirTemp("", "banklink-bench-scale")
	if err != nil {
		log.Fatal(err)
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}
	dbs := []scaleDB{{name: "sqlite", empty: filepath.Join(tmp, "empty.db"), full: filepath.Join(tmp, "full.db"), drop: func() {}}}
	if o.postgres != "" {
		dbs = append(dbs, postgresPair(ctx, o.postgres))
	}
	failed := 0
	for _, d := range dbs {
		if !scaleOne(ctx, d, dir, o, concurrency) {
			failed++
		}
		if o.keep {
			fmt.Printf("kept: %s and %s\n", d.empty, d.full)
		} else {
			d.drop()
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func scaleOne(ctx context.Context, d scaleDB, dir []*banklink.Institution, o scaleOptions, concurrency int) bool {
	fmt.Fprintf(os.Stderr, "%s: building the stacks…\n", d.name)
	es := newMixStack(ctx, d.name+"-empty", d.empty, dir, concurrency)
	fs := newMixStack(ctx, d.name+"-full", d.full, dir, concurrency)
	rssBefore := rss()
	workers := 4
	if sqlstore.DialectOf(d.full) == sqlstore.SQLite {
		workers = 2 // one writer: more only queue
	}
	empty := emptyTarget(ctx, es, o)
	fmt.Fprintf(os.Stderr, "%s: filling %d customers…\n", d.name, o.customers)
	full := &scaleTarget{stack: fs, data: fill(ctx, fs, o, workers)}
	fmt.Fprintf(os.Stderr, "%s: filled %d connections, %d transactions in %s (%.0f transactions/s)\n", d.name,
		len(full.data.connections), full.data.transactions, full.data.took.Round(time.Second), float64(full.data.transactions)/full.data.took.Seconds())
	if sqlstore.DialectOf(d.full) == sqlstore.Postgres {
		// PostgreSQL's autovacuum would have analyzed tables this size
		// long before; banklink never runs ANALYZE on SQLite, nor does
		// this run.
		es.analyze(ctx)
		fs.analyze(ctx)
	}
	for _, t := range []*scaleTarget{empty, full} {
		if err := t.prepare(); err != nil {
			log.Fatalf("%s: %v", t.stack.name, err)
		}
	}
	runtime.GC()
	rssFull := rss()
	rows := measure(ctx, empty, full, o.samples)
	size := dbBytes(ctx, fs)
	es.shutdown()
	fs.shutdown()

	// Start-up on the full database: open (migrations checked) and the
	// first institution index, as serve does before it listens.
	t0 := time.Now()
	db, err := sqlstore.Open(ctx, d.full, sqlstore.Options{Migrate: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := bsearch.NewLive(db).Refresh(ctx); err != nil {
		log.Fatal(err)
	}
	startup := time.Since(t0)
	db.Close()

	fmt.Printf("\n## Scale: %s, %d customers, %d connections, %d transactions (%d samples per request, alternating)\n\n",
		d.name, o.customers, len(full.data.connections), full.data.transactions, o.samples)
	fmt.Printf("| request | empty p50 | empty p99 | full p50 | full p99 | p99 full/empty |\n|---|---|---|---|---|---|\n")
	ok := true
	for _, r := range rows {
		e99, f99 := r.empty.pct(0.99), r.full.pct(0.99)
		ratio := float64(f99) / float64(e99)
		mark := ""
		if ratio > 2 {
			mark, ok = " ✗", false
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %.2f%s |\n", r.name, ms(r.empty.pct(0.5)), ms(e99), ms(r.full.pct(0.5)), ms(f99), ratio, mark)
	}
	fmt.Printf("\nfill: %s (%.0f transactions/s); start-up on the full database: %s; RSS %.0f MiB before filling, %.0f MiB after; database %.1f MiB, %.1f KiB per 1,000 transactions\n",
		full.data.took.Round(time.Second), float64(full.data.transactions)/full.data.took.Seconds(), startup.Round(time.Millisecond),
		mib(rssBefore), mib(rssFull), mib(uint64(size)), float64(size)/1024/(float64(full.data.transactions)/1000))
	return ok
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// dbBytes is the database's size on disk: the SQLite file after a
// checkpoint, or PostgreSQL's pg_database_size.
func dbBytes(ctx context.Context, s *mixStack) int64 {
	db, err := s.rawDB()
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if sqlstore.DialectOf(s.dsn) == sqlstore.SQLite {
		if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			log.Fatal(err)
		}
		return s.dbSize()
	}
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
		log.Fatal(err)
	}
	return n
}

// postgresPair creates an empty and a full database beside dsn's.
func postgresPair(ctx context.Context, dsn string) scaleDB {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		log.Fatalf("-scale needs -postgres as a URL (postgres://user@host/db): %q", dsn)
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		log.Fatal(err)
	}
	suffix := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().Unix())
	names := []string{"banklink_scale_empty_" + suffix, "banklink_scale_full_" + suffix}
	var dsns []string
	for _, n := range names {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+n); err != nil {
			log.Fatal(err)
		}
		v := *u
		v.Path = "/" + n
		dsns = append(dsns, v.String())
	}
	return scaleDB{name: "postgres", empty: dsns[0], full: dsns[1], drop: func() {
		for _, n := range names {
			if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)"); err != nil {
				log.Printf("drop %s: %v", n, err)
			}
		}
		admin.Close(ctx)
	}}
}
