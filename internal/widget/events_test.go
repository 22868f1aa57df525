package widget_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"banklink/internal/sandbox"
	"banklink/internal/webhooks"
	"banklink/internal/webhookurl"
	"banklink/webhook"
)

// hookSink is a real receiver that verifies every request's signature.
type hookSink struct {
	*httptest.Server
	secret string
	url    string
	mu     sync.Mutex
	events []webhook.Envelope
	bad    int
}

func (st *stack) hookSink(t *testing.T) *hookSink {
	t.Helper()
	s := &hookSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := webhook.VerifyRequest(r, []string{s.secret}, s.url, webhook.Options{})
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var env webhook.Envelope
		json.Unmarshal(body, &env)
		s.events = append(s.events, env)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	s.url = s.URL + "/banklink-hooks"
	var p struct{ Secret string }
	if status, _ := st.send("POST", "/webhooks/profiles", fmt.Sprintf(`{"url":%q}`, s.url), &p); status != 201 {
		t.Fatalf("create profile: %d", status)
	}
	s.secret = p.Secret
	return s
}

// flush delivers everything due and returns the event types received for
// connection id, in arrival order.
func (s *hookSink) flush(t *testing.T, st *stack, id string) ([]webhook.EventType, []webhook.Payload) {
	t.Helper()
	st.runner.Wait()
	if _, err := webhooks.New(st.store, webhooks.Config{Private: webhookurl.PrivateSandbox}, nil).DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bad > 0 {
		t.Fatalf("%d deliveries failed verification", s.bad)
	}
	var types []webhook.EventType
	var payloads []webhook.Payload
	for _, e := range s.events {
		var p webhook.Payload
		json.Unmarshal(e.Payload, &p)
		if p.ConnectionID == id {
			types, payloads = append(types, e.EventType), append(payloads, p)
		}
	}
	return types, payloads
}

