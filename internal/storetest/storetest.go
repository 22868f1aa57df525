// Package storetest is the storage conformance suite: every banklink.Store
// implementation runs RunTests and must pass all of it.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"banklink"

	"github.com/google/go-cmp/cmp"
)

// Opener returns a fresh, empty, migrated store for one subtest.
type Opener func(t *testing.T) banklink.Store

// RunTests runs the whole suite against stores made by open.
func RunTests(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s banklink.Store)
	}{
		{"Accounts", testAccounts},
		{"APIKeys", testAPIKeys},
		{"StartConnection", testStartConnection},
		{"RemainingCap", testRemainingCap},
		{"StartConnectionUnknownInstitution", testStartConnectionUnknownInstitution},
		{"StartConnectionConcurrentSameCustomer", testStartConnectionConcurrent},
		{"TenantIsolation", testTenantIsolation},
		{"Institutions", testInstitutions},
		{"Secrets", testSecrets},
		{"ConnectSessions", testConnectSessions},
		{"CompleteConnectionExactlyOnce", testCompleteExactlyOnce},
		{"CompleteConnectionExpired", testCompleteExpired},
		{"ConnectSessionVersions", testConnectSessionVersions},
		{"CountLoginAttempts", testCountLoginAttempts},
		{"CompleteConnectSession", testCompleteConnectSession},
		{"RepairConnectSession", testRepairConnectSession},
		{"WidgetOrigins", testWidgetOrigins},
		{"AppProfiles", testAppProfiles},
		{"DeclinedProducts", testDeclinedProducts},
		{"FindConnectionsFilters", testFindConnectionsFilters},
		{"FindConnectionsCursors", testFindConnectionsCursors},
		{"SaveAggregation", testSaveAggregation},
		{"TransactionCursors", testTransactionCursors},
		{"TenantTransactionsByAccount", testTenantTransactionsByAccount},
		{"CursorKeysPerTenant", testCursorKeysPerTenant},
		{"AggregationFailures", testAggregationFailures},
		{"SaveAggregationHeals", testSaveAggregationHeals},
		{"DeleteConnection", testDeleteConnection},
		{"AcceptRefresh", testAcceptRefresh},
		{"Customers", testCustomers},
		{"Investments", testInvestments},
		{"RawPayloads", testRawPayloads},
		{"WebhookProfiles", testWebhookProfiles},
		{"EventsFollowChanges", testEventsFollowChanges},
		{"ClaimDeliveries", testClaimDeliveries},
		{"Redeliver", testRedeliver},
		{"NewAccountsAvailable", testNewAccountsAvailable},
		{"ProviderHealth", testProviderHealth},
		{"RoutingDecisionStored", testRoutingDecisionStored},
		{"ProviderConfigs", testProviderConfigs},
		{"Operators", testOperators},
		{"OperatorSessions", testOperatorSessions},
		{"Funnel", testFunnel},
		{"Activity", testActivity},
		{"PruneActivity", testPruneActivity},
		{"BestEffortWrites", testBestEffortWrites},
		{"BestEffortForgiveness", testBestEffortForgiveness},
		{"LatestCursor", testLatestCursor},
		{"FindConnectionsByProviderLogin", testFindConnectionsByProviderLogin},
		{"ChangeConnectionStatus", testChangeConnectionStatus},
		{"ClaimDueRefreshes", testClaimDueRefreshes},
		{"AggregationWork", testAggregationWork},
		{"VanishedPendingExpire", testVanishedPendingExpire},
		{"IncrementalAggregation", testIncrementalAggregation},
		{"RemovedByAlias", testRemovedByAlias},
		{"ProcessorTokens", testProcessorTokens},
		{"ImportConnection", testImportConnection},
		{"DuplicatesShareData", testDuplicatesShareData},
		{"BackgroundSave", testBackgroundSave},
		{"BackgroundNewAccount", testBackgroundNewAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.fn(t, s)
		})
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := banklink.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// MustAccount creates an account.
func MustAccount(t *testing.T, s banklink.Store, name string) *banklink.Account {
	t.Helper()
	a := &banklink.Account{ID: banklink.NewID(), Name: name}
	must(t, s.CreateAccount(t.Context(), a))
	return a
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func testAccounts(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := &banklink.Account{ID: banklink.NewID(), Name: "Acme", CreatedAt: t0}
	must(t, s.CreateAccount(ctx, a))
	got, err := s.FindAccountByID(ctx, a.ID)
	must(t, err)
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("FindAccountByID mismatch (-want +got):\n%s", diff)
	}
	wantCode(t, s.CreateAccount(ctx, &banklink.Account{ID: a.ID, Name: "dup"}), banklink.ECONFLICT)
	_, err = s.FindAccountByID(ctx, "missing")
	wantCode(t, err, banklink.ENOTFOUND)
	b := &banklink.Account{ID: banklink.NewID(), Name: "Beta", CreatedAt: t0.Add(time.Second)}
	must(t, s.CreateAccount(ctx, b))
	all, err := s.FindAccounts(ctx)
	must(t, err)
	if len(all) != 2 || all[0].ID != a.ID || all[1].ID != b.ID {
		t.Errorf("FindAccounts = %v, want [%s %s]", all, a.ID, b.ID)
	}
}

