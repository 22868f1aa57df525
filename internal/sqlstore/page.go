package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"

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
	// scope is the tenant listing: cursor keys are its own.
	scope banklink.Scope
	scan  func(*cursorKeys, scanner) (*T, error)
	key   func(*T) string
}

// cursorCond adds the condition "strictly beyond key" in the direction
// given: forward is the list's natural order.
func (q listQuery[T]) cursorCond(keys *cursorKeys, c *conds, param, key string, forward bool) error {
	if q.newestFirst {
		day, seq, err := keys.parseDay(q.scope, param, key)
		if err != nil {
			return err
		}
		cmp := "<"
		if !forward {
			cmp = ">"
		}
		// The first term is redundant but sargable: the index on
		// (…, transaction_day, seq) starts at the cursor's day. With the
		// OR alone both planners walked the index from the list's start,
		// so a page deep in two million transactions took seconds.
		n := len(c.args)
		c.where = append(c.where, fmt.Sprintf("%[1]s.transaction_day %[2]s= $%[3]d AND (%[1]s.transaction_day %[2]s $%[4]d OR %[1]s.seq %[2]s $%[5]d)", q.alias, cmp, n+1, n+2, n+3))
		c.args = append(c.args, day, day, seq)
		return nil
	}
	seq, err := keys.parseSeq(q.scope, param, key)
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

func (q listQuery[T]) orderBy(forward bool) string {
	dir := "ASC"
	if q.newestFirst == forward {
		dir = "DESC"
	}
	if q.newestFirst {
		return q.alias + ".transaction_day " + dir + ", " + q.alias + ".seq " + dir
	}
	return q.alias + ".seq " + dir
}

// run returns the page after `after` (or before `before`, or the first
// page) of the rows matching c, and how many more match beyond it in the
// direction of travel.
// selectSQL is the query of one page.
func (q listQuery[T]) selectSQL(c conds, forward bool, limit int) string {
	return `SELECT ` + q.cols + q.from + ` WHERE ` + c.sql() + ` ORDER BY ` + q.orderBy(forward) + ` LIMIT ` + strconv.Itoa(max(limit, 1))
}

func (q listQuery[T]) run(ctx context.Context, db *DB, c conds, after, before string, limit int) ([]*T, int, error) {
	base := conds{where: slices.Clone(c.where), args: slices.Clone(c.args)}
	forward := before == ""
	switch {
	case after != "":
		if err := q.cursorCond(db.keys, &c, "after", after, true); err != nil {
			return nil, 0, err
		}
	case before != "":
		if err := q.cursorCond(db.keys, &c, "before", before, false); err != nil {
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
	if err := q.cursorCond(db.keys, &base, "key", q.key(edge), forward); err != nil {
		return nil, 0, err
	}
	from := q.countFrom
	if from == "" {
		from = q.from
	}
	remaining, err := db.countBeyond(ctx, from, base)
	if err != nil {
		return nil, 0, err
	}
	return out, remaining, nil
}

// countBeyond counts the rows of from matching c, up to
// banklink.RemainingCap: an exact count walks every row beyond the page,
// which made the first page of a tenant's two million transactions cost
// as much as reading them all.
func (db *DB) countBeyond(ctx context.Context, from string, c conds) (int, error) {
	var n int
	q := `SELECT COUNT(*) FROM (SELECT 1` + from + ` WHERE ` + c.sql() + ` LIMIT ` + strconv.Itoa(banklink.RemainingCap) + `) beyond`
	if err := db.r.QueryRowContext(ctx, q, c.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}
