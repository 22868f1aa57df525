package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestBatcherIsolatesFailures runs many concurrent write jobs, some of
// which fail after writing: their writes must vanish while every other
// job's writes commit.
func TestBatcherIsolatesFailures(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "b.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	boom := errors.New("boom")
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.inTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.Exec(`INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, 0)`, fmt.Sprint("k", i), []byte("v")); err != nil {
					return err
				}
				if i%3 == 0 {
					return boom
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i%3 == 0) != errors.Is(err, boom) || (i%3 != 0 && err != nil) {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	var count int
	if err := db.r.QueryRow(`SELECT COUNT(*) FROM secrets WHERE name LIKE 'k%'`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if want := n - (n+2)/3; count != want {
		t.Errorf("%d rows committed, want %d", count, want)
	}
	// A cancelled context never runs its job.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.inTx(cctx, func(tx *sql.Tx) error { t.Error("cancelled job ran"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled job: %v", err)
	}
}

// TestBatcherCloseAnswersEveryone: writers racing a Close all get an
// answer; none waits forever.
func TestBatcherCloseAnswersEveryone(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "c.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			db.inTx(context.Background(), func(tx *sql.Tx) error {
				_, err := tx.Exec(`INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, 0)`, fmt.Sprint("k", i), []byte("v"))
				return err
			})
		})
	}
	db.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("writers still waiting after Close")
	}
}
