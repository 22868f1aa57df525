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
	return &positionalConn{sqliteConn: c.(sqliteConn)}, nil
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

type positionalConn struct {
	sqliteConn
	// stmts caches this connection's prepared statements by query, for
	// ExecContext and QueryContext with arguments (see cached).
	stmts map[string]*connStmt
}

func (c *positionalConn) Prepare(q string) (driver.Stmt, error) {
	return c.sqliteConn.Prepare(positional(q))
}

func (c *positionalConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.sqliteConn.PrepareContext(ctx, positional(q))
}

func (c *positionalConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	q = positional(q)
	if s := c.cached(ctx, q, args); s != nil {
		defer func() { s.busy = false }()
		return s.stmt.ExecContext(ctx, args)
	}
	return c.sqliteConn.ExecContext(ctx, q, args)
}

func (c *positionalConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	q = positional(q)
	if s := c.cached(ctx, q, args); s != nil {
		r, err := s.stmt.QueryContext(ctx, args)
		if err != nil {
			s.busy = false
			return nil, err
		}
		return &connRows{Rows: r, s: s}, nil
	}
	return c.sqliteConn.QueryContext(ctx, q, args)
}

// The connection's statement cache. modernc's driver parses and compiles
// every statement given to ExecContext or QueryContext, and finalizes it
// after the call: under the mixed load a tenth of the CPU went to SQLite's
// parser, most of it re-preparing the same few statements of every
// aggregation batch (each shape of multi-row insert, the lookups around
// them) and of every read. The cache keeps each connection's statements
// compiled; SQLite re-prepares one by itself if the schema changed.
//
// database/sql never uses a connection from two goroutines at once, so the
// cache needs no lock. A statement is busy while a call or its rows use it:
// a nested use of the same query (rows still open) prepares afresh.

// connStmtCap bounds the statements one connection keeps. Queries are a
// fixed set but for the sizes of IN lists and batch inserts; when the cache
// is full an idle statement makes room.
const connStmtCap = 256

type connStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	busy bool
}

// cached returns q's statement, prepared on first use and marked busy, or
// nil when the call should not use the cache: no arguments (DDL, pragmas,
// migrations run once), the statement is busy, or it fails to prepare (the
// uncached call then reports the error).
func (c *positionalConn) cached(ctx context.Context, q string, args []driver.NamedValue) *connStmt {
	if len(args) == 0 {
		return nil
	}
	if s, ok := c.stmts[q]; ok {
		if s.busy {
			return nil
		}
		s.busy = true
		return s
	}
	ds, err := c.sqliteConn.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	st, ok := ds.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		ds.Close()
		return nil
	}
	if c.stmts == nil {
		c.stmts = map[string]*connStmt{}
	}
	if len(c.stmts) >= connStmtCap {
		for k, old := range c.stmts {
			if !old.busy {
				old.stmt.Close()
				delete(c.stmts, k)
				break
			}
		}
	}
	if len(c.stmts) >= connStmtCap {
		// Every cached statement is busy (open rows): no room.
		st.Close()
		return nil
	}
	s := &connStmt{stmt: st, busy: true}
	c.stmts[q] = s
	return s
}

// Close finalizes the cached statements, then closes the connection.
func (c *positionalConn) Close() error {
	for k, s := range c.stmts {
		s.stmt.Close()
		delete(c.stmts, k)
	}
	return c.sqliteConn.Close()
}

// connRows frees its cached statement when closed.
type connRows struct {
	driver.Rows
	s *connStmt
}

func (r *connRows) Close() error {
	err := r.Rows.Close()
	r.s.busy = false
	return err
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
