package banklink

import "testing"

// statusRules is what every status-only rule says of each status, one row
// a status, so the whole matrix reads at a glance.
var statusRules = map[ConnectionStatus]struct {
	refreshable bool
}{
	StatusInProgress:        {refreshable: false},
	StatusExpired:           {refreshable: false},
	StatusActive:            {refreshable: true},
	StatusPartiallyActive:   {refreshable: true},
	StatusDegraded:          {refreshable: true},
	StatusReconnectRequired: {refreshable: false},
	StatusUnrecoverable:     {refreshable: true},
	StatusUndetermined:      {refreshable: true},
	StatusDeleted:           {refreshable: false},
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