// TestWebhookLifecycle links, breaks, repairs and deletes connections
// through the widget and the API, and checks the signed events a real
// receiver gets, in order, for each connection.
func TestWebhookLifecycle(t *testing.T) {
	st := newStack(t)
	sink := st.hookSink(t)

	id := st.link(`{"externalCustomerId":"hooks","products":["BALANCES","TRANSACTIONS"]}`, "user_good")
	types, payloads := sink.flush(t, st, id)
	linked := []webhook.EventType{webhook.ConnectionCompleted, webhook.ConnectionStatusChange, webhook.AccountsUpdating,
		webhook.AccountsUpdated, webhook.TransactionsAggregated, webhook.HistoricalTransactionsAggregated}
	if !slices.Equal(types, linked) {
		t.Fatalf("after linking: %v\nwant %v", types, linked)
	}
	p := payloads[0]
	if p.ExternalCustomerID != "hooks" || p.InstitutionName != "Sandbox Bank" || p.RequestID == "" || p.ServiceProviderDetails == nil ||
		p.ServiceProviderDetails.ServiceProvider != "SANDBOX" {
		t.Errorf("COMPLETED payload = %+v", p)
	}
	if fa := payloads[3].FinancialAccounts; len(fa) == 0 || fa[0].NewAccount == nil || !*fa[0].NewAccount {
		t.Errorf("ACCOUNTS_UPDATED accounts = %+v", fa)
	}
	if fa := payloads[4].FinancialAccounts; len(fa) == 0 || fa[0].NumTransactionsAdded == nil || *fa[0].NumTransactionsAdded == 0 {
		t.Errorf("TRANSACTIONS_AGGREGATED accounts = %+v", fa)
	}

	var body map[string]any
	if status, _ := st.send("DELETE", "/bank-linking/connections/"+id, "", &body); status != 200 {
		t.Fatalf("delete: %d", status)
	}
	types, _ = sink.flush(t, st, id)
	if want := append(linked, webhook.ConnectionDeleted); !slices.Equal(types, want) {
		t.Errorf("after delete: %v", types)
	}

	// A login that stops working, then a repair.
	broken := st.link(`{"externalCustomerId":"hooks","products":["BALANCES"]}`, sandbox.UserReconnect)
	types, payloads = sink.flush(t, st, broken)
	want := []webhook.EventType{webhook.ConnectionCompleted, webhook.ConnectionStatusChange, webhook.AccountsUpdating,
		webhook.ConnectionStatusChange, webhook.CustomerActionRequired}
	if !slices.Equal(types, want) {
		t.Fatalf("reconnect scenario: %v\nwant %v", types, want)
	}
	if p := payloads[3]; p.OldStatus != "ACTIVE" || p.NewStatus != "RECONNECT_REQUIRED" || p.NewStatusReason != "LOGIN_REQUIRED" {
		t.Errorf("status change = %+v", p)
	}
	if p := payloads[4]; p.Reason != "LOGIN_REQUIRED" {
		t.Errorf("customer action = %+v", p)
	}
	var rep struct{ ConnectToken string }
	st.send("POST", "/bank-linking/connect/repair", fmt.Sprintf(`{"connectionId":%q}`, broken), &rep)
	_, s := st.call(rep.ConnectToken, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
	acct := s["accounts"].([]any)[0].(map[string]any)["id"].(string)
	if status, _ := st.call(rep.ConnectToken, "POST", "complete", fmt.Sprintf(`{"accountIds":[%q],"consent":true}`, acct)); status != 200 {
		t.Fatalf("complete repair: %d", status)
	}
	types, payloads = sink.flush(t, st, broken)
	repaired := append(want, webhook.ConnectionCompleted, webhook.ConnectionStatusChange, webhook.AccountsUpdating, webhook.AccountsUpdated)
	if !slices.Equal(types[:len(repaired)], repaired) {
		t.Fatalf("after repair: %v\nwant %v…", types, repaired)
	}
	if p := payloads[6]; p.OldStatus != "RECONNECT_REQUIRED" || p.NewStatus != "ACTIVE" {
		t.Errorf("repair status change = %+v", p)
	}

	// A duplicate login demotes the older connection, with an event
	// naming the active one.
	first := st.link(`{"externalCustomerId":"dup","products":["BALANCES"]}`, "user_good")
	second := st.link(`{"externalCustomerId":"dup","products":["BALANCES"]}`, "user_good")
	types, payloads = sink.flush(t, st, first)
	last := payloads[len(payloads)-1]
	if types[len(types)-1] != webhook.ConnectionStatusChange || last.NewStatus != "PARTIALLY_ACTIVE" || last.NewStatusReason != "INACTIVE_DUPLICATE" ||
		last.ActiveDuplicateConnectionID != second {
		t.Errorf("duplicate: %v %+v", types, last)
	}
}

// TestNewAccountsAvailable: the bank reports an account opened since the
// linking; the app hears about it once and a repair lets the customer
// share it.
func TestNewAccountsAvailable(t *testing.T) {
	st := newStack(t)
	sink := st.hookSink(t)
	id := st.link(`{"externalCustomerId":"na","products":["BALANCES"]}`, sandbox.UserNewAccounts)
	types, _ := sink.flush(t, st, id)
	if !slices.Contains(types, webhook.NewAccountsAvailable) {
		t.Fatalf("events = %v", types)
	}
	var conn struct {
		Status       string
		StatusReason *string
	}
	st.get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.StatusReason == nil || *conn.StatusReason != "NEW_ACCOUNTS_AVAILABLE" {
		t.Fatalf("connection = %+v", conn)
	}
	// A refresh sees the same account: no second announcement.
	if err := st.runner.Aggregate(t.Context(), st.scope, id); err != nil {
		t.Fatal(err)
	}
	again, _ := sink.flush(t, st, id)
	n := 0
	for _, e := range again {
		if e == webhook.NewAccountsAvailable {
			n++
		}
	}
	if n != 1 {
		t.Errorf("NEW_ACCOUNTS_AVAILABLE sent %d times", n)
	}
	// ACTIVE with this reason is repairable.
	var rep struct{ ConnectToken string }
	if status, _ := st.send("POST", "/bank-linking/connect/repair", fmt.Sprintf(`{"connectionId":%q}`, id), &rep); status != 201 {
		t.Fatalf("repair: %d", status)
	}
}