func testAPIKeys(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	other := MustAccount(t, s, "Other")
	k, plain := banklink.NewAPIKey(a.ID, banklink.Sandbox, "ci", "2022-11-10", t0)
	must(t, s.CreateAPIKey(ctx, k))
	got, err := s.FindAPIKeyByID(ctx, k.ID)
	must(t, err)
	if diff := cmp.Diff(k, got); diff != "" {
		t.Errorf("FindAPIKeyByID mismatch (-want +got):\n%s", diff)
	}
	_, _, secret, ok := banklink.ParseAPIKey(plain)
	if !ok || !got.Matches(secret) || got.Matches(secret+"x") {
		t.Errorf("stored key does not match its own secret only")
	}
	k2, _ := banklink.NewAPIKey(a.ID, banklink.Production, "prod", "2022-11-10", t0.Add(time.Second))
	must(t, s.CreateAPIKey(ctx, k2))
	keys, err := s.FindAPIKeys(ctx, a.ID)
	must(t, err)
	if len(keys) != 2 || keys[0].ID != k.ID || keys[1].ID != k2.ID {
		t.Errorf("FindAPIKeys = %d keys, want [%s %s]", len(keys), k.ID, k2.ID)
	}
	n, err := s.CountAPIKeys(ctx)
	must(t, err)
	if n != 2 {
		t.Errorf("CountAPIKeys = %d, want 2", n)
	}

	orphan, _ := banklink.NewAPIKey("no-such-account", banklink.Sandbox, "x", "2022-11-10", t0)
	wantCode(t, s.CreateAPIKey(ctx, orphan), banklink.ENOTFOUND)
	_, err = s.FindAPIKeyByID(ctx, "missing")
	wantCode(t, err, banklink.ENOTFOUND)

	wantCode(t, s.RevokeAPIKey(ctx, other.ID, k.ID, t0), banklink.ENOTFOUND)
	must(t, s.RevokeAPIKey(ctx, a.ID, k.ID, t0.Add(time.Minute)))
	got, err = s.FindAPIKeyByID(ctx, k.ID)
	must(t, err)
	if !got.Revoked() || !got.RevokedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, t0.Add(time.Minute))
	}
	wantCode(t, s.RevokeAPIKey(ctx, a.ID, k.ID, t0), banklink.ECONFLICT)
}

// NewConnection returns an IN_PROGRESS connection for a start request.
func NewConnection(scope banklink.Scope) *banklink.Connection {
	return &banklink.Connection{
		ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment,
		Products: []banklink.Product{banklink.Balances, banklink.Transactions}, OptionalProducts: []banklink.Product{banklink.Owners},
		Regions: []banklink.Region{"US", "CA-QC"}, AllowRedirect: true, RedirectURL: "https://app.example.com/done",
		InstitutionSearchString: "Fidelity", RoutingProfile: "default",
		Status: banklink.StatusInProgress, CreatedAt: t0, UpdatedAt: t0, ExpiresAt: t0.Add(banklink.ConnectionCompletionWindow),
	}
}

// NewCustomer returns a customer to start a connection for.
func NewCustomer(scope banklink.Scope, externalID string) *banklink.Customer {
	return &banklink.Customer{ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment, ExternalID: externalID, CreatedAt: t0}
}

