package wiringtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/dirsync"
	"banklink/internal/mx"
	"banklink/internal/mx/fakemx"
	"banklink/internal/sandbox"
	"banklink/internal/search"
)

// NewMX is the Stack with the MX provider (talking to a fake MX)
// enabled after the sandbox, MX's directory merged into banklink's, MX's
// refresh limit and member removal wired as serve wires them. redirect
// picks MX's redirect mode over the embedded MX Connect.
func NewMX(t testing.TB, redirect bool) (*Stack, *fakemx.Server) {
	t.Helper()
	return NewMXConfig(t, mx.Config{Redirect: redirect})
}

// NewMXConfig is NewMX with the provider's configuration: cfg's
// keys (the fake's when empty) are the deployment's.
func NewMXConfig(t testing.TB, cfg mx.Config) (*Stack, *fakemx.Server) {
	t.Helper()
	fake := fakemx.New(t)
	if cfg.ClientID == "" {
		cfg.ClientID = fakemx.ClientID
	}
	if cfg.APIKey == "" {
		cfg.APIKey = fakemx.APIKey
	}
	cfg.BaseURL, cfg.PollInterval, cfg.MaxPollInterval = fake.URL, time.Millisecond, 5*time.Millisecond
	prov := mx.New(cfg)
	st := NewWithProviders(t, []string{sandbox.ProviderType, mx.ProviderType},
		map[string]banklink.InteractiveLogin{mx.ProviderType: prov}, map[string]banklink.Aggregator{mx.ProviderType: prov})
	// banklink's own least interval between refreshes is not what these
	// tests are about.
	st.API.Linking.Config.RefreshInterval = time.Millisecond
	// The directory as an operator with working keys would sync it.
	insts, err := mx.New(mx.Config{ClientID: fakemx.ClientID, APIKey: fakemx.APIKey, BaseURL: fake.URL}).Institutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	updated, added := dirsync.Merge(Directory(), insts, mx.ProviderType)
	if len(added) == 0 {
		t.Fatalf("merge: %d updated, %d added", len(updated), len(added))
	}
	if err := st.Store.UpsertInstitutions(t.Context(), append(updated, added...)); err != nil {
		t.Fatal(err)
	}
	if err := st.API.Directory.(*search.Live).Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st, fake
}

var MXFormAction = regexp.MustCompile(`action="([^"]+)"`)

// mxLink links through the widget with MX, as connect.js does it: the
// institution picked in banklink's picker, MX Connect embedded (the fake's
// page), the login there, MX Connect's memberConnected message handed to
// the widget API, the accounts. It returns the connection id once
// aggregated and the MX member behind it.
func (st *Stack) MXLink(fake *fakemx.Server, body, institution, password string) (string, string) {
	st.T.Helper()
	resp := st.Start(body)
	tok := resp.ConnectToken
	status, s := st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, st.Institution(institution).ID))
	embed, _ := s["loginEmbed"].(map[string]any)
	if status != 200 || s["step"] != banklink.StepRedirect || embed == nil || embed["origin"] != fake.URL {
		st.T.Fatalf("select: %d %v", status, s)
	}
	posted, s := st.MXConnect(fake, tok, s["loginUrl"].(string), "mx-customer", password)
	st.CompleteAll(tok, s)
	st.Runner.Wait()
	return resp.ID, posted.Metadata["member_guid"]
}

// mxConnect plays MX Connect embedded in the widget, as the browser and
// connect.js do: the login on the fake's page, MX Connect's
// memberConnected message handed to the widget API, which must answer
// with the accounts. It returns the message and the widget's session.
func (st *Stack) MXConnect(fake *fakemx.Server, tok, loginURL, username, password string) (fakemx.PostMessage, map[string]any) {
	st.T.Helper()
	if !strings.HasPrefix(loginURL, fake.URL+"/connect/") {
		st.T.Fatalf("login URL %q is not MX Connect", loginURL)
	}
	page, err := NoRedirects.Get(loginURL)
	if err != nil {
		st.T.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := MXFormAction.FindSubmatch(html)
	if page.StatusCode != 200 || m == nil {
		st.T.Fatalf("MX Connect: %d %s", page.StatusCode, html)
	}
	submitted, err := NoRedirects.PostForm(fake.URL+string(m[1]), url.Values{"username": {username}, "password": {password}, "action": {"connect"}})
	if err != nil {
		st.T.Fatal(err)
	}
	html, _ = io.ReadAll(submitted.Body)
	submitted.Body.Close()
	msg := fakemx.MessagePattern.FindSubmatch(html)
	if submitted.StatusCode != 200 || msg == nil {
		st.T.Fatalf("MX Connect after the login: %d %s", submitted.StatusCode, html)
	}
	var posted fakemx.PostMessage
	if err := json.Unmarshal(msg[1], &posted); err != nil {
		st.T.Fatal(err)
	}
	// What connect.js posts for a done event: the type and the metadata.
	call := map[string]string{"event": posted.Type}
	maps.Copy(call, posted.Metadata)
	b, _ := json.Marshal(call)
	status, s := st.Call(tok, "POST", "oauth", string(b))
	if status != 200 || s["step"] != banklink.StepAccounts {
		st.T.Fatalf("oauth: %d %v", status, s)
	}
	return posted, s
}
