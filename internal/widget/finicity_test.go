package widget_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	"banklink/internal/sandbox"
	"banklink/internal/search"
	"banklink/internal/widget"
)

// newFinicityStack is the stack with the Finicity provider (talking to a
// fake Finicity, testing customers) enabled after the sandbox, its
// directory merged into banklink's, its refresh limit, login removal and
// webhooks wired as serve wires them.
func newFinicityStack(t testing.TB, cfg finicity.Config) (*stack, *fakefinicity.Server, *finicity.Provider) {
	t.Helper()
	return newFinicityStackOrder(t, cfg, []string{sandbox.ProviderType, finicity.ProviderType}, nil)
}

// newFinicityStackOrder is newFinicityStack with the waterfall order and
// further providers (built once the stack exists).
func newFinicityStackOrder(t testing.TB, cfg finicity.Config, order []string,
	more func(st *stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator)) (*stack, *fakefinicity.Server, *finicity.Provider) {
	t.Helper()
	fake := fakefinicity.New(t)
	cfg.PartnerID, cfg.PartnerSecret, cfg.AppKey, cfg.BaseURL, cfg.Testing = fake.PartnerID, fake.PartnerSecret, fake.AppKey, fake.URL, true
	var prov *finicity.Provider
	st := newStackBuilt(t, order, func(st *stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator) {
		cfg.WebhookURL = st.srv.URL + "/providers/finicity/webhooks"
		prov = finicity.New(cfg)
		logins := map[string]banklink.InteractiveLogin{finicity.ProviderType: prov}
		aggs := map[string]banklink.Aggregator{finicity.ProviderType: prov}
		if more != nil {
			l, a := more(st)
			for k, v := range l {
				logins[k] = v
			}
			for k, v := range a {
				aggs[k] = v
			}
		}
		return logins, aggs
	})
	// Login removal, the refresh limit and webhooks come with the
	// provider's registration, as in serve.
	st.api.Linking.Config.RefreshInterval = time.Millisecond
	insts, err := dirsync.Fetch(t.Context(), finicity.New(cfg), dirsync.Retry{})
	if err != nil {
		t.Fatal(err)
	}
	existing, err := st.store.FindInstitutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	updated, added := dirsync.Merge(existing, insts, finicity.ProviderType)
	if len(added) == 0 {
		t.Fatalf("merge: %d updated, %d added", len(updated), len(added))
	}
	if err := st.store.UpsertInstitutions(t.Context(), append(updated, added...)); err != nil {
		t.Fatal(err)
	}
	if err := st.api.Directory.(*search.Live).Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st, fake, prov
}

// finicityConnect plays Data Connect in redirect mode, as the browser
// does: the link's page, the sign-in, the redirect back to the widget's
// callback, whose query connect.js posts to the widget API. It returns
// the widget's answer.
func (st *stack) finicityConnect(fake *fakefinicity.Server, tok, loginURL, password string) (int, map[string]any) {
	st.t.Helper()
	if !strings.HasPrefix(loginURL, fake.URL+"/fake-connect?") {
		st.t.Fatalf("login URL %q is not Data Connect", loginURL)
	}
	page, err := noRedirects.Get(loginURL)
	if err != nil {
		st.t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := mxFormAction.FindSubmatch(html)
	if page.StatusCode != 200 || m == nil {
		st.t.Fatalf("Data Connect: %d %s", page.StatusCode, html)
	}
	done, err := noRedirects.PostForm(fake.URL+string(m[1]), url.Values{"username": {"demo"}, "password": {password}, "action": {"submit"}})
	if err != nil {
		st.t.Fatal(err)
	}
	done.Body.Close()
	back := done.Header.Get("Location")
	if done.StatusCode != http.StatusSeeOther || !strings.HasPrefix(back, st.srv.URL+"/connect?") {
		st.t.Fatalf("Data Connect answered %d, to %q", done.StatusCode, back)
	}
	cb, _ := url.Parse(back)
	if cb.Query().Get("oauth") != "callback" || cb.Query().Get("connectToken") != tok {
		st.t.Fatalf("callback %s", back)
	}
	return st.call(tok, "POST", "oauth", `{"code":"","error":""}`)
}

// finicityLink links through the widget with Finicity: the institution
// picked in banklink's picker, Data Connect, the way back, the accounts.
// It returns the connection id once aggregated and the login id.
func (st *stack) finicityLink(fake *fakefinicity.Server, body, institution string) (string, string) {
	st.t.Helper()
	resp := st.start(body)
	tok := resp.ConnectToken
	status, s := st.call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, st.institution(institution).ID))
	if status != 200 || s["step"] != banklink.StepRedirect || s["loginEmbed"] != nil {
		st.t.Fatalf("select: %d %v", status, s)
	}
	status, s = st.finicityConnect(fake, tok, s["loginUrl"].(string), fakefinicity.PasswordGood)
	if status != 200 || s["step"] != banklink.StepAccounts {
		st.t.Fatalf("oauth: %d %v", status, s)
	}
	st.completeAll(tok, s)
	st.runner.Wait()
	var conn httpapi.ConnectionJSON
	st.get("/bank-linking/connections/"+resp.ID, &conn)
	return resp.ID, conn.ServiceProviderDetails["serviceProviderConnectionId"]
}

