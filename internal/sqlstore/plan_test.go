package sqlstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"banklink"
)

// planDB is a migrated SQLite store for reading query plans.
func planDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "plan.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// queryPlan is SQLite's plan for query, its steps joined by "; ".
func queryPlan(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.r.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

// TestTransactionListsUseTheirIndex: a connection's (or customer's, or
// financial account's) transactions are found through that column's
// index, not by walking every transaction of the tenant; the tenant-wide
// list walks the tenant's accounts, then each account's index. No list
// sorts: the indexes give the order, forward and backward, from a cursor
// too.
func TestTransactionListsUseTheirIndex(t *testing.T) {
	db := planDB(t)
	ctx := t.Context()
	scope := banklink.Scope{AccountID: "a", Environment: banklink.Sandbox}
	key := db.keys.txKey(scope.AccountID, string(scope.Environment), 3, 20000, 5)
	for _, tt := range []struct {
		name  string
		f     banklink.TransactionFilter
		index []string
	}{
		{"connection", banklink.TransactionFilter{ConnectionID: "c"}, []string{"USING INDEX transactions_connection "}},
		{"financial account", banklink.TransactionFilter{FinancialAccountID: "f"}, []string{"USING INDEX transactions_account "}},
		{"customer", banklink.TransactionFilter{CustomerID: "u"}, []string{"USING INDEX transactions_customer "}},
		{"whole tenant", banklink.TransactionFilter{}, []string{"SEARCH fa USING INDEX financial_accounts_scope ", "SEARCH t USING INDEX transactions_account "}},
		{"whole tenant, dates", banklink.TransactionFilter{StartDate: "2026-01-01", EndDate: "2026-02-01", Status: "POSTED"},
			[]string{"SEARCH fa USING INDEX financial_accounts_scope ", "SEARCH t USING INDEX transactions_account "}},
	} {
		for _, page := range []struct {
			name          string
			after, before string
		}{{"first", "", ""}, {"after", key, ""}, {"before", "", key}} {
			t.Run(tt.name+"/"+page.name, func(t *testing.T) {
				q, c, err := db.transactionsQuery(scope, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case page.after != "":
					err = q.cursorCond(ctx, db, &c, "after", page.after, true)
				case page.before != "":
					err = q.cursorCond(ctx, db, &c, "before", page.before, false)
				}
				if err != nil {
					t.Fatal(err)
				}
				got := queryPlan(t, db, q.selectSQL(c, page.before == "", 100), c.args...)
				for _, want := range tt.index {
					if !strings.Contains(got, want) {
						t.Errorf("plan = %s, want %q", got, want)
					}
				}
				if strings.Contains(got, "TEMP B-TREE") {
					t.Errorf("plan = %s sorts", got)
				}
			})
		}
	}
}

// TestProviderLoginUsesItsIndex: a provider's webhook finds the
// connections holding its login through the index, not by walking every
// connection of every account.
func TestProviderLoginUsesItsIndex(t *testing.T) {
	if got := queryPlan(t, planDB(t), connectionsByProviderLogin, "plaid", "item-1"); !strings.Contains(got, "SEARCH c USING INDEX connections_provider_login ") {
		t.Errorf("plan = %s, want a search of connections_provider_login", got)
	}
}

// TestDueRefreshesUseTheirIndex: every replica looks for due refreshes
// every minute; on SQLite the search walks connections_refresh_due
// instead of every connection.
func TestDueRefreshesUseTheirIndex(t *testing.T) {
	got := queryPlan(t, planDB(t), dueRefreshes+"100", int64(1), int64(1))
	if !strings.Contains(got, "USING INDEX connections_refresh_due") || strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("plan = %s, want connections_refresh_due in aggregated_at order", got)
	}
}

// TestPendingWorkUsesItsIndex: every replica looks for pending
// aggregation work with a free lease every few seconds; on SQLite the
// search walks the partial index of pending work, not every connection.
func TestPendingWorkUsesItsIndex(t *testing.T) {
	got := queryPlan(t, planDB(t), pendingWork+"100", "", int64(0), int64(1))
	if !strings.Contains(got, "USING INDEX connections_aggregation_pending") || strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("plan = %s, want connections_aggregation_pending in lease order", got)
	}
}

