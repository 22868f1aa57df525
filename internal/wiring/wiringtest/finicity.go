package wiringtest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/dirsync"
	"banklink/internal/finicity"
	"banklink/internal/finicity/fakefinicity"
	"banklink/internal/httpapi"
	"banklink/internal/sandbox"
	"banklink/internal/search"
)

// NewFinicity is the Stack with the Finicity provider (talking to a
// fake Finicity, testing customers) enabled after the sandbox, its
// directory merged into banklink's, its refresh limit, login removal and
// webhooks wired as serve wires them.
func NewFinicity(t testing.TB, cfg finicity.Config) (*Stack, *fakefinicity.Server, *finicity.Provider) {
	t.Helper()
	return NewFinicityOrder(t, cfg, []string{sandbox.ProviderType, finicity.ProviderType}, nil)
}

// NewFinicityOrder is NewFinicity with the waterfall order and
// further providers (built once the Stack exists).
func NewFinicityOrder(t testing.TB, cfg finicity.Config, order []string,
	more func(st *Stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator)) (*Stack, *fakefinicity.Server, *finicity.Provider) {
	t.Helper()
	fake := fakefinicity.New(t)
	cfg.PartnerID, cfg.PartnerSecret, cfg.AppKey, cfg.BaseURL, cfg.Testing = fake.PartnerID, fake.PartnerSecret, fake.AppKey, fake.URL, true
	var prov *finicity.Provider
	st := NewBuilt(t, order, func(st *Stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator) {
		cfg.WebhookURL = st.Srv.URL + "/providers/finicity/webhooks"
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
	st.API.Linking.Config.RefreshInterval = time.Millisecond
	insts, err := dirsync.Fetch(t.Context(), finicity.New(cfg), dirsync.Retry{})
	if err != nil {
		t.Fatal(err)
	}
	existing, err := st.Store.FindInstitutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	updated, added := dirsync.Merge(existing, insts, finicity.ProviderType)
	if len(added) == 0 {
		t.Fatalf("merge: %d updated, %d added", len(updated), len(added))
	}
	if err := st.Store.UpsertInstitutions(t.Context(), append(updated, added...)); err != nil {
		t.Fatal(err)
	}
	if err := st.API.Directory.(*search.Live).Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st, fake, prov
}

// finicityConnect plays Data Connect in redirect mode, as the browser
// does: the link's page, the sign-in, the redirect back to the widget's
// callback, whose query connect.js posts to the widget API. It returns
// the widget's answer.
func (st *Stack) FinicityConnect(fake *fakefinicity.Server, tok, loginURL, password string) (int, map[string]any) {
	st.T.Helper()
	if !strings.HasPrefix(loginURL, fake.URL+"/fake-connect?") {
		st.T.Fatalf("login URL %q is not Data Connect", loginURL)
	}
	page, err := NoRedirects.Get(loginURL)
	if err != nil {
		st.T.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := MXFormAction.FindSubmatch(html)
	if page.StatusCode != 200 || m == nil {
		st.T.Fatalf("Data Connect: %d %s", page.StatusCode, html)
	}
	done, err := NoRedirects.PostForm(fake.URL+string(m[1]), url.Values{"username": {"demo"}, "password": {password}, "action": {"submit"}})
	if err != nil {
		st.T.Fatal(err)
	}
	done.Body.Close()
	back := done.Header.Get("Location")
	if done.StatusCode != http.StatusSeeOther || !strings.HasPrefix(back, st.Srv.URL+"/connect?") {
		st.T.Fatalf("Data Connect answered %d, to %q", done.StatusCode, back)
	}
	cb, _ := url.Parse(back)
	if cb.Query().Get("oauth") != "callback" || cb.Query().Get("connectToken") != tok {
		st.T.Fatalf("callback %s", back)
	}
	return st.Call(tok, "POST", "oauth", `{"code":"","error":""}`)
}

// finicityLink links through the widget with Finicity: the institution
// picked in banklink's picker, Data Connect, the way back, the accounts.
// It returns the connection id once aggregated and the login id.
func (st *Stack) FinicityLink(fake *fakefinicity.Server, body, institution string) (string, string) {
	st.T.Helper()
	resp := st.Start(body)
	tok := resp.ConnectToken
	status, s := st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, st.Institution(institution).ID))
	if status != 200 || s["step"] != banklink.StepRedirect || s["loginEmbed"] != nil {
		st.T.Fatalf("select: %d %v", status, s)
	}
	status, s = st.FinicityConnect(fake, tok, s["loginUrl"].(string), fakefinicity.PasswordGood)
	if status != 200 || s["step"] != banklink.StepAccounts {
		st.T.Fatalf("oauth: %d %v", status, s)
	}
	st.CompleteAll(tok, s)
	st.Runner.Wait()
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+resp.ID, &conn)
	return resp.ID, conn.ServiceProviderDetails["serviceProviderConnectionId"]
}

// FinicityTypes is Finicity's account types as banklink maps them
// (docs/providers.md).
var FinicityTypes = map[string]string{"checking": "DEPOSITORY", "savings": "DEPOSITORY", "creditCard": "CREDIT", "roth": "INVESTMENT"}

// FinicityUpstream is what the fake holds for the login, mapped by the
// documented rules: amounts negated (Finicity's negative is money out),
// owed card balances positive, active/pending/shadow as
// POSTED/PENDING/SHADOW, the date when it happened.
func FinicityUpstream(fake *fakefinicity.Server, loginID string) Upstream {
	_, login, _ := strings.Cut(loginID, "/")
	l, _ := fake.LoginOf(login)
	var u Upstream
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
		u.Accounts = append(u.Accounts, AccountLine(a.Name, FinicityTypes[a.Type], mask, current, a.Currency, a.Routing, number, a.OwnerName))
		for _, tx := range a.Transactions {
			u.Transactions = append(u.Transactions, TransactionLine(mask, tx.Date.Format(time.DateOnly), -tx.Amount, statuses[tx.Status], tx.Description))
		}
		for _, p := range a.Positions {
			u.Holdings = append(u.Holdings, HoldingLine(p.Symbol, p.Units, p.Value))
		}
	}
	return u
}