// finicityTypes is Finicity's account types as banklink maps them
// (docs/providers.md).
var finicityTypes = map[string]string{"checking": "DEPOSITORY", "savings": "DEPOSITORY", "creditCard": "CREDIT", "roth": "INVESTMENT"}

// finicityUpstream is what the fake holds for the login, mapped by the
// documented rules: amounts negated (Finicity's negative is money out),
// owed card balances positive, active/pending/shadow as
// POSTED/PENDING/SHADOW, the date when it happened.
func finicityUpstream(fake *fakefinicity.Server, loginID string) upstream {
	_, login, _ := strings.Cut(loginID, "/")
	l, _ := fake.LoginOf(login)
	var u upstream
	statuses := map[string]string{"active": "POSTED", "pending": "PENDING", "shadow": "SHADOW"}
	for _, a := range l.Accounts {
		mask := a.Number[len(a.Number)-4:]
		current := a.Balance
		if a.Type == "creditCard" {
			current = -current
		}
		number := ""
		if a.Routing != "" {
			number = a.Number
		}
		u.accounts = append(u.accounts, accountLine(a.Name, finicityTypes[a.Type], mask, current, a.Currency, a.Routing, number, a.OwnerName))
		for _, tx := range a.Transactions {
			u.transactions = append(u.transactions, transactionLine(mask, tx.Date.Format(time.DateOnly), -tx.Amount, statuses[tx.Status], tx.Description))
		}
		for _, p := range a.Positions {
			u.holdings = append(u.holdings, holdingLine(p.Symbol, p.Units, p.Value))
		}
	}
	return u
}

func init() {
	providerCases = append(providerCases, providerCase{name: "finicity", wire: "FINICITY", expiredByChange: 1,
		link: func(t *testing.T, body, customer string) (*stack, string, func() upstream, func() bool, func()) {
			st, fake, _ := newFinicityStack(t, finicity.Config{})
			id, loginID := st.finicityLink(fake, body, "FinBank Profiles - A")
			_, login, _ := strings.Cut(loginID, "/")
			up := func() upstream { return finicityUpstream(fake, loginID) }
			removed := func() bool { l, _ := fake.LoginOf(login); return l.Deleted }
			// A day at the bank: a new purchase, a pending charge
			// declined (gone: banklink keeps it as EXPIRED).
			change := func() {
				fake.Mutate(login, func(l *fakefinicity.Login) {
					a := l.Accounts[0]
					now := time.Now().UTC()
					a.Transactions = append(a.Transactions, &fakefinicity.Transaction{ID: 9000000001, Amount: -42.5, Status: "active",
						Description: "HARDWARE STORE", Date: now, Posted: now, Added: now})
					for i, tx := range a.Transactions {
						if tx.Status == "pending" {
							a.Transactions = append(a.Transactions[:i], a.Transactions[i+1:]...)
							break
						}
					}
				})
			}
			return st, id, up, removed, change
		}})
}

