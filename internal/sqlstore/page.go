package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"banklink"
)

type scanner interface{ Scan(...any) error }

// listQuery describes one cursor-paged list: which columns and tables,
// which alias's seq (and, for newest-first lists, transaction_day) orders
// it, and how to read a row and its key.
type listQuery[T any] struct {
	cols, from string
	// countFrom is the FROM of the remaining-count query; it defaults to
	// from, and can drop joins the filters do not need.
	countFrom string
	alias     string
	// newestFirst orders by (transaction_day, seq) descending with day
	// keys; otherwise the list is oldest first by seq with seq keys.
	newestFirst bool
	// perAccount, with newestFirst, runs account by account (alias fa,
	// newest linked first) and newest first within each: the tenant-wide
	// transactions list. Its keys are transaction keys (txKey).
	perAccount bool
	// lateral, with perAccount (PostgreSQL), reads each account's rows in
	// a LATERAL subquery of its own, newest first and at most a page:
	// joined plainly, PostgreSQL reads every row of an account and sorts
	// them for each page (it keeps the accounts' order across a nested
	// loop, not the inner index's), so a page cost as much as the largest
	// account before it. Terms on fa stay outside; the rest go inside.
	lateral bool
	// scope is the tenant listing: cursor keys are its own.
	scope banklink.Scope
	scan  func(*cursorKeys, scanner) (*T, error)
	key   func(*T) string
}

// cursorCond adds the condition "strictly beyond key" in the direction
// given: forward is the list's natural order.
func (q listQuery[T]) cursorCond(ctx context.Context, db *DB, c *conds, param, key string, forward bool) error {
	if q.newestFirst {
		accountSeq, day, seq, err := db.keys.parseTx(q.scope, param, key)
		if err != nil {
			return err
		}
		cmp := "<"
		if !forward {
			cmp = ">"
		}
		// The first term is redundant but sargable: the index on
		// (…, transaction_day, seq) starts at the cursor's day. With the
		// OR alone both planners walked the index from the start of the
		// list, so a page deep in two million transactions took seconds.
		n := len(c.args)
		beyond := fmt.Sprintf("%[1]s.transaction_day %[2]s= $%[3]d AND (%[1]s.transaction_day %[2]s $%[4]d OR %[1]s.seq %[2]s $%[5]d)", q.alias, cmp, n+1, n+2, n+3)
		c.args = append(c.args, day, day, seq)
		if q.perAccount {
			if accountSeq == 0 {
				if accountSeq, err = db.cursorAccount(ctx, q.scope, param, seq); err != nil {
					return err
				}
			}
			// Likewise: the accounts' walk starts at the cursor's account;
			// only within it does the day decide.
			n = len(c.args)
			c.where = append(c.where, fmt.Sprintf("fa.seq %s= $%d", cmp, n+1))
			beyond = fmt.Sprintf("(fa.seq %s $%d OR (%s))", cmp, n+2, beyond)
			c.args = append(c.args, accountSeq, accountSeq)
		}
		c.where = append(c.where, beyond)
		return nil
	}
	seq, err := db.keys.parseSeq(q.scope, param, key)
	if err != nil {
		return err
	}
	cmp := ">"
	if !forward {
		cmp = "<"
	}
	c.add(q.alias+".seq "+cmp+" ?", seq)
	return nil
}

// cursorAccount is the financial account sequence of the transaction a
// key of the older form (without it) names.
func (db *DB) cursorAccount(ctx context.Context, scope banklink.Scope, param string, seq int64) (int64, error) {
	var accountSeq int64
	err := db.r.QueryRowContext(ctx, `SELECT fa.seq FROM transactions t JOIN financial_accounts fa ON fa.id = t.financial_account_id
		WHERE t.seq = $1 AND t.account_id = $2 AND t.environment = $3`, seq, scope.AccountID, string(scope.Environment)).Scan(&accountSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, banklink.FieldErrorf(param, "names a transaction that no longer exists; start again from the first page")
	}
	return accountSeq, err
}

func (q listQuery[T]) orderBy(forward bool) string {
	dir := "ASC"
	if q.newestFirst == forward {
		dir = "DESC"
	}
	if q.newestFirst {
		order := q.alias + ".transaction_day " + dir + ", " + q.alias + ".seq " + dir
		if q.perAccount {
			order = "fa.seq " + dir + ", " + order
		}
		return order
	}
	return q.alias + ".seq " + dir
}

