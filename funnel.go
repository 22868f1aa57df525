package banklink

import (
	"slices"
	"time"
)

// FunnelFilter narrows a funnel to one institution and/or provider.
type FunnelFilter struct {
	InstitutionID string
	Provider      string
}

// FunnelRow is the funnel at one institution or through one provider:
// how many widget sessions chose it, logged in there and completed there,
// and why the sessions that chose it but did not log in there stopped
// (their latest failure there; "" when none failed).
type FunnelRow struct {
	Key                         string
	Chosen, LoggedIn, Completed int
	Dropped                     map[string]int
}

// FunnelDrop is the drop-off after one step: the sessions that reached
// Step and went no further, by the reason of their latest failure ("":
// none failed, the customer left).
type FunnelDrop struct {
	Step    string
	Count   int
	Reasons map[string]int
}

// Funnel is the linking conversion of a set of widget sessions.
//
// Every step is counted once per session, and a step is credited to the
// institution and provider it happened at: a customer who chose bank A,
// failed, and linked bank B counts as choosing A and B, logging in and
// completing only at B. A session that reached a step counts as having
// reached every earlier one too (its earlier records may fall outside the
// period read), so no rate is ever above 100 %; and the drop-off after
// each step is exactly the difference between it and the next.
type Funnel struct {
	// Totals counts the sessions reaching each step (FunnelSteps). With
	// a filter, only steps at the filtered institution/provider count,
	// and FunnelOpened (which has neither) is 0.
	Totals map[string]int
	// PerDay counts, per UTC day and step, the sessions that first
	// reached the step that day.
	PerDay map[time.Time]map[string]int
	// ByInstitution and ByProvider are ordered by Chosen, then key.
	ByInstitution []FunnelRow
	ByProvider    []FunnelRow
	// Drops are after opened, chosen and logged in.
	Drops []FunnelDrop
}

func funnelIndex(step string) int {
	switch step {
	case FunnelOpened:
		return 0
	case FunnelChosen, FunnelFailed: // a failure there means it was chosen
		return 1
	case FunnelLoggedIn:
		return 2
	case FunnelCompleted:
		return 3
	}
	return -1
}

// ComputeFunnel counts steps (records of FunnelStore, in any order) as
// described at Funnel.
func ComputeFunnel(steps []FunnelStep, f FunnelFilter) *Funnel {
	out := &Funnel{Totals: map[string]int{}, PerDay: map[time.Time]map[string]int{}}
	bySession := map[string][]FunnelStep{}
	var order []string
	for _, s := range steps {
		if funnelIndex(s.Step) < 0 {
			continue
		}
		if bySession[s.ConnectionID] == nil {
			order = append(order, s.ConnectionID)
		}
		bySession[s.ConnectionID] = append(bySession[s.ConnectionID], s)
	}
	filtered := f.InstitutionID != "" || f.Provider != ""
	inst, prov := map[string]*FunnelRow{}, map[string]*FunnelRow{}
	drops := make([]FunnelDrop, 3)
	for i := range drops {
		drops[i] = FunnelDrop{Step: FunnelSteps[i], Reasons: map[string]int{}}
	}
	for _, id := range order {
		rows := bySession[id]
		slices.SortStableFunc(rows, func(a, b FunnelStep) int { return a.At.Compare(b.At) })
		match := func(s FunnelStep) bool {
			return (f.InstitutionID == "" || s.InstitutionID == f.InstitutionID) && (f.Provider == "" || s.Provider == f.Provider)
		}
		// The session as a whole.
		reached, lastReason := -1, ""
		first := map[int]time.Time{}
		for _, s := range rows {
			if filtered && (s.Step == FunnelOpened || !match(s)) {
				continue
			}
			i := funnelIndex(s.Step)
			reached = max(reached, i)
			if i >= 2 {
				lastReason = "" // earlier failures did not stop it
			}
			if s.Step == FunnelFailed {
				lastReason = s.Reason
				continue
			}
			if _, ok := first[i]; !ok {
				first[i] = s.At
			}
		}
		if reached >= 0 {
			low := 0
			if filtered {
				low = 1
			}
			for i := low; i <= reached; i++ {
				out.Totals[FunnelSteps[i]]++
				at, ok := first[i]
				for j := i + 1; !ok && j <= reached; j++ {
					at, ok = first[j] // implied by a later step
				}
				day := at.UTC().Truncate(24 * time.Hour)
				if out.PerDay[day] == nil {
					out.PerDay[day] = map[string]int{}
				}
				out.PerDay[day][FunnelSteps[i]]++
			}
			if reached < 3 {
				if reached == 0 {
					lastReason = ""
				}
				drops[reached].Count++
				drops[reached].Reasons[lastReason]++
			}
		}
		// Per institution (within the provider filter) and per provider
		// (within the institution filter).
		credit(inst, rows, func(s FunnelStep) (string, bool) {
			return s.InstitutionID, f.Provider == "" || s.Provider == f.Provider
		})
		credit(prov, rows, func(s FunnelStep) (string, bool) {
			return s.Provider, f.InstitutionID == "" || s.InstitutionID == f.InstitutionID
		})
	}
	if filtered {
		drops = drops[1:]
	}
	out.Drops = drops
	out.ByInstitution, out.ByProvider = sortedRows(inst), sortedRows(prov)
	return out
}

// credit adds one session's rows (sorted by time) to the rows keyed by
// key: per key, the furthest step reached there.
func credit(m map[string]*FunnelRow, rows []FunnelStep, key func(FunnelStep) (string, bool)) {
	reached, reason := map[string]int{}, map[string]string{}
	for _, s := range rows {
		k, ok := key(s)
		if !ok || k == "" || s.Step == FunnelOpened {
			continue
		}
		if _, seen := reached[k]; !seen {
			reached[k] = 0
		}
		reached[k] = max(reached[k], funnelIndex(s.Step))
		if s.Step == FunnelFailed {
			reason[k] = s.Reason
		}
	}
	for k, i := range reached {
		row := m[k]
		if row == nil {
			row = &FunnelRow{Key: k, Dropped: map[string]int{}}
			m[k] = row
		}
		row.Chosen++
		if i >= 2 {
			row.LoggedIn++
		} else {
			row.Dropped[reason[k]]++
		}
		if i >= 3 {
			row.Completed++
		}
	}
}

func sortedRows(m map[string]*FunnelRow) []FunnelRow {
	out := make([]FunnelRow, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b FunnelRow) int {
		if a.Chosen != b.Chosen {
			return b.Chosen - a.Chosen
		}
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
	return out
}
