// Package sqlstore implements banklink.Store with database/sql on SQLite
// (modernc.org/sqlite, pure Go) and PostgreSQL (pgx/v5). Both dialects share
// every DML statement: $n placeholders, ON CONFLICT and RETURNING work on
// both, times are Unix microseconds and JSON lives in TEXT columns. Only DDL
// differs, in migrations/sqlite and migrations/postgres, which keep the same
// version numbers.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"banklink"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrations embed.FS

// Dialect names the database behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultPostgresConns is the PostgreSQL pool size unless the DSN sets
// pool_max_conns.
const DefaultPostgresConns = 16

// DB is a banklink.Store on SQL.
type DB struct {
	dialect Dialect
	// w takes every write. On SQLite it holds a single connection: SQLite
	// has one writer at a time, and queuing writers in Go is cheaper and
	// fairer than letting them spin on SQLITE_BUSY. On PostgreSQL w and r
	// are the same pool.
	w *sql.DB
	// r serves reads; on SQLite WAL mode lets them run beside the writer.
	r    *sql.DB
	pool *pgxpool.Pool
	// Now is the clock; tests replace it.
	Now func() time.Time

	// stmts caches prepared statements of the hot paths: parsing SQL is a
	// large share of a small query's cost, especially in pure-Go SQLite.
	stmts sync.Map // stmtKey -> *sql.Stmt
	// batch groups concurrent SQLite write transactions into one commit.
	batch *batcher
	// later queues best-effort writes (inTxBestEffort): batch on SQLite,
	// where they share its interactive lane; on PostgreSQL a batcher of
	// their own, which nothing else uses.
	later *batcher
	// ck is SQLite's checkpoint connection, driven by checkpoint().
	ck             *sql.DB
	stopCk, ckDone chan struct{}
	// stopStats and statsDone drive PostgreSQL's keepStatistics.
	stopStats, statsDone chan struct{}

	// events wakes this process's webhook workers after an emit.
	events chan struct{}
	// sealer encrypts provider credentials at rest.
	sealer banklink.Sealer
	// keys makes the records' cursor keys, opaque per tenant.
	keys *cursorKeys

	// log reports best-effort writes that failed after their callers
	// returned.
	log *slog.Logger

	closeOnce sync.Once
	closeErr  error
}

// checkpointEvery is how often the WAL is folded back into the database.
// Each checkpoint writes and fsyncs what the WAL gained since the last, and
// while it does, the writer's own writes can stall (the kernel flushing
// one file holds up writes to the other): under bench -mix -rate 100 a
// writer transaction then took up to 350–480 ms. Checkpointing every
// 100 ms instead of every 500 ms keeps each flush small: writes waited
// 19–24 ms at p99 instead of 78–82 ms, and at most 190–235 ms
// (docs/benchmarks.md). With nothing new in the WAL a checkpoint is a
// query that returns at once.
const checkpointEvery = 100 * time.Millisecond

// checkpoint copies the WAL into the database file in the background
// (PASSIVE: it never blocks readers or the writer), and truncates the WAL
// when it has grown large, so the file stays bounded.
func (db *DB) checkpoint() {
	defer close(db.ckDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.stopCk:
			db.ck.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			return
		case <-t.C:
			var busy, logPages, done int
			if err := db.ck.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done); err != nil {
				continue
			}
			if logPages > 50000 && done == logPages {
				db.ck.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			}
		}
	}
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

// stmt returns a prepared statement for query on pool, preparing it once.
func (db *DB) stmt(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	k := stmtKey{pool, query}
	if s, ok := db.stmts.Load(k); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(k, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// queryRow runs a cached single-row read on the read pool.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := db.stmt(ctx, db.r, query)
	if err != nil {
		return db.r.QueryRowContext(ctx, query, args...) // reports the error through Scan
	}
	return s.QueryRowContext(ctx, args...)
}

// txStmt returns query's statement bound to tx: the one prepared at Open
// when query is a hot write (see hotWrites), else a statement prepared in
// tx. It never prepares on the writer pool itself, whose only SQLite
// connection tx is holding.
func (db *DB) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if s, ok := db.stmts.Load(stmtKey{db.w, query}); ok {
		return tx.StmtContext(ctx, s.(*sql.Stmt)), nil
	}
	return tx.PrepareContext(ctx, query)
}

