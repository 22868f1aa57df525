package widget_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/dirsync"
	"banklink/internal/finicity"
	"banklink/internal/finicity/fakefinicity"
	"banklink/internal/httpapi"
	"banklink/internal/plaid"
	"banklink/internal/plaid/fakeplaid"
	"banklink/internal/search"
	"banklink/internal/widget"
)

// TestFinicityRefreshLimit: right after Data Connect a refresh is refused
// with Retry-After (Finicity aggregated moments ago); an hour later it is
// accepted and Finicity is asked to refresh the login.
func TestFinicityRefreshLimit(t *testing.T) {
	st, fake, _ := newFinicityStack(t, finicity.Config{})
	id, loginID := st.FinicityLink(fake, `{"externalCustomerId":"fin-refresher","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"FINICITY"}`, "FinBank Profiles - A")
	const refreshRoute = "POST /aggregation/v1/customers/{customerId}/institutionLogins/{institutionLoginId}/accounts"
	if n := fake.Calls(refreshRoute); n != 0 {
		t.Fatalf("Finicity asked to refresh %d times right after Connect", n)
	}
	var body map[string]any
	status, h := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body)
	retry, _ := strconv.Atoi(h.Get("Retry-After"))
	if status != http.StatusTooManyRequests || body["code"] != "RATE_LIMITED" || retry < int((finicity.DefaultMinRefreshInterval-time.Minute).Seconds()) ||
		retry > int(finicity.DefaultMinRefreshInterval.Seconds()) {
		t.Fatalf("refresh inside the interval: %d Retry-After %q %v", status, h.Get("Retry-After"), body)
	}
	// An hour on, Finicity refreshes the login.
	_, login, _ := strings.Cut(loginID, "/")
	fake.Mutate(login, func(l *fakefinicity.Login) {
		for _, a := range l.Accounts {
			a.AggAttempt = a.AggAttempt.Add(-finicity.DefaultMinRefreshInterval - time.Minute)
		}
	})
	body = nil
	if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body); status != 200 {
		t.Fatalf("refresh after the interval: %d %v", status, body)
	}
	st.Runner.Wait()
	if n := fake.Calls(refreshRoute); n != 1 {
		t.Errorf("Finicity asked to refresh %d times, want 1", n)
	}
	var conn httpapi.ConnectionJSON
	if st.Get("/bank-linking/connections/"+id, &conn); conn.Status != "ACTIVE" {
		t.Errorf("after the refresh: %s", conn.Status)
	}
}

// TestFinicityWebhooks: Connect webhooks at /providers/finicity/webhooks:
// signed ones act (added aggregates, invalidCredentials asks the customer
// to reconnect), a replay is acknowledged without acting, a bad
// signature is refused.
func TestFinicityWebhooks(t *testing.T) {
	st, fake, _ := newFinicityStack(t, finicity.Config{})
	id, loginID := st.FinicityLink(fake, `{"externalCustomerId":"fin-hooks","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"FINICITY"}`, "FinBank Profiles - A")
	hooks := fake.Webhooks()
	if len(hooks) != 1 || hooks[0].EventType != "added" || hooks[0].URL != st.Srv.URL+"/providers/finicity/webhooks" {
		t.Fatalf("webhooks = %+v", hooks)
	}
	post := func(body []byte, sig string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", hooks[0].URL, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set(finicity.SignatureHeader, sig)
		}
		resp, err := st.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var before httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &before)
	if status := post(hooks[0].Body, hooks[0].Signature); status != 200 {
		t.Fatalf("added: %d", status)
	}
	st.Runner.Wait()
	if status := post(hooks[0].Body, hooks[0].Signature); status != 200 {
		t.Errorf("replayed added: %d", status)
	}
	if status := post(hooks[0].Body, strings.Repeat("0", 64)); status != 401 {
		t.Errorf("bad signature: %d", status)
	}
	if status := post(hooks[0].Body, ""); status != 401 {
		t.Errorf("no signature: %d", status)
	}
	customer, login, _ := strings.Cut(loginID, "/")
	failed := fake.WebhookFor(customer, "invalidCredentials", map[string]any{"institutionLoginId": login})
	if status := post(failed.Body, failed.Signature); status != 200 {
		t.Fatalf("invalidCredentials: %d", status)
	}
	st.Runner.Wait()
	var conn httpapi.ConnectionJSON
	if st.Get("/bank-linking/connections/"+id, &conn); conn.Status != "RECONNECT_REQUIRED" {
		t.Errorf("after invalidCredentials: %s", conn.Status)
	}
}

