package linking

import (
	"context"
	"errors"
	"testing"
	"time"

	"banklink"
)

// TestWidgetError: which failures are activity, and of which kind.
func TestWidgetError(t *testing.T) {
	for _, tc := range []struct {
		name         string
		err          error
		initializing bool
		ok           bool
		eventType    string
		reason       string
	}{
		{"wrong password", &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials, DisplayMessage: "Wrong."}, false, true,
			banklink.ActivityProviderFailure, banklink.LoginInvalidCredentials},
		{"institution down while starting", &banklink.ProviderError{Reason: banklink.LoginInstitutionDown}, true, true,
			banklink.ActivityProviderInitFailure, banklink.LoginInstitutionDown},
		{"login error", &banklink.Error{Code: banklink.ELOGIN, Reason: banklink.LoginNoAccounts, Message: "None."}, false, true,
			banklink.ActivityProviderFailure, banklink.LoginNoAccounts},
		{"provider configuration", &banklink.Error{Code: banklink.EPROVIDER, Message: "Bad keys."}, true, true,
			banklink.ActivityProviderInitFailure, banklink.EPROVIDER},
		{"database down", &banklink.Error{Code: banklink.EUNAVAILABLE, Message: "Down."}, false, true,
			banklink.ActivityInternalFailure, banklink.EUNAVAILABLE},
		{"a bug", errors.New("nil map"), false, true, banklink.ActivityInternalFailure, banklink.EINTERNAL},
		{"two tabs", OutOfDate(), false, false, "", ""},
		{"bad request", banklink.Errorf(banklink.EBADREQUEST, "Bad JSON."), false, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := WidgetError(tc.err, banklink.LoginStepCredentials, tc.initializing)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && (e.Action != banklink.ActivityWidgetError || e.EventType != tc.eventType || e.Reason != tc.reason || e.Step != banklink.LoginStepCredentials) {
				t.Errorf("event = %+v, want %s %s", e, tc.eventType, tc.reason)
			}
		})
	}
}

type pruneStore struct {
	Store
	befores []time.Time
	left    int
}

func (p *pruneStore) PruneActivity(_ context.Context, before time.Time, limit int) (int, error) {
	p.befores = append(p.befores, before)
	n := min(p.left, limit)
	p.left -= n
	return n, nil
}

// TestPruneActivity: pruning deletes in batches until a batch comes back
// short, everything older than the retention.
func TestPruneActivity(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := &pruneStore{left: 2*pruneBatch + 5}
	s := &Service{Store: st, Now: func() time.Time { return now }}
	n, err := s.PruneActivity(t.Context(), 24*time.Hour)
	if err != nil || n != 2*pruneBatch+5 || len(st.befores) != 3 || !st.befores[0].Equal(now.Add(-24*time.Hour)) {
		t.Errorf("pruned %d (%v) in %d batches before %v", n, err, len(st.befores), st.befores)
	}
}
