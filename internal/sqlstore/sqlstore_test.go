package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"banklink"
	"banklink/internal/sqlstore"
	"banklink/internal/storetest"
	"banklink/internal/testenv"
)

// MustOpenSQLite opens a migrated store on a real SQLite file in a
// temporary directory.
func MustOpenSQLite(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(tb.TempDir(), "banklink.db"), sqlstore.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustOpenPostgres opens a migrated store on a throwaway PostgreSQL
// database.
func MustOpenPostgres(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.Open(context.Background(), testenv.PostgresDSN(tb), sqlstore.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestConformanceSQLite(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) banklink.Store { return MustOpenSQLite(t) })
}

func TestConformancePostgres(t *testing.T) {
	testenv.PostgresDSN(t) // skip (or fail on CI) before running subtests
	storetest.RunTests(t, func(t *testing.T) banklink.Store { return MustOpenPostgres(t) })
}

func TestOpenRefusesUnmigratedAndNewerSchema(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "b.db") }},
		{"postgres", func(t *testing.T) string { return testenv.PostgresDSN(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := tc.dsn(t)
			if _, err := sqlstore.Open(ctx, dsn, sqlstore.Options{}); err == nil {
				t.Fatal("Open without Migrate on an empty database succeeded")
			}
			db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			cur, latest, err := db.SchemaVersion(ctx)
			if err != nil || cur != latest {
				t.Fatalf("SchemaVersion = %d, %d, %v", cur, latest, err)
			}
			// Pretend a newer banklink migrated this database.
			if err := db.SimulateNewerSchema(ctx, latest+1); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err = sqlstore.Open(ctx, dsn, sqlstore.Options{Migrate: true})
			if !errors.Is(err, sqlstore.ErrSchemaNewer) {
				t.Fatalf("Open on a newer schema: %v, want ErrSchemaNewer", err)
			}
		})
	}
}