// prepareHot prepares the statements of the write hot paths on the writer
// pool, before any transaction can hold its connection.
func (db *DB) prepareHot(ctx context.Context) error {
	for _, q := range hotWrites {
		if _, err := db.stmt(ctx, db.w, q); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	return nil
}

var _ banklink.Store = (*DB)(nil)

// Options tune Open.
type Options struct {
	// Migrate applies pending migrations before returning. Without it Open
	// fails when the schema is behind the binary.
	Migrate bool
	Logger  *slog.Logger
	// Sealer encrypts provider credentials. Without one, Open uses a key
	// generated on first use and kept in the database itself: zero setup,
	// but anyone with the database has the key; production deployments
	// pass keys from outside (-encryption-keys).
	Sealer banklink.Sealer
	// Tracer, on PostgreSQL, is told of every statement sent (tests count
	// round trips with it; it is a diagnostic, not needed to run).
	Tracer pgx.QueryTracer
	// AnalyzeEvery, on PostgreSQL, is how often the store refreshes the
	// planner statistics of tables that changed much (statistics.go);
	// 0 means DefaultAnalyzeEvery, below 0 never.
	AnalyzeEvery time.Duration
}

// DialectOf tells which dialect a DSN names: postgres:// and postgresql://
// URLs (or key=value strings with host=) are PostgreSQL; anything else is an
// SQLite file path or file: URI.
func DialectOf(dsn string) Dialect {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") || strings.Contains(dsn, "host=") {
		return Postgres
	}
	return SQLite
}