// TestFinicityLoginFailures: a wrong password stays in Data Connect; a
// login the institution needs attention for comes back as a failure the
// customer can read; leaving Connect without accounts is not a login.
func TestFinicityLoginFailures(t *testing.T) {
	st, fake, _ := newFinicityStack(t, finicity.Config{})
	resp := st.Start(`{"externalCustomerId":"fin-fail","products":["BALANCES"],"serviceProvider":"FINICITY"}`)
	tok := resp.ConnectToken
	_, s := st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, st.Institution("FinBank Profiles - A").ID))
	status, s := st.FinicityConnect(fake, tok, s["loginUrl"].(string), fakefinicity.PasswordUserAction)
	if status == 200 && s["step"] == banklink.StepAccounts {
		t.Fatalf("a login needing attention at the institution was accepted: %v", s)
	}
	if !strings.Contains(fmt.Sprint(s), "institution needs your attention") {
		t.Errorf("answer %d %v", status, s)
	}
	// The picker's institution down at Finicity is not offered it.
	down := st.Institution("FinBank Down")
	if pi := down.Providers[finicity.ProviderType]; pi.Health != banklink.HealthDown {
		t.Errorf("FinBank Down = %+v", pi)
	}
}

// TestFinicityRouting: Chase is served by Plaid and Finicity. The
// waterfall picks the first, recent failures move logins to the other,
// a rule forces one, and an explicit provider wins.
func TestFinicityRouting(t *testing.T) {
	fp := fakeplaid.New(t)
	var plaidProv *plaid.Provider
	st, fake, _ := newFinicityStackOrder(t, finicity.Config{}, []string{plaid.ProviderType, finicity.ProviderType},
		func(st *stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator) {
			var err error
			plaidProv, err = plaid.New(plaid.Config{ClientID: fakeplaid.ClientID, Secret: fakeplaid.Secret, BaseURL: fp.URL, Secrets: st.Store})
			if err != nil {
				t.Fatal(err)
			}
			return map[string]banklink.InteractiveLogin{plaid.ProviderType: plaidProv}, map[string]banklink.Aggregator{plaid.ProviderType: plaidProv}
		})
	insts, err := plaidProv.Institutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	existing, _ := st.Store.FindInstitutions(t.Context())
	updated, added := dirsync.Merge(existing, insts, plaid.ProviderType)
	if err := st.Store.UpsertInstitutions(t.Context(), append(updated, added...)); err != nil {
		t.Fatal(err)
	}
	if err := st.API.Directory.(*search.Live).Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	var chase *banklink.Institution
	res, err := st.API.Directory.(*search.Live).Current().Search(search.Query{Name: "Chase", Limit: 50, Eligibility: banklink.Eligibility{AllowRedirect: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range res.Institutions {
		if in.Name == "Chase" {
			chase = in
		}
	}
	if chase == nil {
		t.Fatal("no Chase")
	}
	if _, ok := chase.Providers[finicity.ProviderType]; !ok {
		t.Fatalf("Chase is not served by Finicity: %+v", chase.Providers)
	}
	if _, ok := chase.Providers[plaid.ProviderType]; !ok {
		t.Fatalf("Chase is not served by Plaid: %+v", chase.Providers)
	}
	// decide starts a connection and picks Chase; it returns the
	// session's routing decision, the widget's answer and the token.
	decide := func(body string) (*banklink.RoutingDecision, map[string]any, string, string) {
		t.Helper()
		resp := st.Start(body)
		status, s := st.Call(resp.ConnectToken, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, chase.ID))
		if status != 200 {
			t.Fatalf("select: %d %v", status, s)
		}
		sess, err := st.Store.FindConnectSession(t.Context(), resp.ID)
		if err != nil || sess.Routing == nil {
			t.Fatalf("no routing decision: %+v, %v", sess, err)
		}
		return sess.Routing, s, resp.ConnectToken, resp.ID
	}
	skippedBy := func(d *banklink.RoutingDecision, provider string) string {
		for _, s := range d.Skipped {
			if s.Provider == provider {
				return s.Reason
			}
		}
		return ""
	}
	// The waterfall: Plaid before Finicity.
	d, s, _, _ := decide(`{"externalCustomerId":"route-1","products":["BALANCES","TRANSACTIONS"]}`)
	if d.Provider != plaid.ProviderType || d.Reason != banklink.RouteWaterfall || !strings.HasPrefix(fmt.Sprint(s["loginUrl"]), fp.URL) {
		t.Errorf("waterfall = %+v, %v", d, s)
	}
	// Plaid failing at Chase: Finicity serves until Plaid succeeds there.
	now := time.Now()
	for i := range widget.FailingAfter {
		if err := st.Store.RecordProviderAttempt(t.Context(), plaid.ProviderType, chase.ID, false, banklink.LoginProviderDown, now.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	d, s, tok, id := decide(`{"externalCustomerId":"route-2","products":["BALANCES","TRANSACTIONS"]}`)
	if d.Provider != finicity.ProviderType || !strings.HasPrefix(skippedBy(d, plaid.ProviderType), banklink.SkipUnhealthy) {
		t.Fatalf("failover = %+v", d)
	}
	// The login goes through Data Connect, and the data from Finicity.
	status, s := st.FinicityConnect(fake, tok, s["loginUrl"].(string), fakefinicity.PasswordGood)
	if status != 200 || s["step"] != banklink.StepAccounts {
		t.Fatalf("oauth: %d %v", status, s)
	}
	st.CompleteAll(tok, s)
	st.Runner.Wait()
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.ServiceProviderDetails["serviceProvider"] != "FINICITY" || conn.RoutingDecision == nil ||
		conn.RoutingDecision.ServiceProvider != "FINICITY" || len(st.AllTransactions(id)) == 0 {
		t.Errorf("failed-over connection = %+v", conn)
	}
	if err := st.Store.RecordProviderAttempt(t.Context(), plaid.ProviderType, chase.ID, true, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if d, _, _, _ := decide(`{"externalCustomerId":"route-3","products":["BALANCES"]}`); d.Provider != plaid.ProviderType {
		t.Errorf("after Plaid recovered = %+v", d)
	}
	// A rule forces Finicity at Chase.
	var rules map[string]any
	if status, _ := st.Send("PUT", "/routing/rules", fmt.Sprintf(`{"rules":[{"institutionId":%q,"serviceProvider":"FINICITY","action":"FORCE"}]}`, chase.ID), &rules); status != 200 {
		t.Fatalf("rules: %v", rules)
	}
	if d, _, _, _ := decide(`{"externalCustomerId":"route-4","products":["BALANCES"]}`); d.Provider != finicity.ProviderType || d.Reason != banklink.RouteForced {
		t.Errorf("forced = %+v", d)
	}
	st.Send("PUT", "/routing/rules", `{"rules":[]}`, &rules)
	// An explicit provider bypasses routing.
	if d, _, _, _ := decide(`{"externalCustomerId":"route-5","products":["BALANCES"],"serviceProvider":"FINICITY"}`); d.Provider != finicity.ProviderType || d.Reason != banklink.RouteExplicit {
		t.Errorf("explicit = %+v", d)
	}
}
