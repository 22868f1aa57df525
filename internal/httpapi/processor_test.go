package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/linking"
	"banklink/internal/sandbox"
)

// linkedAccount gives ts's account a completed sandbox connection with
// one aggregated financial account and returns that account's id.
func linkedAccount(t *testing.T, ts *testServer, key, customer string) (connID, accountID string) {
	t.Helper()
	ctx := context.Background()
	var start linking.StartResponse
	if r := ts.do(call{path: "/bank-linking/connect/start", key: key, body: fmt.Sprintf(`{"externalCustomerId":%q}`, customer)}); r.status != 201 {
		t.Fatalf("connect/start: %d %s", r.status, r.body)
	} else {
		r.json(t, &start)
	}
	k, err := ts.api.Store.FindAPIKeyByID(ctx, strings.Split(key, "_")[2])
	if err != nil {
		t.Fatal(err)
	}
	scope := k.Scope()
	inst := institutionNamed(t, "Sandbox Bank")
	login := "sbx_" + customer
	if _, err := ts.store.CompleteConnection(ctx, scope, start.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: sandbox.ProviderType, LoginID: login}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.SaveAggregation(ctx, scope, start.ID, []banklink.AggregatedAccount{{ProviderAccountID: login + "_acc0",
		Type: "DEPOSITORY", Subtype: "CHECKING", Name: "Checking", Mask: "1234"}}, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	var page struct {
		FinancialAccounts []struct{ ID string }
	}
	ts.do(call{method: "GET", path: "/bank-linking/accounts?connectionId=" + start.ID, key: key}).json(t, &page)
	if len(page.FinancialAccounts) != 1 {
		t.Fatalf("accounts: %+v", page)
	}
	return start.ID, page.FinancialAccounts[0].ID
}

// TestProcessorTokenEndpoints: create and revoke on the sandbox, every
// refusal, and another tenant's ids.
func TestProcessorTokenEndpoints(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	ts.api.Linking.Providers = capabilities{tokens: map[string]banklink.ProcessorTokenCreator{sandbox.ProviderType: &sandbox.Provider{}}}
	_, acct := linkedAccount(t, ts, ts.key, "alice")
	other := &banklink.Account{ID: banklink.NewID(), Name: "Other"}
	if err := ts.store.CreateAccount(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	otherKey := ts.newKey(other.ID, banklink.Sandbox)
	_, otherAcct := linkedAccount(t, ts, otherKey, "mallory")
	create := func(key, account, body string) response {
		return ts.do(call{path: "/bank-linking/accounts/" + account + "/processors/create-token", key: key, body: body})
	}
	var tok httpapi.ProcessorTokenJSON
	for _, tc := range []struct {
		name, key, account, body string
		status                   int
		message                  string
	}{
		{"dwolla", "", acct, `{"processor":"DWOLLA"}`, 200, ""},
		{"naming the account's provider", "", acct, `{"processor":"STRIPE","serviceProvider":"SANDBOX"}`, 200, ""},
		{"another provider", "", acct, `{"processor":"DWOLLA","serviceProvider":"PLAID"}`, 400, "[serviceProvider] is PLAID, but this account is linked through SANDBOX only"},
		{"an unknown processor", "", acct, `{"processor":"PAYPAL"}`, 400, `[processor] "PAYPAL" is not a processor banklink knows`},
		{"a processor in Plaid's spelling", "", acct, `{"processor":"dwolla"}`, 400, `[processor] "dwolla" is not a processor banklink knows`},
		{"no processor", "", acct, `{}`, 400, "[processor] is required"},
		{"processor not a string", "", acct, `{"processor":7}`, 400, "[processor] must be"},
		{"an unknown account", "", "nope", `{"processor":"DWOLLA"}`, 404, ""},
		{"another tenant's account", "", otherAcct, `{"processor":"DWOLLA"}`, 404, ""},
		{"its own account, for the other tenant", otherKey, otherAcct, `{"processor":"DWOLLA"}`, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := create(tc.key, tc.account, tc.body)
			if r.status != tc.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tc.status != 200 {
				if e := r.errorBody(t); !strings.HasPrefix(e.Message, tc.message) {
					t.Errorf("message %q, want %q…", e.Message, tc.message)
				}
				return
			}
			var got httpapi.ProcessorTokenJSON
			r.json(t, &got)
			if !strings.HasPrefix(got.Token, sandbox.ProcessorTokenPrefix) || got.ServiceProvider != "SANDBOX" || got.RevokedAt != nil || got.ID == "" {
				t.Errorf("token %+v", got)
			}
			if tc.name == "dwolla" {
				tok = got
			}
		})
	}
	// No Idempotency-Key: its stored answer would hold the token in clear.
	if r := ts.do(call{path: "/bank-linking/accounts/" + acct + "/processors/create-token", body: `{"processor":"DWOLLA"}`,
		headers: map[string]string{"Idempotency-Key": "k1"}}); r.status != 400 || r.errorBody(t).Field != "Idempotency-Key" {
		t.Errorf("with an Idempotency-Key: %d %s", r.status, r.body)
	}
	// A provider without processor tokens.
	ts.api.Linking.Providers = capabilities{}
	if r := create("", acct, `{"processor":"DWOLLA"}`); r.status != 400 || r.errorBody(t).Reason != "PROCESSOR_TOKENS_NOT_SUPPORTED" {
		t.Errorf("without a token-issuing provider: %d %s", r.status, r.body)
	}

	revoke := func(key, account, body string) response {
		return ts.do(call{path: "/bank-linking/accounts/" + account + "/processors/revoke-token", key: key, body: body})
	}
	for _, tc := range []struct {
		name, key, account, body string
		status                   int
	}{
		{"no token", "", acct, `{}`, 400},
		{"an unknown token", "", acct, `{"token":"processor-sandbox-nope"}`, 404},
		{"another account's path", "", otherAcct, fmt.Sprintf(`{"token":%q}`, tok.Token), 404},
		{"by another tenant", otherKey, acct, fmt.Sprintf(`{"token":%q}`, tok.Token), 404},
		{"revoked", "", acct, fmt.Sprintf(`{"token":%q}`, tok.Token), 200},
		{"revoked again", "", acct, fmt.Sprintf(`{"token":%q}`, tok.Token), 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := revoke(tc.key, tc.account, tc.body)
			if r.status != tc.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tc.status == 200 {
				var got httpapi.ProcessorTokenJSON
				r.json(t, &got)
				if got.ID != tok.ID || got.Token != "" || got.RevokedAt == nil {
					t.Errorf("revoked %+v", got)
				}
			}
		})
	}
	// The events name the token, never carry it; the other tenant sees
	// only its own.
	for _, tc := range []struct {
		key  string
		want string
	}{
		{"", "BANK_LINKING_PROCESSOR_TOKEN_CREATED,BANK_LINKING_PROCESSOR_TOKEN_CREATED,BANK_LINKING_PROCESSOR_TOKEN_REVOKED"},
		{otherKey, "BANK_LINKING_PROCESSOR_TOKEN_CREATED"},
	} {
		r := ts.do(call{method: "GET", path: "/webhooks/events?limit=100", key: tc.key})
		var page struct {
			Events []struct {
				EventType string
				Payload   map[string]any
			}
		}
		r.json(t, &page)
		var types []string
		for _, e := range page.Events {
			if strings.Contains(e.EventType, "PROCESSOR") {
				types = append(types, e.EventType)
				if e.Payload["processorTokenId"] == "" || e.Payload["financialAccountId"] == nil {
					t.Errorf("payload %v", e.Payload)
				}
			}
		}
		if strings.Join(types, ",") != tc.want {
			t.Errorf("events %v, want %s", types, tc.want)
		}
		if strings.Contains(string(r.body), sandbox.ProcessorTokenPrefix) {
			t.Errorf("an event carries a token: %s", r.body)
		}
	}
}

