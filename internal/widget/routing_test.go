package widget_test

import (
	"fmt"
	"testing"
	"time"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/sandbox"
	"banklink/internal/widget"
)

// linkAt links institution id with user through the widget and returns the
// connection once aggregated.
func linkAt(st *stack, body, institutionID, user string) httpapi.ConnectionJSON {
	st.T.Helper()
	resp := st.Start(body)
	tok := resp.ConnectToken
	if status, s := st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, institutionID)); status != 200 {
		st.T.Fatalf("select: %d %v", status, s)
	}
	status, s := st.Call(tok, "POST", "login", fmt.Sprintf(`{"credentials":{"username":%q,"password":"pass_good"}}`, user))
	if status != 200 || s["step"] != "ACCOUNTS" {
		st.T.Fatalf("login: %d %v", status, s)
	}
	acct := s["accounts"].([]any)[0].(map[string]any)["id"].(string)
	if status, s := st.Call(tok, "POST", "complete", fmt.Sprintf(`{"consent":true,"accountIds":[%q]}`, acct)); status != 200 {
		st.T.Fatalf("complete: %d %v", status, s)
	}
	st.Runner.Wait()
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+resp.ID, &conn)
	return conn
}

func skipped(d *httpapi.RoutingDecisionJSON) map[string]string {
	out := map[string]string{}
	for _, s := range d.Skipped {
		out[s.ServiceProvider] = s.Reason
	}
	return out
}

