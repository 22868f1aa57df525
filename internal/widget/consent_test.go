package widget_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"banklink"
	"banklink/internal/sandbox"
)

func TestWidgetConsentErrors(t *testing.T) {
	st := newStack(t)
	fresh := func() string {
		return st.Start(`{"externalCustomerId":"c1","products":["BALANCES"],"optionalProducts":["OWNERS","IDENTIFIERS"]}`).ConnectToken
	}
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"required product", `{"declinedProducts":["BALANCES"]}`, 400, "declinedProducts"},
		{"product not asked for", `{"declinedProducts":["TRANSACTIONS"]}`, 400, "declinedProducts"},
		{"unknown product", `{"declinedProducts":["EVERYTHING"]}`, 400, "declinedProducts"},
		{"declined twice", `{"declinedProducts":["OWNERS","OWNERS"]}`, 400, "declinedProducts"},
		{"too many", `{"declinedProducts":["OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS","OWNERS"]}`, 400, "declinedProducts"},
		{"not a list", `{"declinedProducts":"OWNERS"}`, 400, ""},
		{"malformed body", `{`, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := fresh()
			status, body := st.Call(tok, "POST", "consent", tc.body)
			if status != tc.status || body["code"] != "BAD_REQUEST" || body["message"] == "" || body["requestId"] == "" {
				t.Fatalf("got %d %v, want %d BAD_REQUEST", status, body, tc.status)
			}
			if tc.field != "" && body["field"] != tc.field {
				t.Errorf("field = %v, want %s", body["field"], tc.field)
			}
			// Nothing was recorded.
			if _, s := st.Call(tok, "GET", "session", ""); s["consent"] != nil {
				t.Errorf("consent after a refused answer: %v", s["consent"])
			}
		})
	}
}

// recordingLogin is the sandbox login, remembering the optional products
// each login asked for.
type recordingLogin struct {
	*sandbox.Provider
	mu       sync.Mutex
	optional [][]banklink.Product
}

func (r *recordingLogin) SubmitCredentials(ctx context.Context, req banklink.LoginRequest) (*banklink.LoginStep, error) {
	r.mu.Lock()
	r.optional = append(r.optional, slices.Clone(req.OptionalProducts))
	r.mu.Unlock()
	return r.Provider.SubmitCredentials(ctx, req)
}

// TestWidgetConsentDeclinesOptionalProduct: a customer who declines an
// optional product on the consent screen gets a connection without it:
// the provider is not asked for it, the connection does not list it and
// its aggregation stores none of it, while the accepted one is stored.
func TestWidgetConsentDeclinesOptionalProduct(t *testing.T) {
	rec := &recordingLogin{Provider: &sandbox.Provider{}}
	st := newStackWithProviders(t, []string{sandbox.ProviderType}, map[string]banklink.InteractiveLogin{sandbox.ProviderType: rec}, nil)
	if err := st.Store.SaveAppProfile(t.Context(), st.Scope, &banklink.AppProfile{DisplayName: "Acme Budget",
		PrivacyPolicyURL: "https://acme.example/privacy", BrandColor: "#0f766e"}); err != nil {
		t.Fatal(err)
	}
	resp := st.Start(`{"externalCustomerId":"c1","products":["BALANCES","TRANSACTIONS"],"optionalProducts":["OWNERS","IDENTIFIERS"]}`)
	tok := resp.ConnectToken
	status, s := st.Call(tok, "GET", "session", "")
	if status != 200 || s["consent"] != nil {
		t.Fatalf("new session: %d consent %v", status, s["consent"])
	}
	if app := s["app"].(map[string]any); app["name"] != "Acme Budget" || app["privacyPolicyUrl"] != "https://acme.example/privacy" || app["brandColor"] != "#0f766e" {
		t.Errorf("app = %v", app)
	}
	// A first answer, then a changed mind: the last one counts.
	st.Call(tok, "POST", "consent", `{"declinedProducts":["IDENTIFIERS"]}`)
	if status, s = st.Call(tok, "POST", "consent", `{"declinedProducts":["OWNERS"]}`); status != 200 {
		t.Fatalf("consent: %d %v", status, s)
	}
	// A reload (a new GET) finds the answer in the session.
	_, s = st.Call(tok, "GET", "session", "")
	if c, _ := s["consent"].(map[string]any); c == nil || fmt.Sprint(c["declinedProducts"]) != "[OWNERS]" {
		t.Fatalf("consent after reload = %v", s["consent"])
	}
	bank := st.Institution("Sandbox Bank")
	st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID))
	// Choosing an institution and stepping back keep the answer.
	st.Call(tok, "POST", "back", `{}`)
	st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID))
	_, s = st.Call(tok, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
	if c, _ := s["consent"].(map[string]any); c == nil || fmt.Sprint(c["declinedProducts"]) != "[OWNERS]" {
		t.Fatalf("consent at the accounts = %v", s["consent"])
	}
	rec.mu.Lock()
	asked := rec.optional
	rec.mu.Unlock()
	if len(asked) != 1 || !slices.Equal(asked[0], []banklink.Product{banklink.Identifiers}) {
		t.Errorf("the provider was asked for optional products %v, want [[IDENTIFIERS]]", asked)
	}
	st.CompleteAll(tok, s)
	st.Runner.Wait()

	var conn struct {
		Products         []string `json:"products"`
		OptionalProducts []string `json:"optionalProducts"`
	}
	st.Get("/bank-linking/connections/"+resp.ID, &conn)
	if fmt.Sprint(conn.OptionalProducts) != "[IDENTIFIERS]" || fmt.Sprint(conn.Products) != "[BALANCES TRANSACTIONS]" {
		t.Errorf("connection products %v optional %v, want the declined OWNERS gone", conn.Products, conn.OptionalProducts)
	}
	var accounts struct {
		FinancialAccounts []struct {
			Type        string `json:"type"`
			Owners      []any  `json:"owners"`
			Identifiers struct {
				ACH any `json:"ach"`
			} `json:"identifiers"`
		} `json:"financialAccounts"`
	}
	st.Get("/bank-linking/accounts?limit=100&connectionId="+resp.ID, &accounts)
	if len(accounts.FinancialAccounts) == 0 {
		t.Fatal("no accounts aggregated")
	}
	ach := 0
	for _, a := range accounts.FinancialAccounts {
		if a.Owners != nil {
			t.Errorf("a %s account has owners %v, though the customer declined OWNERS", a.Type, a.Owners)
		}
		if a.Identifiers.ACH != nil {
			ach++
		}
	}
	if ach == 0 {
		t.Error("no account numbers stored, though IDENTIFIERS was accepted")
	}
}

