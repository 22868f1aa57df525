package banklink

import (
	"testing"
	"time"
)

func TestComputeFunnel(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return day.Add(time.Duration(min) * time.Minute) }
	step := func(conn, st, inst, prov string, min int) FunnelStep {
		return FunnelStep{ConnectionID: conn, Step: st, InstitutionID: inst, Provider: prov, At: at(min)}
	}
	fail := func(conn, inst, prov, reason string, min int) FunnelStep {
		s := step(conn, FunnelFailed, inst, prov, min)
		s.Reason = reason
		return s
	}
	// s1 switches from A (locked out) to B and completes there; s2
	// switches from A to B through another provider and stops after a
	// failure at B; s3 completes at A; s4 only opens; s5's opening fell
	// before the period read; s6 logs in at A but has no accounts.
	steps := []FunnelStep{
		step("s1", FunnelOpened, "", "", 0), step("s1", FunnelChosen, "A", "sandbox", 1), fail("s1", "A", "sandbox", "LOCKED", 2),
		step("s1", FunnelChosen, "B", "sandbox", 3), step("s1", FunnelLoggedIn, "B", "sandbox", 4), step("s1", FunnelCompleted, "B", "sandbox", 5),
		step("s2", FunnelOpened, "", "", 0), step("s2", FunnelChosen, "A", "sandbox", 1), step("s2", FunnelChosen, "B", "sandbox-b", 2),
		fail("s2", "B", "sandbox-b", "INVALID_CREDENTIALS", 3),
		step("s3", FunnelOpened, "", "", 0), step("s3", FunnelChosen, "A", "sandbox", 1), fail("s3", "A", "sandbox", "INVALID_CREDENTIALS", 2),
		step("s3", FunnelLoggedIn, "A", "sandbox", 3), step("s3", FunnelCompleted, "A", "sandbox", 1440+4),
		step("s4", FunnelOpened, "", "", 0),
		step("s5", FunnelLoggedIn, "B", "sandbox", 10), step("s5", FunnelCompleted, "B", "sandbox", 11),
		step("s6", FunnelOpened, "", "", 0), step("s6", FunnelChosen, "A", "sandbox", 1), step("s6", FunnelLoggedIn, "A", "sandbox", 2),
		fail("s6", "A", "sandbox", "NO_ACCOUNTS", 3),
	}
	type row struct{ chosen, loggedIn, completed int }
	tests := []struct {
		name     string
		filter   FunnelFilter
		totals   [4]int
		inst     map[string]row
		prov     map[string]row
		drops    map[string]map[string]int
		instDrop map[string]map[string]int
	}{
		{
			name:   "all",
			totals: [4]int{6, 5, 4, 3},
			inst:   map[string]row{"A": {4, 2, 1}, "B": {3, 2, 2}},
			prov:   map[string]row{"sandbox": {5, 4, 3}, "sandbox-b": {1, 0, 0}},
			drops: map[string]map[string]int{
				FunnelOpened:   {"": 1},
				FunnelChosen:   {"INVALID_CREDENTIALS": 1},
				FunnelLoggedIn: {"NO_ACCOUNTS": 1},
			},
			instDrop: map[string]map[string]int{"A": {"LOCKED": 1, "": 1}, "B": {"INVALID_CREDENTIALS": 1}},
		},
		{
			name:   "institution A",
			filter: FunnelFilter{InstitutionID: "A"},
			totals: [4]int{0, 4, 2, 1},
			inst:   map[string]row{"A": {4, 2, 1}, "B": {3, 2, 2}},
			prov:   map[string]row{"sandbox": {4, 2, 1}},
			drops:  map[string]map[string]int{FunnelChosen: {"LOCKED": 1, "": 1}, FunnelLoggedIn: {"NO_ACCOUNTS": 1}},
		},
		{
			name:   "provider sandbox-b",
			filter: FunnelFilter{Provider: "sandbox-b"},
			totals: [4]int{0, 1, 0, 0},
			inst:   map[string]row{"B": {1, 0, 0}},
			prov:   map[string]row{"sandbox": {5, 4, 3}, "sandbox-b": {1, 0, 0}},
			drops:  map[string]map[string]int{FunnelChosen: {"INVALID_CREDENTIALS": 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := ComputeFunnel(steps, tt.filter)
			for i, s := range FunnelSteps {
				if fn.Totals[s] != tt.totals[i] {
					t.Errorf("total %s = %d, want %d", s, fn.Totals[s], tt.totals[i])
				}
				if i > 0 && fn.Totals[s] > fn.Totals[FunnelSteps[i-1]] && (i > 1 || tt.filter == FunnelFilter{}) {
					t.Errorf("%s (%d) exceeds the step before", s, fn.Totals[s])
				}
			}
			check := func(what string, rows []FunnelRow, want map[string]row) {
				if len(rows) != len(want) {
					t.Errorf("%s: %d rows, want %d: %+v", what, len(rows), len(want), rows)
				}
				for _, r := range rows {
					if got := (row{r.Chosen, r.LoggedIn, r.Completed}); got != want[r.Key] {
						t.Errorf("%s %s = %+v, want %+v", what, r.Key, got, want[r.Key])
					}
					if r.LoggedIn > r.Chosen || r.Completed > r.LoggedIn {
						t.Errorf("%s %s has a rate over 100 %%: %+v", what, r.Key, r)
					}
					sum := 0
					for _, n := range r.Dropped {
						sum += n
					}
					if sum != r.Chosen-r.LoggedIn {
						t.Errorf("%s %s: drop-off reasons sum to %d, want chosen-loggedIn = %d", what, r.Key, sum, r.Chosen-r.LoggedIn)
					}
				}
			}
			check("institution", fn.ByInstitution, tt.inst)
			check("provider", fn.ByProvider, tt.prov)
			for _, r := range fn.ByInstitution {
				if want := tt.instDrop[r.Key]; want != nil && !sameCounts(r.Dropped, want) {
					t.Errorf("institution %s drops %v, want %v", r.Key, r.Dropped, want)
				}
			}
			for _, d := range fn.Drops {
				i := funnelIndex(d.Step)
				if d.Count != fn.Totals[d.Step]-fn.Totals[FunnelSteps[i+1]] {
					t.Errorf("drop after %s = %d, want %d - %d", d.Step, d.Count, fn.Totals[d.Step], fn.Totals[FunnelSteps[i+1]])
				}
				sum := 0
				for _, n := range d.Reasons {
					sum += n
				}
				if sum != d.Count {
					t.Errorf("drop after %s: reasons sum to %d, want %d", d.Step, sum, d.Count)
				}
				if want := tt.drops[d.Step]; want != nil && !sameCounts(d.Reasons, want) {
					t.Errorf("drop after %s reasons %v, want %v", d.Step, d.Reasons, want)
				}
			}
			days := map[string]int{}
			for _, m := range fn.PerDay {
				for s, n := range m {
					days[s] += n
				}
			}
			for s, n := range fn.Totals {
				if days[s] != n {
					t.Errorf("per-day %s sums to %d, want the total %d", s, days[s], n)
				}
			}
		})
	}
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
