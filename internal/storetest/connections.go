package storetest

import (
	"fmt"
	"testing"
	"time"

	"banklink"
)

func testFindConnectionsFilters(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, first, inst := startOne(t, s) // customer "cust", expires in an hour
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	must(t, s.StartConnection(ctx, NewCustomer(other, "cust"), NewConnection(other)))
	expired := NewConnection(scope)
	expired.CreatedAt = t0.Add(48 * time.Hour)
	expired.ExpiresAt = time.Now().Add(-time.Minute)
	must(t, s.StartConnection(ctx, NewCustomer(scope, "cust-2"), expired))
	done := NewConnection(scope)
	done.ExpiresAt = time.Now().Add(time.Hour)
	must(t, s.StartConnection(ctx, NewCustomer(scope, "cust-2"), done))
	_, err := s.CompleteConnection(ctx, scope, done.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: "sandbox", LoginID: "l"})
	must(t, err)

	now := time.Now()
	for _, tc := range []struct {
		name string
		f    banklink.ConnectionFilter
		want []string
	}{
		{"all in scope", banklink.ConnectionFilter{}, []string{first.ID, expired.ID, done.ID}},
		{"by customer id", banklink.ConnectionFilter{CustomerID: first.CustomerID}, []string{first.ID}},
		{"by external id", banklink.ConnectionFilter{ExternalCustomerID: "cust-2"}, []string{expired.ID, done.ID}},
		{"by institution", banklink.ConnectionFilter{InstitutionID: inst.ID}, []string{done.ID}},
		{"in progress excludes expired", banklink.ConnectionFilter{Statuses: []banklink.ConnectionStatus{banklink.StatusInProgress}}, []string{first.ID}},
		{"expired includes lapsed in-progress", banklink.ConnectionFilter{Statuses: []banklink.ConnectionStatus{banklink.StatusExpired}}, []string{expired.ID}},
		{"several statuses", banklink.ConnectionFilter{Statuses: []banklink.ConnectionStatus{banklink.StatusExpired, banklink.StatusActive}}, []string{expired.ID, done.ID}},
		{"by provider", banklink.ConnectionFilter{ServiceProviders: []string{"sandbox"}}, []string{done.ID}},
		{"created range", banklink.ConnectionFilter{CreatedFrom: t0.Add(24 * time.Hour), CreatedBefore: t0.Add(72 * time.Hour)}, []string{expired.ID}},
		{"limit", banklink.ConnectionFilter{Limit: 2}, []string{first.ID, expired.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Now = now
			got, remaining, err := s.FindConnections(ctx, scope, tc.f)
			must(t, err)
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", ids, tc.want)
			}
			if tc.f.Limit == 2 && remaining != 1 {
				t.Errorf("remaining = %d, want 1", remaining)
			}
		})
	}
	for _, bad := range []string{"nope", "11111111111", "zzzzzzzzzzz", ""} {
		if bad == "" {
			continue
		}
		_, _, err := s.FindConnections(ctx, scope, banklink.ConnectionFilter{After: bad, Now: now})
		wantCode(t, err, banklink.EBADREQUEST)
	}
}

// testFindConnectionsCursors walks the list with after cursors while new
// connections are inserted, and back with before cursors.
func testFindConnectionsCursors(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	var all []string
	add := func() {
		c := NewConnection(scope)
		must(t, s.StartConnection(ctx, NewCustomer(scope, fmt.Sprint("c", len(all)%3)), c))
		all = append(all, c.ID)
	}
	for range 23 {
		add()
	}
	seen := map[string]int{}
	var walked []string
	f := banklink.ConnectionFilter{Limit: 5, Now: time.Now()}
	for page := 0; ; page++ {
		got, remaining, err := s.FindConnections(ctx, scope, f)
		must(t, err)
		for _, c := range got {
			seen[c.ID]++
			walked = append(walked, c.ID)
		}
		if page < 3 {
			add() // inserted while walking
		}
		if remaining == 0 {
			break
		}
		if len(got) == 0 {
			t.Fatal("empty page with remaining > 0")
		}
		f.After = got[len(got)-1].Key
	}
	if fmt.Sprint(walked) != fmt.Sprint(all) {
		t.Fatalf("walked %d rows, want all %d in order", len(walked), len(all))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", id, n)
		}
	}
	// Backwards from the end.
	last, _, err := s.FindConnections(ctx, scope, banklink.ConnectionFilter{Limit: 100, Now: time.Now()})
	must(t, err)
	back, remaining, err := s.FindConnections(ctx, scope, banklink.ConnectionFilter{Limit: 4, Before: last[10].Key, Now: time.Now()})
	must(t, err)
	if len(back) != 4 || back[0].ID != all[6] || back[3].ID != all[9] || remaining != 6 {
		t.Errorf("before page: %d rows from %s, remaining %d", len(back), back[0].ID, remaining)
	}
}
