package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAnalyzeEvery is how often a PostgreSQL store looks for tables
// whose planner statistics have fallen behind (Options.AnalyzeEvery).
const DefaultAnalyzeEvery = 15 * time.Second

// analyzeLock is the advisory lock that lets one replica at a time
// analyse (webhooks.go's emit uses 7301).
const analyzeLock = 7302

// PostgreSQL plans from statistics, and autovacuum is what keeps them
// fresh; but autovacuum may be off (it was on the benchmark machine), and
// even when on it wakes once a minute. A database that grew from empty
// keeps the statistics of an empty one until then, and with them the
// planner chose the tenant-wide index for one connection's transactions
// count: 500 ms a page instead of 1 ms under bench -mix (docs/benchmarks.md).
// So the store analyses its own tables on autovacuum's default threshold,
// whether or not autovacuum does too (its ANALYZE resets the same counter,
// so the two do not repeat each other's work).

// staleTables picks, in pg_stat_user_tables, the store's tables changed
// by more than autovacuum's default analyse threshold (50 rows plus 10 %
// of the table) since their statistics were last gathered.
const staleTables = `schemaname = current_schema() AND n_mod_since_analyze > 50 + 0.1 * n_live_tup`

// keepStatistics runs analyzeStale every interval until stopStats is
// closed.
func (db *DB) keepStatistics(every time.Duration) {
	defer close(db.statsDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-db.stopStats:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		tables, err := db.analyzeStale(ctx)
		cancel()
		if err != nil {
			db.log.Warn("refresh planner statistics", slog.Any("err", err))
		} else if len(tables) > 0 {
			db.log.Debug("refreshed planner statistics", slog.Any("tables", tables))
		}
	}
}

// analyzeStale runs ANALYZE on every staleTables table and returns their
// names. Another replica doing the same makes it return nothing.
func (db *DB) analyzeStale(ctx context.Context) ([]string, error) {
	// One transaction: its advisory lock goes with it, whatever happens
	// (ANALYZE, unlike VACUUM, runs inside a transaction).
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var locked bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, analyzeLock).Scan(&locked); err != nil {
		return nil, err
	}
	if !locked {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT relname FROM pg_stat_user_tables WHERE `+staleTables+` ORDER BY relname`)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if _, err := tx.Exec(ctx, `ANALYZE `+pgx.Identifier{t}.Sanitize()); err != nil {
			return nil, fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return tables, tx.Commit(ctx)
}