func testStartConnection(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	inst := &banklink.Institution{ID: banklink.NewID(), Name: "Fidelity", Type: banklink.InstitutionBrokerage, Rank: 1,
		Regions: []banklink.Region{"US"}, Providers: map[string]banklink.ProviderInstitution{"sandbox": {ProviderInstitutionID: "fid", Products: banklink.Products}}}
	must(t, s.UpsertInstitutions(ctx, []*banklink.Institution{inst}))

	c1, conn1 := NewCustomer(scope, "cust-1"), NewConnection(scope)
	conn1.InstitutionID = inst.ID
	must(t, s.StartConnection(ctx, c1, conn1))
	if conn1.CustomerID != c1.ID || conn1.InstitutionName != "Fidelity" || conn1.Key == "" || c1.Key == "" {
		t.Fatalf("StartConnection did not fill ids: customer %+v connection %+v", c1, conn1)
	}
	got, err := s.FindConnectionByID(ctx, scope, conn1.ID)
	must(t, err)
	if diff := cmp.Diff(conn1, got); diff != "" {
		t.Errorf("FindConnectionByID mismatch (-want +got):\n%s", diff)
	}

	// The same external id reuses the customer and makes a new connection.
	c2, conn2 := NewCustomer(scope, "cust-1"), NewConnection(scope)
	firstID := c1.ID
	must(t, s.StartConnection(ctx, c2, conn2))
	if c2.ID != firstID || conn2.CustomerID != firstID {
		t.Errorf("second start: customer %s, want reused %s", c2.ID, firstID)
	}
	if conn2.ID == conn1.ID || conn2.Key == conn1.Key {
		t.Errorf("second start reused the connection")
	}
	// Keys are opaque (testCursorKeysPerTenant): creation order is the
	// list's order, not the keys'.
	if list, _, err := s.FindConnections(ctx, scope, banklink.ConnectionFilter{Limit: 10, After: conn1.Key}); err != nil || len(list) != 1 || list[0].ID != conn2.ID {
		t.Errorf("the page after the first connection: %d connections, %v; want the second", len(list), err)
	}
	cust, err := s.FindCustomerByExternalID(ctx, scope, "cust-1")
	must(t, err)
	if cust.ID != firstID || cust.Status != banklink.CustomerStatusActive {
		t.Errorf("FindCustomerByExternalID = %+v", cust)
	}
	byID, err := s.FindCustomerByID(ctx, scope, firstID)
	must(t, err)
	if diff := cmp.Diff(cust, byID); diff != "" {
		t.Errorf("FindCustomerByID mismatch (-want +got):\n%s", diff)
	}
	// Optional lists round-trip as empty, not null.
	c3, conn3 := NewCustomer(scope, "cust-2"), NewConnection(scope)
	conn3.OptionalProducts, conn3.Regions = nil, nil
	must(t, s.StartConnection(ctx, c3, conn3))
	got, err = s.FindConnectionByID(ctx, scope, conn3.ID)
	must(t, err)
	if got.OptionalProducts == nil || len(got.OptionalProducts) != 0 || got.Regions == nil || len(got.Regions) != 0 || got.InstitutionID != "" {
		t.Errorf("empty lists round-trip as %#v %#v, institution %q", got.OptionalProducts, got.Regions, got.InstitutionID)
	}
}

func testStartConnectionUnknownInstitution(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	c, conn := NewCustomer(scope, "new-customer"), NewConnection(scope)
	conn.InstitutionID = "no-such-institution"
	wantCode(t, s.StartConnection(ctx, c, conn), banklink.ENOTFOUND)
	// The transaction rolled back: the customer was not created either.
	_, err := s.FindCustomerByExternalID(ctx, scope, "new-customer")
	wantCode(t, err, banklink.ENOTFOUND)
	_, err = s.FindConnectionByID(ctx, scope, conn.ID)
	wantCode(t, err, banklink.ENOTFOUND)
}

func testStartConnectionConcurrent(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	const n = 16
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c, conn := NewCustomer(scope, "racer"), NewConnection(scope)
			if err := s.StartConnection(ctx, c, conn); err != nil {
				errs <- err
				return
			}
			ids[i] = c.ID
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("concurrent starts made different customers: %v", ids)
		}
	}
}

