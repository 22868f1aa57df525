package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"banklink"
)

func testClaimDueRefreshes(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, _, inst := startOne(t, s) // IN_PROGRESS: never due
	prod := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Production}
	const day = 24 * time.Hour
	aggregated := func(scope banklink.Scope, customer, login string, at time.Time) *banklink.Connection {
		t.Helper()
		c := linked(t, s, scope, inst, customer, "sandbox", login)
		_, err := s.SaveAggregation(ctx, scope, c.ID, nil, false, at)
		must(t, err)
		return c
	}
	failed := func(c *banklink.Connection, status banklink.ConnectionStatus, reason string) {
		t.Helper()
		_, err := s.RecordAggregationFailure(ctx, scope, c.ID, status, reason, t0)
		must(t, err)
	}

	older := aggregated(prod, "older", "L-older", t0.Add(-time.Hour))
	old := aggregated(scope, "old", "L-old", t0)
	degraded := aggregated(scope, "degraded", "L-degraded", t0)
	failed(degraded, banklink.StatusDegraded, "SERVICE_PROVIDER_CURRENTLY_UNAVAILABLE")
	aggregated(scope, "fresh", "L-fresh", t0.Add(day+time.Hour))
	failed(aggregated(scope, "relogin", "L-relogin", t0), banklink.StatusReconnectRequired, "LOGIN_REQUIRED")
	failed(aggregated(scope, "gave-up", "L-gave-up", t0), banklink.StatusUnrecoverable, "CONTINUED_AGGREGATION_FAILURES")
	deleted := aggregated(scope, "deleted", "L-deleted", t0)
	_, err := s.DeleteConnection(ctx, scope, deleted.ID, t0)
	must(t, err)
	// Refreshed by the app after dueBefore: not due yet.
	refreshed := aggregated(scope, "refreshed", "L-refreshed", t0)
	_, err = s.AcceptRefresh(ctx, scope, refreshed.ID, t0.Add(day+time.Hour), time.Minute)
	must(t, err)
	// Never aggregated: Resume's, not the schedule's.
	linked(t, s, scope, inst, "never", "sandbox", "L-never")
	// The same login linked twice: only the active one is refreshed.
	dupOld := aggregated(scope, "dup", "L-dup", t0)
	dupNew := aggregated(scope, "dup", "L-dup", t0)
	if c, err := s.FindConnectionByID(ctx, scope, dupOld.ID); err != nil || c.StatusReason != "INACTIVE_DUPLICATE" {
		t.Fatalf("the older duplicate is %v %v", c, err)
	}

	now := t0.Add(2 * day)
	got, err := s.ClaimDueRefreshes(ctx, now.Add(-day), now, lease(now), 100)
	must(t, err)
	want := []string{older.ID, old.ID, degraded.ID, dupNew.ID}
	if len(got) != len(want) || got[0].ConnectionID != older.ID || got[0].Scope != prod {
		t.Fatalf("claimed %+v, want %v, the oldest data (%s in production) first", got, want, older.ID)
	}
	var gotIDs []string
	for _, d := range got {
		gotIDs = append(gotIDs, d.ConnectionID)
		if d.ConnectionID != older.ID && d.Scope != scope {
			t.Errorf("%s claimed in scope %+v", d.ConnectionID, d.Scope)
		}
	}
	slices.Sort(gotIDs)
	slices.Sort(want)
	if !slices.Equal(gotIDs, want) {
		t.Fatalf("claimed %v, want %v", gotIDs, want)
	}
	// Claimed: not again, and a refresh right now is rate limited.
	if again, err := s.ClaimDueRefreshes(ctx, now.Add(-day), now, lease(now), 100); err != nil || len(again) != 0 {
		t.Fatalf("second claim = %+v, %v", again, err)
	}
	_, err = s.AcceptRefresh(ctx, scope, old.ID, now.Add(time.Second), time.Minute)
	wantCode(t, err, banklink.ERATELIMITED)

	// A day later they are due again; limit takes the oldest first.
	later := now.Add(day + time.Minute)
	first, err := s.ClaimDueRefreshes(ctx, later.Add(-day), later, lease(later), 1)
	must(t, err)
	if len(first) != 1 || first[0].ConnectionID != older.ID {
		t.Fatalf("limit 1 claimed %+v, want %s", first, older.ID)
	}
	if none, err := s.ClaimDueRefreshes(ctx, later.Add(-day), later, lease(later), 0); err != nil || len(none) != 0 {
		t.Fatalf("limit 0 claimed %+v, %v", none, err)
	}

	// Replicas claiming at once share the work: every due connection is
	// claimed exactly once.
	latest := later.Add(2 * day)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			list, err := s.ClaimDueRefreshes(ctx, latest.Add(-day), latest, lease(latest), 2)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, d := range list {
				seen[d.ConnectionID]++
			}
		})
	}
	wg.Wait()
	total := 0
	for id, n := range seen {
		total += n
		if n != 1 {
			t.Errorf("%s claimed %d times", id, n)
		}
	}
	// Every refreshable connection is due by then: the four, the fresh
	// one and the one the app refreshed.
	if total != 6 {
		t.Errorf("%d claims across replicas, want 6: %v", total, seen)
	}
}
