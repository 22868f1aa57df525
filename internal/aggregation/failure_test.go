package aggregation_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/sqlstore"
)

// brokenFailures is a store that cannot record failures.
type brokenFailures struct{ banklink.Store }

var errDisk = errors.New("disk full")

func (brokenFailures) RecordAggregationFailure(context.Context, banklink.Scope, string, banklink.ConnectionStatus, string, time.Time) (int, error) {
	return 0, errDisk
}

func TestRecordFailure(t *testing.T) {
	for _, tc := range []struct {
		name       string
		broken     bool
		unknown    bool
		cause      error
		wantErr    error
		wantCode   string
		wantStatus banklink.ConnectionStatus
		wantReason string
	}{
		{name: "login stopped working", cause: &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials},
			wantStatus: banklink.StatusReconnectRequired, wantReason: "LOGIN_REQUIRED"},
		{name: "locked", cause: &banklink.ProviderError{Reason: banklink.LoginLocked},
			wantStatus: banklink.StatusReconnectRequired, wantReason: "LOGIN_REQUIRED"},
		{name: "institution down", cause: &banklink.ProviderError{Reason: banklink.LoginInstitutionDown},
			wantStatus: banklink.StatusDegraded, wantReason: "INSTITUTION_CURRENTLY_UNAVAILABLE"},
		{name: "not recorded", broken: true, cause: &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials},
			wantErr: errDisk, wantStatus: banklink.StatusActive},
		{name: "unknown connection", unknown: true, cause: &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials},
			wantCode: banklink.ENOTFOUND, wantStatus: banklink.StatusActive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlstore.Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			scope, id := completed(t, db)
			var store banklink.Store = db
			if tc.broken {
				store = brokenFailures{db}
			}
			target := id
			if tc.unknown {
				target = banklink.NewID()
			}
			err = aggregation.New(store, nil, nil).RecordFailure(ctx, scope, target, tc.cause)
			if (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || (tc.wantErr == nil && banklink.ErrorCode(err) != tc.wantCode) {
				t.Fatalf("err = %v, want %v / code %q", err, tc.wantErr, tc.wantCode)
			}
			c, err := db.FindConnectionByID(ctx, scope, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != tc.wantStatus || c.StatusReason != tc.wantReason {
				t.Errorf("connection is %s/%s, want %s/%s", c.Status, c.StatusReason, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

// completed returns an ACTIVE connection.
func completed(t *testing.T, db banklink.Store) (banklink.Scope, string) {
	t.Helper()
	ctx := t.Context()
	acct := &banklink.Account{ID: banklink.NewID(), Name: "Acme"}
	if err := db.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	scope := banklink.Scope{AccountID: acct.ID, Environment: banklink.Sandbox}
	inst := &banklink.Institution{ID: banklink.NewID(), Name: "Bank", Rank: 1,
		Providers: map[string]banklink.ProviderInstitution{"plaid": {ProviderInstitutionID: "ins_1", Products: banklink.Products}}}
	if err := db.UpsertInstitutions(ctx, []*banklink.Institution{inst}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	conn := &banklink.Connection{ID: banklink.NewID(), AccountID: acct.ID, Environment: banklink.Sandbox, Products: []banklink.Product{banklink.Balances},
		Status: banklink.StatusInProgress, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Hour)}
	cust := &banklink.Customer{ID: banklink.NewID(), AccountID: acct.ID, Environment: banklink.Sandbox, ExternalID: "c", CreatedAt: now}
	if err := db.StartConnection(ctx, cust, conn); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CompleteConnection(ctx, scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: "plaid", LoginID: "item-1", At: now}); err != nil {
		t.Fatal(err)
	}
	return scope, conn.ID
}