// TestConnectionFiltersUseTheirIndex: the data endpoints an app calls
// with a connectionId (or financialAccountId) read that connection's rows
// through its index, not every row of the tenant.
func TestConnectionFiltersUseTheirIndex(t *testing.T) {
	db := planDB(t)
	scope := banklink.Scope{AccountID: "a", Environment: banklink.Sandbox}
	page := func(sql string, c conds) (string, []any) { return sql, c.args }
	for _, tt := range []struct {
		name  string
		query func() (string, []any)
		index string
	}{
		{"accounts of a connection", func() (string, []any) {
			q, c := db.financialAccountsQuery(scope, banklink.FinancialAccountFilter{ConnectionID: "c"})
			return page(q.selectSQL(c, true, 100), c)
		}, "sqlite_autoindex_financial_accounts_2"},
		{"holdings of a connection", func() (string, []any) {
			q, c := db.holdingsQuery(scope, banklink.HoldingFilter{ConnectionID: "c"})
			return page(q.selectSQL(c, true, 100), c)
		}, "holdings_connection"},
		{"holdings of an account", func() (string, []any) {
			q, c := db.holdingsQuery(scope, banklink.HoldingFilter{FinancialAccountID: "f"})
			return page(q.selectSQL(c, true, 100), c)
		}, "sqlite_autoindex_holdings_2"},
		{"investment transactions of a connection", func() (string, []any) {
			q, c, err := db.investmentTransactionsQuery(scope, banklink.InvestmentTransactionFilter{ConnectionID: "c"})
			if err != nil {
				t.Fatal(err)
			}
			return page(q.selectSQL(c, true, 100), c)
		}, "investment_transactions_connection"},
		{"accounts of a customer", func() (string, []any) {
			q, c := db.financialAccountsQuery(scope, banklink.FinancialAccountFilter{CustomerID: "u"})
			return page(q.selectSQL(c, true, 100), c)
		}, "financial_accounts_customer"},
		{"holdings of a customer", func() (string, []any) {
			q, c := db.holdingsQuery(scope, banklink.HoldingFilter{CustomerID: "u"})
			return page(q.selectSQL(c, true, 100), c)
		}, "holdings_customer"},
		{"investment transactions of a customer", func() (string, []any) {
			q, c, err := db.investmentTransactionsQuery(scope, banklink.InvestmentTransactionFilter{CustomerID: "u"})
			if err != nil {
				t.Fatal(err)
			}
			return page(q.selectSQL(c, true, 100), c)
		}, "investment_transactions_customer"},
		{"the whole tenant's holdings", func() (string, []any) {
			q, c := db.holdingsQuery(scope, banklink.HoldingFilter{})
			return page(q.selectSQL(c, true, 100), c)
		}, "holdings_scope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sql, args := tt.query()
			if got := queryPlan(t, db, sql, args...); !strings.Contains(got, "INDEX "+tt.index+" ") {
				t.Errorf("plan = %s, want index %s", got, tt.index)
			}
		})
	}
}

// TestActivityUsesItsIndexes: a connection's timeline, the tenant's log
// (newest-first as the dashboard reads it, and oldest-first as the API
// pages it) and the pruning never scan the whole table.
func TestActivityUsesItsIndexes(t *testing.T) {
	db := planDB(t)
	scope := banklink.Scope{AccountID: "a", Environment: banklink.Sandbox}
	for _, tt := range []struct {
		name    string
		f       banklink.ActivityFilter
		forward bool
		index   string
	}{
		{"a connection's timeline", banklink.ActivityFilter{ConnectionID: "c"}, false, "activity_log_connection"},
		{"the tenant's log", banklink.ActivityFilter{}, true, "activity_log_scope"},
		{"the tenant's widget errors", banklink.ActivityFilter{Actions: []string{banklink.ActivityWidgetError}}, true, "activity_log_scope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, c := activityQuery(scope, tt.f)
			if got := queryPlan(t, db, q.selectSQL(c, tt.forward, 25), c.args...); !strings.Contains(got, "INDEX "+tt.index+" ") {
				t.Errorf("plan = %s, want index %s", got, tt.index)
			}
		})
	}
	if got := queryPlan(t, db, `SELECT seq FROM activity_log WHERE at < $1 ORDER BY at LIMIT $2`, int64(1), 1000); !strings.Contains(got, "INDEX activity_log_at ") {
		t.Errorf("prune plan = %s, want index activity_log_at", got)
	}
}

// TestCustomerConnectionsUseTheirIndex: GET /bank-linking/connections?
// customerId= reads the customer's connections through their index, not
// every connection of the tenant (13 ms against 0.7 ms at p50 with 20,000
// connections before connections_customer).
func TestCustomerConnectionsUseTheirIndex(t *testing.T) {
	db := planDB(t)
	scope := banklink.Scope{AccountID: "a", Environment: banklink.Sandbox}
	var c conds
	db.addScope(&c, "c", scope, true)
	c.add("c.customer_id = ?", "u")
	got := queryPlan(t, db, `SELECT c.seq FROM connections c WHERE `+c.sql()+` ORDER BY c.seq LIMIT 10`, c.args...)
	if !strings.Contains(got, "INDEX connections_customer ") {
		t.Errorf("plan = %s, want index connections_customer", got)
	}
}

// TestCustomerListUsesItsIndex: a page of customers and the count of
// those beyond it walk customers_listed in external id order; the count
// reads the index alone, where before it read up to 1,000 rows of the
// table to check their status.
func TestCustomerListUsesItsIndex(t *testing.T) {
	db := planDB(t)
	scope := banklink.Scope{AccountID: "a", Environment: banklink.Sandbox}
	for _, tt := range []struct {
		name  string
		query func(c conds) string
		want  string
	}{
		{"page", func(c conds) string { return customersSQL(c, "ASC", 100) }, "SEARCH customers USING INDEX customers_listed "},
		{"page backwards", func(c conds) string { return customersSQL(c, "DESC", 100) }, "SEARCH customers USING INDEX customers_listed "},
		{"count beyond", func(c conds) string { return countSQL(" FROM customers", c) }, "SEARCH customers USING COVERING INDEX customers_listed "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := customerConds(scope, banklink.CustomerFilter{})
			c.add("external_id > ?", "cust-0100")
			got := queryPlan(t, db, tt.query(c), c.args...)
			if !strings.Contains(got, tt.want) {
				t.Errorf("plan = %s, want %q", got, tt.want)
			}
			if strings.Contains(got, "TEMP B-TREE") {
				t.Errorf("plan = %s sorts", got)
			}
		})
	}
}
