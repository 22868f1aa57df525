package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/httpapi"
	"banklink/internal/plaid"
	"banklink/internal/plaid/fakeplaid"
	"banklink/webhook"
)

// plaidEnv is the API with the Plaid webhook route, a fake Plaid and one
// connection linked through a Plaid Item and aggregated.
type plaidEnv struct {
	*testServer
	fp     *fakeplaid.Server
	runner *aggregation.Runner
	scope  banklink.Scope
	conn   string
	item   string
	// capture is where the fake Plaid sends its webhooks; the tests
	// replay them through the OpenAPI-validating client.
	capture *httptest.Server
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func newPlaidEnv(t *testing.T, products ...banklink.Product) *plaidEnv {
	t.Helper()
	ctx := t.Context()
	e := &plaidEnv{testServer: newTestServer(t, "sqlite"), fp: fakeplaid.New(t)}
	e.capture = httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(e.capture.Close)
	prov, err := plaid.New(plaid.Config{ClientID: fakeplaid.ClientID, Secret: fakeplaid.Secret, BaseURL: e.fp.URL, Secrets: e.store,
		WebhookURL: e.capture.URL, SyncPoll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.runner = aggregation.New(e.store, map[string]banklink.Aggregator{plaid.ProviderType: prov}, nil)
	t.Cleanup(e.runner.Wait)
	e.api.RegisterPlaidWebhooks(prov, e.runner)

	// The institution, as the directory sync would merge it.
	insts, err := prov.Institutions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var inst *banklink.Institution
	for _, in := range insts {
		if in.Providers[plaid.ProviderType].ProviderInstitutionID == "ins_109508" {
			inst = in
		}
	}
	inst.ID = banklink.NewID()
	if err := e.store.UpsertInstitutions(ctx, []*banklink.Institution{inst}); err != nil {
		t.Fatal(err)
	}
	// The login at Plaid's Hosted Link, as the widget runs it.
	req := banklink.LoginRequest{Institution: inst, ProviderInstitutionID: "ins_109508", Products: products,
		CallbackURL: "https://widget.example.test/connect?connectToken=t&oauth=callback", Now: time.Now()}
	start, err := prov.StartLogin(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	page, err := noFollow.Get(start.RedirectURL + "?institution_id=ins_109508")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	step, err := prov.CompleteRedirect(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.item = step.LoginID
	// The connection, completed with that login, and its first
	// aggregation.
	e.scope = banklink.Scope{AccountID: e.account.ID, Environment: banklink.Sandbox}
	conn := &banklink.Connection{ID: banklink.NewID(), AccountID: e.account.ID, Environment: banklink.Sandbox, InstitutionID: inst.ID,
		Products: products, Status: banklink.StatusInProgress, CreatedAt: time.Now(), UpdatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	cust := &banklink.Customer{ID: banklink.NewID(), AccountID: e.account.ID, Environment: banklink.Sandbox, ExternalID: "plaid-customer", CreatedAt: time.Now()}
	if err := e.store.StartConnection(ctx, cust, conn); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SaveConnectSession(ctx, &banklink.ConnectSession{ConnectionID: conn.ID, Step: banklink.StepAccounts, InstitutionID: inst.ID,
		ProviderType: plaid.ProviderType, LoginID: step.LoginID, Accounts: step.Accounts, UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CompleteConnection(ctx, e.scope, conn.ID, banklink.Completion{InstitutionID: inst.ID, ProviderType: plaid.ProviderType,
		LoginID: step.LoginID, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := e.runner.Aggregate(ctx, e.scope, conn.ID); err != nil {
		t.Fatal(err)
	}
	e.conn = conn.ID
	return e
}

// fire makes the fake Plaid send an Item webhook and replays what it sent
// (body and Plaid-Verification) to banklink.
func (e *plaidEnv) fire(typ, code string) response {
	e.t.Helper()
	e.fp.FireWebhook(e.item, typ, code, e.capture.URL)
	d := e.fp.Deliveries()
	last := d[len(d)-1]
	return e.post(string(last.Body), last.Header.Get("Plaid-Verification"))
}

func (e *plaidEnv) post(body, jwt string) response {
	e.t.Helper()
	r := e.do(call{path: httpapi.PlaidWebhookPath, body: body, key: "-", headers: map[string]string{"Plaid-Verification": jwt}})
	e.runner.Wait()
	return r
}

func (e *plaidEnv) connection() httpapi.ConnectionJSON {
	e.t.Helper()
	var c httpapi.ConnectionJSON
	r := e.do(call{method: http.MethodGet, path: "/bank-linking/connections/" + e.conn})
	if r.status != 200 {
		e.t.Fatalf("get connection: %d %s", r.status, r.body)
	}
	r.json(e.t, &c)
	return c
}

func (e *plaidEnv) statusIs(status, reason string) bool {
	c := e.connection()
	got := ""
	if c.StatusReason != nil {
		got = *c.StatusReason
	}
	return c.Status == status && got == reason
}

func (e *plaidEnv) descriptions() []string {
	e.t.Helper()
	var page struct {
		Transactions []httpapi.TransactionJSON `json:"financialAccountTransactions"`
	}
	r := e.do(call{method: http.MethodGet, path: "/bank-linking/transactions?limit=1000&connectionId=" + e.conn})
	if r.status != 200 {
		e.t.Fatalf("transactions: %d %s", r.status, r.body)
	}
	r.json(e.t, &page)
	var out []string
	for _, t := range page.Transactions {
		out = append(out, t.Description)
	}
	return out
}

func (e *plaidEnv) events() []webhook.EventType {
	e.t.Helper()
	list, _, err := e.store.FindEvents(e.t.Context(), e.scope, banklink.EventFilter{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []webhook.EventType
	for _, ev := range list {
		out = append(out, ev.Type)
	}
	return out
}

// syncs counts the aggregations that reached Plaid.
func (e *plaidEnv) syncs() int { return e.fp.Calls("/accounts/balance/get") }

func TestPlaidWebhookActions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		products []banklink.Product
		// before prepares the fake Plaid and banklink; the webhook
		// follows.
		before    func(e *plaidEnv)
		typ, code string
		// aggregated: whether an aggregation reached Plaid.
		aggregated         bool
		status, reason     string
		check              func(t *testing.T, e *plaidEnv)
		wantCustomerAction bool
	}{
		{name: "new transactions are aggregated", products: []banklink.Product{banklink.Balances, banklink.Transactions},
			before: func(e *plaidEnv) {
				e.fp.Mutate(e.item, func(it *fakeplaid.Item) {
					it.AddTransaction(&fakeplaid.Transaction{ID: "tx-webhook", AccountID: it.Accounts[0].ID, Amount: 4.2, Currency: "USD",
						Date: time.Now().Format(time.DateOnly), Name: "WEBHOOK COFFEE", Primary: "FOOD_AND_DRINK", Detailed: "FOOD_AND_DRINK_COFFEE"})
				})
			},
			typ: "TRANSACTIONS", code: "SYNC_UPDATES_AVAILABLE", aggregated: true, status: "ACTIVE",
			check: func(t *testing.T, e *plaidEnv) {
				if !slices.Contains(e.descriptions(), "WEBHOOK COFFEE") {
					t.Error("the new transaction was not aggregated")
				}
			}},
		// Plaid's /transactions/get webhooks, sent alongside
		// SYNC_UPDATES_AVAILABLE: aggregating on them too would
		// aggregate every update twice.
		{name: "transactions DEFAULT_UPDATE is left to SYNC_UPDATES_AVAILABLE", products: []banklink.Product{banklink.Balances, banklink.Transactions},
			typ: "TRANSACTIONS", code: "DEFAULT_UPDATE", aggregated: false, status: "ACTIVE"},
		{name: "transactions HISTORICAL_UPDATE is left to SYNC_UPDATES_AVAILABLE", products: []banklink.Product{banklink.Balances, banklink.Transactions},
			typ: "TRANSACTIONS", code: "HISTORICAL_UPDATE", aggregated: false, status: "ACTIVE"},
		{name: "a signed INITIAL_UPDATE with its error code is acknowledged", products: []banklink.Product{banklink.Balances, banklink.Transactions},
			before: func(e *plaidEnv) { e.fp.SetItemError(e.item, "ITEM_LOGIN_REQUIRED") },
			typ:    "TRANSACTIONS", code: "INITIAL_UPDATE", aggregated: false, status: "ACTIVE"},
		{name: "new transactions do not concern a balances-only connection", products: []banklink.Product{banklink.Balances},
			typ: "TRANSACTIONS", code: "SYNC_UPDATES_AVAILABLE", aggregated: false, status: "ACTIVE"},
		{name: "holdings do not concern a connection without them", products: []banklink.Product{banklink.Balances, banklink.Transactions},
			typ: "HOLDINGS", code: "DEFAULT_UPDATE", aggregated: false, status: "ACTIVE"},
		{name: "login required", products: []banklink.Product{banklink.Balances, banklink.Transactions},
			before: func(e *plaidEnv) { e.fp.SetItemError(e.item, "ITEM_LOGIN_REQUIRED") },
			typ:    "ITEM", code: "ERROR", aggregated: false, status: "RECONNECT_REQUIRED", reason: "LOGIN_REQUIRED", wantCustomerAction: true},
		{name: "permission revoked", products: []banklink.Product{banklink.Balances},
			typ: "ITEM", code: "USER_PERMISSION_REVOKED", aggregated: false, status: "RECONNECT_REQUIRED", reason: "LOGIN_REQUIRED", wantCustomerAction: true},
		{name: "consent expiring", products: []banklink.Product{banklink.Balances},
			typ: "ITEM", code: "PENDING_EXPIRATION", aggregated: false, status: "ACTIVE", reason: "ACCESS_EXPIRING_SOON",
			check: func(t *testing.T, e *plaidEnv) {
				if evs := e.events(); evs[len(evs)-1] != webhook.ConnectionStatusChange {
					t.Errorf("events = %v, want a status change last", evs)
				}
			}},
		{name: "institution disconnecting", products: []banklink.Product{banklink.Balances},
			typ: "ITEM", code: "PENDING_DISCONNECT", aggregated: false, status: "ACTIVE", reason: "ACCESS_EXPIRING_SOON"},
		{name: "login repaired elsewhere", products: []banklink.Product{banklink.Balances, banklink.Transactions},
			before: func(e *plaidEnv) {
				if _, err := e.store.RecordAggregationFailure(e.t.Context(), e.scope, e.conn, banklink.StatusReconnectRequired, "LOGIN_REQUIRED", time.Now()); err != nil {
					e.t.Fatal(err)
				}
			},
			typ: "ITEM", code: "LOGIN_REPAIRED", aggregated: true, status: "ACTIVE"},
		{name: "a RECONNECT_REQUIRED connection is not aggregated on new data", products: []banklink.Product{banklink.Balances, banklink.Transactions},
			before: func(e *plaidEnv) {
				if _, err := e.store.RecordAggregationFailure(e.t.Context(), e.scope, e.conn, banklink.StatusReconnectRequired, "LOGIN_REQUIRED", time.Now()); err != nil {
					e.t.Fatal(err)
				}
			},
			typ: "TRANSACTIONS", code: "SYNC_UPDATES_AVAILABLE", aggregated: false, status: "RECONNECT_REQUIRED", reason: "LOGIN_REQUIRED"},
		{name: "a deleted connection is left alone", products: []banklink.Product{banklink.Balances},
			before: func(e *plaidEnv) {
				if _, err := e.store.DeleteConnection(e.t.Context(), e.scope, e.conn, time.Now()); err != nil {
					e.t.Fatal(err)
				}
				e.fp.SetItemError(e.item, "ITEM_LOGIN_REQUIRED")
			},
			typ: "ITEM", code: "ERROR", aggregated: false, status: "DELETED"},
		{name: "a webhook banklink does not act on", products: []banklink.Product{banklink.Balances},
			typ: "ITEM", code: "WEBHOOK_UPDATE_ACKNOWLEDGED", aggregated: false, status: "ACTIVE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPlaidEnv(t, tc.products...)
			if tc.before != nil {
				tc.before(e)
			}
			syncs, events := e.syncs(), len(e.events())
			r := e.fire(tc.typ, tc.code)
			if r.status != 200 {
				t.Fatalf("webhook answered %d: %s", r.status, r.body)
			}
			if got := e.syncs() > syncs; got != tc.aggregated {
				t.Errorf("aggregated = %v, want %v", got, tc.aggregated)
			}
			if !e.statusIs(tc.status, tc.reason) {
				c := e.connection()
				t.Errorf("connection is %s / %v, want %s / %q", c.Status, c.StatusReason, tc.status, tc.reason)
			}
			if got := slices.Contains(e.events()[events:], webhook.CustomerActionRequired); got != tc.wantCustomerAction {
				t.Errorf("CUSTOMER_ACTION_REQUIRED sent = %v, want %v (events %v)", got, tc.wantCustomerAction, e.events()[events:])
			}
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

func TestPlaidWebhookRejects(t *testing.T) {
	e := newPlaidEnv(t, banklink.Balances, banklink.Transactions)
	e.fp.SetItemError(e.item, "ITEM_LOGIN_REQUIRED")
	e.fp.FireWebhook(e.item, "ITEM", "ERROR", e.capture.URL)
	d := e.fp.Deliveries()
	body := string(d[len(d)-1].Body)
	now := time.Now()
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	unknownItem := strings.Replace(body, e.item, "item-unknown", 1)
	for _, tc := range []struct {
		name   string
		body   string
		jwt    string
		status int
		reason string
	}{
		{"no Plaid-Verification", body, "", 401, "INVALID_PLAID_SIGNATURE"},
		{"not a JWT", body, "not.a.jwt", 401, "INVALID_PLAID_SIGNATURE"},
		{"signed by another key", body, fakeplaid.SignJWT(stranger, map[string]any{"alg": "ES256", "kid": e.fp.WebhookKeyID(), "typ": "JWT"}, []byte(body), now), 401, "INVALID_PLAID_SIGNATURE"},
		{"signature of another body", body, e.fp.SignWebhook([]byte(unknownItem), now), 401, "INVALID_PLAID_SIGNATURE"},
		{"issued six minutes ago", body, e.fp.SignWebhook([]byte(body), now.Add(-6*time.Minute)), 401, "INVALID_PLAID_SIGNATURE"},
		{"signed but not JSON", "{not json", e.fp.SignWebhook([]byte("{not json"), now), 400, ""},
		{"too large", body + strings.Repeat(" ", httpapi.MaxPlaidWebhookBytes), "x", 400, ""},
		{"an Item no connection holds", unknownItem, e.fp.SignWebhook([]byte(unknownItem), now), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(tc.body, tc.jwt)
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 401 {
				if eb := r.errorBody(t); eb.Code != banklink.EUNAUTHORIZED || eb.Reason != tc.reason ||
					eb.Message != "Missing, invalid or expired webhook signature." {
					t.Errorf("error = %+v", eb)
				}
			}
			// Nothing happened to the connection holding the Item.
			if !e.statusIs("ACTIVE", "") {
				t.Errorf("connection changed: %+v", e.connection())
			}
		})
	}
	// Plaid rotates its key and cannot serve it for a while: the webhook
	// is refused with 503, which Plaid retries, and nothing happens.
	e.fp.RotateWebhookKey()
	e.fp.FailNext("/webhook_verification_key/get", "INTERNAL_SERVER_ERROR") // refreshing the old key
	e.fp.FailNext("/webhook_verification_key/get", "INTERNAL_SERVER_ERROR") // the new one
	if r := e.post(body, e.fp.SignWebhook([]byte(body), time.Now())); r.status != http.StatusServiceUnavailable ||
		r.errorBody(t).Reason != "VERIFICATION_UNAVAILABLE" || !e.statusIs("ACTIVE", "") {
		t.Errorf("key unavailable: %d %s", r.status, r.body)
	}
	// The genuine webhook, retried, works.
	if r := e.post(body, e.fp.SignWebhook([]byte(body), time.Now())); r.status != 200 || !e.statusIs("RECONNECT_REQUIRED", "LOGIN_REQUIRED") {
		t.Errorf("genuine webhook: %d %s; connection %+v", r.status, r.body, e.connection())
	}
}

func TestPlaidWebhookRoute(t *testing.T) {
	e := newPlaidEnv(t, banklink.Balances)
	r := e.do(call{method: http.MethodGet, path: httpapi.PlaidWebhookPath, key: "-"})
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", r.status, r.header.Get("Allow"))
	}
	// Without Plaid configured there is no such route.
	plain := newTestServer(t, "sqlite")
	r = plain.do(call{path: httpapi.PlaidWebhookPath, body: "{}", key: "-"})
	if r.status != http.StatusNotFound {
		t.Errorf("without Plaid: %d", r.status)
	}
}

// TestPlaidPostedTransactionRemoved: banklink keeps a posted Plaid
// transaction under the id of the pending one it replaced; when Plaid
// later removes the posted one by its own id, the transaction expires.
func TestPlaidPostedTransactionRemoved(t *testing.T) {
	e := newPlaidEnv(t, banklink.Balances, banklink.Transactions)
	pendingID := ""
	for _, tx := range e.fp.Item(e.item).Transactions {
		if tx.Pending {
			pendingID = tx.ID
		}
	}
	status := func() string {
		list, _, err := e.store.FindTransactions(t.Context(), e.scope, banklink.TransactionFilter{ConnectionID: e.conn, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range list {
			if tx.ProviderTransactionID == pendingID {
				return tx.Status
			}
		}
		return "missing"
	}
	if got := status(); got != banklink.TxPending {
		t.Fatalf("the pending transaction %s is %s", pendingID, got)
	}
	e.fp.Mutate(e.item, func(it *fakeplaid.Item) { it.Post(pendingID, "posted-then-removed", time.Now().Format(time.DateOnly)) })
	if r := e.fire("TRANSACTIONS", "SYNC_UPDATES_AVAILABLE"); r.status != 200 {
		t.Fatalf("webhook: %d %s", r.status, r.body)
	}
	if got := status(); got != banklink.TxPosted {
		t.Fatalf("after posting, %s is %s", pendingID, got)
	}
	e.fp.Mutate(e.item, func(it *fakeplaid.Item) { it.RemoveTransaction("posted-then-removed") })
	if r := e.fire("TRANSACTIONS", "SYNC_UPDATES_AVAILABLE"); r.status != 200 {
		t.Fatalf("webhook: %d %s", r.status, r.body)
	}
	if got := status(); got != banklink.TxExpired {
		t.Errorf("removed by Plaid under its own id, %s is %s, want EXPIRED", pendingID, got)
	}
}

// TestProviderWebhookRouteUnknownProvider: the generic route answers 404
// in the documented error format for a provider that is not configured
// (or sends no webhooks), and does not read or act on the body.
func TestProviderWebhookRouteUnknownProvider(t *testing.T) {
	e := newPlaidEnv(t, banklink.Balances)
	for _, name := range []string{"mx", "finicity", "sandbox", "PLAID"} {
		r := e.do(call{path: "/providers/" + name + "/webhooks", body: "{}", key: "-"})
		if r.status != http.StatusNotFound || r.errorBody(t).Code != "NOT_FOUND" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}