// selectSQL is the query of one page.
func (q listQuery[T]) selectSQL(c conds, forward bool, limit int) string {
	n := strconv.Itoa(max(limit, 1))
	if q.lateral {
		outer, inner := lateralTerms(c)
		dir := "ASC"
		if forward {
			dir = "DESC"
		}
		return `SELECT ` + q.cols + lateralFrom("*", inner, ` ORDER BY t.transaction_day `+dir+`, t.seq `+dir, n) + ` JOIN customers cu ON cu.id = t.customer_id WHERE ` +
			strings.Join(outer, " AND ") + ` ORDER BY ` + q.orderBy(forward) + ` LIMIT ` + n
	}
	return `SELECT ` + q.cols + q.from + ` WHERE ` + c.sql() + ` ORDER BY ` + q.orderBy(forward) + ` LIMIT ` + n
}

// lateralTerms splits c's terms for the LATERAL form: those on fa stay
// outside, the rest go inside with the join.
func lateralTerms(c conds) (outer, inner []string) {
	inner = []string{"t.financial_account_id = fa.id"}
	for _, w := range c.where {
		if strings.HasPrefix(w, "fa.") {
			outer = append(outer, w)
		} else {
			inner = append(inner, w)
		}
	}
	return outer, inner
}

// lateralFrom is the LATERAL form's FROM: each financial account fa
// joined with its transactions t matching inner (cols of them, in order),
// at most limit of them.
func lateralFrom(cols string, inner []string, order, limit string) string {
	return ` FROM financial_accounts fa CROSS JOIN LATERAL (SELECT ` + cols + ` FROM transactions t WHERE ` + strings.Join(inner, " AND ") + order + ` LIMIT ` + limit + `) t`
}

// countSQL is the query counting the rows matching c, up to
// banklink.RemainingCap. The LATERAL form counts account by account too:
// joined plainly, PostgreSQL's plan for a cursor's own values (a
// prepared statement's first five executions) was a hash join over a
// sequential scan of every transaction, betting that the LIMIT stops it
// early. With two million transactions it took 28 ms in a parallel
// worker, 2 ms when the accounts' rows lay at the start of the table and
// 773 ms when the scan began where another had stopped.
func (q listQuery[T]) countSQL(c conds) string {
	if q.lateral {
		outer, inner := lateralTerms(c)
		limit := strconv.Itoa(banklink.RemainingCap)
		return `SELECT COUNT(*) FROM (SELECT 1` + lateralFrom("1", inner, "", limit) + ` WHERE ` + strings.Join(outer, " AND ") + ` LIMIT ` + limit + `) beyond`
	}
	from := q.countFrom
	if from == "" {
		from = q.from
	}
	return countSQL(from, c)
}

// run returns the page after `after` (or before `before`, or the first
// page) of the rows matching c, and how many more match beyond it in the
// direction of travel.
func (q listQuery[T]) run(ctx context.Context, db *DB, c conds, after, before string, limit int) ([]*T, int, error) {
	base := conds{where: slices.Clone(c.where), args: slices.Clone(c.args)}
	forward := before == ""
	switch {
	case after != "":
		if err := q.cursorCond(ctx, db, &c, "after", after, true); err != nil {
			return nil, 0, err
		}
	case before != "":
		if err := q.cursorCond(ctx, db, &c, "before", before, false); err != nil {
			return nil, 0, err
		}
	}
	rows, err := db.r.QueryContext(ctx, q.selectSQL(c, forward, limit), c.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list: %w", err)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v, err := q.scan(db.keys, rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	rows.Close()
	if !forward {
		slices.Reverse(out)
	}
	if len(out) == 0 {
		return out, 0, nil
	}
	edge := out[len(out)-1]
	if !forward {
		edge = out[0]
	}
	if err := q.cursorCond(ctx, db, &base, "key", q.key(edge), forward); err != nil {
		return nil, 0, err
	}
	remaining, err := db.countBeyond(ctx, q.countSQL(base), base.args)
	if err != nil {
		return nil, 0, err
	}
	return out, remaining, nil
}

// countSQL counts the rows of from matching c, up to banklink.RemainingCap.
func countSQL(from string, c conds) string {
	return `SELECT COUNT(*) FROM (SELECT 1` + from + ` WHERE ` + c.sql() + ` LIMIT ` + strconv.Itoa(banklink.RemainingCap) + `) beyond`
}

// countBeyond runs a count built by countSQL, which stops at
// banklink.RemainingCap: an exact count walks every row beyond the page,
// which made the first page of a tenant's two million transactions cost
// as much as reading them all.
func (db *DB) countBeyond(ctx context.Context, query string, args []any) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}
