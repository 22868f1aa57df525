package mx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/mx"
	"banklink/internal/mx/fakemx"
)

const callback = "https://link.example/connect?connectToken=tok&oauth=callback"

var allProducts = []banklink.Product{banklink.Balances, banklink.Identifiers, banklink.Owners, banklink.Transactions, banklink.InvestmentHoldings}

func setup(t *testing.T) (*fakemx.Server, *mx.Provider) {
	t.Helper()
	fake := fakemx.New(t)
	return fake, newProvider(fake, mx.Config{})
}

// newProvider is a provider in redirect mode (MX Connect sends the
// customer back to the callback), which lets a test play the customer
// with plain HTTP; TestEmbeddedLogin covers the embedded mode.
func newProvider(fake *fakemx.Server, cfg mx.Config) *mx.Provider {
	cfg.Redirect = true
	return newEmbeddedProvider(fake, cfg)
}

func newEmbeddedProvider(fake *fakemx.Server, cfg mx.Config) *mx.Provider {
	cfg.ClientID, cfg.BaseURL, cfg.Now = fakemx.ClientID, fake.URL, fake.Now
	if cfg.APIKey == "" {
		cfg.APIKey = fakemx.APIKey
	}
	cfg.PollInterval, cfg.MaxPollInterval = time.Millisecond, time.Millisecond
	return mx.New(cfg)
}

// bank is a directory institution that MX reaches as code.
func bank(code string, region banklink.Region) *banklink.Institution {
	return &banklink.Institution{ID: "inst_" + code, Name: "Bank " + code, Regions: []banklink.Region{region},
		Providers: map[string]banklink.ProviderInstitution{mx.ProviderType: {ProviderInstitutionID: code, Redirect: true,
			Products: append(slices.Clone(allProducts), banklink.HistoricalTransactions)}}}
}

func newUser(t *testing.T, p *mx.Provider, id string) string {
	t.Helper()
	guid, err := p.CreateUser(t.Context(), nil, id)
	if err != nil {
		t.Fatal(err)
	}
	return guid
}

func loginRequest(user string, in *banklink.Institution, products []banklink.Product) banklink.LoginRequest {
	return banklink.LoginRequest{Institution: in, ProviderInstitutionID: in.Providers[mx.ProviderType].ProviderInstitutionID,
		Products: products, CallbackURL: callback, ProviderUserID: user}
}

var formAction = regexp.MustCompile(`action="([^"]+)"`)

