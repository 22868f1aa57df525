package banklink

import (
	"slices"
	"testing"
)

// statusRules is what every status-only rule says of each status, one row
// a status, so the whole matrix reads at a glance.
var statusRules = map[ConnectionStatus]struct {
	linked, refreshable, scheduled bool
	// repairable: whatever the reason (see TestRepairable for reasons
	// that matter).
	repairable bool
}{
	StatusInProgress:        {linked: false, refreshable: false, scheduled: false, repairable: false},
	StatusExpired:           {linked: false, refreshable: false, scheduled: false, repairable: false},
	StatusActive:            {linked: true, refreshable: true, scheduled: true, repairable: false},
	StatusPartiallyActive:   {linked: true, refreshable: true, scheduled: true, repairable: true},
	StatusDegraded:          {linked: true, refreshable: true, scheduled: true, repairable: true},
	StatusReconnectRequired: {linked: true, refreshable: false, scheduled: false, repairable: true},
	StatusUnrecoverable:     {linked: true, refreshable: true, scheduled: false, repairable: true},
	StatusUndetermined:      {linked: true, refreshable: true, scheduled: true, repairable: true},
	StatusDeleted:           {linked: false, refreshable: false, scheduled: false, repairable: false},
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

func TestLinked(t *testing.T) {
	for _, s := range ConnectionStatuses {
		t.Run(string(s), func(t *testing.T) {
			if got, want := s.Linked(), statusRules[s].linked; got != want {
				t.Errorf("%s.Linked() = %v, want %v", s, got, want)
			}
		})
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

func TestRepairable(t *testing.T) {
	// Reasons that change nothing: the status decides.
	for _, s := range ConnectionStatuses {
		for _, reason := range []string{"", "LOGIN_REQUIRED", "INACTIVE_DUPLICATE", "CONTINUED_AGGREGATION_FAILURES"} {
			t.Run(string(s)+"/"+reason, func(t *testing.T) {
				c := &Connection{Status: s, StatusReason: reason}
				if got, want := c.Repairable(), statusRules[s].repairable; got != want {
					t.Errorf("Repairable() = %v, want %v", got, want)
				}
			})
		}
	}
	// Reasons that do.
	for _, tc := range []struct {
		name   string
		status ConnectionStatus
		reason string
		want   bool
	}{
		{"active, access expiring soon", StatusActive, "ACCESS_EXPIRING_SOON", true},
		{"active, new accounts available", StatusActive, "NEW_ACCOUNTS_AVAILABLE", true},
		{"active, no reason", StatusActive, "", false},
		{"deleted, new accounts available", StatusDeleted, "NEW_ACCOUNTS_AVAILABLE", false},
		{"in progress, access expiring soon", StatusInProgress, "ACCESS_EXPIRING_SOON", false},
		{"expired, new accounts available", StatusExpired, "NEW_ACCOUNTS_AVAILABLE", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Connection{Status: tc.status, StatusReason: tc.reason}
			if got := c.Repairable(); got != tc.want {
				t.Errorf("Repairable() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAfterAggregation(t *testing.T) {
	tests := []struct {
		name        string
		status      ConnectionStatus
		reason      string
		newAccounts bool
		want        ConnectionStatus
		wantReason  string
	}{
		{"in progress stays", StatusInProgress, "", true, StatusInProgress, ""},
		{"expired stays", StatusExpired, "", true, StatusExpired, ""},
		{"active stays", StatusActive, "", false, StatusActive, ""},
		{"active announces new accounts", StatusActive, "", true, StatusActive, "NEW_ACCOUNTS_AVAILABLE"},
		{"active keeps access expiring soon", StatusActive, "ACCESS_EXPIRING_SOON", true, StatusActive, "ACCESS_EXPIRING_SOON"},
		{"active keeps new accounts available", StatusActive, "NEW_ACCOUNTS_AVAILABLE", false, StatusActive, "NEW_ACCOUNTS_AVAILABLE"},
		{"inactive duplicate stays", StatusPartiallyActive, "INACTIVE_DUPLICATE", true, StatusPartiallyActive, "INACTIVE_DUPLICATE"},
		{"degraded heals", StatusDegraded, "INSTITUTION_CURRENTLY_UNAVAILABLE", false, StatusActive, ""},
		{"degraded heals and announces", StatusDegraded, "SERVICE_PROVIDER_CURRENTLY_UNAVAILABLE", true, StatusActive, "NEW_ACCOUNTS_AVAILABLE"},
		{"reconnect required stays", StatusReconnectRequired, "LOGIN_REQUIRED", true, StatusReconnectRequired, "LOGIN_REQUIRED"},
		{"unrecoverable heals", StatusUnrecoverable, "CONTINUED_AGGREGATION_FAILURES", false, StatusActive, ""},
		{"undetermined heals", StatusUndetermined, "", false, StatusActive, ""},
		{"deleted stays", StatusDeleted, "", true, StatusDeleted, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := AfterAggregation(tc.status, tc.reason, tc.newAccounts)
			if got != tc.want || reason != tc.wantReason {
				t.Errorf("AfterAggregation(%s, %q, %v) = %s, %q; want %s, %q", tc.status, tc.reason, tc.newAccounts, got, reason, tc.want, tc.wantReason)
			}
		})
	}
	covered := map[ConnectionStatus]bool{}
	for _, tc := range tests {
		covered[tc.status] = true
	}
	for _, s := range ConnectionStatuses {
		if !covered[s] {
			t.Errorf("no case for %s", s)
		}
	}
}

func TestAnnounceAccounts(t *testing.T) {
	for _, tc := range []struct {
		name                string
		announced, unshared []string
		want                []string
		fresh               bool
	}{
		{"nothing unshared", []string{"a"}, nil, []string{"a"}, false},
		{"first found", nil, []string{"a", "b"}, []string{"a", "b"}, true},
		{"already announced", []string{"a", "b"}, []string{"b"}, []string{"a", "b"}, false},
		{"one more", []string{"a"}, []string{"a", "c"}, []string{"a", "c"}, true},
		{"listed twice, announced once", nil, []string{"a", "a"}, []string{"a"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, fresh := AnnounceAccounts(tc.announced, tc.unshared)
			if !slices.Equal(got, tc.want) || fresh != tc.fresh {
				t.Errorf("AnnounceAccounts(%q, %q) = %q, %v; want %q, %v", tc.announced, tc.unshared, got, fresh, tc.want, tc.fresh)
			}
		})
	}
}