// TestFinicityRefreshLimit: right after Data Connect a refresh is refused
// with Retry-After (Finicity aggregated moments ago); an hour later it is
// accepted and Finicity is asked to refresh the login.
func TestFinicityRefreshLimit(t *testing.T) {
	st, fake, _ := newFinicityStack(t, finicity.Config{})
	id, loginID := st.finicityLink(fake, `{"externalCustomerId":"fin-refresher","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"FINICITY"}`, "FinBank Profiles - A")
	const refreshRoute = "POST /aggregation/v1/customers/{customerId}/institutionLogins/{institutionLoginId}/accounts"
	if n := fake.Calls(refreshRoute); n != 0 {
		t.Fatalf("Finicity asked to refresh %d times right after Connect", n)
	}
	var body map[string]any
	status, h := st.send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body)
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
	if status, _ := st.send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body); status != 200 {
		t.Fatalf("refresh after the interval: %d %v", status, body)
	}
	st.runner.Wait()
	if n := fake.Calls(refreshRoute); n != 1 {
		t.Errorf("Finicity asked to refresh %d times, want 1", n)
	}
	var conn httpapi.ConnectionJSON
	if st.get("/bank-linking/connections/"+id, &conn); conn.Status != "ACTIVE" {
		t.Errorf("after the refresh: %s", conn.Status)
	}
}

// TestFinicityWebhooks: Connect webhooks at /providers/finicity/webhooks:
// signed ones act (added aggregates, invalidCredentials asks the customer
// to reconnect), a replay is acknowledged without acting, a bad
// signature is refused.
func TestFinicityWebhooks(t *testing.T) {
	st, fake, _ := newFinicityStack(t, finicity.Config{})
	id, loginID := st.finicityLink(fake, `{"externalCustomerId":"fin-hooks","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"FINICITY"}`, "FinBank Profiles - A")
	hooks := fake.Webhooks()
	if len(hooks) != 1 || hooks[0].EventType != "added" || hooks[0].URL != st.srv.URL+"/providers/finicity/webhooks" {
		t.Fatalf("webhooks = %+v", hooks)
	}
	post := func(body []byte, sig string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", hooks[0].URL, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set(finicity.SignatureHeader, sig)
		}
		resp, err := st.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var before httpapi.ConnectionJSON
	st.get("/bank-linking/connections/"+id, &before)
	if status := post(hooks[0].Body, hooks[0].Signature); status != 200 {
		t.Fatalf("added: %d", status)
	}
	st.runner.Wait()
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
	st.runner.Wait()
	var conn httpapi.ConnectionJSON
	if st.get("/bank-linking/connections/"+id, &conn); conn.Status != "RECONNECT_REQUIRED" {
		t.Errorf("after invalidCredentials: %s", conn.Status)
	}
}

