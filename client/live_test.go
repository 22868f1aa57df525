package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"banklink/client"
	"banklink/internal/apitest"
	"banklink/webhook"

	"github.com/getkin/kin-openapi/routers"
)

const (
	sandboxBank      = "Vc1FabzHnWE7LZuwXhuC6d"
	sandboxBrokerage = "YMatH4GpPi6e8g67SFUCEu"
)

// recorder notes which operation of openapi.yaml each request reached and
// what it answered; apitest's validator under it fails the test on any
// answer that does not match the spec.
type recorder struct {
	base   http.RoundTripper
	router routers.Router
	mu     sync.Mutex
	status map[string][]int
	// keyed notes, per operation, whether requests carried an
	// Idempotency-Key.
	keyed map[string][]bool
	// answers keeps the successful answers' bodies, per operation and
	// status.
	answers map[[2]string][][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	route, _, err := r.router.FindRoute(withoutHost(req))
	resp, rerr := r.base.RoundTrip(req)
	if err == nil && rerr == nil {
		r.mu.Lock()
		id := route.Operation.OperationID
		r.status[id] = append(r.status[id], resp.StatusCode)
		r.keyed[id] = append(r.keyed[id], req.Header.Get("Idempotency-Key") != "")
		if resp.StatusCode < 300 {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				r.mu.Unlock()
				return nil, err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			k := [2]string{id, strconv.Itoa(resp.StatusCode)}
			r.answers[k] = append(r.answers[k], body)
		}
		r.mu.Unlock()
	}
	return resp, rerr
}

func withoutHost(req *http.Request) *http.Request {
	rr := req.Clone(context.Background())
	rr.URL.Scheme, rr.URL.Host, rr.Host = "", "", ""
	rr.Body = http.NoBody
	return rr
}

func newLiveClient(t *testing.T) (*client.Client, *recorder) {
	spec, err := os.ReadFile("../internal/httpapi/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, router := apitest.Spec(t, spec)
	rec := &recorder{base: apitest.Client(t, spec).Transport, router: router, status: map[string][]int{}, keyed: map[string][]bool{}, answers: map[[2]string][][]byte{}}
	return client.New(os.Getenv("BANKLINK_URL"), os.Getenv("BANKLINK_KEY"), client.WithHTTPClient(&http.Client{Transport: rec})), rec
}

// link runs the widget for a new connection at institution and waits
// until its first aggregation finished.
func link(t *testing.T, ctx context.Context, c *client.Client, customer, institution string, products ...client.Product) *client.ConnectStartResponse {
	t.Helper()
	start, err := c.ConnectStart(ctx, client.ConnectStartRequest{ExternalCustomerID: customer, Products: products})
	if err != nil {
		t.Fatal(err)
	}
	w := c.Widget(start.ConnectToken)
	if s, err := w.Session(ctx); err != nil || s.Step != "PICK" || s.Consent != nil || s.App.Name == "" {
		t.Fatalf("session %+v, %v", s, err)
	}
	if s, err := w.Consent(ctx, nil); err != nil || s.Consent == nil || len(s.Consent.DeclinedProducts) != 0 {
		t.Fatalf("consent: %+v, %v", s, err)
	}
	page, err := w.Institutions(ctx, "sandbox", 5, "")
	if err != nil || len(page.Institutions) == 0 {
		t.Fatalf("widget institutions %+v, %v", page, err)
	}
	if _, err := w.Select(ctx, institution); err != nil {
		t.Fatal(err)
	}
	if s, err := w.Back(ctx); err != nil || s.Step != "PICK" {
		t.Fatalf("back: %+v, %v", s, err)
	}
	if _, err := w.Select(ctx, institution); err != nil {
		t.Fatal(err)
	}
	s, err := w.Login(ctx, map[string]string{"username": "user_good", "password": "pass_good"})
	if err != nil || s.Step != "ACCOUNTS" {
		t.Fatalf("login: %+v, %v", s, err)
	}
	var ids []string
	for _, a := range s.Accounts {
		ids = append(ids, a.ID)
	}
	done, err := w.Complete(ctx, ids, true)
	if err != nil || done.Result.ConnectionID != start.ID {
		t.Fatalf("complete: %+v, %v", done, err)
	}
	for {
		conn, err := c.Connection(ctx, start.ID)
		if err != nil {
			t.Fatal(err)
		}
		if conn.SuccessfullyAggregatedAt != nil {
			return start
		}
		select {
		case <-ctx.Done():
			t.Fatalf("connection %s never aggregated: %+v", start.ID, conn)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestEveryOperation calls every operation of the client against the
// real server, checking each answer against openapi.yaml, so that paths,
// parameters and bodies are right and not only the types.
func TestEveryOperation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, rec := newLiveClient(t)

	if _, err := c.Healthz(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Readyz(ctx); err != nil {
		t.Fatal(err)
	}

	// Institutions: page through the whole directory.
	all := collect(t, c.Institutions(ctx, client.InstitutionFilter{Page: client.Page{Limit: 100}}))
	seen := map[string]bool{}
	for _, in := range all {
		if seen[in.ID] {
			t.Fatalf("institution %s twice", in.ID)
		}
		seen[in.ID] = true
	}
	if len(all) < 300 || !seen[sandboxBank] {
		t.Fatalf("%d institutions", len(all))
	}
	noRedirect := false
	filtered := collect(t, c.Institutions(ctx, client.InstitutionFilter{Name: "sandbox", Regions: []string{"US"}, Products: []string{"TRANSACTIONS"},
		ServiceProviders: []string{"SANDBOX"}, Types: []string{"BANK"}, AllowRedirect: &noRedirect, Page: client.Page{Limit: 2}}))
	if len(filtered) == 0 || filtered[0].ID != sandboxBank {
		t.Fatalf("search: %+v", filtered)
	}
	if in, err := c.Institution(ctx, sandboxBank); err != nil || in.Name != "Sandbox Bank" {
		t.Fatalf("institution %+v, %v", in, err)
	}

	// Routing configuration, restored at the end.
	order, on := 1, true
	if _, err := c.PutServiceProvider(ctx, "SANDBOX", client.ServiceProviderInput{DisplayOrder: &order, Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	if sp := collect(t, c.ServiceProviders(ctx)); len(sp) != 1 || sp[0].ServiceProvider != "SANDBOX" {
		t.Fatalf("service providers %+v", sp)
	}
	if _, err := c.DeleteServiceProvider(ctx, "SANDBOX"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RoutingRules(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRoutingRules(ctx, client.RoutingRules{}); err != nil {
		t.Fatal(err)
	}

	// The app profile, restored at the end.
	was, err := c.AppProfile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name, color := "Every Op", "#0F766E"
	if p, err := c.UpdateAppProfile(ctx, client.AppProfileInput{DisplayName: &name, BrandColor: &color}); err != nil || p.DisplayName != name || p.BrandColor != "#0f766e" {
		t.Fatalf("update app profile: %+v, %v", p, err)
	}
	defer c.UpdateAppProfile(context.Background(), client.AppProfileInput{DisplayName: &was.DisplayName, BrandColor: &was.BrandColor})

	// Customers.
	cust, err := c.CreateCustomer(ctx, client.CustomerInput{ExternalID: "every-op", Name: &client.CustomerName{FirstName: "Ada"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, c.Customers(ctx, client.CustomerFilter{ExternalID: "every-op", Status: "ACTIVE"})); len(got) != 1 || got[0].ID != cust.ID {
		t.Fatalf("customers %+v", got)
	}

	// A bank connection and a brokerage one.
	bank := link(t, ctx, c, "every-op", sandboxBank, client.ProductBalances, client.ProductTransactions)
	broker := link(t, ctx, c, "every-op", sandboxBrokerage, client.ProductInvestmentHoldings, client.ProductInvestmentTransactions)
	conns := collect(t, c.Connections(ctx, client.ConnectionFilter{ExternalCustomerID: "every-op", Statuses: []string{"ACTIVE"}, Page: client.Page{Limit: 1}}))
	if len(conns) != 2 || conns[0].ID != bank.ID || conns[1].ID != broker.ID {
		t.Fatalf("connections %+v", conns)
	}
	// The widget sessions behind them, in the activity log.
	acts := collect(t, c.Activity(ctx, client.ActivityFilter{ConnectionID: bank.ID, Actions: []string{"INSTITUTION_CONNECTION_WIDGET_OPENED",
		"INSTITUTION_CONNECTION_COMPLETED"}, Start: "2020-01-01", Page: client.Page{Limit: 1}}))
	if len(acts) < 2 || acts[len(acts)-1].Action != "INSTITUTION_CONNECTION_COMPLETED" || acts[0].ConnectionID != bank.ID {
		t.Fatalf("activity %+v", acts)
	}
	accts := collect(t, c.Accounts(ctx, client.AccountFilter{ConnectionID: bank.ID, Page: client.Page{Limit: 1}}))
	if len(accts) < 2 {
		t.Fatalf("accounts %+v", accts)
	}
	if a, err := c.Account(ctx, accts[0].ID); err != nil || a.ID != accts[0].ID {
		t.Fatalf("account %+v, %v", a, err)
	}
	// Processor tokens, from the sandbox provider.
	tok, err := c.CreateProcessorToken(ctx, accts[0].ID, "DWOLLA", "")
	if err != nil || tok.Token == "" || tok.ServiceProvider != "SANDBOX" {
		t.Fatalf("processor token %+v, %v", tok, err)
	}
	if r, err := c.RevokeProcessorToken(ctx, accts[0].ID, tok.Token); err != nil || r.RevokedAt == nil || r.Token != "" {
		t.Fatalf("revoke %+v, %v", r, err)
	}
	if _, err := c.RevokeProcessorToken(ctx, accts[0].ID, tok.Token); !client.IsConflict(err) {
		t.Errorf("revoking twice: %v, want conflict", err)
	}
	// Imports: this server runs no Plaid, which the API says once the
	// entries passed its checks (the one 400 allowed below).
	var apiErr *client.Error
	if _, err := c.ImportPlaidConnections(ctx, []client.PlaidImport{{ItemID: "item", AccessToken: "access-sandbox-x", ExternalCustomerID: "every-op"}}); !errors.As(err, &apiErr) || apiErr.Reason != "PROVIDER_NOT_ENABLED" {
		t.Errorf("import without Plaid: %v", err)
	}
	if _, err := c.ConnectionImport(ctx, "no-such-import"); !client.IsNotFound(err) {
		t.Errorf("unknown import: %v, want not found", err)
	}
	txs := collect(t, c.Transactions(ctx, client.TransactionFilter{ConnectionID: bank.ID, Status: "POSTED", Page: client.Page{Limit: 100}}))
	if len(txs) == 0 {
		t.Fatal("no transactions")
	}
	if tx, err := c.Transaction(ctx, txs[0].ID); err != nil || tx.ID != txs[0].ID {
		t.Fatalf("transaction %+v, %v", tx, err)
	}
	// Walking backward from the last transaction yields the ones before it.
	back := collect(t, c.Transactions(ctx, client.TransactionFilter{ConnectionID: bank.ID, Status: "POSTED", Page: client.Page{Limit: 7, Before: txs[len(txs)-1].Key}}))
	if len(back) != len(txs)-1 {
		t.Errorf("walking backward found %d transactions, want %d", len(back), len(txs)-1)
	}
	hs := collect(t, c.Holdings(ctx, client.HoldingFilter{ConnectionID: broker.ID, Page: client.Page{Limit: 1}}))
	if len(hs) == 0 {
		t.Fatal("no holdings")
	}
	if h, err := c.Holding(ctx, hs[0].ID); err != nil || h.ID != hs[0].ID {
		t.Fatalf("holding %+v, %v", h, err)
	}
	its := collect(t, c.InvestmentTransactions(ctx, client.InvestmentTransactionFilter{ConnectionID: broker.ID, Statuses: []string{"POSTED"}}))
	if len(its) == 0 {
		t.Fatal("no investment transactions")
	}
	if it, err := c.InvestmentTransaction(ctx, its[0].ID); err != nil || it.ID != its[0].ID {
		t.Fatalf("investment transaction %+v, %v", it, err)
	}

	// Lifecycle.
	if _, err := c.UpdateConnection(ctx, bank.ID, []client.Product{client.ProductOwners}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RefreshConnection(ctx, bank.ID, []client.Product{client.ProductTransactions}); err != nil {
		t.Fatal(err)
	}
	// An ACTIVE connection without a reason needs no repair: 409.
	if _, err := c.Repair(ctx, bank.ID); !client.IsConflict(err) {
		t.Errorf("repair of an ACTIVE connection: %v, want a conflict", err)
	}
	// The widget of a completed connection refuses further steps.
	for name, step := range map[string]func(*client.Widget) error{
		"mfa":   func(w *client.Widget) error { _, err := w.MFA(ctx, "123456"); return err },
		"oauth": func(w *client.Widget) error { _, err := w.OAuth(ctx, map[string]string{"code": "x"}); return err },
	} {
		var e *client.Error
		if err := step(c.Widget(bank.ConnectToken)); !errors.As(err, &e) || e.StatusCode < 400 || e.StatusCode == 400 {
			t.Errorf("widget %s after completion: %v, want a refusal other than 400", name, err)
		}
	}

	// Webhooks: a receiver that checks signatures with the secret of the
	// moment.
	var mu sync.Mutex
	var secret, hookURL string
	got := make(chan webhook.Envelope, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := secret
		mu.Unlock()
		body, err := webhook.VerifyRequest(r, []string{s}, hookURL, webhook.Options{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev webhook.Envelope
		json.Unmarshal(body, &ev)
		got <- ev
	}))
	defer hook.Close()
	hookURL = hook.URL + "/hooks"
	p, err := c.CreateWebhookProfile(ctx, client.WebhookProfileInput{URL: hookURL, EventTypes: []string{"WEBHOOK_TEST"}})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	if u, err := c.UpdateWebhookProfile(ctx, p.ID, client.WebhookProfileInput{Enabled: &off}); err != nil || u.Enabled {
		t.Fatalf("update %+v, %v", u, err)
	}
	if _, err := c.UpdateWebhookProfile(ctx, p.ID, client.WebhookProfileInput{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	zero := 0
	rot, err := c.RotateWebhookSecret(ctx, p.ID, &zero)
	if err != nil || rot.Secret == "" || rot.Secret == p.Secret {
		t.Fatalf("rotate %+v, %v", rot, err)
	}
	mu.Lock()
	secret = rot.Secret
	mu.Unlock()
	if ps := collect(t, c.WebhookProfiles(ctx)); !slices.ContainsFunc(ps, func(x client.WebhookProfile) bool { return x.ID == p.ID && x.Secret == "" }) {
		t.Fatalf("profiles %+v", ps)
	}
	if g, err := c.WebhookProfile(ctx, p.ID); err != nil || g.URL != hookURL {
		t.Fatalf("profile %+v, %v", g, err)
	}
	ev, err := c.TestWebhook(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.EventID != ev.EventID {
			t.Fatalf("received %s, want %s", e.EventID, ev.EventID)
		}
	case <-ctx.Done():
		t.Fatal("the test webhook never arrived signed with the new secret")
	}
	if evs := collect(t, c.Events(ctx, client.EventFilter{EventTypes: []string{"WEBHOOK_TEST"}})); !slices.ContainsFunc(evs, func(x client.Event) bool { return x.EventID == ev.EventID }) {
		t.Fatalf("events %+v", evs)
	}
	if _, err := c.RedeliverEvent(ctx, ev.EventID, p.ID); err != nil {
		t.Fatal(err)
	}
	<-got
	if e, err := c.Event(ctx, ev.EventID); err != nil || len(e.Deliveries) != 2 {
		t.Fatalf("event %+v, %v", e, err)
	}
	if _, err := c.DeleteWebhookProfile(ctx, p.ID); err != nil {
		t.Fatal(err)
	}

	// Delete, and the customer with it.
	if conn, err := c.DeleteConnection(ctx, broker.ID); err != nil || conn.Status != "DELETED" {
		t.Fatalf("delete %+v, %v", conn, err)
	}
	if d, err := c.DeleteCustomer(ctx, cust.ID); err != nil || !d.IsDeleted {
		t.Fatalf("delete customer %+v, %v", d, err)
	}
	if _, err := c.Connection(ctx, "no-such-connection"); !client.IsNotFound(err) {
		t.Errorf("unknown connection: %v, want not found", err)
	}

	// Every answer the server gave survives decoding into the client's
	// type and encoding again: no field is lost, renamed or retyped.
	for k, bodies := range rec.answers {
		for _, body := range bodies {
			if diff := client.RoundTripAnswer(k[0], k[1], body); diff != "" {
				t.Errorf("%s %s answer does not survive a round trip through the client (-server +client):\n%s\n%s", k[0], k[1], diff, body)
			}
		}
	}
	takesKey := client.IdempotentOperationIDs()
	for _, id := range client.ClientOperationIDs() {
		// Idempotency-Key exactly where openapi.yaml lists it: the
		// server refuses it elsewhere (create-token) and, where it
		// takes one, a retry without it could act twice.
		for _, keyed := range rec.keyed[id] {
			if keyed != takesKey[id] {
				t.Errorf("operation %s: Idempotency-Key sent %v, openapi.yaml lists it %v", id, keyed, takesKey[id])
				break
			}
		}
		st, ok := rec.status[id]
		if !ok {
			t.Errorf("operation %s was not called", id)
		}
		for _, s := range st {
			if id == "importConnections" && s == http.StatusBadRequest {
				continue // no Plaid on this server: checked above
			}
			if s == http.StatusBadRequest || s == http.StatusMethodNotAllowed || s == http.StatusUnsupportedMediaType {
				t.Errorf("operation %s answered %d: the client sends something the API refuses", id, s)
			}
		}
	}
}
