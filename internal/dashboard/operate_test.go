package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"banklink"
	"banklink/internal/sandbox"
	"banklink/internal/webhooks"
	"banklink/internal/webhookurl"
)

// lockedAt starts a connection for customer and fails its login at
// Sandbox Bank with a locked account.
func (st *stack) lockedAt(customer string) string {
	st.t.Helper()
	c := st.start(st.scopeA(), `{"externalCustomerId":"`+customer+`","products":["BALANCES"]}`)
	st.widgetCall(c.ConnectToken, "GET", "session", "")
	st.widgetCall(c.ConnectToken, "POST", "select", `{"institutionId":"`+sandbox.TestBankID+`"}`)
	if s, _ := st.widgetCall(c.ConnectToken, "POST", "login", `{"credentials":{"username":"`+sandbox.UserLocked+`","password":"pass_good"}}`); s != 422 {
		st.t.Fatalf("locked login: %d", s)
	}
	return c.ID
}

// TestConnectionSearch: every filter of the connections page, alone and
// combined, and the errors.
func TestConnectionSearch(t *testing.T) {
	st := newStack(t)
	done := st.start(st.scopeA(), `{"externalCustomerId":"cust-done","products":["BALANCES"]}`)
	st.link(done.ConnectToken)
	locked := st.lockedAt("cust-locked")
	other := st.start(banklink.Scope{AccountID: st.b.ID, Environment: banklink.Sandbox}, `{"externalCustomerId":"cust-done","products":["BALANCES"]}`)
	conn, err := st.store.FindConnectionByID(t.Context(), st.scopeA(), done.ID)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	for _, tt := range []struct {
		name   string
		query  url.Values
		status int
		want   []string // connection ids listed
		text   string
	}{
		{"by id", url.Values{"id": {done.ID}}, 200, []string{done.ID}, ""},
		{"by id of another account", url.Values{"id": {other.ID}}, 200, nil, "No connection"},
		{"by external customer id", url.Values{"external": {"cust-locked"}}, 200, []string{locked}, ""},
		{"external id of another account's customer only", url.Values{"external": {"cust-done"}}, 200, []string{done.ID}, ""},
		{"by customer id", url.Values{"customer": {conn.CustomerID}}, 200, []string{done.ID}, ""},
		{"by status", url.Values{"status": {"IN_PROGRESS"}}, 200, []string{locked}, ""},
		{"by institution name", url.Values{"institution": {"sandbox bank"}}, 200, []string{done.ID}, ""},
		{"by institution id", url.Values{"institution": {sandbox.TestBankID}}, 200, []string{done.ID}, ""},
		{"by provider", url.Values{"provider": {"SANDBOX"}}, 200, []string{done.ID}, ""},
		{"by date", url.Values{"from": {today}, "to": {today}}, 200, []string{done.ID, locked}, ""},
		{"combined, no match", url.Values{"status": {"ACTIVE"}, "external": {"cust-locked"}}, 200, nil, "No connection"},
		{"bad status", url.Values{"status": {"SLEEPING"}}, 400, nil, "Unknown status"},
		{"bad date", url.Values{"from": {"tomorrow"}}, 400, nil, "yyyy-mm-dd"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := c.get("/dashboard/sandbox/connections?" + tt.query.Encode())
			if r.status != tt.status || !strings.Contains(r.body, tt.text) {
				t.Fatalf("%d, want %d with %q: %s", r.status, tt.status, tt.text, errorOf(r.body))
			}
			got := rowIDs(r.body)
			if strings.Join(got, ",") != strings.Join(sorted(tt.want, got), ",") || len(got) != len(tt.want) {
				t.Errorf("rows %v, want %v", got, tt.want)
			}
		})
	}
}

var rowRE = regexp.MustCompile(`<tr data-id="([^"]+)"`)