// widgetLogin does what the customer does: opens the widget URL, submits
// the fake MX Connect form and follows the redirect to the callback. It
// returns the callback's query, less the widget's own parameters.
func widgetLogin(t *testing.T, widgetURL, username, password, action string) map[string]string {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(widgetURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formAction.FindSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("widget page: %d %s", resp.StatusCode, body)
	}
	u, _ := url.Parse(widgetURL)
	resp, err = c.PostForm(u.ResolveReference(&url.URL{Path: string(m[1])}).String(), url.Values{"username": {username}, "password": {password}, "action": {action}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, callback+"&") {
		t.Fatalf("after login: %d Location %q", resp.StatusCode, loc)
	}
	back, _ := url.Parse(loc)
	q := map[string]string{}
	for k, v := range back.Query() {
		if k != "connectToken" && k != "oauth" {
			q[k] = v[0]
		}
	}
	return q
}

// link logs in through the fake widget and returns the completed step.
func link(t *testing.T, p *mx.Provider, user string, in *banklink.Institution, products []banklink.Product, username, password string) (*banklink.LoginStep, error) {
	t.Helper()
	req := loginRequest(user, in, products)
	start, err := p.StartLogin(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	return p.CompleteRedirect(t.Context(), req, widgetLogin(t, start.RedirectURL, username, password, "connect"))
}

func mustLink(t *testing.T, p *mx.Provider, user string, in *banklink.Institution, products []banklink.Product) *banklink.LoginStep {
	t.Helper()
	step, err := link(t, p, user, in, products, "mxuser", "correct")
	if err != nil {
		t.Fatal(err)
	}
	return step
}

func memberOf(step *banklink.LoginStep) string {
	_, m, _ := strings.Cut(step.LoginID, "/")
	return m
}

func reason(err error) string {
	if pe, ok := errors.AsType[*banklink.ProviderError](err); ok {
		return pe.Reason
	}
	if be, ok := errors.AsType[*banklink.Error](err); ok {
		return be.Code + "/" + be.Reason
	}
	return fmt.Sprint(err)
}

func TestCreateUserIsIdempotent(t *testing.T) {
	fake, p := setup(t)
	first := newUser(t, p, "customer-1")
	if first == "" || fake.UserGUID("customer-1") != first {
		t.Fatalf("user %q, fake has %q", first, fake.UserGUID("customer-1"))
	}
	// Another replica (no cache): MX answers 409 and the user is found.
	again, err := newProvider(fake, mx.Config{}).CreateUser(t.Context(), nil, "customer-1")
	if err != nil || again != first {
		t.Fatalf("second CreateUser = %q, %v; want %q", again, err, first)
	}
	if n := fake.Calls("POST /users"); n != 2 {
		t.Errorf("POST /users called %d times", n)
	}
	if n := fake.Calls("GET /users"); n != 1 {
		t.Errorf("GET /users called %d times", n)
	}
	if other := newUser(t, p, "customer-2"); other == first {
		t.Error("two customers share a user")
	}
}

func TestCredentials(t *testing.T) {
	fake, _ := setup(t)
	for _, tc := range []struct {
		name  string
		cfg   mx.Config
		creds map[string]string
		want  string
	}{
		{"wrong deployment key", mx.Config{APIKey: "wrong"}, nil, banklink.EPROVIDER + "/MX_UNAUTHORIZED"},
		{"account's key replaces it", mx.Config{APIKey: "wrong"}, map[string]string{mx.CredentialAPIKey: fakemx.APIKey}, ""},
		{"account's wrong client id", mx.Config{}, map[string]string{mx.CredentialClientID: "other"}, banklink.EPROVIDER + "/MX_UNAUTHORIZED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newProvider(fake, tc.cfg).CreateUser(t.Context(), tc.creds, "c-"+tc.name)
			if got := reason(err); (err == nil && tc.want != "") || (err != nil && got != tc.want) {
				t.Errorf("CreateUser: %v (%s), want %q", err, got, tc.want)
			}
		})
	}
}

func TestStartLogin(t *testing.T) {
	fake, p := setup(t)
	user := newUser(t, p, "starter")
	in := bank(fakemx.MXBank, "US")
	req := loginRequest(user, in, allProducts)
	a, err := p.StartLogin(t.Context(), req)
	if err != nil || !strings.HasPrefix(a.RedirectURL, fake.URL+"/connect/") || a.Fields != nil {
		t.Fatalf("StartLogin = %+v, %v", a, err)
	}
	// Widget URLs are one-time: every call gets a new one.
	if b, _ := p.StartLogin(t.Context(), req); b.RedirectURL == a.RedirectURL {
		t.Error("same widget URL twice")
	}
	for _, tc := range []struct {
		name string
		edit func(r *banklink.LoginRequest)
		want string
	}{
		{"institution down", func(r *banklink.LoginRequest) {
			down := *in
			down.Providers = map[string]banklink.ProviderInstitution{mx.ProviderType: {ProviderInstitutionID: fakemx.MXBank, Health: banklink.HealthDown}}
			r.Institution = &down
		}, banklink.LoginInstitutionDown},
		{"no MX user", func(r *banklink.LoginRequest) { r.ProviderUserID = "" }, banklink.EINTERNAL + "/"},
		{"unknown user", func(r *banklink.LoginRequest) { r.ProviderUserID = "USR-nope" }, banklink.LoginOAuthDenied},
		{"unknown institution", func(r *banklink.LoginRequest) { r.ProviderInstitutionID = "nope" }, banklink.EPROVIDER + "/MX_HTTP_400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req
			tc.edit(&r)
			if _, err := p.StartLogin(t.Context(), r); reason(err) != tc.want {
				t.Errorf("StartLogin: %v (%s), want %s", err, reason(err), tc.want)
			}
		})
	}
	if _, err := p.SubmitCredentials(t.Context(), req); banklink.ErrorCode(err) != banklink.ENOTSUPPORTED {
		t.Errorf("SubmitCredentials: %v", err)
	}
	if _, err := p.AnswerMFA(t.Context(), req, "", ""); banklink.ErrorCode(err) != banklink.ENOTSUPPORTED {
		t.Errorf("AnswerMFA: %v", err)
	}
}

