package wiringtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/dirsync"
	"banklink/internal/httpapi"
	"banklink/internal/plaid"
	"banklink/internal/plaid/fakeplaid"
	"banklink/internal/sandbox"
	"banklink/internal/search"
)

// NewPlaid is the Stack with the Plaid provider (talking to a fake
// Plaid) enabled after the sandbox, Plaid's directory merged into
// banklink's, and Plaid's webhooks received at httpapi.PlaidWebhookPath,
// the webhook URL of every Item linked.
func NewPlaid(t testing.TB) (*Stack, *fakeplaid.Server) {
	t.Helper()
	return NewPlaidSecret(t, fakeplaid.Secret)
}

// NewPlaidSecret is NewPlaid with secret as the deployment's
// Plaid secret.
func NewPlaidSecret(t testing.TB, secret string) (*Stack, *fakeplaid.Server) {
	t.Helper()
	fp := fakeplaid.New(t)
	var prov *plaid.Provider
	st := NewBuilt(t, []string{sandbox.ProviderType, plaid.ProviderType},
		func(st *Stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator) {
			var err error
			prov, err = plaid.New(plaid.Config{ClientID: fakeplaid.ClientID, Secret: secret, BaseURL: fp.URL, Secrets: st.Store,
				WebhookURL: st.Srv.URL + httpapi.PlaidWebhookPath, SyncPoll: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			return map[string]banklink.InteractiveLogin{plaid.ProviderType: prov}, map[string]banklink.Aggregator{plaid.ProviderType: prov}
		})
	// The directory as an operator with working keys would sync it.
	dirProv, err := plaid.New(plaid.Config{ClientID: fakeplaid.ClientID, Secret: fakeplaid.Secret, BaseURL: fp.URL, Secrets: st.Store})
	if err != nil {
		t.Fatal(err)
	}
	insts, err := dirProv.Institutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	updated, added := dirsync.Merge(Directory(), insts, plaid.ProviderType)
	if len(updated) == 0 || len(added) == 0 {
		t.Fatalf("merge: %d updated, %d added", len(updated), len(added))
	}
	if err := st.Store.UpsertInstitutions(t.Context(), append(updated, added...)); err != nil {
		t.Fatal(err)
	}
	if err := st.API.Directory.(*search.Live).Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st, fp
}

var NoRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// plaidLink links through the widget with Plaid: connect/start naming
// PLAID, the institution picked in the widget, the login on Plaid's
// Hosted Link page (where the customer picks the same bank), the way back
// to the widget, the accounts. It returns the connection id once
// aggregated, and the Plaid Item behind it.
func (st *Stack) PlaidLink(fp *fakeplaid.Server, body, institution, plaidInstitution string) (string, *fakeplaid.Item) {
	st.T.Helper()
	resp := st.Start(body)
	tok := resp.ConnectToken
	status, s := st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, st.Institution(institution).ID))
	if status != 200 || s["step"] != banklink.StepRedirect || s["loginUrl"] == nil {
		st.T.Fatalf("select: %d %v", status, s)
	}
	// Plaid's page: the customer logs in and Plaid sends them back.
	u, err := url.Parse(s["loginUrl"].(string))
	if err != nil || !strings.HasPrefix(u.String(), fp.URL+"/hl/") {
		st.T.Fatalf("login URL %v", s["loginUrl"])
	}
	u.RawQuery = url.Values{"institution_id": {plaidInstitution}}.Encode()
	hosted, err := NoRedirects.Get(u.String())
	if err != nil {
		st.T.Fatal(err)
	}
	hosted.Body.Close()
	back := hosted.Header.Get("Location")
	if hosted.StatusCode != http.StatusFound || !strings.HasPrefix(back, st.Srv.URL+"/connect?") {
		st.T.Fatalf("Hosted Link answered %d, to %q", hosted.StatusCode, back)
	}
	// The widget page loads at the callback and posts its query to the
	// widget API, as connect.js does.
	page, err := http.Get(back)
	if err != nil {
		st.T.Fatal(err)
	}
	page.Body.Close()
	cb, _ := url.Parse(back)
	if page.StatusCode != 200 || cb.Query().Get("oauth") != "callback" || cb.Query().Get("connectToken") != tok {
		st.T.Fatalf("callback page %d at %s", page.StatusCode, back)
	}
	status, s = st.Call(tok, "POST", "oauth", fmt.Sprintf(`{"code":%q,"error":%q}`, cb.Query().Get("code"), cb.Query().Get("error")))
	if status != 200 || s["step"] != banklink.StepAccounts {
		st.T.Fatalf("oauth: %d %v", status, s)
	}
	st.CompleteAll(tok, s)
	st.Runner.Wait()
	items := fp.Items()
	return resp.ID, items[len(items)-1]
}
