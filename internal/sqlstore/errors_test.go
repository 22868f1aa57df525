package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"banklink"
	"banklink/internal/sqlstore"
	"banklink/internal/testenv"
)

// TestClassifyError: a text value PostgreSQL refuses (SQLSTATE 22021) is a
// BAD_REQUEST, a lost database is SERVICE_UNAVAILABLE, and anything else
// is left alone, so nothing the HTTP edge misses becomes a 500.
func TestClassifyError(t *testing.T) {
	ctx := context.Background()
	scope := banklink.Scope{AccountID: banklink.NewID(), Environment: banklink.Sandbox}
	t.Run("postgres", func(t *testing.T) {
		dsn, cut := testenv.CuttablePostgres(t)
		db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, id := range []string{"a\x00b", "\xff", "caf\xc3"} {
			_, err := db.FindConnectionByID(ctx, scope, id)
			if got := banklink.ErrorCode(db.ClassifyError(err)); got != banklink.EBADREQUEST {
				t.Errorf("FindConnectionByID(%q): %v classified %s, want BAD_REQUEST", id, err, got)
			}
		}
		_, _, err = db.FindCustomers(ctx, scope, banklink.CustomerFilter{IDs: []string{"ok", "\x00"}, Limit: 5})
		if got := banklink.ErrorCode(db.ClassifyError(err)); got != banklink.EBADREQUEST {
			t.Errorf("FindCustomers with a NUL id: %v classified %s", err, got)
		}
		cut()
		_, err = db.FindConnectionByID(ctx, scope, "x")
		if got := banklink.ErrorCode(db.ClassifyError(err)); got != banklink.EUNAVAILABLE {
			t.Errorf("after the database went away: %v classified %s, want SERVICE_UNAVAILABLE", err, got)
		}
	})
	t.Run("others unchanged", func(t *testing.T) {
		db := MustOpenSQLite(t)
		_, err := db.FindConnectionByID(ctx, scope, "a\x00b")
		if banklink.ErrorCode(err) != banklink.ENOTFOUND || db.ClassifyError(err) != err {
			t.Errorf("SQLite lookup of a NUL id: %v", err)
		}
		plain := errors.New("disk on fire")
		if db.ClassifyError(plain) != plain || db.ClassifyError(nil) != nil {
			t.Error("ClassifyError changed an error it does not know")
		}
	})
}
