package linking

import (
	"testing"
	"time"

	"banklink"
)

// TestCheckOpen: a connect token opens its IN_PROGRESS connection until
// it expires; a repair token opens only the still-broken connection it
// was made for.
func TestCheckOpen(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	done := now.Add(-time.Hour)
	for _, tc := range []struct {
		name   string
		link   Link
		reason string // "" when open
	}{
		{"in progress", Link{Connection: &banklink.Connection{Status: banklink.StatusInProgress, ExpiresAt: now.Add(time.Minute)}}, ""},
		{"expired", Link{Connection: &banklink.Connection{Status: banklink.StatusInProgress, ExpiresAt: now}}, ReasonConnectionExpired},
		{"completed", Link{Connection: &banklink.Connection{Status: banklink.StatusActive, ExpiresAt: now.Add(time.Minute)}}, ReasonTokenUsed},
		{"repair of a broken connection", Link{Repair: true, RepairOf: done.UnixMicro(),
			Connection: &banklink.Connection{Status: banklink.StatusReconnectRequired, CompletedAt: &done}}, ""},
		{"repair already done", Link{Repair: true, RepairOf: done.Add(-time.Hour).UnixMicro(),
			Connection: &banklink.Connection{Status: banklink.StatusReconnectRequired, CompletedAt: &done}}, ReasonTokenUsed},
		{"repair of a healthy connection", Link{Repair: true, RepairOf: done.UnixMicro(),
			Connection: &banklink.Connection{Status: banklink.StatusActive, CompletedAt: &done}}, ReasonTokenUsed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOpen(&tc.link, now)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("err = %v, want open", err)
				}
				return
			}
			e, ok := err.(*banklink.Error)
			if !ok || e.Code != banklink.EUNAUTHORIZED || e.Reason != tc.reason {
				t.Fatalf("err = %v, want UNAUTHORIZED %s", err, tc.reason)
			}
		})
	}
}

// TestReplayCompletion: a repeated submit gets the stored result only
// when it chose the stored accounts (in any order, repeats allowed).
func TestReplayCompletion(t *testing.T) {
	conn := &banklink.Connection{ID: "c"}
	in := &banklink.Institution{ID: "i"}
	sess := &banklink.ConnectSession{Accounts: []banklink.ProviderAccount{{ID: "a"}, {ID: "b"}}}
	for _, tc := range []struct {
		name  string
		asked []string
		ok    bool
	}{
		{"same accounts", []string{"b", "a"}, true},
		{"same with a repeat", []string{"a", "b", "a"}, true},
		{"fewer", []string{"a"}, false},
		{"others", []string{"a", "x"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := replayCompletion(conn, in, sess, tc.asked)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if err != nil && banklink.ErrorCode(err) != banklink.ECONFLICT {
				t.Errorf("code = %s, want CONFLICT", banklink.ErrorCode(err))
			}
			if err == nil && (got.Connection != conn || len(got.Accounts) != 2) {
				t.Errorf("completed = %+v", got)
			}
		})
	}
}
