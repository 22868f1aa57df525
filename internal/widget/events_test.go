package widget_test

import (
	"fmt"
	"slices"
	"testing"

	"banklink/internal/sandbox"
	"banklink/webhook"
)

// TestWebhookLifecycle links, breaks, repairs and deletes connections
// through the widget and the API, and checks the signed events a real
// receiver gets, in order, for each connection.
func TestWebhookLifecycle(t *testing.T) {
	st := newStack(t)
	sink := st.HookSink(t)

	id := st.Link(`{"externalCustomerId":"hooks","products":["BALANCES","TRANSACTIONS"]}`, "user_good")
	types, payloads := sink.Flush(t, st, id)
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
	if status, _ := st.Send("DELETE", "/bank-linking/connections/"+id, "", &body); status != 200 {
		t.Fatalf("delete: %d", status)
	}
	types, _ = sink.Flush(t, st, id)
	if want := append(linked, webhook.ConnectionDeleted); !slices.Equal(types, want) {
		t.Errorf("after delete: %v", types)
	}

	// A login that stops working, then a repair.
	broken := st.Link(`{"externalCustomerId":"hooks","products":["BALANCES"]}`, sandbox.UserReconnect)
	types, payloads = sink.Flush(t, st, broken)
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
	st.Send("POST", "/bank-linking/connect/repair", fmt.Sprintf(`{"connectionId":%q}`, broken), &rep)
	_, s := st.Call(rep.ConnectToken, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
	acct := s["accounts"].([]any)[0].(map[string]any)["id"].(string)
	if status, _ := st.Call(rep.ConnectToken, "POST", "complete", fmt.Sprintf(`{"accountIds":[%q],"consent":true}`, acct)); status != 200 {
		t.Fatalf("complete repair: %d", status)
	}
	types, payloads = sink.Flush(t, st, broken)
	repaired := append(want, webhook.ConnectionCompleted, webhook.ConnectionStatusChange, webhook.AccountsUpdating, webhook.AccountsUpdated)
	if !slices.Equal(types[:len(repaired)], repaired) {
		t.Fatalf("after repair: %v\nwant %v…", types, repaired)
	}
	if p := payloads[6]; p.OldStatus != "RECONNECT_REQUIRED" || p.NewStatus != "ACTIVE" {
		t.Errorf("repair status change = %+v", p)
	}

	// A duplicate login demotes the older connection, with an event
	// naming the active one.
	first := st.Link(`{"externalCustomerId":"dup","products":["BALANCES"]}`, "user_good")
	second := st.Link(`{"externalCustomerId":"dup","products":["BALANCES"]}`, "user_good")
	types, payloads = sink.Flush(t, st, first)
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
	sink := st.HookSink(t)
	id := st.Link(`{"externalCustomerId":"na","products":["BALANCES"]}`, sandbox.UserNewAccounts)
	types, _ := sink.Flush(t, st, id)
	if !slices.Contains(types, webhook.NewAccountsAvailable) {
		t.Fatalf("events = %v", types)
	}
	var conn struct {
		Status       string
		StatusReason *string
	}
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.StatusReason == nil || *conn.StatusReason != "NEW_ACCOUNTS_AVAILABLE" {
		t.Fatalf("connection = %+v", conn)
	}
	// A refresh sees the same account: no second announcement.
	if err := st.Runner.Aggregate(t.Context(), st.Scope, id); err != nil {
		t.Fatal(err)
	}
	again, _ := sink.Flush(t, st, id)
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
	if status, _ := st.Send("POST", "/bank-linking/connect/repair", fmt.Sprintf(`{"connectionId":%q}`, id), &rep); status != 201 {
		t.Fatalf("repair: %d", status)
	}
}