// stubImporter imports logins whose token is "good-<item>" at the
// institution "ins_test".
type stubImporter struct {
	mu      sync.Mutex
	adopted []string
}

func (s *stubImporter) CheckLogin(_ context.Context, req banklink.ImportLoginRequest) (*banklink.ImportedLogin, error) {
	if req.AccessToken != "good-"+req.LoginID {
		return nil, &banklink.Error{Code: banklink.EBADREQUEST, Reason: "INVALID_ACCESS_TOKEN", Message: "Plaid does not accept this access token."}
	}
	return &banklink.ImportedLogin{LoginID: req.LoginID, ProviderInstitutionID: "ins_test", Products: []banklink.Product{banklink.Balances, banklink.Transactions}}, nil
}

func (s *stubImporter) AdoptLogin(_ context.Context, req banklink.ImportLoginRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adopted = append(s.adopted, req.LoginID)
	return nil
}

func entries(n int) string {
	var list []string
	for i := range n {
		list = append(list, fmt.Sprintf(`{"serviceProvider":"PLAID","itemId":"item-%d","accessToken":"good-item-%d","externalCustomerId":"c%d"}`, i, i, i))
	}
	return `{"connections":[` + strings.Join(list, ",") + `]}`
}

// TestImportEndpoint: the request is refused whole for any malformed
// entry, too many entries or a provider that does not import; otherwise
// each entry has its own outcome, kept under the request id.
func TestImportEndpoint(t *testing.T) {
	ts := newTestServer(t, "sqlite", func(c *httpapi.Config) {
		c.Providers = map[banklink.Environment][]string{banklink.Sandbox: {sandbox.ProviderType, "plaid"}}
	})
	imp := &stubImporter{}
	ts.api.Linking.Providers = capabilities{importers: map[string]banklink.LoginImporter{"plaid": imp}}
	inst := &banklink.Institution{ID: banklink.NewID(), Name: "Imported Bank", Rank: 1, Regions: []banklink.Region{"US"},
		Providers: map[string]banklink.ProviderInstitution{"plaid": {ProviderInstitutionID: "ins_test", Products: banklink.Products}}}
	if err := ts.store.UpsertInstitutions(context.Background(), []*banklink.Institution{inst}); err != nil {
		t.Fatal(err)
	}
	if err := ts.dir.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	other := &banklink.Account{ID: banklink.NewID(), Name: "Other"}
	if err := ts.store.CreateAccount(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	otherKey := ts.newKey(other.ID, banklink.Sandbox)
	var otherCustomer struct{ ID string }
	ts.do(call{path: "/accounts/customers", key: otherKey, body: `{"externalId":"theirs"}`}).json(t, &otherCustomer)
	if otherCustomer.ID == "" {
		t.Fatal("the other tenant's customer was not created")
	}

	for _, tc := range []struct {
		name, body string
		message    string
	}{
		{"no connections", `{}`, "[connections] must list at least one connection"},
		{"an empty list", `{"connections":[]}`, "[connections] must list at least one connection"},
		{"1,000 connections", entries(1000), "[connections] lists 1000 connections; at most 100 are imported per request"},
		{"101 connections", entries(101), "[connections] lists 101 connections; at most 100"},
		{"not a list", `{"connections":{"itemId":"x"}}`, "[connections] must be"},
		{"a number", `{"connections":[1]}`, "[connections[0]] must be an object"},
		{"null", `{"connections":[null]}`, "[connections[0]] must be an object"},
		{"an unknown member", `{"connections":[{"serviceProvider":"PLAID","itemId":"i","accessToken":"t","externalCustomerId":"c","public_token":"p"}]}`, `[connections[0]] has "public_token"`},
		{"a member of the wrong type", `{"connections":[{"serviceProvider":"PLAID","itemId":5,"accessToken":"t","externalCustomerId":"c"}]}`, "[connections[0].itemId] must be a string"},
		{"no provider", `{"connections":[{"itemId":"i","accessToken":"t","externalCustomerId":"c"}]}`, "[connections[0].serviceProvider] is required"},
		{"Akoya", `{"connections":[{"serviceProvider":"AKOYA","itemId":"i","accessToken":"t","externalCustomerId":"c"}]}`, "[connections[0].serviceProvider] AKOYA: banklink imports Plaid connections only"},
		{"MX", `{"connections":[{"serviceProvider":"MX","itemId":"i","accessToken":"t","externalCustomerId":"c"}]}`, "[connections[0].serviceProvider] MX: only PLAID"},
		{"no item id in the second", `{"connections":[{"serviceProvider":"PLAID","itemId":"i","accessToken":"t","externalCustomerId":"c"},{"serviceProvider":"PLAID","accessToken":"t","externalCustomerId":"c"}]}`, "[connections[1].itemId] is required"},
		{"no access token", `{"connections":[{"serviceProvider":"PLAID","itemId":"i","externalCustomerId":"c"}]}`, "[connections[0].accessToken] is required"},
		{"no customer", `{"connections":[{"serviceProvider":"PLAID","itemId":"i","accessToken":"t"}]}`, "[connections[0].customerId] or externalCustomerId is required"},
		{"both customers", `{"connections":[{"serviceProvider":"PLAID","itemId":"i","accessToken":"t","customerId":"a","externalCustomerId":"c"}]}`, "[connections[0].customerId] or externalCustomerId is required, not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(call{path: "/bank-linking/connections/import", body: tc.body})
			if r.status != 400 || !strings.HasPrefix(r.errorBody(t).Message, tc.message) {
				t.Fatalf("%d %s, want 400 %q…", r.status, r.body, tc.message)
			}
			if imp.mu.Lock(); len(imp.adopted) != 0 {
				t.Fatalf("a refused request adopted %v", imp.adopted)
			}
			imp.mu.Unlock()
		})
	}
	// A request over the limit is told so with an Idempotency-Key too.
	if r := ts.do(call{path: "/bank-linking/connections/import", body: entries(1000), headers: map[string]string{"Idempotency-Key": "k1"}}); r.status != 400 || !strings.Contains(string(r.body), "at most 100") {
		t.Errorf("1,000 with an Idempotency-Key: %d %s", r.status, r.body)
	}
	if r := ts.do(call{method: "PUT", path: "/bank-linking/connections/import"}); r.status != 405 {
		t.Errorf("PUT import: %d %s", r.status, r.body)
	}

	body := `{"connections":[
		{"serviceProvider":"PLAID","itemId":"item-a","accessToken":"good-item-a","externalCustomerId":"ann"},
		{"serviceProvider":"PLAID","itemId":"item-b","accessToken":"revoked","externalCustomerId":"bob"},
		{"serviceProvider":"PLAID","itemId":"item-c","accessToken":"good-item-c","customerId":"` + otherCustomer.ID + `"},
		{"serviceProvider":"PLAID","itemId":"item-a","accessToken":"good-item-a","externalCustomerId":"ann"}]}`
	r := ts.do(call{path: "/bank-linking/connections/import", body: body})
	if r.status != 200 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	var got httpapi.ImportJSON
	r.json(t, &got)
	var outcomes []string
	for _, c := range got.Connections {
		outcomes = append(outcomes, c.Status+":"+c.ErrorCode)
	}
	// The duplicate entry finds the first's connection, whichever ran
	// first.
	if len(outcomes) != 4 || outcomes[1] != "FAILED:BAD_REQUEST" || outcomes[2] != "FAILED:NOT_FOUND" ||
		!(outcomes[0] == "IMPORTED:" && outcomes[3] == "ALREADY_IMPORTED:" || outcomes[0] == "ALREADY_IMPORTED:" && outcomes[3] == "IMPORTED:") ||
		got.Connections[0].ConnectionID != got.Connections[3].ConnectionID {
		t.Fatalf("outcomes %v: %s", outcomes, r.body)
	}
	var conn httpapi.ConnectionJSON
	ts.do(call{method: "GET", path: "/bank-linking/connections/" + got.Connections[0].ConnectionID}).json(t, &conn)
	if conn.Status != "ACTIVE" || conn.RoutingDecision == nil || conn.RoutingDecision.Reason != "IMPORTED" || conn.ExternalCustomerID != "ann" ||
		conn.ServiceProviderDetails["serviceProviderConnectionId"] != "item-a" || *conn.InstitutionID != inst.ID {
		t.Errorf("imported connection %+v", conn)
	}
	// No half connection for the refused token or the other tenant's
	// customer.
	var list struct{ Connections []httpapi.ConnectionJSON }
	ts.do(call{method: "GET", path: "/bank-linking/connections?serviceProviders=PLAID"}).json(t, &list)
	if len(list.Connections) != 1 {
		t.Errorf("%d Plaid connections, want 1", len(list.Connections))
	}
	// The results are kept, for this tenant only.
	var again httpapi.ImportJSON
	if r := ts.do(call{method: "GET", path: "/bank-linking/imports/" + got.RequestID}); r.status != 200 {
		t.Fatalf("GET import: %d %s", r.status, r.body)
	} else {
		r.json(t, &again)
	}
	a, _ := json.Marshal(again.Connections)
	b, _ := json.Marshal(got.Connections)
	if string(a) != string(b) {
		t.Errorf("stored results %s, answered %s", a, b)
	}
	for _, tc := range []struct{ name, key, id string }{
		{"another tenant's import", otherKey, got.RequestID},
		{"an unknown import", "", "nope"},
	} {
		if r := ts.do(call{method: "GET", path: "/bank-linking/imports/" + tc.id, key: tc.key}); r.status != 404 {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	// Without Plaid enabled nothing is tried.
	ts.api.Linking.Config.Providers = map[banklink.Environment][]string{banklink.Sandbox: {sandbox.ProviderType}}
	if r := ts.do(call{path: "/bank-linking/connections/import", body: entries(1)}); r.status != 400 || r.errorBody(t).Reason != "PROVIDER_NOT_ENABLED" {
		t.Errorf("Plaid not enabled: %d %s", r.status, r.body)
	}
}

// capabilities are the providers' capabilities this package's tests give
// the API's use cases (serve's come from the registry).
type capabilities struct {
	tokens    map[string]banklink.ProcessorTokenCreator
	importers map[string]banklink.LoginImporter
}

func (capabilities) LoginRemover(string) banklink.LoginRemover     { return nil }
func (capabilities) RefreshLimiter(string) banklink.RefreshLimiter { return nil }
func (capabilities) CredentialKeys(string) ([]string, bool)        { return nil, false }
func (c capabilities) ProcessorTokenCreator(t string) banklink.ProcessorTokenCreator {
	return c.tokens[t]
}
func (c capabilities) LoginImporter(t string) banklink.LoginImporter { return c.importers[t] }