// TestFinicityLoginFailures: a wrong password stays in Data Connect; a
// login the institution needs attention for comes back as a failure the
// customer can read; leaving Connect without accounts is not a login.
func TestFinicityLoginFailures(t *testing.T) {
	st, fake, _ := newFinicityStack(t, finicity.Config{})
	resp := st.start(`{"externalCustomerId":"fin-fail","products":["BALANCES"],"serviceProvider":"FINICITY"}`)
	tok := resp.ConnectToken
	_, s := st.call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, st.institution("FinBank Profiles - A").ID))
	status, s := st.finicityConnect(fake, tok, s["loginUrl"].(string), fakefinicity.PasswordUserAction)
	if status == 200 && s["step"] == banklink.StepAccounts {
		t.Fatalf("a login needing attention at the institution was accepted: %v", s)
	}
	if !strings.Contains(fmt.Sprint(s), "institution needs your attention") {
		t.Errorf("answer %d %v", status, s)
	}
	// The picker's institution down at Finicity is not offered it.
	down := st.institution("FinBank Down")
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
			plaidProv, err = plaid.New(plaid.Config{ClientID: fakeplaid.ClientID, Secret: fakeplaid.Secret, BaseURL: fp.URL, Secrets: st.store})
			if err != nil {
				t.Fatal(err)
			}
			return map[string]banklink.InteractiveLogin{plaid.ProviderType: plaidProv}, map[string]banklink.Aggregator{plaid.ProviderType: plaidProv}
		})
	insts, err := plaidProv.Institutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	existing, _ := st.store.FindInstitutions(t.Context())
	updated, added := dirsync.Merge(existing, insts, plaid.ProviderType)
	if err := st.store.UpsertInstitutions(t.Context(), append(updated, added...)); err != nil {
		t.Fatal(err)
	}
	if err := st.api.Directory.(*search.Live).Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	var chase *banklink.Institution
	res, err := st.api.Directory.(*search.Live).Current().Search(search.Query{Name: "Chase", Limit: 50, Eligibility: banklink.Eligibility{AllowRedirect: true}})
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
		resp := st.start(body)
		status, s := st.call(resp.ConnectToken, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, chase.ID))
		if status != 200 {
			t.Fatalf("select: %d %v", status, s)
		}
		sess, err := st.store.FindConnectSession(t.Context(), resp.ID)
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
		if err := st.store.RecordProviderAttempt(t.Context(), plaid.ProviderType, chase.ID, false, banklink.LoginProviderDown, now.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	d, s, tok, id := decide(`{"externalCustomerId":"route-2","products":["BALANCES","TRANSACTIONS"]}`)
	if d.Provider != finicity.ProviderType || !strings.HasPrefix(skippedBy(d, plaid.ProviderType), banklink.SkipUnhealthy) {
		t.Fatalf("failover = %+v", d)
	}
	// The login goes through Data Connect, and the data from Finicity.
	status, s := st.finicityConnect(fake, tok, s["loginUrl"].(string), fakefinicity.PasswordGood)
	if status != 200 || s["step"] != banklink.StepAccounts {
		t.Fatalf("oauth: %d %v", status, s)
	}
	st.completeAll(tok, s)
	st.runner.Wait()
	var conn httpapi.ConnectionJSON
	st.get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.ServiceProviderDetails["serviceProvider"] != "FINICITY" || conn.RoutingDecision == nil ||
		conn.RoutingDecision.ServiceProvider != "FINICITY" || len(st.allTransactions(id)) == 0 {
		t.Errorf("failed-over connection = %+v", conn)
	}
	if err := st.store.RecordProviderAttempt(t.Context(), plaid.ProviderType, chase.ID, true, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if d, _, _, _ := decide(`{"externalCustomerId":"route-3","products":["BALANCES"]}`); d.Provider != plaid.ProviderType {
		t.Errorf("after Plaid recovered = %+v", d)
	}
	// A rule forces Finicity at Chase.
	var rules map[string]any
	if status, _ := st.send("PUT", "/routing/rules", fmt.Sprintf(`{"rules":[{"institutionId":%q,"serviceProvider":"FINICITY","action":"FORCE"}]}`, chase.ID), &rules); status != 200 {
		t.Fatalf("rules: %v", rules)
	}
	if d, _, _, _ := decide(`{"externalCustomerId":"route-4","products":["BALANCES"]}`); d.Provider != finicity.ProviderType || d.Reason != banklink.RouteForced {
		t.Errorf("forced = %+v", d)
	}
	st.send("PUT", "/routing/rules", `{"rules":[]}`, &rules)
	// An explicit provider bypasses routing.
	if d, _, _, _ := decide(`{"externalCustomerId":"route-5","products":["BALANCES"],"serviceProvider":"FINICITY"}`); d.Provider != finicity.ProviderType || d.Reason != banklink.RouteExplicit {
		t.Errorf("explicit = %+v", d)
	}
}
