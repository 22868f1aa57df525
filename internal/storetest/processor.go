package storetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/webhook"
)

// testProcessorTokens: a token is stored sealed, found by its value to be
// revoked once, only in its scope and on its account, and each change
// emits its event.
func testProcessorTokens(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	a := MustAccount(t, s, "Acme")
	scope := banklink.Scope{AccountID: a.ID, Environment: banklink.Sandbox}
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	tok := &banklink.ProcessorToken{ID: banklink.NewID(), AccountID: a.ID, Environment: banklink.Sandbox, FinancialAccountID: "fa-1",
		ConnectionID: "conn-1", ProviderType: "plaid", Processor: "DWOLLA", Token: "processor-sandbox-secret-1", CreatedAt: t0}
	created := banklink.NewEvent(ctx, webhook.ProcessorTokenCreated, webhook.Payload{ConnectionID: "conn-1", FinancialAccountID: "fa-1", ProcessorTokenID: tok.ID, Processor: "DWOLLA"})
	must(t, s.CreateProcessorToken(ctx, tok, created))
	// The same token twice is a conflict, not a second row.
	again := *tok
	again.ID = banklink.NewID()
	wantCode(t, s.CreateProcessorToken(ctx, &again, nil), banklink.ECONFLICT)

	got, err := s.OpenProcessorToken(ctx, scope, tok.ID)
	must(t, err)
	if got.Token != tok.Token || got.Processor != "DWOLLA" || got.ProviderType != "plaid" || got.FinancialAccountID != "fa-1" || got.RevokedAt != nil {
		t.Errorf("OpenProcessorToken = %+v", got)
	}
	_, err = s.OpenProcessorToken(ctx, other, tok.ID)
	wantCode(t, err, banklink.ENOTFOUND)

	revokedEvent := func(p *banklink.ProcessorToken) *banklink.Event {
		return banklink.NewEvent(ctx, webhook.ProcessorTokenRevoked, webhook.Payload{ConnectionID: p.ConnectionID, FinancialAccountID: p.FinancialAccountID, ProcessorTokenID: p.ID, Processor: string(p.Processor)})
	}
	for _, tc := range []struct {
		name           string
		scope          banklink.Scope
		account, token string
		code           string
	}{
		{"another tenant", other, "fa-1", tok.Token, banklink.ENOTFOUND},
		{"another account", scope, "fa-2", tok.Token, banklink.ENOTFOUND},
		{"unknown token", scope, "fa-1", "processor-sandbox-nope", banklink.ENOTFOUND},
		{"revoked", scope, "fa-1", tok.Token, ""},
		{"revoked twice", scope, "fa-1", tok.Token, banklink.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.RevokeProcessorToken(ctx, tc.scope, tc.account, tc.token, t0.Add(time.Hour), revokedEvent)
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			must(t, err)
			if r.ID != tok.ID || r.RevokedAt == nil || !r.RevokedAt.Equal(t0.Add(time.Hour)) || r.Token != "" {
				t.Errorf("revoked = %+v", r)
			}
		})
	}
	events, _, err := s.FindEvents(ctx, scope, banklink.EventFilter{Types: []webhook.EventType{webhook.ProcessorTokenCreated, webhook.ProcessorTokenRevoked}, Limit: 10})
	must(t, err)
	var types []string
	for _, e := range events {
		types = append(types, string(e.Type))
		if e.Payload.ProcessorTokenID != tok.ID {
			t.Errorf("%s names token %q", e.Type, e.Payload.ProcessorTokenID)
		}
	}
	if strings.Join(types, ",") != "BANK_LINKING_PROCESSOR_TOKEN_CREATED,BANK_LINKING_PROCESSOR_TOKEN_REVOKED" {
		t.Errorf("events = %v", types)
	}
	if others, _, _ := s.FindEvents(ctx, other, banklink.EventFilter{Limit: 10}); len(others) != 0 {
		t.Errorf("the other tenant sees %d events", len(others))
	}
}

