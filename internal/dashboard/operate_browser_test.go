package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"banklink"
	"banklink/internal/sandbox"
	"banklink/internal/webhooks"
	"banklink/internal/webhookurl"

	"github.com/chromedp/chromedp"
)

// acceptConfirms makes the page's confirmation dialogs say yes (the
// dashboard asks before refresh, repair, delete and redeliver); a
// navigation resets it.
const acceptConfirms = `window.confirm = function () { return true; }`

func signIn(t *testing.T, ctx context.Context, st *stack) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(st.srv.URL+"/dashboard"))
	heading(t, ctx, "Sign in")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("email"), "ops@acme.example"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
	)
	heading(t, ctx, "Connections")
}

// TestBrowserOperatorRepairsALink: a customer's bank login broke; the
// repair they tried failed because their account is locked. An operator
// finds the connection by the customer's external id, reads why the
// login failed, and makes a repair link to send; on a phone, the
// connections list keeps the status on screen.
func TestBrowserOperatorRepairsALink(t *testing.T) {
	st := newStack(t)
	ctx := newBrowser(t)

	// Noise: other customers' connections.
	for i := range 3 {
		st.start(st.scopeA(), fmt.Sprintf(`{"externalCustomerId":"someone-%d","products":["BALANCES"]}`, i))
	}
	c := st.start(st.scopeA(), `{"externalCustomerId":"cust-8841","products":["BALANCES"]}`)
	st.link(c.ConnectToken)
	if _, err := st.store.ChangeConnectionStatus(t.Context(), st.scopeA(), c.ID, banklink.StatusChange{From: banklink.StatusActive,
		To: banklink.StatusReconnectRequired, ToReason: "LOGIN_REQUIRED", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	repair, err := st.api.Linking.RepairConnection(t.Context(), st.scopeA(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s, out := st.widgetCall(repair.ConnectToken, "GET", "session", ""); s != 200 {
		t.Fatalf("repair session: %d %v", s, out)
	}
	if s, out := st.widgetCall(repair.ConnectToken, "POST", "login", `{"credentials":{"username":"`+sandbox.UserLocked+`","password":"pass_good"}}`); s != 422 {
		t.Fatalf("locked repair login: %d %v", s, out)
	}

	signIn(t, ctx, st)
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("q-external"), "cust-8841"),
		chromedp.Click(chromedp.ID("search-go")),
	)
	row := fmt.Sprintf(`#connections tr[data-id=%q]`, c.ID)
	waitFor(t, ctx, fmt.Sprintf(`!!document.querySelector(%q) && document.querySelectorAll("#connections tbody tr").length === 1`, row))
	if got := text(t, ctx, row+" .status"); got != "RECONNECT_REQUIRED" {
		t.Errorf("status = %q", got)
	}
	shot(t, ctx, "ops-1-search")

	do(t, ctx, chromedp.Click(chromedp.CSS(row+" a")))
	heading(t, ctx, "Connection")
	waitFor(t, ctx, `!!document.getElementById("last-failure")`)
	why := text(t, ctx, "#last-failure")
	for _, want := range []string{"ACCOUNT_LOCKED", "Sandbox Bank", "locked at the institution"} {
		if !strings.Contains(why, want) {
			t.Errorf("why the login failed: %q lacks %q", why, want)
		}
	}
	if got := text(t, ctx, "#timeline li.fail"); !strings.Contains(got, "ACCOUNT_LOCKED") || !strings.Contains(got, "repair") {
		t.Errorf("timeline failure = %q", got)
	}
	shot(t, ctx, "ops-2-why-it-failed")

	do(t, ctx,
		chromedp.Evaluate[chromedp.Void](`window.asked = 0; window.confirm = function () { window.asked++; return true; }`),
		chromedp.Click(chromedp.ID("repair")),
	)
	waitFor(t, ctx, `!!document.getElementById("repair-url")`)
	link := text(t, ctx, "#repair-url")
	if !strings.HasPrefix(link, st.srv.URL+"/connect?connectToken=") {
		t.Fatalf("repair link = %q", link)
	}
	shot(t, ctx, "ops-3-repair-link")
	// The link works: it opens the widget at Sandbox Bank's login.
	tok := strings.TrimPrefix(link, st.srv.URL+"/connect?connectToken=")
	s, out := st.widgetCall(tok, "GET", "session", "")
	if s != 200 || out["step"] != banklink.StepCredentials || out["institution"].(map[string]any)["id"] != sandbox.TestBankID {
		t.Errorf("the repair link's session: %d %v", s, out)
	}

	// On a phone the list keeps every column on screen.
	do(t, ctx, chromedp.EmulateViewport(375, 740), chromedp.Navigate(st.srv.URL+"/dashboard/sandbox/connections?external=cust-8841"))
	heading(t, ctx, "Connections")
	waitFor(t, ctx, fmt.Sprintf(`(function () { var r = document.querySelector(%q).getBoundingClientRect();
		return r.width > 0 && r.right <= window.innerWidth && document.documentElement.scrollWidth <= window.innerWidth; })()`, row+" .status"))
	shot(t, ctx, "ops-4-phone")
}

// TestBrowserOperatorRedeliversAWebhook: the app's receiver answers 500.
// The operator sees the failing delivery, unmistakably, with its next
// attempt and every attempt; once the receiver is back, redelivers it
// and sees it delivered.
func TestBrowserOperatorRedeliversAWebhook(t *testing.T) {
	st := newStack(t)
	ctx := newBrowser(t)
	var healthy atomic.Bool
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rcv.Close)
	p := &banklink.WebhookProfile{ID: banklink.NewID(), AccountID: st.a.ID, Environment: banklink.Sandbox, URL: rcv.URL + "/hooks",
		Version: banklink.WebhookVersions[0], Enabled: true, Secret: banklink.NewWebhookSecret(), CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := st.store.CreateWebhookProfile(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	deliverer := webhooks.New(st.store, webhooks.Config{Private: webhookurl.PrivateSandbox, Timeout: 5 * time.Second}, nil)
	deliver := func() {
		t.Helper()
		if _, err := deliverer.DeliverDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// A linking whose webhooks the receiver refuses.
	c := st.start(st.scopeA(), `{"externalCustomerId":"cust-hooks","products":["BALANCES"]}`)
	st.link(c.ConnectToken)
	// The aggregation that the link starts runs in the background and
	// queues the webhooks when it ends: deliver only after it has.
	st.runner.Wait()
	deliver()

	signIn(t, ctx, st)
	do(t, ctx, chromedp.Click(chromedp.CSS(`.tabs a[href$="/webhooks"]`)))
	heading(t, ctx, "Webhooks")
	waitFor(t, ctx, `!!document.querySelector("#profiles .profile-failing")`)
	// Only the failing ones.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`var s = document.getElementById("f-state"); s.value = "RETRYING";
		s.dispatchEvent(new Event("change", {bubbles: true}))`))
	waitFor(t, ctx, `location.search.indexOf("state=RETRYING") >= 0 && document.querySelectorAll("#events tr[data-event]").length > 0`)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#events tr[data-event]").length`))
	if err != nil {
		t.Fatal(err)
	}
	first := `#events tr[data-event]`
	failure := text(t, ctx, first+" .delivery")
	for _, want := range []string{"RETRYING", "HTTP 500", "HTTP error: 500", "next attempt"} {
		if !strings.Contains(failure, want) {
			t.Errorf("failing delivery %q lacks %q", failure, want)
		}
	}
	color, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#events .st-RETRYING")).backgroundColor`))
	if color == "" || color == "rgb(219, 234, 254)" { // the calm blue of PENDING
		t.Errorf("a retrying delivery looks like %q", color)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(first+" details.attempts summary")))
	if got := text(t, ctx, first+" details.attempts ol"); !strings.Contains(got, "#1") || !strings.Contains(got, "HTTP 500") {
		t.Errorf("attempts = %q", got)
	}
	shot(t, ctx, "ops-5-failing-webhook")

	// The receiver is back: redeliver the first failing event.
	healthy.Store(true)
	eventID, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#events tr[data-event]").getAttribute("data-event")`))
	do(t, ctx, chromedp.Evaluate[chromedp.Void](acceptConfirms), chromedp.Click(chromedp.CSS(first+" button.redeliver")))
	waitFor(t, ctx, `!!document.querySelector(".notice") && document.querySelector(".notice").textContent.indexOf("queued again") >= 0`)
	deliver()
	do(t, ctx, chromedp.Navigate(st.srv.URL+"/dashboard/sandbox/webhooks?state=DELIVERED"))
	heading(t, ctx, "Webhooks")
	waitFor(t, ctx, fmt.Sprintf(`!!document.querySelector('#events tr[data-event=%q] .delivery[data-state="DELIVERED"]')`, eventID))
	shot(t, ctx, "ops-6-redelivered")
	if rows < 1 {
		t.Errorf("no failing rows")
	}
}
