package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/dashboard"
	"banklink/internal/sandbox"
)

func TestSignIn(t *testing.T) {
	st := newStack(t)
	c := st.client("192.0.2.1")

	// Pages need a session: to the sign-in page and back afterwards.
	r := c.get("/dashboard/sandbox/keys")
	if r.status != http.StatusSeeOther || r.location() != "/dashboard/login?next=%2Fdashboard%2Fsandbox%2Fkeys" {
		t.Fatalf("signed-out GET: %d → %q", r.status, r.location())
	}
	// An unknown email and a wrong password get the same answer.
	wrong := c.tryLogin("ops@acme.example", "not the password")
	unknown := c.tryLogin("nobody@acme.example", password)
	for _, r := range []*response{wrong, unknown} {
		if r.status != http.StatusUnauthorized || errorOf(r.body) != "The email or password is incorrect." {
			t.Errorf("failed sign-in: %d %q", r.status, errorOf(r.body))
		}
	}
	if _, ok := c.cookies[dashboard.CookieName]; ok {
		t.Fatal("a failed sign-in set a session cookie")
	}
	// The sign-in form's own token (double submit) is required.
	if r := c.do("POST", "/dashboard/login", url.Values{"email": {"ops@acme.example"}, "password": {password}}); r.status != http.StatusForbidden {
		t.Errorf("sign-in without the form token: %d", r.status)
	}

	page := c.get("/dashboard/login?next=%2Fdashboard%2Fproduction%2Fwebhooks")
	tok := loginTokenRE.FindStringSubmatch(page.body)[1]
	r = c.do("POST", "/dashboard/login", url.Values{"login_csrf": {tok}, "email": {" OPS@acme.example"}, "password": {password},
		"next": {"/dashboard/production/webhooks"}})
	if r.status != http.StatusSeeOther || r.location() != "/dashboard/production/webhooks" {
		t.Fatalf("sign-in: %d → %q %s", r.status, r.location(), errorOf(r.body))
	}
	ck := c.cookies[dashboard.CookieName]
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/dashboard" || ck.Secure || len(ck.Value) != 43 {
		t.Fatalf("session cookie = %+v", ck)
	}
	r = c.get("/dashboard/production/webhooks")
	if r.status != 200 || !strings.Contains(r.body, "ops@acme.example") {
		t.Fatalf("page after sign-in: %d", r.status)
	}
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q", csp)
	}
	// Only local dashboard paths are places to return to.
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/dashboard/../x", "/dashboard/%2e%2e/x", `/dashboard/\evil`, "/dashboard//evil.example"} {
		c2 := st.client("192.0.2.9")
		page := c2.get("/dashboard/login")
		tok := loginTokenRE.FindStringSubmatch(page.body)[1]
		r := c2.do("POST", "/dashboard/login", url.Values{"login_csrf": {tok}, "email": {"ops@beta.example"}, "password": {password}, "next": {next}})
		if r.status != http.StatusSeeOther || r.location() != "/dashboard/sandbox/connections" {
			t.Errorf("next %q: %d → %q", next, r.status, r.location())
		}
	}

	// Signing out ends the session in the database: the old cookie no
	// longer works.
	old := *ck
	r = c.post("/dashboard/logout", nil)
	if r.status != http.StatusSeeOther || r.location() != "/dashboard/login?signed_out=1" {
		t.Fatalf("sign-out: %d → %q", r.status, r.location())
	}
	if _, ok := c.cookies[dashboard.CookieName]; ok {
		t.Error("sign-out left the cookie")
	}
	c.cookies[dashboard.CookieName] = &old
	if r := c.get("/dashboard/sandbox/keys"); r.status != http.StatusSeeOther {
		t.Errorf("old session after sign-out: %d", r.status)
	}
}

// TestHSTS: with an https public URL the dashboard's pages, the widget's
// page and API, and the Meld API all send Strict-Transport-Security;
// over http none does.
func TestHSTS(t *testing.T) {
	for _, tc := range []struct {
		name, public, want string
	}{
		{"https", "https://link.example.com", "max-age=63072000; includeSubDomains"},
		{"http", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []option
			if tc.public != "" {
				opts = append(opts, func(c *dashboard.Config) { c.PublicURL = tc.public })
			}
			st := newStack(t, opts...)
			c := st.client("192.0.2.1")
			for _, path := range []string{"/dashboard/login", "/dashboard/sandbox/keys", "/dashboard/static/dashboard.css", "/connect", "/connect/api/session", "/healthz", "/bank-linking/connections"} {
				r := c.get(path)
				if got := r.header.Get("Strict-Transport-Security"); got != tc.want {
					t.Errorf("GET %s (%d): Strict-Transport-Security %q, want %q", path, r.status, got, tc.want)
				}
			}
		})
	}
}

