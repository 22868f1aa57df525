package storetest

import (
	"sync"
	"testing"
	"time"

	"banklink"
)

// lease is replica "replica-test"'s lease at claim time at.
func lease(at time.Time) banklink.Lease {
	return banklink.Lease{Owner: "replica-test", Until: at.Add(30 * time.Second)}
}

func testAggregationWork(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, _, inst := startOne(t, s) // IN_PROGRESS: its work cannot run
	a := func(at time.Time) banklink.Lease { return banklink.Lease{Owner: "A", Until: at.Add(30 * time.Second)} }
	b := func(at time.Time) banklink.Lease { return banklink.Lease{Owner: "B", Until: at.Add(30 * time.Second)} }
	claim := func(at time.Time, l banklink.Lease) []banklink.AggregationWork {
		t.Helper()
		list, err := s.ClaimAggregations(ctx, at, l, 100)
		must(t, err)
		return list
	}

	pending := func(want int) {
		t.Helper()
		if n, err := s.PendingAggregations(ctx); err != nil || n != want {
			t.Fatalf("pending aggregations = %d, %v; want %d", n, err, want)
		}
	}
	pending(0) // the IN_PROGRESS connection holds no work

	// Completing a link is accepted work, pending with a free lease.
	c := linked(t, s, scope, inst, "w1", "sandbox", "L-w1")
	pending(1)
	got := claim(t0, a(t0))
	if len(got) != 1 || got[0].ConnectionID != c.ID || got[0].Scope != scope || got[0].Ticket != 1 {
		t.Fatalf("claim after completion = %+v, want %s with ticket 1", got, c.ID)
	}
	if got := claim(t0.Add(time.Second), b(t0.Add(time.Second))); len(got) != 0 {
		t.Fatalf("claimed %+v under A's lease", got)
	}
	// A request while A runs it: counted, not B's to run.
	w, mine, err := s.RequestAggregation(ctx, scope, c.ID, t0.Add(2*time.Second), b(t0.Add(2*time.Second)))
	must(t, err)
	if mine || w.Ticket != 2 {
		t.Fatalf("request under A's lease = %+v mine=%v, want ticket 2, not mine", w, mine)
	}
	// A's run for ticket 1 ends: one more run is owed, and A keeps it.
	next, more, err := s.FinishAggregation(ctx, got[0], "A")
	must(t, err)
	if !more || next.Ticket != 2 || next.ConnectionID != c.ID || next.Scope != scope {
		t.Fatalf("finish = %+v more=%v, want ticket 2 and more", next, more)
	}
	// Renewed leases hold; A dies, its lease ends, B resumes the work.
	must(t, s.RenewAggregationLeases(ctx, "A", []string{c.ID, "no-such-id"}, t0.Add(100*time.Second)))
	must(t, s.RenewAggregationLeases(ctx, "A", nil, t0.Add(time.Hour)))
	if got := claim(t0.Add(60*time.Second), b(t0.Add(60*time.Second))); len(got) != 0 {
		t.Fatalf("claimed %+v under A's renewed lease", got)
	}
	// Another owner cannot renew A's lease away.
	must(t, s.RenewAggregationLeases(ctx, "B", []string{c.ID}, t0.Add(time.Hour)))
	resumed := claim(t0.Add(101*time.Second), b(t0.Add(101*time.Second)))
	if len(resumed) != 1 || resumed[0].Ticket != 2 {
		t.Fatalf("claim after A's lease = %+v, want ticket 2", resumed)
	}
	// B finishes: nothing owed, lease free, nothing to claim.
	if _, more, err := s.FinishAggregation(ctx, resumed[0], "B"); err != nil || more {
		t.Fatalf("finish = more %v, %v", more, err)
	}
	if got := claim(t0.Add(102*time.Second), a(t0.Add(102*time.Second))); len(got) != 0 {
		t.Fatalf("claimed finished work %+v", got)
	}
	pending(0)
	// A late finish of an older ticket (A woke up) changes nothing.
	if _, more, err := s.FinishAggregation(ctx, got[0], "A"); err != nil || more {
		t.Fatalf("stale finish = more %v, %v", more, err)
	}
	if got := claim(t0.Add(103*time.Second), a(t0.Add(103*time.Second))); len(got) != 0 {
		t.Fatalf("stale finish left work %+v", got)
	}
	// A free lease is the requester's; its owner's next request is too.
	at := t0.Add(200 * time.Second)
	for i, want := range []int64{3, 4} {
		w, mine, err := s.RequestAggregation(ctx, scope, c.ID, at, a(at))
		must(t, err)
		if !mine || w.Ticket != want {
			t.Fatalf("request %d = %+v mine=%v, want ticket %d, mine", i, w, mine, want)
		}
	}
	if _, more, err := s.FinishAggregation(ctx, banklink.AggregationWork{Scope: scope, ConnectionID: c.ID, Ticket: 4}, "A"); err != nil || more {
		t.Fatalf("finish 4 = more %v, %v", more, err)
	}

	// An accepted refresh is pending work.
	_, err = s.AcceptRefresh(ctx, scope, c.ID, at.Add(time.Hour), time.Minute)
	must(t, err)
	if got := claim(at.Add(time.Hour), a(at.Add(time.Hour))); len(got) != 1 || got[0].Ticket != 5 {
		t.Fatalf("claim after refresh = %+v, want ticket 5", got)
	}

	// Outside its scope a connection is not found.
	other := banklink.Scope{AccountID: scope.AccountID, Environment: banklink.Production}
	_, _, err = s.RequestAggregation(ctx, other, c.ID, at, a(at))
	wantCode(t, err, banklink.ENOTFOUND)
	_, _, err = s.FinishAggregation(ctx, banklink.AggregationWork{Scope: other, ConnectionID: c.ID, Ticket: 5}, "A")
	wantCode(t, err, banklink.ENOTFOUND)

	// Work of a deleted connection cannot run: never claimed.
	gone := linked(t, s, scope, inst, "w2", "sandbox", "L-w2")
	pending(2) // the refresh, claimed by A, and the new link
	_, err = s.DeleteConnection(ctx, scope, gone.ID, t0)
	must(t, err)
	pending(1) // a deleted connection's work cannot run
	far := at.Add(24 * time.Hour)
	for _, w := range claim(far, a(far)) {
		if w.ConnectionID == gone.ID {
			t.Fatal("claimed a deleted connection's work")
		}
	}

	// A connection due for its scheduled refresh is not claimed for it
	// while a replica holds its work.
	held := linked(t, s, scope, inst, "w3", "sandbox", "L-w3")
	_, err = s.SaveAggregation(ctx, scope, held.ID, nil, false, t0)
	must(t, err)
	later := far.Add(time.Hour)
	if _, _, err := s.RequestAggregation(ctx, scope, held.ID, later, a(later)); err != nil {
		t.Fatal(err)
	}
	due, err := s.ClaimDueRefreshes(ctx, later, later, b(later), 100)
	must(t, err)
	for _, d := range due {
		if d.ConnectionID == held.ID {
			t.Fatal("scheduled refresh claimed work another replica holds")
		}
	}

	// Replicas claiming at once share pending work: each piece once.
	for i := range 6 {
		linked(t, s, scope, inst, "many", "sandbox", "L-many-"+string(rune('a'+i)))
	}
	latest := later.Add(24 * time.Hour)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			l := banklink.Lease{Owner: "R" + string(rune('0'+i)), Until: latest.Add(time.Minute)}
			list, err := s.ClaimAggregations(ctx, latest, l, 3)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, w := range list {
				seen[w.ConnectionID]++
			}
		})
	}
	wg.Wait()
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s claimed %d times", id, n)
		}
	}
	if len(seen) < 6 {
		t.Errorf("%d pieces of work claimed, want at least the 6 new links", len(seen))
	}

	// A request with no owner counts the work and leaves its lease free:
	// pending work is claimed oldest request first, and never while
	// another replica holds it.
	queued := make([]*banklink.Connection, 3)
	for i := range queued {
		queued[i] = linked(t, s, scope, inst, "q", "sandbox", "L-q-"+string(rune('a'+i)))
	}
	q0 := latest.Add(time.Hour)
	claimed := claim(q0, a(q0)) // the links' own work (and any left above), taken and finished
	for _, w := range claimed {
		if _, _, err := s.FinishAggregation(ctx, w, "A"); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range []*banklink.Connection{queued[2], queued[0], queued[1]} {
		qt := q0.Add(time.Duration(i+1) * time.Second)
		w, mine, err := s.RequestAggregation(ctx, scope, c.ID, qt, banklink.Lease{Until: qt})
		must(t, err)
		if !mine || w.Ticket != 2 {
			t.Fatalf("queued request %d = %+v mine=%v, want ticket 2 and the lease left free", i, w, mine)
		}
	}
	if got := claim(q0.Add(time.Second), b(q0.Add(time.Second))); len(got) != 0 {
		t.Fatalf("claimed %+v before it was queued", got)
	}
	qc := q0.Add(time.Minute)
	list, err := s.ClaimAggregations(ctx, qc, b(qc), 2)
	must(t, err)
	if ids := workIDs(list); len(ids) != 2 || !ids[queued[2].ID] || !ids[queued[0].ID] {
		t.Fatalf("claim of queued work = %+v; want the first two queued, %s and %s", list, queued[2].ID, queued[0].ID)
	}
	// While B holds it, a queued request only counts.
	w, mine, err = s.RequestAggregation(ctx, scope, queued[2].ID, qc, banklink.Lease{Until: qc})
	must(t, err)
	if mine || w.Ticket != 3 {
		t.Fatalf("queued request under B's lease = %+v mine=%v, want ticket 3, not mine", w, mine)
	}
	if list := claim(qc, a(qc)); len(list) != 1 || list[0].ConnectionID != queued[1].ID {
		t.Fatalf("claim = %+v, want only %s", list, queued[1].ID)
	}
}

// workIDs is the set of connections list names.
func workIDs(list []banklink.AggregationWork) map[string]bool {
	ids := map[string]bool{}
	for _, w := range list {
		ids[w.ConnectionID] = true
	}
	return ids
}