func rowIDs(body string) []string {
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// sorted orders want as got does (the page is newest first).
func sorted(want, got []string) []string {
	var out []string
	for _, g := range got {
		for _, w := range want {
			if g == w {
				out = append(out, g)
			}
		}
	}
	return out
}

// TestConnectionPageAndActions: a failed login is explained, the
// timeline lists the steps; refresh, repair and delete need the CSRF
// token and delete its confirmation.
func TestConnectionPageAndActions(t *testing.T) {
	st := newStack(t)
	locked := st.lockedAt("cust-locked")
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	page := c.get("/dashboard/sandbox/connections/" + locked).body
	for _, want := range []string{`id="last-failure"`, "ACCOUNT_LOCKED", "Sandbox Bank", "This account is locked at the institution",
		`id="timeline"`, "Widget opened", "Institution chosen", "SERVICE_PROVIDER_FAILURE"} {
		if !strings.Contains(page, want) {
			t.Errorf("connection page lacks %q", want)
		}
	}
	// An IN_PROGRESS connection can only be deleted.
	if strings.Contains(page, `id="refresh"`) || strings.Contains(page, `id="repair"`) || !strings.Contains(page, `id="delete"`) {
		t.Error("actions offered for an IN_PROGRESS connection are wrong")
	}

	done := st.start(st.scopeA(), `{"externalCustomerId":"cust-done","products":["BALANCES"]}`)
	st.link(done.ConnectToken)
	base := "/dashboard/sandbox/connections/" + done.ID
	if _, err := st.store.SaveAggregation(t.Context(), st.scopeA(), done.ID, []banklink.AggregatedAccount{{ProviderAccountID: "p1", Type: "DEPOSITORY",
		Subtype: "CHECKING", Name: "Everyday Checking", Mask: "4321", Balances: &banklink.AccountBalances{Currency: "USD", CurrentAmount: 12.5}}},
		false, time.Now()); err != nil {
		t.Fatal(err)
	}
	page = c.get(base).body
	if strings.Contains(page, `id="last-failure"`) {
		t.Error("a completed connection is explained as failed")
	}
	if n := strings.Count(page, "data-confirm="); n < 2 {
		t.Errorf("%d actions ask for confirmation, want refresh and delete", n)
	}
	for _, want := range []string{`id="accounts"`, "Everyday Checking", "••4321", "12.50 USD", `id="refresh"`, `id="delete"`, "Completed", "Consent given"} {
		if !strings.Contains(page, want) {
			t.Errorf("completed connection page lacks %q", want)
		}
	}
	if r := c.post(base+"/refresh", nil); r.status != http.StatusSeeOther || !strings.Contains(c.get(r.location()).body, "A refresh was started") {
		t.Errorf("refresh: %d %s", r.status, errorOf(r.body))
	}
	// Repair: only for a broken connection.
	if r := c.post(base+"/repair", nil); r.status != http.StatusConflict {
		t.Errorf("repair of an ACTIVE connection: %d", r.status)
	}
	if _, err := st.store.ChangeConnectionStatus(t.Context(), st.scopeA(), done.ID, banklink.StatusChange{From: banklink.StatusActive, To: banklink.StatusReconnectRequired,
		ToReason: "LOGIN_REQUIRED", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r := c.post(base+"/repair", nil)
	if r.status != http.StatusCreated || !strings.Contains(r.body, `id="repair-url"`) || !strings.Contains(r.body, "/connect?connectToken=") {
		t.Errorf("repair: %d %s", r.status, errorOf(r.body))
	}
	// Without the CSRF token, nothing happens.
	noCSRF := c.do("POST", base+"/delete", url.Values{"confirm": {"yes"}})
	if noCSRF.status != http.StatusForbidden {
		t.Errorf("delete without CSRF: %d", noCSRF.status)
	}
	if r := c.post(base+"/delete", nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Tick the confirmation") {
		t.Errorf("delete without confirmation: %d", r.status)
	}
	if r := c.post(base+"/delete", url.Values{"confirm": {"yes"}}); r.status != http.StatusSeeOther {
		t.Errorf("delete: %d %s", r.status, errorOf(r.body))
	}
	got, err := st.store.FindConnectionByID(t.Context(), st.scopeA(), done.ID)
	if err != nil || got.Status != banklink.StatusDeleted {
		t.Errorf("after delete: %v %v", got, err)
	}
	// Another account's operator cannot act on it.
	b := st.client("192.0.2.2")
	b.login("ops@beta.example")
	if r := b.post("/dashboard/sandbox/connections/"+locked+"/delete", url.Values{"confirm": {"yes"}}); r.status != http.StatusNotFound {
		t.Errorf("another account's delete: %d", r.status)
	}
}

// TestWebhookDeliveriesPage: a delivery the receiver answers with 500 is
// RETRYING with its next attempt and every attempt; the profile shows
// failing; after the receiver recovers, redelivering delivers.
func TestWebhookDeliveriesPage(t *testing.T) {
	st := newStack(t)
	var healthy atomic.Bool
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			http.Error(w, "receiver down", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rcv.Close)
	p := &banklink.WebhookProfile{ID: banklink.NewID(), AccountID: st.a.ID, Environment: banklink.Sandbox, URL: rcv.URL + "/hooks",
		Version: banklink.WebhookVersions[0], Enabled: true, Secret: banklink.NewWebhookSecret(), CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := st.store.CreateWebhookProfile(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	deliverer := webhooks.New(st.store, webhooks.Config{Private: webhookurl.PrivateSandbox, Timeout: 5 * time.Second}, nil)
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	if r := c.post("/dashboard/sandbox/webhooks/profiles/"+p.ID+"/test", nil); r.status != http.StatusSeeOther {
		t.Fatalf("send test event: %d %s", r.status, errorOf(r.body))
	}
	if _, err := deliverer.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	page := c.get("/dashboard/sandbox/webhooks?state=RETRYING").body
	for _, want := range []string{"WEBHOOK_TEST", `data-state="RETRYING"`, "next attempt", "HTTP 500", "HTTP error: 500", "Every attempt", "profile-failing", "Payload"} {
		if !strings.Contains(page, want) {
			t.Errorf("webhooks page lacks %q", want)
		}
	}
	if strings.Contains(c.get("/dashboard/sandbox/webhooks?state=DELIVERED").body, "data-event=") {
		t.Error("the DELIVERED filter shows the failing event")
	}
	if !strings.Contains(c.get("/dashboard/sandbox/webhooks?type=BANK_LINKING_CONNECTION_DELETED").body, "No events match") {
		t.Error("the event type filter kept the test event")
	}
	m := regexp.MustCompile(`data-event="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no event row")
	}
	healthy.Store(true)
	if r := c.do("POST", "/dashboard/sandbox/webhooks/events/"+m[1]+"/redeliver", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("redeliver without CSRF: %d", r.status)
	}
	if r := c.post("/dashboard/sandbox/webhooks/events/"+m[1]+"/redeliver", nil); r.status != http.StatusSeeOther {
		t.Fatalf("redeliver: %d %s", r.status, errorOf(r.body))
	}
	if _, err := deliverer.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.get("/dashboard/sandbox/webhooks?state=DELIVERED").body, `data-state="DELIVERED"`) {
		t.Error("the redelivery was not delivered")
	}
	if r := c.post("/dashboard/sandbox/webhooks/events/nope/redeliver", nil); r.status != http.StatusNotFound {
		t.Errorf("redeliver an unknown event: %d", r.status)
	}
	if r := c.post("/dashboard/sandbox/webhooks/profiles/nope/test", nil); r.status != http.StatusNotFound {
		t.Errorf("test an unknown profile: %d", r.status)
	}
}

// TestFunnelPageBankSwitching: a customer locked out at one bank who
// links another counts as choosing both, logging in at the second only;
// no rate on the page is above 100 % and the lock is the drop-off
// reason at the first bank.
func TestFunnelPageBankSwitching(t *testing.T) {
	st := newStack(t)
	switcher := st.start(st.scopeA(), `{"externalCustomerId":"switcher","products":["BALANCES"]}`)
	tok := switcher.ConnectToken
	st.widgetCall(tok, "GET", "session", "")
	st.widgetCall(tok, "POST", "select", `{"institutionId":"`+sandbox.TestBankID+`"}`)
	st.widgetCall(tok, "POST", "login", `{"credentials":{"username":"`+sandbox.UserLocked+`","password":"pass_good"}}`)
	st.widgetCall(tok, "POST", "back", `{}`)
	st.widgetCall(tok, "POST", "select", `{"institutionId":"`+sandbox.TestCreditUnionID+`"}`)
	s, out := st.widgetCall(tok, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
	if s != 200 {
		t.Fatalf("login at the credit union: %d %v", s, out)
	}
	id := out["accounts"].([]any)[0].(map[string]any)["id"].(string)
	if s, out := st.widgetCall(tok, "POST", "complete", `{"consent":true,"accountIds":["`+id+`"]}`); s != 200 {
		t.Fatalf("complete: %d %v", s, out)
	}
	st.link(st.start(st.scopeA(), `{"externalCustomerId":"direct","products":["BALANCES"]}`).ConnectToken) // Sandbox Bank, straight through

	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	page := c.get("/dashboard/sandbox/funnel").body
	for _, m := range regexp.MustCompile(`(\d+)%`).FindAllStringSubmatch(page, -1) {
		if len(m[1]) > 2 && m[1] != "100" {
			t.Errorf("a rate of %s%% on the funnel page", m[1])
		}
	}
	row := func(name string) string {
		t.Helper()
		i := strings.Index(page, ">"+name+"</a>")
		if i < 0 {
			t.Fatalf("no row for %s", name)
		}
		end := strings.Index(page[i:], "</tr>")
		return page[i : i+end]
	}
	// Sandbox Bank: chosen 2, logged in 1, completed 1 (50 %), the lock
	// why the other did not log in; the credit union: 1, 1, 1.
	if r := row("Sandbox Bank"); !strings.Contains(r, "<td>2</td><td>1</td><td>1</td><td>50%</td><td>50%</td>") || !strings.Contains(r, "ACCOUNT_LOCKED 1") {
		t.Errorf("Sandbox Bank row: %s", r)
	}
	if r := row("Sandbox Credit Union"); !strings.Contains(r, "<td>1</td><td>1</td><td>1</td><td>100%</td><td>100%</td>") {
		t.Errorf("Sandbox Credit Union row: %s", r)
	}
	if !strings.Contains(page, `id="drops"`) {
		t.Error("no drop-off section")
	}
}