func TestSecureCookieOnHTTPS(t *testing.T) {
	st := newStack(t, func(c *dashboard.Config) { c.PublicURL = "https://link.example.com" })
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	if ck := c.cookies[dashboard.CookieName]; !ck.Secure {
		t.Errorf("cookie on an https deployment is not Secure: %+v", ck)
	}
	// A post from the plain-http origin is another origin.
	c.origin = "http://link.example.com"
	if r := c.post("/dashboard/sandbox/keys", url.Values{"name": {"x"}}); r.status != http.StatusForbidden {
		t.Errorf("post from http origin: %d", r.status)
	}
}

func TestLockout(t *testing.T) {
	st := newStack(t)
	c := st.client("198.51.100.7")
	for i := range 5 {
		if r := c.tryLogin("ops@acme.example", "wrong password"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
	}
	// Locked: even the right password is refused, without being checked.
	r := c.tryLogin("ops@acme.example", password)
	if r.status != http.StatusTooManyRequests || !strings.Contains(errorOf(r.body), "Too many failed sign-in attempts") {
		t.Fatalf("after 5 failures: %d %q", r.status, errorOf(r.body))
	}
	if _, ok := c.cookies[dashboard.CookieName]; ok {
		t.Fatal("a locked-out sign-in got a session")
	}
	// Per email and address: the same email elsewhere, and another
	// email here, still sign in.
	st.client("198.51.100.8").login("ops@acme.example")
	c.login("ops@beta.example")

	// Unknown emails lock the same way (nothing tells them apart).
	u := st.client("198.51.100.9")
	for range 5 {
		u.tryLogin("nobody@acme.example", "x")
	}
	if r := u.tryLogin("nobody@acme.example", "x"); r.status != http.StatusTooManyRequests {
		t.Errorf("unknown email after 5 failures: %d", r.status)
	}

	// An IPv6 client is its /64: walking through its addresses gives no
	// fresh attempts.
	for i := range 5 {
		st.client(fmt.Sprintf("2001:db8:7:7::%x", i+1)).tryLogin("ops@beta.example", "wrong password")
	}
	if r := st.client("2001:db8:7:7::99").tryLogin("ops@beta.example", password); r.status != http.StatusTooManyRequests {
		t.Errorf("sixth address of one /64 after 5 failures: %d", r.status)
	}
	st.client("2001:db8:7:8::1").login("ops@beta.example")

	// The window lets one more attempt through every 3 minutes.
	st.clock.advance(3*time.Minute + time.Second)
	c2 := st.client("198.51.100.7")
	c2.login("ops@acme.example")
	if !strings.Contains(st.logs.String(), `"msg":"dashboard sign-in locked out"`) {
		t.Error("the lockout was not logged")
	}
}

func TestSessionExpiry(t *testing.T) {
	st := newStack(t)
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	hash := func() []byte {
		sess, err := st.store.FindOperatorSession(context.Background(), hashOf(c.cookies[dashboard.CookieName].Value), st.clock.now())
		if err != nil {
			t.Fatal(err)
		}
		return sess.IDHash
	}
	_ = hash()
	st.clock.advance(time.Hour)
	if r := c.get("/dashboard/sandbox/connections"); r.status != 200 {
		t.Fatalf("after 1h: %d", r.status)
	}
	sess, err := st.store.FindOperatorSession(context.Background(), hashOf(c.cookies[dashboard.CookieName].Value), st.clock.now())
	if err != nil || st.clock.now().Sub(sess.LastSeenAt) > time.Minute {
		t.Errorf("last seen not recorded: %+v %v", sess, err)
	}
	st.clock.advance(dashboard.SessionTTL - time.Hour - time.Minute)
	if r := c.get("/dashboard/sandbox/connections"); r.status != 200 {
		t.Fatalf("just before expiry: %d", r.status)
	}
	st.clock.advance(2 * time.Minute)
	r := c.get("/dashboard/sandbox/connections")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/dashboard/login") {
		t.Fatalf("after 12h: %d → %q", r.status, r.location())
	}
	if r := c.post("/dashboard/sandbox/keys", url.Values{"name": {"late"}}); r.status != http.StatusSeeOther {
		t.Errorf("post after expiry: %d", r.status)
	}
	if keys, _ := st.store.FindAPIKeys(context.Background(), st.a.ID); len(keys) != 1 {
		t.Errorf("an expired session created a key (%d keys)", len(keys))
	}
}