// TestEmbeddedLogin: by default the widget embeds MX Connect, which
// reports a connected member by postMessage; its metadata is what
// CompleteRedirect gets.
func TestEmbeddedLogin(t *testing.T) {
	fake := fakemx.New(t)
	p := newEmbeddedProvider(fake, mx.Config{})
	if got := p.FrameOrigins(); !slices.Equal(got, []string{fake.URL}) {
		t.Fatalf("FrameOrigins = %v, want the fake's origin %s", got, fake.URL)
	}
	user := newUser(t, p, "embedded")
	in := bank(fakemx.MXBank, "US")
	req := loginRequest(user, in, allProducts)
	start, err := p.StartLogin(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if start.Embed == nil || start.Embed.Origin != fake.URL || !slices.Equal(start.Embed.DoneEvents, []string{mx.EventMemberConnected}) {
		t.Fatalf("StartLogin = %+v (embed %+v)", start, start.Embed)
	}
	// MX is not asked to redirect: no client_redirect_url, no WebView.
	page := func(password string) string {
		t.Helper()
		resp, err := http.Get(start.RedirectURL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := formAction.FindSubmatch(body)
		if m == nil {
			t.Fatalf("widget page: %s", body)
		}
		u, _ := url.Parse(start.RedirectURL)
		resp, err = http.PostForm(u.ResolveReference(&url.URL{Path: string(m[1])}).String(), url.Values{"username": {"embedded"}, "password": {password}, "action": {"connect"}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("after login: %d %s", resp.StatusCode, body)
		}
		return string(body)
	}
	// A wrong password stays in MX Connect: no message for the host.
	if body := page("nope"); fakemx.MessagePattern.MatchString(body) || !strings.Contains(body, "Try again") {
		t.Fatalf("failed login page: %s", body)
	}
	start, err = p.StartLogin(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	m := fakemx.MessagePattern.FindStringSubmatch(page("correct"))
	if m == nil {
		t.Fatal("no postMessage after a connected login")
	}
	var msg fakemx.PostMessage
	if err := json.Unmarshal([]byte(m[1]), &msg); err != nil || !msg.MX || msg.Type != mx.EventMemberConnected {
		t.Fatalf("message %s: %v", m[1], err)
	}
	query := map[string]string{"event": msg.Type}
	maps.Copy(query, msg.Metadata)
	step, err := p.CompleteRedirect(t.Context(), req, query)
	if err != nil || step.LoginID != user+"/"+msg.Metadata["member_guid"] || len(step.Accounts) == 0 {
		t.Fatalf("CompleteRedirect = %+v, %v", step, err)
	}
	// Another user's member is refused before MX is asked.
	query["user_guid"] = "USR-someone-else"
	if _, err := p.CompleteRedirect(t.Context(), req, query); reason(err) != banklink.LoginOAuthDenied {
		t.Fatalf("another user's member: %v", err)
	}
	// A deployment whose MX Connect lives elsewhere than the API host
	// must say so; a widget URL on an origin the widget page may not
	// frame is refused rather than shown as an empty frame.
	other := newEmbeddedProvider(fake, mx.Config{WidgetOrigin: "https://widgets.example"})
	if _, err := other.StartLogin(t.Context(), req); banklink.ErrorCode(err) != banklink.EPROVIDER {
		t.Fatalf("widget URL on an unexpected origin: %v", err)
	}
	for _, tc := range []struct{ base, want string }{
		{mx.IntegrationURL, "https://int-widgets.moneydesktop.com"},
		{mx.ProductionURL, "https://widgets.moneydesktop.com"},
		{"https://mx-proxy.internal:8443/", "https://mx-proxy.internal:8443"},
	} {
		if got := mx.New(mx.Config{BaseURL: tc.base}).FrameOrigins(); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("FrameOrigins for %s = %v, want %s", tc.base, got, tc.want)
		}
	}
}

func TestLoginThroughTheWidget(t *testing.T) {
	for _, tc := range []struct {
		name, password, action string
		want                   string // failure reason; "" for success
		retryable              bool
	}{
		{name: "connected", password: "correct", action: "connect"},
		{name: "wrong password", password: "nope", action: "connect", want: banklink.LoginInvalidCredentials, retryable: true},
		{name: "MFA left unanswered", password: "challenge", action: "connect", want: mx.LoginMFANotCompleted, retryable: true},
		{name: "MFA expired", password: "expired", action: "connect", want: banklink.LoginInvalidMFA, retryable: true},
		{name: "locked", password: "locked", action: "connect", want: banklink.LoginLocked},
		{name: "impeded", password: "impeded", action: "connect", want: banklink.LoginLocked},
		{name: "institution degraded", password: "degraded", action: "connect", want: banklink.LoginInstitutionDown, retryable: true},
		{name: "cancelled", password: "", action: "cancel", want: banklink.LoginOAuthDenied, retryable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, p := setup(t)
			user := newUser(t, p, "widget-"+tc.name)
			in := bank(fakemx.MXBank, "US")
			req := loginRequest(user, in, allProducts)
			start, err := p.StartLogin(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			step, err := p.CompleteRedirect(t.Context(), req, widgetLogin(t, start.RedirectURL, "mxuser", tc.password, tc.action))
			if tc.want != "" {
				pe, ok := errors.AsType[*banklink.ProviderError](err)
				if !ok || pe.Reason != tc.want || pe.Retryable != tc.retryable {
					t.Fatalf("CompleteRedirect = %+v, %#v; want %s retryable=%v", step, err, tc.want, tc.retryable)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			members := fake.Members(user)
			if len(members) != 1 || step.LoginID != user+"/"+members[0].GUID || !step.Done() {
				t.Fatalf("step = %+v, members %+v", step, members)
			}
			var open []string
			for _, a := range fake.Accounts(members[0].GUID) {
				if !a.IsClosed {
					open = append(open, a.GUID)
				}
			}
			var got []string
			for _, a := range step.Accounts {
				got = append(got, a.ID)
				if a.Name == "" || a.Type == "" || len(a.Mask) != 4 {
					t.Errorf("account %+v", a)
				}
			}
			if !slices.Equal(got, open) {
				t.Errorf("accounts %v, want the open ones %v", got, open)
			}
			// The same login again is the same member: duplicates are
			// recognised by login id.
			again := mustLink(t, p, user, in, allProducts)
			if again.LoginID != step.LoginID {
				t.Errorf("second login id %s, first %s", again.LoginID, step.LoginID)
			}
		})
	}
}

func TestCompleteRedirectFindsTheMember(t *testing.T) {
	fake, p := setup(t)
	user := newUser(t, p, "finder")
	in := bank(fakemx.MXBank, "US")
	req := loginRequest(user, in, allProducts)
	// What connect.js posts today: the callback's code and error, empty.
	noGUID := map[string]string{"code": "", "error": ""}
	if _, err := p.CompleteRedirect(t.Context(), req, noGUID); reason(err) != banklink.LoginOAuthDenied {
		t.Fatalf("no member yet: %v", err)
	}
	first, err := fake.Connect(fakemx.Login{UserGUID: user, Institution: fakemx.MXBank, Username: "one", Password: "correct"})
	if err != nil {
		t.Fatal(err)
	}
	// Another institution's member does not count.
	if _, err := fake.Connect(fakemx.Login{UserGUID: user, Institution: fakemx.MapleBank, Username: "one", Password: "correct"}); err != nil {
		t.Fatal(err)
	}
	step, err := p.CompleteRedirect(t.Context(), req, noGUID)
	if err != nil || step.LoginID != user+"/"+first {
		t.Fatalf("one member: %+v, %v", step, err)
	}
	if _, err := fake.Connect(fakemx.Login{UserGUID: user, Institution: fakemx.MXBank, Username: "two", Password: "correct"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.CompleteRedirect(t.Context(), req, noGUID); reason(err) != banklink.LoginOAuthDenied {
		t.Fatalf("two members: %v", err)
	}
	// A member at another institution is refused even when named.
	maple := fake.Members(user)
	i := slices.IndexFunc(maple, func(m fakemx.Member) bool { return m.InstitutionCode == fakemx.MapleBank })
	if _, err := p.CompleteRedirect(t.Context(), req, map[string]string{"member_guid": maple[i].GUID}); reason(err) != banklink.LoginOAuthDenied ||
		!strings.Contains(err.(*banklink.ProviderError).DisplayMessage, "Maple MX Bank") {
		t.Fatalf("other institution's member: %v", err)
	}
	// And a member that is not the user's is not found.
	if _, err := p.CompleteRedirect(t.Context(), req, map[string]string{"member_guid": "MBR-nope"}); reason(err) != banklink.LoginOAuthDenied {
		t.Fatalf("unknown member: %v", err)
	}
}

func TestCompleteRedirectWaitsForAccounts(t *testing.T) {
	fake, p := setup(t)
	fake.SetAggregationPolls(3)
	user := newUser(t, p, "waiter")
	step := mustLink(t, p, user, bank(fakemx.MXBank, "US"), allProducts)
	if len(step.Accounts) == 0 {
		t.Fatal("no accounts")
	}
}

func aggregate(t *testing.T, fake *fakemx.Server, p *mx.Provider, step *banklink.LoginStep, in *banklink.Institution, products ...banklink.Product) ([]banklink.AggregatedAccount, error) {
	t.Helper()
	var ids []string
	for _, a := range step.Accounts {
		ids = append(ids, a.ID)
	}
	now := fake.Now()
	return p.Aggregate(t.Context(), banklink.AggregationRequest{Institution: in, LoginID: step.LoginID, AccountIDs: ids, Products: products,
		Since: now.AddDate(0, -24, 0), Now: now})
}

func TestAggregateReadsWhatMXServes(t *testing.T) {
	fake, p := setup(t)
	user := newUser(t, p, "reader")
	in := bank(fakemx.MXBank, "US")
	step := mustLink(t, p, user, in, allProducts)
	got, err := aggregate(t, fake, p, step, in, allProducts...)
	if err != nil {
		t.Fatal(err)
	}
	member := memberOf(step)
	byID := map[string]banklink.AggregatedAccount{}
	for _, a := range got {
		byID[a.ProviderAccountID] = a
	}
	numbers := map[string]fakemx.AccountNumber{}
	for _, n := range fake.AccountNumbers(member) {
		numbers[n.AccountGUID] = n
	}
	owners := map[string]fakemx.AccountOwner{}
	for _, o := range fake.AccountOwners(member) {
		owners[o.AccountGUID] = o
	}
	for _, want := range fake.Accounts(member) {
		a, ok := byID[want.GUID]
		if want.IsClosed {
			if ok {
				t.Errorf("closed account %s aggregated", want.Name)
			}
			continue
		}
		if !ok || a.Name != want.Name || a.Mask != want.AccountNumber[len(want.AccountNumber)-4:] {
			t.Errorf("account %s = %+v", want.Name, a)
			continue
		}
		if a.Balances == nil || a.Balances.CurrentAmount != *want.Balance || a.Balances.Currency != "USD" {
			t.Errorf("%s balances %+v, want %v", want.Name, a.Balances, *want.Balance)
		}
		if n, ok := numbers[want.GUID]; ok != (a.Identifiers != nil) || (ok && (a.Identifiers.ACH == nil || a.Identifiers.ACH.AccountNumber != n.AccountNumber || a.Identifiers.ACH.RoutingNumber != *n.RoutingNumber)) {
			t.Errorf("%s identifiers %+v, want %+v", want.Name, a.Identifiers, n)
		}
		if o, ok := owners[want.GUID]; ok != (len(a.Owners) == 1) || (ok && a.Owners[0].Names[0] != o.OwnerName) {
			t.Errorf("%s owners %+v, want %+v", want.Name, a.Owners, o)
		}
	}
	// Every transaction, with banklink's sign: DEBIT positive, CREDIT
	// negative.
	var gotTx []banklink.Transaction
	for _, a := range got {
		gotTx = append(gotTx, a.Transactions...)
	}
	wantTx := fake.Transactions(member)
	if len(wantTx) <= 1000 || len(gotTx) != len(wantTx) {
		t.Fatalf("%d transactions, MX has %d", len(gotTx), len(wantTx))
	}
	if n := fake.Calls("GET /users/{user_guid}/members/{member_guid}/transactions"); n < 2 {
		t.Errorf("transactions read in %d pages", n)
	}
	txByID := map[string]banklink.Transaction{}
	for _, tx := range gotTx {
		txByID[tx.ProviderTransactionID] = tx
	}
	signs := map[string]int{}
	for _, w := range wantTx {
		tx := txByID[w.GUID]
		want := w.Amount
		if w.Type == "CREDIT" {
			want = -want
		}
		if tx.Amount != want || tx.TransactionDate != w.Date || (tx.Status == banklink.TxPending) != (w.Status == "PENDING") {
			t.Fatalf("transaction %+v, MX %+v", tx, w)
		}
		signs[fmt.Sprintf("%s %v", w.Type, math.Signbit(tx.Amount))]++
	}
	if signs["DEBIT false"] == 0 || signs["CREDIT true"] == 0 || len(signs) != 2 {
		t.Errorf("signs = %v", signs)
	}
	holdings := fake.Holdings(member)
	var gotH []banklink.Holding
	for _, a := range got {
		gotH = append(gotH, a.Holdings...)
	}
	if len(holdings) == 0 || len(gotH) != len(holdings) || gotH[0].CurrentValue != holdings[0].MarketValue || gotH[0].Symbol != holdings[0].Symbol {
		t.Errorf("holdings %+v, MX %+v", gotH, holdings)
	}
}

func TestAggregateOnlyWhatWasAsked(t *testing.T) {
	fake, p := setup(t)
	user := newUser(t, p, "balances-only")
	in := bank(fakemx.MXBank, "US")
	step := mustLink(t, p, user, in, []banklink.Product{banklink.Balances})
	got, err := aggregate(t, fake, p, step, in, banklink.Balances)
	if err != nil || len(got) != len(step.Accounts) {
		t.Fatalf("Aggregate = %d accounts, %v", len(got), err)
	}
	for _, a := range got {
		if a.Balances == nil || a.Identifiers != nil || a.Owners != nil || a.Transactions != nil || a.Holdings != nil {
			t.Errorf("account %s: %+v", a.Name, a)
		}
	}
	for _, route := range []string{"account_numbers", "account_owners", "transactions", "investment_holdings"} {
		if n := fake.Calls("GET /users/{user_guid}/members/{member_guid}/" + route); n != 0 {
			t.Errorf("%s read %d times", route, n)
		}
	}
	// Products the institution does not offer through MX are not asked
	// for either, even when the connection holds them.
	narrow := bank(fakemx.MXBank, "US")
	pi := narrow.Providers[mx.ProviderType]
	pi.Products = []banklink.Product{banklink.Balances, banklink.Transactions}
	narrow.Providers = map[string]banklink.ProviderInstitution{mx.ProviderType: pi}
	if _, err := aggregate(t, fake, p, step, narrow, allProducts...); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls("GET /users/{user_guid}/members/{member_guid}/account_numbers"); n != 0 {
		t.Errorf("account numbers read for an institution without IDENTIFIERS")
	}
}

// TestRefreshLimit: MX aggregates a member at most once per
// MinAggregationInterval. Inside it Aggregate reads what MX has; a
// refresh is refused ahead of time with when to come back.
func TestRefreshLimit(t *testing.T) {
	fake, p := setup(t)
	user := newUser(t, p, "refresher")
	in := bank(fakemx.MXBank, "US")
	// MX's timestamps are in seconds, and the fake's clock runs: the link
	// is stamped with one of the seconds it spanned.
	linkFrom := fake.Now().Truncate(time.Second)
	step := mustLink(t, p, user, in, allProducts)
	linkTo := fake.Now().Truncate(time.Second)
	const aggregateRoute = "POST /users/{user_guid}/members/{member_guid}/aggregate"

	// Right after the widget: the data is fresh, no new aggregation.
	if _, err := aggregate(t, fake, p, step, in, banklink.Balances); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls(aggregateRoute); n != 0 {
		t.Fatalf("aggregation asked %d times inside the interval", n)
	}
	next, err := p.NextRefresh(t.Context(), step.LoginID, nil, fake.Now())
	if lo, hi := linkFrom.Add(mx.MinAggregationInterval), linkTo.Add(mx.MinAggregationInterval); err != nil || next.Before(lo) || next.After(hi) {
		t.Fatalf("NextRefresh = %v, %v; want the link's second plus %s (%v to %v)", next, err, mx.MinAggregationInterval, lo, hi)
	}

	// After the interval MX aggregates again, and NextRefresh says now.
	fake.Advance(mx.MinAggregationInterval + time.Minute)
	if next, err := p.NextRefresh(t.Context(), step.LoginID, nil, fake.Now()); err != nil || !next.IsZero() {
		t.Fatalf("NextRefresh after the interval = %v, %v", next, err)
	}
	fake.SetAggregationPolls(2)
	if _, err := aggregate(t, fake, p, step, in, banklink.Balances); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls(aggregateRoute); n != 1 {
		t.Fatalf("aggregation asked %d times after the interval", n)
	}
	m, _ := fake.Member(memberOf(step))
	if m.AggregatedAt == nil || *m.AggregatedAt != fake.Now().Format(time.RFC3339) {
		t.Errorf("member aggregated at %v, now %v", m.AggregatedAt, fake.Now())
	}

	// MX declines an aggregation the provider thought due (its interval
	// is longer than configured): ERATELIMITED with the time to retry.
	short := newProvider(fake, mx.Config{MinAggregationInterval: time.Hour})
	fake.Advance(time.Hour + time.Minute)
	_, err = aggregate(t, fake, short, step, in, banklink.Balances)
	rl, ok := errors.AsType[*mx.RateLimitError](err)
	if banklink.ErrorCode(err) != banklink.ERATELIMITED || !ok || !rl.RetryAt.After(fake.Now()) {
		t.Fatalf("declined aggregation: %v (rate limit %+v)", err, rl)
	}

	// MX's own 429 carries Retry-After.
	fake.Fail(fakemx.Failure{Method: "GET", Path: "/users/{user_guid}/members/{member_guid}/status", Status: http.StatusTooManyRequests, Message: "Too many requests", RetryAfter: "120"})
	before := fake.Now()
	_, err = p.NextRefresh(t.Context(), step.LoginID, nil, fake.Now())
	rl, ok = errors.AsType[*mx.RateLimitError](err)
	if !ok {
		t.Fatalf("429: %v", err)
	}
	if wait := rl.RetryAt.Sub(before); banklink.ErrorCode(err) != banklink.ERATELIMITED || !ok || wait < 2*time.Minute || wait > fake.Now().Sub(before)+2*time.Minute {
		t.Fatalf("429: %v (retry %v)", err, rl.RetryAt)
	}
}

func TestAggregateFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(fake *fakemx.Server, member string)
		want   string
	}{
		{"password changed at the bank", func(f *fakemx.Server, m string) { f.SetNextAggregation(m, mx.StatusDenied) }, banklink.LoginInvalidCredentials},
		{"locked at the bank", func(f *fakemx.Server, m string) { f.SetNextAggregation(m, mx.StatusLocked) }, banklink.LoginLocked},
		{"institution degraded", func(f *fakemx.Server, m string) { f.SetNextAggregation(m, mx.StatusDegraded) }, banklink.LoginInstitutionDown},
		{"member closed", func(f *fakemx.Server, m string) { f.SetMemberStatus(m, mx.StatusClosed) }, banklink.LoginInvalidCredentials},
		{"MX failing", func(f *fakemx.Server, m string) {
			f.Fail(fakemx.Failure{Method: "GET", Path: "/users/{user_guid}/members/{member_guid}/status", Status: http.StatusServiceUnavailable, Message: "maintenance"})
		}, banklink.LoginProviderDown},
		{"member deleted at MX", func(f *fakemx.Server, m string) {
			f.Fail(fakemx.Failure{Method: "GET", Path: "/users/{user_guid}/members/{member_guid}/status", Status: http.StatusNotFound, Message: "Record not found"})
		}, banklink.LoginInvalidCredentials},
		{"still aggregating after the wait", func(f *fakemx.Server, m string) { f.SetAggregationPolls(1 << 20) }, banklink.LoginProviderDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakemx.New(t)
			p := newProvider(fake, mx.Config{AggregationWait: 50 * time.Millisecond})
			user := newUser(t, p, "failing")
			in := bank(fakemx.MXBank, "US")
			step := mustLink(t, p, user, in, allProducts)
			fake.Advance(mx.MinAggregationInterval)
			tc.script(fake, memberOf(step))
			_, err := aggregate(t, fake, p, step, in, allProducts...)
			if reason(err) != tc.want {
				t.Fatalf("Aggregate: %v (%s), want %s", err, reason(err), tc.want)
			}
		})
	}
}

func TestRemoveLogin(t *testing.T) {
	fake, p := setup(t)
	user := newUser(t, p, "leaver")
	step := mustLink(t, p, user, bank(fakemx.MXBank, "US"), allProducts)
	if err := p.RemoveLogin(t.Context(), step.LoginID, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := fake.Member(memberOf(step)); ok {
		t.Fatal("member still at MX")
	}
	// Removing again (a retry after a timeout) succeeds: it is gone.
	if err := p.RemoveLogin(t.Context(), step.LoginID, nil); err != nil {
		t.Fatalf("second removal: %v", err)
	}
	if err := p.RemoveLogin(t.Context(), "not-an-mx-login", nil); banklink.ErrorCode(err) != banklink.EINTERNAL {
		t.Fatalf("malformed login id: %v", err)
	}
	fake.Fail(fakemx.Failure{Method: "DELETE", Path: "/users/{user_guid}/members/{member_guid}", Status: http.StatusInternalServerError})
	if err := p.RemoveLogin(t.Context(), step.LoginID, nil); reason(err) != banklink.LoginProviderDown {
		t.Fatalf("MX failing: %v", err)
	}
}

func TestInstitutions(t *testing.T) {
	fake, p := setup(t)
	got, err := p.Institutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Every page was read, 100 institutions a page (the most MX takes;
	// above it MX uses 25), the client-disabled institution left out.
	if pages := (fakemx.DirectorySize + 99) / 100; len(got) != fakemx.DirectorySize-1 || fake.Calls("GET /institutions") != pages {
		t.Fatalf("%d institutions in %d pages", len(got), fake.Calls("GET /institutions"))
	}
	byCode := map[string]*banklink.Institution{}
	for _, in := range got {
		pi, ok := in.Providers[mx.ProviderType]
		if !ok || in.ID != "" || in.Name == "" || len(in.Regions) != 1 || !pi.Redirect || pi.Health != banklink.HealthHealthy {
			t.Fatalf("institution %+v", in)
		}
		byCode[pi.ProviderInstitutionID] = in
	}
	for _, tc := range []struct {
		code, domain string
		region       banklink.Region
		products     []banklink.Product
	}{
		{fakemx.MXBank, "mxbank.com", "US", []banklink.Product{banklink.Balances, banklink.Identifiers, banklink.Owners, banklink.Transactions, banklink.HistoricalTransactions, banklink.InvestmentHoldings}},
		{fakemx.MXBankOAuth, "oauth.mxbank.com", "US", []banklink.Product{banklink.Balances, banklink.Identifiers, banklink.Owners, banklink.Transactions, banklink.InvestmentHoldings}},
		{fakemx.MapleBank, "maplemx.ca", "CA", []banklink.Product{banklink.Balances, banklink.Identifiers, banklink.Owners, banklink.Transactions, banklink.InvestmentHoldings}},
	} {
		t.Run(tc.code, func(t *testing.T) {
			in := byCode[tc.code]
			if in == nil {
				t.Fatal("missing")
			}
			got := banklink.NewProductSet(in.Providers[mx.ProviderType].Products...)
			if got != banklink.NewProductSet(tc.products...) || in.Domain != tc.domain || in.Regions[0] != tc.region {
				t.Errorf("%+v products %v", in, in.Providers[mx.ProviderType].Products)
			}
		})
	}
	if _, ok := byCode[fakemx.Disabled]; ok {
		t.Error("client-disabled institution listed")
	}
	fake.Fail(fakemx.Failure{Method: "GET", Path: "/institutions", Status: http.StatusUnauthorized})
	if _, err := p.Institutions(t.Context()); reason(err) != banklink.EPROVIDER+"/MX_UNAUTHORIZED" {
		t.Errorf("unauthorized: %v", err)
	}
}

func TestRequestsFollowMXsRules(t *testing.T) {
	// The fake answers 406 without MX's media type and 401 without the
	// client's Basic credentials; every call above passed, so the
	// provider sent both. Here the fake's own checks are shown to bite.
	fake, _ := setup(t)
	for _, tc := range []struct {
		name   string
		header func(r *http.Request)
		want   int
	}{
		{"no credentials", func(r *http.Request) { r.Header.Set("Accept", fakemx.MediaType) }, http.StatusUnauthorized},
		{"no media type", func(r *http.Request) { r.SetBasicAuth(fakemx.ClientID, fakemx.APIKey) }, http.StatusNotAcceptable},
		{"both", func(r *http.Request) {
			r.SetBasicAuth(fakemx.ClientID, fakemx.APIKey)
			r.Header.Set("Accept", fakemx.MediaType)
		}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequestWithContext(context.Background(), "GET", fake.URL+"/institutions?records_per_page=10", nil)
			tc.header(r)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	// Institutions come 10 to 100 a page; asked for more, MX sends 25.
	for asked, want := range map[int]int{5: 10, 100: 100, 101: 25, 1000: 25} {
		r, _ := http.NewRequestWithContext(context.Background(), "GET", fmt.Sprintf("%s/institutions?records_per_page=%d", fake.URL, asked), nil)
		r.SetBasicAuth(fakemx.ClientID, fakemx.APIKey)
		r.Header.Set("Accept", fakemx.MediaType)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Institutions []json.RawMessage
			Pagination   struct {
				PerPage int `json:"per_page"`
			}
		}
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if len(page.Institutions) != want || page.Pagination.PerPage != want {
			t.Errorf("records_per_page=%d: %d institutions, per_page %d; want %d", asked, len(page.Institutions), page.Pagination.PerPage, want)
		}
	}
}

// TestOptionalProductsInConnect: MX Connect is opened for the connection's
// optional products too, where MX offers them at the institution, so
// that they are gathered and can be aggregated.
func TestOptionalProductsInConnect(t *testing.T) {
	optional := []banklink.Product{banklink.Owners, banklink.Identifiers}
	products := []banklink.Product{banklink.Balances, banklink.Transactions}
	narrow := bank(fakemx.MXBank, "US")
	pi := narrow.Providers[mx.ProviderType]
	pi.Products = []banklink.Product{banklink.Balances, banklink.Transactions, banklink.Owners}
	narrow.Providers = map[string]banklink.ProviderInstitution{mx.ProviderType: pi}
	for _, tc := range []struct {
		name                string
		in                  *banklink.Institution
		owners, identifiers bool
	}{
		{"offered at the institution", bank(fakemx.MXBank, "US"), true, true},
		// Verification mode would refuse an institution without account
		// verification: Connect opens as without IDENTIFIERS.
		{"only owners offered", narrow, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, p := setup(t)
			user := newUser(t, p, "optional")
			req := loginRequest(user, tc.in, products)
			req.OptionalProducts = optional
			start, err := p.StartLogin(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			step, err := p.CompleteRedirect(t.Context(), req, widgetLogin(t, start.RedirectURL, "mxuser", "correct", "connect"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := aggregate(t, fake, p, step, tc.in, append(slices.Clone(products), optional...)...)
			if err != nil {
				t.Fatal(err)
			}
			var owners, identifiers bool
			for _, a := range got {
				owners = owners || len(a.Owners) > 0
				identifiers = identifiers || a.Identifiers != nil
			}
			if owners != tc.owners || identifiers != tc.identifiers {
				t.Errorf("owners %v, identifiers %v; want %v and %v", owners, identifiers, tc.owners, tc.identifiers)
			}
			// What MX Connect gathered: account numbers only in
			// verification mode.
			if gathered := len(fake.AccountNumbers(memberOf(step))) > 0; gathered != tc.identifiers {
				t.Errorf("MX gathered account numbers: %v, want %v", gathered, tc.identifiers)
			}
		})
	}
}
