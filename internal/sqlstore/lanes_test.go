package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/internal/storetest"
)

// TestInteractiveWritesGoBeforeQueuedBackground: while a background write
// holds SQLite's writer, more background writes and then interactive ones
// queue. The interactive ones must commit right after the one holding the
// writer, ahead of the background writes queued before them, and the
// background lane must not starve: it gets the turn after that batch.
// Before the lanes, the writer took jobs in arrival order, so a request
// waited behind every aggregation write queued before it.
func TestInteractiveWritesGoBeforeQueuedBackground(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "lanes.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bg := banklink.Background(context.Background())

	var mu sync.Mutex
	var order []string
	job := func(name string) func(*sql.Tx) error {
		return func(*sql.Tx) error {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return nil
		}
	}
	hold, holding := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		db.inTx(bg, func(tx *sql.Tx) error {
			close(holding)
			<-hold
			return job("bg-holding")(tx)
		})
	})
	<-holding
	// Queue in this order: two background writes, then two interactive.
	queued := func() int { return len(db.batch.bg) + len(db.batch.jobs) }
	queue := func(ctx context.Context, name string) {
		n := queued()
		wg.Go(func() {
			if err := db.inTx(ctx, job(name)); err != nil {
				t.Error(name, err)
			}
		})
		waitFor(t, func() bool { return queued() > n })
	}
	queue(bg, "bg-1")
	queue(bg, "bg-2")
	queue(context.Background(), "request-1")
	queue(context.Background(), "request-2")
	close(hold)
	wg.Wait()

	// The two requests share one batch; which of them runs first inside
	// it is the batch's order.
	want := []string{"bg-holding", "request-1", "request-2", "bg-1", "bg-2"}
	if !slices.Equal(order, want) {
		t.Errorf("commit order %v, want %v", order, want)
	}
}

// waitFor polls cond until it holds (a synchronisation, not a timing
// assertion: the bound only stops a broken test from hanging).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBestEffortWritesDoNotWait: while a background transaction holds the
// writer, a best-effort write (the widget's activity log and funnel)
// returns at once instead of queuing the customer's request behind it;
// the read that follows waits for it and sees it.
func TestBestEffortWritesDoNotWait(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "besteffort.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	scope := banklink.Scope{AccountID: storetest.MustAccount(t, db, "Acme").ID, Environment: banklink.Sandbox}
	c := storetest.NewConnection(scope)
	if err := db.StartConnection(t.Context(), storetest.NewCustomer(scope, "cust"), c); err != nil {
		t.Fatal(err)
	}
	conn := c.ID

	hold, holding := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		db.inTx(banklink.Background(context.Background()), func(*sql.Tx) error {
			close(holding)
			<-hold
			return nil
		})
	})
	<-holding
	returned := make(chan error, 1)
	go func() {
		// Every write the widget makes best-effort, one after the other.
		be := banklink.BestEffort(context.Background())
		returned <- errors.Join(
			db.RecordActivity(be, &banklink.ActivityEvent{ConnectionID: conn, Action: banklink.ActivityWidgetOpened}),
			db.RecordFunnelStep(be, banklink.FunnelStep{ConnectionID: conn, Step: banklink.FunnelFailed, InstitutionID: c.InstitutionID, Provider: "sandbox", Reason: "R", At: time.Now()}),
			db.ForgiveLoginAttempt(be, conn),
			db.RecordProviderAttempt(be, "sandbox", c.InstitutionID, true, "", time.Now()),
		)
	}()
	// The writer is held until the write returns: were it waited for, it
	// would never return (the bound only keeps a broken test from hanging).
	select {
	case err := <-returned:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		close(hold)
		t.Fatal("a best-effort write waited for the writer")
	}
	read := make(chan int, 1)
	go func() {
		got, _, err := db.FindActivity(context.Background(), scope, banklink.ActivityFilter{})
		if err != nil {
			t.Error(err)
		}
		read <- len(got)
	}()
	close(hold)
	wg.Wait()
	if n := <-read; n != 1 {
		t.Errorf("read after the best-effort write found %d entries, want 1", n)
	}
}