func TestCSRF(t *testing.T) {
	st := newStack(t)
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	other := st.client("192.0.2.2")
	other.login("ops@beta.example")
	good := c.csrf

	for _, tc := range []struct {
		name            string
		csrf            string
		origin, referer string
	}{
		{"no token", "", st.public, ""},
		{"wrong token", good[:42] + "x", st.public, ""},
		{"another session's token", other.csrf, st.public, ""},
		{"foreign Origin", good, "https://evil.example", ""},
		{"Origin null", good, "null", ""},
		{"foreign Referer, no Origin", good, "", "https://evil.example/page"},
		{"neither Origin nor Referer", good, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.origin, c.referer = tc.origin, tc.referer
			r := c.post("/dashboard/sandbox/keys", url.Values{"name": {"csrf-" + tc.name}, "csrf": {tc.csrf}})
			if r.status != http.StatusForbidden || !strings.Contains(errorOf(r.body), "did not come from this dashboard") {
				t.Errorf("%d %q", r.status, errorOf(r.body))
			}
		})
	}
	// Revoking and sign-out are guarded the same way.
	c.origin = "https://evil.example"
	if r := c.post("/dashboard/logout", url.Values{"csrf": {good}}); r.status != http.StatusForbidden {
		t.Errorf("foreign sign-out: %d", r.status)
	}
	// Accepted: the right token from the public origin (Origin, or a
	// same-origin Referer when a browser sends no Origin).
	c.origin, c.referer = "", st.public+"/dashboard/sandbox/keys"
	if r := c.post("/dashboard/sandbox/keys", url.Values{"name": {"via-referer"}, "csrf": {good}}); r.status != http.StatusCreated {
		t.Errorf("same-origin Referer: %d %q", r.status, errorOf(r.body))
	}
	c.origin, c.referer = st.public, ""
	if r := c.post("/dashboard/sandbox/keys", url.Values{"name": {"via-origin"}, "csrf": {good}}); r.status != http.StatusCreated {
		t.Errorf("same Origin: %d %q", r.status, errorOf(r.body))
	}
	keys, _ := st.store.FindAPIKeys(context.Background(), st.a.ID)
	if len(keys) != 3 { // the stack's own key and the two accepted
		t.Errorf("%d keys, want 3", len(keys))
	}
	// GET never changes state.
	if r := c.get("/dashboard/sandbox/keys/" + keys[1].ID + "/revoke"); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET revoke: %d", r.status)
	}
	if k, _ := st.store.FindAPIKeyByID(context.Background(), keys[1].ID); k.Revoked() {
		t.Error("GET revoked a key")
	}
	// The sign-in form checks the origin too (login CSRF).
	l := st.client("192.0.2.3")
	l.origin = "https://evil.example"
	if r := l.tryLogin("ops@acme.example", password); r.status != http.StatusForbidden {
		t.Errorf("sign-in from a foreign origin: %d", r.status)
	}
}

