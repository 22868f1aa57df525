package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strconv"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// The SQL in this package is written once with PostgreSQL's $1, $2 ...
// placeholders, which SQLite also understands, as named parameters. But
// SQLite resolves named parameters by scanning a list per bind, and
// modernc's driver asks each parameter its name, so a statement with many
// of them costs time quadratic in their number: 17 parameters made a
// tenth of connect/start's CPU, and a 2,500-parameter batch insert of
// institutions took seconds. This driver rewrites "$1 ... $n", when they
// appear once each in order, into anonymous "?" before SQLite sees them.

const positionalDriverName = "sqlite-banklink"

func init() {
	sql.Register(positionalDriverName, positionalDriver{&sqlite.Driver{}})
}

type positionalDriver struct{ inner driver.Driver }

func (d positionalDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &positionalConn{c.(sqliteConn)}, nil
}

// sqliteConn is what modernc's connection implements and database/sql
// uses; embedding it keeps every method the pool relies on.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type positionalConn struct{ sqliteConn }

func (c *positionalConn) Prepare(q string) (driver.Stmt, error) {
	return c.sqliteConn.Prepare(positional(q))
}

func (c *positionalConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.sqliteConn.PrepareContext(ctx, positional(q))
}

func (c *positionalConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.sqliteConn.ExecContext(ctx, positional(q), args)
}

func (c *positionalConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.sqliteConn.QueryContext(ctx, positional(q), args)
}

var rewritten sync.Map // query -> rewritten query

// positional returns q with "$1".."$n" replaced by "?" when each appears
// exactly once and in order outside string literals; otherwise q as is.
func positional(q string) string {
	if !strings.Contains(q, "$") {
		return q
	}
	if r, ok := rewritten.Load(q); ok {
		return r.(string)
	}
	out := rewrite(q)
	// Statements are a fixed set (batch inserts vary only by size), so the
	// cache stays small.
	rewritten.Store(q, out)
	return out
}

func rewrite(q string) string {
	var b strings.Builder
	b.Grow(len(q))
	next := 1
	inString := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c == '\'' {
			inString = !inString
		}
		if c != '$' || inString {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(q[i+1 : j])
		if err != nil || n != next {
			return q // reused or out of order: keep SQLite's named form
		}
		next++
		b.WriteByte('?')
		i = j - 1
	}
	return b.String()
}