func testTenantIsolation(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a, b := MustAccount(t, s, "A"), MustAccount(t, s, "B")
	sa := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	sb := banklink.Scope{AccountID: b.ID, Environment: banklink.Sandbox}
	prod := banklink.Scope{AccountID: a.ID, Environment: banklink.Production}
	ca, conna := NewCustomer(sa, "same-external-id"), NewConnection(sa)
	must(t, s.StartConnection(ctx, ca, conna))
	cb, connb := NewCustomer(sb, "same-external-id"), NewConnection(sb)
	must(t, s.StartConnection(ctx, cb, connb))
	cp, connp := NewCustomer(prod, "same-external-id"), NewConnection(prod)
	must(t, s.StartConnection(ctx, cp, connp))
	if ca.ID == cb.ID || ca.ID == cp.ID {
		t.Fatalf("accounts or environments share a customer: %s %s %s", ca.ID, cb.ID, cp.ID)
	}
	for _, tc := range []struct {
		scope banklink.Scope
		id    string
	}{{sb, conna.ID}, {sa, connb.ID}, {prod, conna.ID}, {sa, connp.ID}} {
		_, err := s.FindConnectionByID(ctx, tc.scope, tc.id)
		wantCode(t, err, banklink.ENOTFOUND)
	}
	_, err := s.FindCustomerByID(ctx, sb, ca.ID)
	wantCode(t, err, banklink.ENOTFOUND)
}

func testInstitutions(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	v0, err := s.InstitutionsVersion(ctx)
	must(t, err)
	var list []*banklink.Institution
	for i := range 1200 { // more than one insert batch
		list = append(list, &banklink.Institution{
			ID: fmt.Sprintf("inst_%04d", i), Key: fmt.Sprintf("k%04d", i), Name: fmt.Sprintf("Bank %04d", i),
			Aliases: []string{"alias"}, Type: banklink.InstitutionBank, Rank: 1200 - i,
			Regions:   []banklink.Region{"US", "US-NY"},
			Images:    banklink.InstitutionImages{Icon: "/i.svg"},
			Providers: map[string]banklink.ProviderInstitution{"sandbox": {ProviderInstitutionID: "p", Products: []banklink.Product{banklink.Balances, banklink.HistoricalTransactions}, Redirect: i%2 == 0, Health: banklink.HealthHealthy}},
		})
	}
	must(t, s.UpsertInstitutions(ctx, list))
	v1, err := s.InstitutionsVersion(ctx)
	must(t, err)
	if v1 == v0 {
		t.Errorf("directory version did not change on upsert")
	}
	got, err := s.FindInstitutionByID(ctx, "inst_0007")
	must(t, err)
	if diff := cmp.Diff(list[7], got); diff != "" {
		t.Errorf("FindInstitutionByID mismatch (-want +got):\n%s", diff)
	}
	_, err = s.FindInstitutionByID(ctx, "missing")
	wantCode(t, err, banklink.ENOTFOUND)
	all, err := s.FindInstitutions(ctx)
	must(t, err)
	if len(all) != len(list) || all[0].ID != "inst_1199" || all[len(all)-1].ID != "inst_0000" {
		t.Errorf("FindInstitutions: %d rows, first %s last %s; want %d ordered by rank", len(all), all[0].ID, all[len(all)-1].ID, len(list))
	}
	changed := *list[7]
	changed.Name = "Renamed"
	must(t, s.UpsertInstitutions(ctx, []*banklink.Institution{&changed}))
	got, err = s.FindInstitutionByID(ctx, "inst_0007")
	must(t, err)
	if got.Name != "Renamed" {
		t.Errorf("upsert did not replace: name %q", got.Name)
	}
	v2, err := s.InstitutionsVersion(ctx)
	must(t, err)
	if v2 == v1 {
		t.Errorf("directory version did not change on update")
	}
}

func testSecrets(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	got, err := s.EnsureSecret(ctx, "signing", []byte("first"))
	must(t, err)
	if string(got) != "first" {
		t.Errorf("EnsureSecret = %q, want first", got)
	}
	got, err = s.EnsureSecret(ctx, "signing", []byte("second"))
	must(t, err)
	if string(got) != "first" {
		t.Errorf("EnsureSecret kept %q, want the first value", got)
	}
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		wg.Go(func() {
			v, err := s.EnsureSecret(context.Background(), "raced", []byte(fmt.Sprint(i)))
			if err == nil {
				results[i] = string(v)
			}
		})
	}
	wg.Wait()
	for _, r := range results {
		if r == "" || r != results[0] {
			t.Fatalf("racing EnsureSecret returned %v, want one value", results)
		}
	}
}
