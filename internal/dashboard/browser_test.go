package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banklink/internal/sandbox"
	"banklink/internal/testenv"

	"github.com/chromedp/chromedp"
)

// artifactsDir is where browser tests leave screenshots:
// $BANKLINK_TEST_ARTIFACTS/dashboard, or test-artifacts/dashboard at the
// repository root (ignored by git), as for the widget.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("BANKLINK_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-artifacts")
	}
	dir = filepath.Join(dir, "dashboard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts headless Chromium (testenv.Chromium skips without it,
// or fails on CI).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return testenv.Browser(t, testenv.BrowserOptions{Width: 1280, Height: 900, Timeout: 120 * time.Second})
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	// Just after a navigation Chromium may not have laid the new page
	// out yet and refuses a screenshot "with 0 width": try again until it
	// has.
	var buf []byte
	var err error
	testenv.Poll(10*time.Second, func() bool {
		buf, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		return err == nil || !strings.Contains(err.Error(), "0 width")
	})
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(artifactsDir(t), name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls a JavaScript condition (it survives navigations).
func waitFor(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	var err error
	if testenv.Poll(20*time.Second, func() bool {
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		return err == nil && ok
	}) {
		return
	}
	page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " | " + (document.querySelector("main") ? document.querySelector("main").innerText.slice(0, 400) : "")`))
	t.Fatalf("waiting for %s: %v (page: %s)", js, err, page)
}

func heading(t *testing.T, ctx context.Context, prefix string) {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf(`!!document.querySelector("h1") && document.querySelector("h1").textContent.indexOf(%q) === 0`, prefix))
}

// TestBrowserDashboard is an operator's first session: sign in, create an
// API key, configure SANDBOX_B, then watch a sandbox linking made with
// that key appear with its routing decision and in the funnel.
func TestBrowserDashboard(t *testing.T) {
	st := newStack(t)
	ctx := newBrowser(t)

	do(t, ctx, chromedp.Navigate(st.srv.URL+"/dashboard"))
	heading(t, ctx, "Sign in")
	shot(t, ctx, "1-sign-in")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("email"), "ops@acme.example"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
	)
	heading(t, ctx, "Connections")
	if got := text(t, ctx, ".who span"); got != "ops@acme.example" {
		t.Errorf("signed in as %q", got)
	}

	// API key: create, see it once, see it listed.
	do(t, ctx, chromedp.Click(chromedp.CSS(`.tabs a[href$="/keys"]`)))
	heading(t, ctx, "API keys")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("key-name"), "ci"), chromedp.Click(chromedp.CSS(`#create-key button`)))
	waitFor(t, ctx, `!!document.getElementById("new-key-value")`)
	key := text(t, ctx, "#new-key-value")
	if !strings.HasPrefix(key, "bl_sandbox_") {
		t.Fatalf("new key = %q", key)
	}
	waitFor(t, ctx, `!!document.querySelector('#keys tr[data-name="ci"]')`)
	shot(t, ctx, "2-api-key-created")

	// Provider: SANDBOX_B with credentials, enabled, first.
	do(t, ctx, chromedp.Click(chromedp.CSS(`.tabs a[href$="/providers"]`)))
	heading(t, ctx, "Service providers")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("cred-SANDBOX_B-clientId"), "acme-browser-client"),
		chromedp.SendKeys(chromedp.ID("cred-SANDBOX_B-secret"), "acme-browser-secret"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("order-SANDBOX_B").value = "1"; document.getElementById("enabled-SANDBOX_B").checked = true`),
		chromedp.Click(chromedp.ID("save-SANDBOX_B")),
	)
	waitFor(t, ctx, `!!document.querySelector(".notice") && document.querySelector(".notice").textContent.indexOf("was saved") >= 0`)
	if got := text(t, ctx, "#provider-SANDBOX_B .creds-set"); got != "clientId, secret" {
		t.Errorf("credentials set = %q", got)
	}
	html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if strings.Contains(html, "acme-browser-secret") || strings.Contains(html, "acme-browser-client") {
		t.Error("the page shows a credential value")
	}
	shot(t, ctx, "3-provider-configured")

	// A sandbox linking with the key from the dashboard, through the API
	// and the widget API.
	req, _ := http.NewRequest("POST", st.srv.URL+"/bank-linking/connect/start",
		strings.NewReader(`{"externalCustomerId":"browser-customer","products":["BALANCES","TRANSACTIONS"],"regions":["US"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "BASIC "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var started struct{ ID, ConnectToken string }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &started) != nil {
		t.Fatalf("connect/start with the dashboard's key: %d %s", resp.StatusCode, b)
	}
	if s, out := st.widgetCall(started.ConnectToken, "GET", "session", ""); s != 200 {
		t.Fatalf("session: %d %v", s, out)
	}
	if s, out := st.widgetCall(started.ConnectToken, "POST", "select", `{"institutionId":"`+sandbox.TestBankID+`"}`); s != 200 {
		t.Fatalf("select: %d %v", s, out)
	}
	s, out := st.widgetCall(started.ConnectToken, "POST", "login", `{"credentials":{"username":"`+sandbox.UserGood+`","password":"`+sandbox.PasswordGood+`"}}`)
	if s != 200 {
		t.Fatalf("login: %d %v", s, out)
	}
	accounts := out["accounts"].([]any)
	if s, out := st.widgetCall(started.ConnectToken, "POST", "complete",
		fmt.Sprintf(`{"consent":true,"accountIds":[%q]}`, accounts[0].(map[string]any)["id"])); s != 200 {
		t.Fatalf("complete: %d %v", s, out)
	}

	// The connection, routed to SANDBOX_B.
	do(t, ctx, chromedp.Click(chromedp.CSS(`.tabs a[href$="/connections"]`)))
	heading(t, ctx, "Connections")
	row := fmt.Sprintf(`#connections tr[data-id=%q]`, started.ID)
	waitFor(t, ctx, fmt.Sprintf(`!!document.querySelector(%q)`, row))
	if got := text(t, ctx, row+" .decision"); !strings.Contains(got, "WATERFALL → SANDBOX_B") {
		t.Errorf("routing decision = %q", got)
	}
	if got := text(t, ctx, row+" .status"); got != "ACTIVE" {
		t.Errorf("status = %q", got)
	}
	shot(t, ctx, "4-connections")
	do(t, ctx, chromedp.Click(chromedp.CSS(row+" a")))
	heading(t, ctx, "Connection")
	waitFor(t, ctx, `!!document.getElementById("history") && document.getElementById("history").textContent.indexOf("ACTIVE") >= 0`)
	if got := text(t, ctx, "#decision"); !strings.Contains(got, "SANDBOX_B") {
		t.Errorf("detail decision = %q", got)
	}
	shot(t, ctx, "5-connection-detail")

	// The funnel chart.
	do(t, ctx, chromedp.Click(chromedp.CSS(`.tabs a[href$="/funnel"]`)))
	heading(t, ctx, "Linking conversion")
	waitFor(t, ctx, `document.querySelectorAll("#chart svg rect.bar").length >= 4`)
	box, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("#chart svg").getBoundingClientRect().height`))
	if err != nil || box < 100 {
		t.Errorf("chart height %v, %v", box, err)
	}
	if got := text(t, ctx, "#by-provider tbody"); !strings.Contains(got, "SANDBOX_B") {
		t.Errorf("by provider = %q", got)
	}
	shot(t, ctx, "6-funnel")

	// Production is another world: nothing there yet.
	do(t, ctx, chromedp.Click(chromedp.CSS(`.envs a.env-production`)))
	heading(t, ctx, "Linking conversion")
	waitFor(t, ctx, `location.pathname === "/dashboard/production/funnel" && document.querySelectorAll("#chart svg rect.bar").length === 0`)
	shot(t, ctx, "7-production")

	do(t, ctx, chromedp.Click(chromedp.ID("signout")))
	heading(t, ctx, "Sign in")
}