// testImportConnection: an imported login becomes one ACTIVE connection
// with its aggregation requested; importing it again, or concurrently,
// finds that connection; once deleted it can be imported afresh; another
// tenant's import of the same login is its own.
func testImportConnection(t *testing.T, s banklink.Store) {
	ctx := t.Context()
	scope, _, inst := startOne(t, s)
	other := banklink.Scope{AccountID: MustAccount(t, s, "Other").ID, Environment: banklink.Sandbox}
	completion := banklink.Completion{InstitutionID: inst.ID, ProviderType: "plaid", LoginID: "item-1", At: t0,
		Routing: &banklink.RoutingDecision{Provider: "plaid", Reason: banklink.RouteImported, At: t0}}
	newConn := func(scope banklink.Scope) *banklink.Connection {
		c := NewConnection(scope)
		c.InstitutionID = inst.ID
		return c
	}
	conn, existed, err := s.ImportConnection(ctx, NewCustomer(scope, "imported"), newConn(scope), completion)
	must(t, err)
	if existed || conn.Status != banklink.StatusActive || conn.ProviderType != "plaid" || conn.ProviderLoginID != "item-1" ||
		conn.ExternalCustomerID != "imported" || conn.RoutingDecision == nil || conn.RoutingDecision.Reason != banklink.RouteImported || conn.CompletedAt == nil {
		t.Fatalf("imported = %+v (existed %v)", conn, existed)
	}
	// Its session is done, with the login and no chosen accounts.
	sess, err := s.FindConnectSession(ctx, conn.ID)
	must(t, err)
	if sess.Step != banklink.StepDone || sess.LoginID != "item-1" || sess.ProviderType != "plaid" || len(sess.Accounts) != 0 {
		t.Errorf("session = %+v", sess)
	}
	// Its aggregation is pending work.
	work, err := s.ClaimAggregations(ctx, time.Now(), banklink.Lease{Owner: "r", Until: time.Now().Add(time.Minute)}, 10)
	must(t, err)
	if len(work) != 1 || work[0].ConnectionID != conn.ID {
		t.Errorf("pending work = %+v, want the imported connection", work)
	}
	// Again, and concurrently: the same connection.
	outcomes := race(4, func(int) error {
		c, existed, err := s.ImportConnection(ctx, NewCustomer(scope, "imported"), newConn(scope), completion)
		if err == nil && (!existed || c.ID != conn.ID) {
			t.Errorf("re-import made %s (existed %v), want %s", c.ID, existed, conn.ID)
		}
		return err
	})
	if len(outcomes[""]) != 4 {
		t.Errorf("re-imports: %v", outcomes)
	}
	list, _, err := s.FindConnections(ctx, scope, banklink.ConnectionFilter{ServiceProviders: []string{"plaid"}, Now: time.Now()})
	must(t, err)
	if len(list) != 1 {
		t.Errorf("%d plaid connections after re-imports, want 1", len(list))
	}
	events, _, err := s.FindEvents(ctx, scope, banklink.EventFilter{ConnectionID: conn.ID, Limit: 10})
	must(t, err)
	if len(events) != 1 || events[0].Type != webhook.ConnectionCompleted {
		t.Errorf("events = %+v, want one CONNECTION_COMPLETED", events)
	}
	// A concurrent first import of another login: one connection.
	completion2 := completion
	completion2.LoginID = "item-2"
	made := map[string]bool{}
	var mu sync.Mutex
	race(4, func(int) error {
		c, _, err := s.ImportConnection(ctx, NewCustomer(scope, "imported"), newConn(scope), completion2)
		if err == nil {
			mu.Lock()
			made[c.ID] = true
			mu.Unlock()
		}
		return err
	})
	if len(made) != 1 {
		t.Errorf("concurrent imports of one login made %d connections", len(made))
	}
	// Another tenant imports the same Item: its own connection.
	theirs, existed, err := s.ImportConnection(ctx, NewCustomer(other, "imported"), newConn(other), completion)
	must(t, err)
	if existed || theirs.ID == conn.ID || theirs.AccountID != other.AccountID {
		t.Errorf("other tenant's import = %+v (existed %v)", theirs, existed)
	}
	// Deleted, it imports afresh.
	_, err = s.DeleteConnection(ctx, scope, conn.ID, t0.Add(time.Hour))
	must(t, err)
	fresh, existed, err := s.ImportConnection(ctx, NewCustomer(scope, "imported"), newConn(scope), completion)
	must(t, err)
	if existed || fresh.ID == conn.ID || fresh.Status != banklink.StatusActive {
		t.Errorf("import after delete = %+v (existed %v)", fresh, existed)
	}
	// An unknown institution changes nothing.
	bad := newConn(scope)
	bad.InstitutionID = "nope"
	c3 := completion
	c3.LoginID, c3.InstitutionID = "item-3", "nope"
	_, _, err = s.ImportConnection(ctx, NewCustomer(scope, "imported"), bad, c3)
	wantCode(t, err, banklink.ENOTFOUND)
	if _, err := s.FindConnectionByID(ctx, scope, bad.ID); banklink.ErrorCode(err) != banklink.ENOTFOUND {
		t.Errorf("a failed import left connection %s (%v)", bad.ID, err)
	}

	// Import requests are kept per scope.
	imp := &banklink.ConnectionImport{ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment, CreatedAt: t0,
		Results: []banklink.ImportResult{{Index: 0, Status: banklink.ImportCreated, ConnectionID: conn.ID, LoginID: "item-1"},
			{Index: 1, Status: banklink.ImportFailed, ErrorCode: "PROVIDER_ERROR", ErrorMessage: "bad token"}}}
	must(t, s.SaveConnectionImport(ctx, imp))
	wantCode(t, s.SaveConnectionImport(ctx, imp), banklink.ECONFLICT)
	got, err := s.FindConnectionImport(ctx, scope, imp.ID)
	must(t, err)
	if len(got.Results) != 2 || got.Results[1].ErrorMessage != "bad token" || got.Results[0].ConnectionID != conn.ID || !got.CreatedAt.Equal(t0) {
		t.Errorf("FindConnectionImport = %+v", got)
	}
	_, err = s.FindConnectionImport(ctx, other, imp.ID)
	wantCode(t, err, banklink.ENOTFOUND)
}