// TestRoutingAcrossProviders links through two sandbox aggregators and
// checks the decision stored on each connection: the waterfall, failover
// around an institution that is down at the first provider, health-based
// failover after recent failures, and an explicit provider.
func TestRoutingAcrossProviders(t *testing.T) {
	st := newStackWith(t, sandbox.ProviderType, sandbox.ProviderTypeB)

	// The waterfall: the first provider wins where both serve.
	c := linkAt(st, `{"externalCustomerId":"r1","products":["BALANCES","TRANSACTIONS"]}`, sandbox.TestBankID, "user_good")
	if d := c.RoutingDecision; d == nil || d.ServiceProvider != "SANDBOX" || d.Reason != banklink.RouteWaterfall || len(d.Skipped) != 0 {
		t.Fatalf("waterfall decision = %+v", d)
	}

	// Down at the first provider: the second serves, and the data comes
	// from it.
	c = linkAt(st, `{"externalCustomerId":"r2","products":["BALANCES","TRANSACTIONS"]}`, sandbox.TestDownBankID, "user_good")
	if d := c.RoutingDecision; d == nil || d.ServiceProvider != "SANDBOX_B" || skipped(d)["SANDBOX"] != banklink.SkipDown {
		t.Fatalf("down-bank decision = %+v", d)
	}
	if c.ServiceProviderDetails["serviceProvider"] != "SANDBOX_B" || c.SuccessfullyAggregatedAt == nil || len(st.AllTransactions(c.ID)) == 0 {
		t.Errorf("down-bank connection = %+v", c)
	}

	// Recent failures at a provider/institution pair move new logins to
	// the next provider until a success there.
	now := time.Now()
	for i := range widget.FailingAfter {
		if err := st.Store.RecordProviderAttempt(t.Context(), sandbox.ProviderType, sandbox.TestBankID, false, banklink.LoginProviderDown, now.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	c = linkAt(st, `{"externalCustomerId":"r3","products":["BALANCES"]}`, sandbox.TestBankID, sandbox.UserMFACode) // sandbox-b asks no MFA
	if d := c.RoutingDecision; d == nil || d.ServiceProvider != "SANDBOX_B" || skipped(d)["SANDBOX"] == "" {
		t.Fatalf("health failover decision = %+v", d)
	} else if reason := skipped(d)["SANDBOX"]; reason[:len(banklink.SkipUnhealthy)] != banklink.SkipUnhealthy {
		t.Errorf("skip reason = %q", reason)
	}
	if err := st.Store.RecordProviderAttempt(t.Context(), sandbox.ProviderType, sandbox.TestBankID, true, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	c = linkAt(st, `{"externalCustomerId":"r4","products":["BALANCES"]}`, sandbox.TestBankID, "user_good")
	if d := c.RoutingDecision; d.ServiceProvider != "SANDBOX" {
		t.Errorf("after recovery decision = %+v", d)
	}

	// An explicit provider bypasses routing, even where it is not first.
	c = linkAt(st, `{"externalCustomerId":"r5","products":["BALANCES"],"serviceProvider":"SANDBOX_B"}`, sandbox.TestBankID, "user_good")
	if d := c.RoutingDecision; d.ServiceProvider != "SANDBOX_B" || d.Reason != banklink.RouteExplicit || c.RequestedServiceProvider == nil {
		t.Errorf("explicit decision = %+v (requested %v)", d, c.RequestedServiceProvider)
	}
	var e map[string]any
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"unknown provider", `{"externalCustomerId":"x","serviceProvider":"NOPE"}`, 400},
		{"empty provider", `{"externalCustomerId":"x","serviceProvider":" "}`, 400},
		{"provider without the institution", fmt.Sprintf(`{"externalCustomerId":"x","serviceProvider":"SANDBOX_B","institutionId":%q}`, sandbox.TestBrokerageID), 400},
		{"provider without the products", `{"externalCustomerId":"x","serviceProvider":"SANDBOX_B","products":["INVESTMENT_HOLDINGS"]}`, 201},
	} {
		if status, _ := st.Send("POST", "/bank-linking/connect/start", tc.body, &e); status != tc.status {
			t.Errorf("%s: %d %v", tc.name, status, e)
		}
	}
	// A per-institution rule forces sandbox-b at Sandbox Bank.
	var rules map[string]any
	if status, _ := st.Send("PUT", "/routing/rules", fmt.Sprintf(`{"rules":[{"institutionId":%q,"serviceProvider":"SANDBOX_B","action":"FORCE"}]}`, sandbox.TestBankID), &rules); status != 200 {
		t.Fatalf("rules: %v", rules)
	}
	c = linkAt(st, `{"externalCustomerId":"r7","products":["BALANCES"]}`, sandbox.TestBankID, "user_good")
	if d := c.RoutingDecision; d.ServiceProvider != "SANDBOX_B" || d.Reason != banklink.RouteForced {
		t.Errorf("forced decision = %+v", d)
	}
	st.Send("PUT", "/routing/rules", `{"rules":[]}`, &rules)

	// The picker of an explicit-provider token lists only its institutions.
	resp := st.Start(`{"externalCustomerId":"r6","products":["BALANCES"],"serviceProvider":"SANDBOX_B","institutionSearchString":"Sandbox Brokerage"}`)
	_, s := st.Call(resp.ConnectToken, "GET", "institutions?q=Sandbox%20Brokerage", "")
	for _, in := range s["institutions"].([]any) {
		if in.(map[string]any)["id"] == sandbox.TestBrokerageID {
			t.Errorf("explicit sandbox-b picker lists the brokerage it does not cover")
		}
	}
}

// TestLoginFailuresFeedHealth: provider-side login failures are recorded
// per provider and institution; a customer's wrong password is not.
func TestLoginFailuresFeedHealth(t *testing.T) {
	st := newStack(t)
	for range 2 {
		resp := st.Start(`{"externalCustomerId":"h","products":["BALANCES"]}`)
		st.Call(resp.ConnectToken, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, sandbox.TestDownBankID))
		if status, s := st.Call(resp.ConnectToken, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`); status != 422 || s["reason"] != banklink.LoginInstitutionDown {
			t.Fatalf("login at the down bank: %d %v", status, s)
		}
		resp = st.Start(`{"externalCustomerId":"h","products":["BALANCES"]}`)
		st.Call(resp.ConnectToken, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, sandbox.TestBankID))
		st.Call(resp.ConnectToken, "POST", "login", `{"credentials":{"username":"user_good","password":"wrong"}}`)
	}
	since := time.Now().Add(-time.Hour)
	if n, reason, err := st.Store.ProviderFailures(t.Context(), sandbox.ProviderType, sandbox.TestDownBankID, since); err != nil || n != 2 || reason != banklink.LoginInstitutionDown {
		t.Errorf("down bank failures = %d %q %v", n, reason, err)
	}
	if n, _, _ := st.Store.ProviderFailures(t.Context(), sandbox.ProviderType, sandbox.TestBankID, since); n != 0 {
		t.Errorf("wrong passwords counted as provider failures: %d", n)
	}
}