// TestWidgetPreselected: the account choice starts with only the kinds of
// account the shared products are about ticked.
func TestWidgetPreselected(t *testing.T) {
	st := newStack(t)
	bank := st.Institution("Sandbox Bank")
	for _, tc := range []struct {
		name, start, declined string
		want                  map[string]bool // by type
	}{
		{"balances and transactions", `{"products":["BALANCES","TRANSACTIONS"]}`, "",
			map[string]bool{"DEPOSITORY": true, "CREDIT": true, "LOAN": false, "INVESTMENT": false}},
		{"investments only", `{"products":["INVESTMENT_HOLDINGS"]}`, "",
			map[string]bool{"INVESTMENT": true}},
		{"both", `{"products":["BALANCES","INVESTMENT_TRANSACTIONS"]}`, "",
			map[string]bool{"DEPOSITORY": true, "CREDIT": true, "LOAN": false, "INVESTMENT": true}},
		{"optional investments accepted", `{"products":["BALANCES"],"optionalProducts":["INVESTMENT_HOLDINGS"]}`, `[]`,
			map[string]bool{"DEPOSITORY": true, "CREDIT": true, "LOAN": false, "INVESTMENT": true}},
		{"optional investments declined", `{"products":["BALANCES"],"optionalProducts":["INVESTMENT_HOLDINGS"]}`, `["INVESTMENT_HOLDINGS"]`,
			map[string]bool{"DEPOSITORY": true, "CREDIT": true, "LOAN": false, "INVESTMENT": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := st.Start(tc.start).ConnectToken
			if tc.declined != "" {
				if status, s := st.Call(tok, "POST", "consent", `{"declinedProducts":`+tc.declined+`}`); status != 200 {
					t.Fatalf("consent: %d %v", status, s)
				}
			}
			st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID))
			_, s := st.Call(tok, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
			got := map[string]bool{}
			for _, a := range s["accounts"].([]any) {
				a := a.(map[string]any)
				typ, pre := a["type"].(string), a["preselected"].(bool)
				if prev, seen := got[typ]; seen && prev != pre {
					t.Errorf("%s accounts disagree", typ)
				}
				got[typ] = pre
			}
			for typ, want := range tc.want {
				if g, ok := got[typ]; !ok || g != want {
					t.Errorf("%s preselected = %v (offered: %v), want %v", typ, g, ok, want)
				}
			}
		})
	}
}

// TestWidgetPageCSPAdmitsLogo: the widget page's CSP lets in images from
// the app logo's origin and no other, and none without a logo.
func TestWidgetPageCSPAdmitsLogo(t *testing.T) {
	st := newStack(t)
	csp := func() string {
		t.Helper()
		resp, err := http.Get(st.Start(`{"externalCustomerId":"csp"}`).WidgetURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Content-Security-Policy")
	}
	if got := csp(); !strings.Contains(got, "img-src 'self' data:;") {
		t.Errorf("without a logo: %s", got)
	}
	if err := st.Store.SaveAppProfile(t.Context(), st.Scope, &banklink.AppProfile{LogoURL: "https://cdn.acme.example:8443/brand/logo.png"}); err != nil {
		t.Fatal(err)
	}
	if got := csp(); !strings.Contains(got, "img-src 'self' data: https://cdn.acme.example:8443;") {
		t.Errorf("with a logo: %s", got)
	}
}
