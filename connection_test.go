package banklink

import "testing"

// statusRules is what every status-only rule says of each status, one row
// a status, so the whole matrix reads at a glance.
var statusRules = map[ConnectionStatus]struct {
	refreshable, scheduled bool
}{
	StatusInProgress:        {refreshable: false, scheduled: false},
	StatusExpired:           {refreshable: false, scheduled: false},
	StatusActive:            {refreshable: true, scheduled: true},
	StatusPartiallyActive:   {refreshable: true, scheduled: true},
	StatusDegraded:          {refreshable: true, scheduled: true},
	StatusReconnectRequired: {refreshable: false, scheduled: false},
	StatusUnrecoverable:     {refreshable: true, scheduled: false},
	StatusUndetermined:      {refreshable: true, scheduled: true},
	StatusDeleted:           {refreshable: false, scheduled: false},
}

// TestStatusRulesCoverEveryStatus: a status added later must be placed in
// every rule on purpose, not fall through to a default.
func TestStatusRulesCoverEveryStatus(t *testing.T) {
	for _, s := range ConnectionStatuses {
		if _, ok := statusRules[s]; !ok {
			t.Errorf("statusRules has no row for %s", s)
		}
	}
	if len(statusRules) != len(ConnectionStatuses) {
		t.Errorf("statusRules has %d rows, want one for each of %d statuses", len(statusRules), len(ConnectionStatuses))
	}
}

func TestRefreshable(t *testing.T) {
	for _, s := range ConnectionStatuses {
		t.Run(string(s), func(t *testing.T) {
			if got, want := s.Refreshable(), statusRules[s].refreshable; got != want {
				t.Errorf("%s.Refreshable() = %v, want %v", s, got, want)
			}
		})
	}
}

func TestRefreshedOnSchedule(t *testing.T) {
	for _, s := range ConnectionStatuses {
		t.Run(string(s), func(t *testing.T) {
			if got, want := s.RefreshedOnSchedule(), statusRules[s].scheduled; got != want {
				t.Errorf("%s.RefreshedOnSchedule() = %v, want %v", s, got, want)
			}
		})
	}
}