func TestAPIKeys(t *testing.T) {
	st := newStack(t)
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	if r := c.post("/dashboard/sandbox/keys", url.Values{"name": {"  "}}); r.status != http.StatusBadRequest {
		t.Errorf("empty name: %d", r.status)
	}
	r := c.post("/dashboard/sandbox/keys", url.Values{"name": {"backend"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %q", r.status, errorOf(r.body))
	}
	plain := keyRE.FindString(r.body)
	env, id, _, ok := banklink.ParseAPIKey(plain)
	if !ok || env != banklink.Sandbox {
		t.Fatalf("no key shown: %q", plain)
	}
	// The key works against the API at once.
	if status := st.connectStart(plain); status != http.StatusCreated {
		t.Fatalf("connect/start with the new key: %d", status)
	}
	// Shown once: the list names it but never shows the secret again.
	list := c.get("/dashboard/sandbox/keys")
	if strings.Contains(list.body, plain) || !strings.Contains(list.body, id) || !strings.Contains(list.body, "backend") {
		t.Errorf("key list after creation shows the plaintext or lacks the key")
	}
	if p := c.get("/dashboard/production/keys"); strings.Contains(p.body, id) {
		t.Error("a sandbox key is listed under production")
	}
	r = c.post("/dashboard/sandbox/keys/"+id+"/revoke", nil)
	if r.status != http.StatusSeeOther || r.location() != "/dashboard/sandbox/keys?done=revoked" {
		t.Fatalf("revoke: %d → %q", r.status, r.location())
	}
	if !strings.Contains(c.get(r.location()).body, "was revoked") {
		t.Error("no confirmation after revoking")
	}
	// Revoked through this process: refused at once, not after the cache.
	if status := st.connectStart(plain); status != http.StatusUnauthorized {
		t.Errorf("revoked key: %d", status)
	}
	if r := c.post("/dashboard/sandbox/keys/"+id+"/revoke", nil); r.status != http.StatusConflict {
		t.Errorf("revoke twice: %d", r.status)
	}
}

func TestWebhooksPage(t *testing.T) {
	st := newStack(t)
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	for _, tc := range []struct{ env, url, want string }{
		{"sandbox", "ftp://example.com/x", "must use http or https"},
		{"production", "http://app.example.com/hooks", "must use https in production"},
		{"production", "https://127.0.0.1/hooks", "internal address"},
		{"sandbox", "http://127.0.0.1:9/hooks", "internal address"}, // -webhook-private-targets none by default
	} {
		r := c.post("/dashboard/"+tc.env+"/webhooks", url.Values{"url": {tc.url}, "version": {"2022-11-10"}})
		if r.status != http.StatusBadRequest || !strings.Contains(errorOf(r.body), tc.want) || !strings.Contains(r.body, tc.url) {
			t.Errorf("%s %s: %d %q", tc.env, tc.url, r.status, errorOf(r.body))
		}
	}
	r := c.post("/dashboard/sandbox/webhooks", url.Values{"url": {"http://hooks.example.com/hooks"}, "version": {"2021-10-27"},
		"eventTypes": {"BANK_LINKING_CONNECTION_COMPLETED", "BANK_LINKING_CONNECTION_STATUS_CHANGE"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %q", r.status, errorOf(r.body))
	}
	profiles, _ := st.store.FindWebhookProfiles(context.Background(), st.scopeA())
	if len(profiles) != 1 || profiles[0].Version != "2021-10-27" || len(profiles[0].EventTypes) != 2 {
		t.Fatalf("profiles = %+v", profiles)
	}
	if !strings.Contains(r.body, profiles[0].Secret) {
		t.Error("the new secret is not shown")
	}
	if strings.Contains(c.get("/dashboard/sandbox/webhooks").body, profiles[0].Secret) {
		t.Error("the secret is shown again")
	}
	// Events of a linking appear with their deliveries.
	resp := st.start(st.scopeA(), `{"externalCustomerId":"w1","products":["BALANCES"]}`)
	st.link(resp.ConnectToken)
	page := c.get("/dashboard/sandbox/webhooks").body
	for _, want := range []string{"BANK_LINKING_CONNECTION_COMPLETED", "PENDING", "http://hooks.example.com/hooks", resp.ID[:8]} {
		if !strings.Contains(page, want) {
			t.Errorf("events section lacks %q", want)
		}
	}
}

func TestProvidersAndRouting(t *testing.T) {
	st := newStack(t)
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	p := c.get("/dashboard/sandbox/providers").body
	if !strings.Contains(p, "configured no provider") || !strings.Contains(p, "SANDBOX, SANDBOX_B") {
		t.Error("the default routing is not explained")
	}
	if r := c.post("/dashboard/sandbox/providers/plaid", url.Values{"enabled": {"on"}}); r.status != http.StatusNotFound {
		t.Errorf("unavailable provider: %d", r.status)
	}
	if r := c.post("/dashboard/sandbox/providers/sandbox-b", url.Values{"displayOrder": {"first"}}); r.status != http.StatusBadRequest {
		t.Errorf("bad display order: %d", r.status)
	}
	if r := c.post("/dashboard/sandbox/providers/sandbox-b", url.Values{"displayOrder": {"5000"}}); r.status != http.StatusBadRequest || !strings.Contains(errorOf(r.body), "0 to 1000") {
		t.Errorf("display order out of range: %d %q", r.status, errorOf(r.body))
	}
	r := c.post("/dashboard/sandbox/providers/sandbox-b", url.Values{"enabled": {"on"}, "displayOrder": {"1"}, "cred_clientId": {"acme-client"}, "cred_secret": {"acme-secret-1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("save: %d %q", r.status, errorOf(r.body))
	}
	// Disabled by leaving the box unticked; credentials kept when left empty.
	c.post("/dashboard/sandbox/providers/sandbox", url.Values{"displayOrder": {"2"}})
	configs, _ := st.store.FindProviderConfigs(context.Background(), st.scopeA())
	if len(configs) != 2 || configs[0].ProviderType != "sandbox-b" || !configs[0].Enabled || configs[1].Enabled || configs[0].Credentials["secret"] != "acme-secret-1" {
		t.Fatalf("configs = %+v %+v", configs[0], configs[1])
	}
	// Rules: validated by the API's rules.
	if r := c.post("/dashboard/sandbox/routing", url.Values{"op": {"add"}, "institutionId": {"nope"}, "serviceProvider": {"SANDBOX_B"}, "action": {"FORCE"}}); r.status != http.StatusBadRequest || !strings.Contains(errorOf(r.body), "does not exist") {
		t.Errorf("unknown institution: %d %q", r.status, errorOf(r.body))
	}
	if r := c.post("/dashboard/sandbox/routing", url.Values{"op": {"add"}, "institutionId": {sandbox.TestBankID}, "serviceProvider": {"SANDBOX_B"}, "action": {"FORCE"}}); r.status != http.StatusSeeOther {
		t.Fatalf("add rule: %d %q", r.status, errorOf(r.body))
	}
	page := c.get("/dashboard/sandbox/providers?q=Sandbox+Bank")
	if !strings.Contains(page.body, "Sandbox Bank") || !strings.Contains(page.body, sandbox.TestBankID) || !strings.Contains(page.body, "FORCE") {
		t.Error("rule or search result not shown")
	}
	rules, _ := st.store.FindRoutingRules(context.Background(), st.scopeA())
	if len(rules) != 1 || rules[0].ProviderType != "sandbox-b" {
		t.Fatalf("rules = %+v", rules)
	}
	c.post("/dashboard/sandbox/routing", url.Values{"op": {"remove"}, "institutionId": {sandbox.TestBankID}, "serviceProvider": {"SANDBOX_B"}})
	if rules, _ := st.store.FindRoutingRules(context.Background(), st.scopeA()); len(rules) != 0 {
		t.Errorf("rule not removed: %+v", rules)
	}
	if r := c.post("/dashboard/sandbox/providers/sandbox/delete", nil); r.status != http.StatusSeeOther {
		t.Errorf("delete: %d", r.status)
	}
	if configs, _ := st.store.FindProviderConfigs(context.Background(), st.scopeA()); len(configs) != 1 {
		t.Errorf("%d configs after delete", len(configs))
	}
}

func TestOrigins(t *testing.T) {
	st := newStack(t)
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	r := c.post("/dashboard/production/origins", url.Values{"origins": {"https://App.Example.com\r\nhttps://www.example.com:8443\n\n"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("set: %d %q", r.status, errorOf(r.body))
	}
	got, _ := st.store.FindWidgetOrigins(context.Background(), banklink.Scope{AccountID: st.a.ID, Environment: banklink.Production})
	if strings.Join(got, " ") != "https://app.example.com https://www.example.com:8443" {
		t.Errorf("origins = %v", got)
	}
	if sb, _ := st.store.FindWidgetOrigins(context.Background(), st.scopeA()); len(sb) != 0 {
		t.Errorf("sandbox origins changed: %v", sb)
	}
	// Sandbox accepts a development server over http.
	if r := c.post("/dashboard/sandbox/origins", url.Values{"origins": {"http://localhost:3000"}}); r.status != http.StatusSeeOther {
		t.Errorf("sandbox http origin: %d %q", r.status, errorOf(r.body))
	}
	for _, tc := range []struct{ env, origin, want string }{
		{"production", "app.example.com", "is not an origin"},
		{"production", "https://app.example.com/path", "is not an origin"},
		{"production", "ftp://x", "is not an origin"},
		{"production", "https://u:p@x", "is not an origin"},
		// The widget posts its events only to an exact origin over https
		// in production: these could never be matched, or not safely.
		{"production", "http://localhost:3000", "http://localhost:3000 is not https"},
		{"production", "http://app.example.com", "is not https"},
		{"production", "https://*.example.com", "https://*.example.com has a wildcard"},
		{"sandbox", "http://*:3000", "has a wildcard"},
	} {
		r := c.post("/dashboard/"+tc.env+"/origins", url.Values{"origins": {"https://ok.example.com\n" + tc.origin}})
		if r.status != http.StatusBadRequest || !strings.Contains(errorOf(r.body), tc.want) {
			t.Errorf("%s %q: %d %q", tc.env, tc.origin, r.status, errorOf(r.body))
		}
	}
	if !strings.Contains(c.get("/dashboard/production/origins").body, "https://app.example.com https://www.example.com:8443") {
		t.Error("origins not shown")
	}
}

// TestCredentialsNeverShown sets provider credentials through the
// dashboard, uses them for a linking, then reads every page: no value
// appears in any response or log line.
func TestCredentialsNeverShown(t *testing.T) {
	st := newStack(t)
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	const clientID, secret, secret2 = "client-7f3a9c", "s3cret-value-b81e6d0a", "rotated-secret-44d2c1"
	r := c.post("/dashboard/sandbox/providers/sandbox-b", url.Values{"enabled": {"on"}, "displayOrder": {"1"}, "cred_clientId": {clientID}, "cred_secret": {secret}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("save: %d %q", r.status, errorOf(r.body))
	}
	cfgs, _ := st.store.FindProviderConfigs(context.Background(), st.scopeA())
	if len(cfgs) != 1 || cfgs[0].Credentials["clientId"] != clientID || cfgs[0].Credentials["secret"] != secret || cfgs[0].Generation != 1 {
		t.Fatalf("stored = %+v", cfgs)
	}
	// Saving with empty fields keeps the credentials (same generation).
	c.post("/dashboard/sandbox/providers/sandbox-b", url.Values{"enabled": {"on"}, "displayOrder": {"3"}, "cred_clientId": {""}, "cred_secret": {""}})
	cfgs, _ = st.store.FindProviderConfigs(context.Background(), st.scopeA())
	if cfgs[0].Credentials["secret"] != secret || cfgs[0].DisplayOrder != 3 || cfgs[0].Generation != 1 {
		t.Fatalf("after an empty save: %+v", cfgs[0])
	}
	// A too-long value is refused without echoing it.
	long := strings.Repeat("L0ngV4lue", 500)
	r = c.post("/dashboard/sandbox/providers/sandbox-b", url.Values{"enabled": {"on"}, "cred_secret": {long}})
	if r.status != http.StatusBadRequest || strings.Contains(r.body, long[:40]) {
		t.Errorf("too long: %d, echoed %v", r.status, strings.Contains(r.body, long[:40]))
	}
	// One field at a time: the other is kept.
	c.post("/dashboard/sandbox/providers/sandbox-b", url.Values{"enabled": {"on"}, "displayOrder": {"1"}, "cred_secret": {secret2}})
	cfgs, _ = st.store.FindProviderConfigs(context.Background(), st.scopeA())
	if cfgs[0].Credentials["clientId"] != clientID || cfgs[0].Credentials["secret"] != secret2 || cfgs[0].Generation != 2 {
		t.Fatalf("after changing the secret: %+v", cfgs[0])
	}
	// Use them: a linking routed to SANDBOX_B with these credentials.
	resp := st.start(st.scopeA(), `{"externalCustomerId":"cred-1","products":["BALANCES"]}`)
	st.link(resp.ConnectToken)

	values := []string{clientID, secret, secret2, password}
	var pages []string
	for _, env := range []string{"sandbox", "production"} {
		for _, p := range []string{"connections", "funnel", "keys", "webhooks", "providers", "origins", "app"} {
			pages = append(pages, "/dashboard/"+env+"/"+p)
		}
	}
	pages = append(pages, "/dashboard/sandbox/connections/"+resp.ID, "/dashboard/sandbox/providers?q=Sandbox", "/dashboard/login")
	for _, p := range pages {
		r := c.get(p)
		if r.status != 200 && !(p == "/dashboard/login" && r.status == http.StatusSeeOther) {
			t.Errorf("GET %s: %d", p, r.status)
		}
		for _, v := range values {
			if strings.Contains(r.body, v) {
				t.Errorf("GET %s shows a credential or password value", p)
			}
		}
	}
	if page := c.get("/dashboard/sandbox/providers").body; !strings.Contains(page, "clientId, secret") {
		t.Error("the providers page does not name the credential fields that are set")
	}
	logs := st.logs.String()
	for _, v := range values {
		if strings.Contains(logs, v) {
			t.Errorf("a log line contains a credential or password value")
		}
	}
	if !strings.Contains(logs, `"msg":"dashboard saved service provider"`) {
		t.Error("provider changes are not logged")
	}
}

// TestTenantIsolation: an operator sees and changes only their own
// account.
func TestTenantIsolation(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	scopeB := banklink.Scope{AccountID: st.b.ID, Environment: banklink.Sandbox}
	keyB, _ := banklink.NewAPIKey(st.b.ID, banklink.Sandbox, "beta-backend", "2022-11-10", time.Now())
	if err := st.store.CreateAPIKey(ctx, keyB); err != nil {
		t.Fatal(err)
	}
	connB := st.start(scopeB, `{"externalCustomerId":"beta-customer","products":["BALANCES"]}`)
	st.link(connB.ConnectToken)
	connA := st.start(st.scopeA(), `{"externalCustomerId":"acme-customer","products":["BALANCES"]}`)
	if err := st.store.SetWidgetOrigins(ctx, scopeB, []string{"https://beta.example"}); err != nil {
		t.Fatal(err)
	}
	b := st.client("192.0.2.2")
	b.login("ops@beta.example")
	if r := b.post("/dashboard/sandbox/webhooks", url.Values{"url": {"https://hooks.beta.example/x"}, "version": {"2022-11-10"}}); r.status != http.StatusCreated {
		t.Fatalf("beta profile: %d", r.status)
	}
	if r := b.post("/dashboard/sandbox/routing", url.Values{"op": {"add"}, "institutionId": {sandbox.TestBankID}, "serviceProvider": {"SANDBOX"}, "action": {"EXCLUDE"}}); r.status != http.StatusSeeOther {
		t.Fatalf("beta rule: %d", r.status)
	}
	if !strings.Contains(b.get("/dashboard/sandbox/connections").body, connB.ID) {
		t.Fatal("beta does not see its own connection")
	}

	a := st.client("192.0.2.1")
	a.login("ops@acme.example")
	secretsOfB := []string{keyB.ID, "beta-backend", connB.ID, "beta-customer", "https://beta.example", "hooks.beta.example", `id="rules"`}
	for _, env := range []string{"sandbox", "production"} {
		for _, p := range []string{"connections", "funnel", "keys", "webhooks", "providers", "origins", "app"} {
			r := a.get("/dashboard/" + env + "/" + p)
			for _, s := range secretsOfB {
				if strings.Contains(r.body, s) {
					t.Errorf("acme's %s %s page shows beta's %q", env, p, s)
				}
			}
		}
	}
	if !strings.Contains(a.get("/dashboard/sandbox/connections").body, connA.ID) {
		t.Error("acme does not see its own connection")
	}
	if !strings.Contains(a.get("/dashboard/sandbox/funnel").body, ">0<") {
		t.Error("acme's funnel should count nothing completed")
	}
	if r := a.get("/dashboard/sandbox/connections/" + connB.ID); r.status != http.StatusNotFound {
		t.Errorf("beta's connection from acme: %d", r.status)
	}
	if r := a.post("/dashboard/sandbox/keys/"+keyB.ID+"/revoke", nil); r.status != http.StatusNotFound {
		t.Errorf("revoking beta's key from acme: %d", r.status)
	}
	if k, _ := st.store.FindAPIKeyByID(ctx, keyB.ID); k.Revoked() {
		t.Fatal("acme revoked beta's key")
	}
	// Changing acme's settings leaves beta's alone.
	a.post("/dashboard/sandbox/routing", url.Values{"op": {"remove"}, "institutionId": {sandbox.TestBankID}, "serviceProvider": {"SANDBOX"}})
	if rules, _ := st.store.FindRoutingRules(ctx, scopeB); len(rules) != 1 {
		t.Errorf("beta's rules = %v", rules)
	}
}

// TestConnectionsAndFunnel links through the widget and reads the
// connections, the status history and the conversion funnel.
func TestConnectionsAndFunnel(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	done := st.start(st.scopeA(), `{"externalCustomerId":"f1","products":["BALANCES"]}`)
	st.link(done.ConnectToken)
	opened := st.start(st.scopeA(), `{"externalCustomerId":"f2","products":["BALANCES"]}`)
	if s, _ := st.widgetCall(opened.ConnectToken, "GET", "session", ""); s != 200 {
		t.Fatal(s)
	}
	preset := st.start(st.scopeA(), `{"externalCustomerId":"f3","products":["BALANCES"],"institutionId":"`+sandbox.TestBankID+`"}`)
	st.widgetCall(preset.ConnectToken, "GET", "session", "")
	st.widgetCall(preset.ConnectToken, "GET", "session", "") // a reload counts once
	st.widgetCall(preset.ConnectToken, "POST", "login", `{"credentials":{"username":"user_good","password":"wrong"}}`)

	now := time.Now().UTC()
	steps, err := st.store.FunnelSteps(ctx, st.scopeA(), now.Add(-24*time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range steps {
		if c.Step != banklink.FunnelOpened && (c.InstitutionID != sandbox.TestBankID || c.Provider != sandbox.ProviderType) {
			t.Errorf("step %s at %q via %q", c.Step, c.InstitutionID, c.Provider)
		}
	}
	per := banklink.ComputeFunnel(steps, banklink.FunnelFilter{}).Totals
	if per[banklink.FunnelOpened] != 3 || per[banklink.FunnelChosen] != 2 || per[banklink.FunnelLoggedIn] != 1 || per[banklink.FunnelCompleted] != 1 {
		t.Fatalf("funnel = %v", per)
	}

	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	list := c.get("/dashboard/sandbox/connections").body
	// Newest first.
	if i, j := strings.Index(list, preset.ID), strings.Index(list, done.ID); i < 0 || j < 0 || i > j {
		t.Errorf("connections not listed newest first (%d, %d)", i, j)
	}
	if !strings.Contains(list, "WATERFALL → SANDBOX") || !strings.Contains(list, "ACTIVE") || !strings.Contains(list, "IN_PROGRESS") {
		t.Error("connections page lacks the status or the routing decision")
	}
	detail := c.get("/dashboard/sandbox/connections/" + done.ID)
	if detail.status != 200 || !strings.Contains(detail.body, `id="history"`) || !strings.Contains(detail.body, "IN_PROGRESS") ||
		!strings.Contains(detail.body, "st-ACTIVE") || !strings.Contains(detail.body, "Sandbox Bank") {
		t.Errorf("detail page: %d", detail.status)
	}
	if r := c.get("/dashboard/production/connections/" + done.ID); r.status != http.StatusNotFound {
		t.Errorf("a sandbox connection under production: %d", r.status)
	}

	f := c.get("/dashboard/sandbox/funnel").body
	for _, want := range []string{"<svg", `class="bar s-opened"`, `class="bar s-completed"`, `id="by-institution"`, "Sandbox Bank", `id="by-provider"`, ">SANDBOX<", "33%"} {
		if !strings.Contains(f, want) {
			t.Errorf("funnel page lacks %q", want)
		}
	}
	filtered := c.get("/dashboard/sandbox/funnel?days=7&provider=SANDBOX").body
	if strings.Contains(filtered, `class="bar s-opened"`) || !strings.Contains(filtered, `class="bar s-chosen"`) {
		t.Error("the provider filter still draws widget openings or lost the choices")
	}

	// Paging: 30 more connections, then newest page and older page.
	for range 30 {
		st.start(st.scopeA(), `{"externalCustomerId":"many","products":["BALANCES"]}`)
	}
	first := c.get("/dashboard/sandbox/connections").body
	if strings.Contains(first, done.ID) || !strings.Contains(first, `id="older"`) {
		t.Error("the first page should hold the 25 newest only")
	}
	m := olderRE.FindStringSubmatch(first)
	if m == nil || !strings.Contains(c.get("/dashboard/sandbox/connections?before="+m[1]).body, done.ID) {
		t.Error("the older page lacks the first connection")
	}
}

// TestFunnelNeverFailsTheWidget: the widget carries on when recording a
// step fails.
func TestFunnelNeverFailsTheWidget(t *testing.T) {
	st := newStack(t)
	resp := st.start(st.scopeA(), `{"externalCustomerId":"x","products":["BALANCES"]}`)
	st.widget.Store = failingFunnel{st.store}
	st.widget.Linking.Store = st.widget.Store
	st.link(resp.ConnectToken)
	if c, _ := st.store.FindConnectionByID(context.Background(), st.scopeA(), resp.ID); c.Status != banklink.StatusActive {
		t.Errorf("status = %s", c.Status)
	}
	if !strings.Contains(st.logs.String(), `"msg":"record funnel step"`) {
		t.Error("the recording failure was not logged")
	}
}

func TestStaticAndNotFound(t *testing.T) {
	st := newStack(t)
	c := st.client("192.0.2.1")
	if r := c.get("/dashboard/static/dashboard.css"); r.status != 200 || r.header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("css: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r := c.get("/dashboard/static/layout.html"); r.status != 404 {
		t.Errorf("template served: %d", r.status)
	}
	if r := c.get("/dashboard"); r.status != http.StatusSeeOther {
		t.Errorf("/dashboard: %d", r.status)
	}
	if r := c.get("/dashboard/nothing"); r.status != 404 || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("unknown page: %d %s", r.status, r.header.Get("Content-Type"))
	}
}