// Open connects to the database named by dsn, checks (or applies) its
// migrations and refuses a schema newer than this binary knows.
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	db := &DB{dialect: DialectOf(dsn), Now: time.Now, events: make(chan struct{}, 1), log: opt.Logger}
	var err error
	switch db.dialect {
	case Postgres:
		err = db.openPostgres(ctx, dsn, opt.Tracer)
	default:
		err = db.openSQLite(dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx, opt); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.prepareHot(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.loadCursorKeys(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.dialect == Postgres && opt.AnalyzeEvery >= 0 {
		every := opt.AnalyzeEvery
		if every == 0 {
			every = DefaultAnalyzeEvery
		}
		db.stopStats, db.statsDone = make(chan struct{}), make(chan struct{})
		go db.keepStatistics(every)
	}
	db.sealer = opt.Sealer
	if db.sealer == nil {
		if db.sealer, err = db.storedSealer(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

func (db *DB) openSQLite(path string) error {
	path = strings.TrimPrefix(path, "sqlite:")
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	// busy_timeout covers the rare case of another process (a backup, the
	// migrate command) holding the write lock. foreign_keys must be turned
	// on per connection: SQLite does not check foreign keys by default.
	const pragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"
	// The writer never checkpoints: a checkpoint fsyncs the WAL and the
	// database file, which would stall whichever request happened to
	// trigger it. A background checkpointer does it instead (checkpoint).
	//
	// temp_store(MEMORY) keeps the writer's statement and savepoint
	// journals in memory: SQLite otherwise writes them to a temporary file,
	// a write(2) per page, for every multi-row INSERT and every savepoint
	// of group commit (16 % of the CPU under the mixed load, all of it in
	// write syscalls). The journals only ever serve a rollback inside the
	// transaction, so nothing durable moves: a crash loses them either way.
	// cache_size(-16384) gives the writer 16 MiB of page cache (default 2
	// MiB), so a large transaction does not spill dirty pages into the WAL
	// before it commits.
	w, err := sql.Open(positionalDriverName, "file:"+path+"?"+pragmas+"&_pragma=wal_autocheckpoint(0)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-16384)&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open(positionalDriverName, "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	ck, err := sql.Open(positionalDriverName, "file:"+path+"?"+pragmas)
	if err != nil {
		w.Close()
		r.Close()
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	db.w, db.r, db.ck = w, r, ck
	if db.batch, err = newBatcher(w); err != nil {
		w.Close()
		r.Close()
		ck.Close()
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.later = db.batch
	db.stopCk = make(chan struct{})
	db.ckDone = make(chan struct{})
	go db.checkpoint()
	if err := w.Ping(); err != nil {
		db.Close()
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return nil
}

func (db *DB) openPostgres(ctx context.Context, dsn string, tracer pgx.QueryTracer) error {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	// pgx defaults to max(4, CPUs) connections. banklink's requests are
	// short transactions that wait on PostgreSQL's commit flush, so more
	// of them in flight share each flush: 4 capped one replica at about
	// 860 connect/starts per second on the benchmark VM. A DSN that sets
	// pool_max_conns keeps its value.
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, DefaultPostgresConns)
	}
	if tracer != nil {
		cfg.ConnConfig.Tracer = tracer
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("open postgres: %w", err)
	}
	db.pool = pool
	db.w = stdlib.OpenDBFromPool(pool)
	db.r = db.w
	if db.later, err = newBatcher(db.w); err != nil {
		db.w.Close()
		pool.Close()
		return fmt.Errorf("open postgres: %w", err)
	}
	return nil
}

func (db *DB) gooseProvider(opt Options) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.dialect))
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	dialect := goose.DialectSQLite3
	if db.dialect == Postgres {
		dialect = goose.DialectPostgres
		// Replicas that start together migrate once: the others wait on
		// this advisory lock and then find nothing to do.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	opts = append(opts, goose.WithSlog(opt.Logger))
	return goose.NewProvider(dialect, db.w, sub, opts...)
}

// ErrSchemaNewer is returned by Open when the database was migrated by a
// newer banklink than this one.
var ErrSchemaNewer = errors.New("database schema is newer than this banklink binary; upgrade banklink")

func (db *DB) migrate(ctx context.Context, opt Options) error {
	p, err := db.gooseProvider(opt)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	sources := p.ListSources()
	latest := sources[len(sources)-1].Version
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > latest {
		return fmt.Errorf("%w (database at version %d, binary knows %d)", ErrSchemaNewer, current, latest)
	}
	if current == latest {
		return nil
	}
	if !opt.Migrate {
		return fmt.Errorf("database schema at version %d, binary needs %d: run `banklink migrate`", current, latest)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// SchemaVersion returns the database's migration version and the newest one
// this binary carries.
func (db *DB) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := db.gooseProvider(Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 0, 0, err
	}
	src := p.ListSources()
	current, err = p.GetDBVersion(ctx)
	return current, src[len(src)-1].Version, err
}

// Dialect returns the database's dialect.
func (db *DB) Dialect() Dialect { return db.dialect }

// Ping implements banklink.Store.
func (db *DB) Ping(ctx context.Context) error { return db.r.PingContext(ctx) }

// Close implements banklink.Store. Closing twice is harmless.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { db.closeErr = db.close() })
	return db.closeErr
}

func (db *DB) close() error {
	var errs []error
	if db.later != nil {
		// Best-effort writes queued before Close still land.
		db.later.flush(context.Background())
	}
	if db.batch != nil {
		db.batch.close()
	}
	if db.later != nil && db.later != db.batch {
		db.later.close()
	}
	if db.stopStats != nil {
		close(db.stopStats)
		<-db.statsDone
	}
	if db.ck != nil {
		close(db.stopCk)
		<-db.ckDone
		errs = append(errs, db.ck.Close())
	}
	db.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	if db.r != nil && db.r != db.w {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	if db.pool != nil {
		db.pool.Close()
	}
	return errors.Join(errs...)
}

func (db *DB) now() time.Time { return db.Now().UTC() }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// inTx runs fn in a write transaction and commits it when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.batch != nil {
		return db.batch.do(ctx, fn)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// inTxBestEffort runs fn as inTx does, except that for a ctx marked
// banklink.BestEffort it queues fn and returns at once: fn's failure is
// then logged as what, and whatever fn stores for its caller is the
// caller's to read only when defers(ctx) is false. Queued writes commit
// in order, in shared transactions; readers of what they store call
// flushBestEffort first. On SQLite they share the interactive lane, so
// any later write of this process commits after them; on PostgreSQL a
// write that must come after them flushes first.
func (db *DB) inTxBestEffort(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	if !db.defers(ctx) {
		return db.inTx(ctx, fn)
	}
	db.later.later(ctx, fn, func(err error) {
		if err != nil {
			db.log.Warn(what, slog.Any("err", err))
		}
	})
	return nil
}

// defers reports whether inTxBestEffort returns before its write is done.
func (db *DB) defers(ctx context.Context) bool {
	return db.later != nil && banklink.IsBestEffort(ctx)
}

// flushBestEffort waits for the best-effort writes queued before it, so
// that a read sees them.
func (db *DB) flushBestEffort(ctx context.Context) error {
	if db.later == nil {
		return nil
	}
	return db.later.flush(ctx)
}

// isUniqueViolation reports whether err is a unique or primary-key
// violation in either dialect.
func isUniqueViolation(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23505"
	}
	if c, ok := errors.AsType[interface {
		error
		Code() int
	}](err); ok {
		// SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY.
		return c.Code() == 2067 || c.Code() == 1555
	}
	return false
}

// isForeignKeyViolation reports whether err is a foreign-key violation.
func isForeignKeyViolation(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23503"
	}
	if c, ok := errors.AsType[interface {
		error
		Code() int
	}](err); ok {
		return c.Code() == 787 // SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

func notFound(what string) error {
	return banklink.Errorf(banklink.ENOTFOUND, "%s not found.", what)
}
