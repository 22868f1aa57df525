package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"banklink"

	"banklink/internal/testenv"

	"github.com/chromedp/chromedp"
)

// embedBrowser starts headless Chromium for one test.
func embedBrowser(t *testing.T) context.Context {
	t.Helper()
	// The redirect test's app page is https, from a throwaway
	// certificate, as a redirectUrl must be.
	return testenv.Browser(t, testenv.BrowserOptions{Width: 1024, Height: 800, InsecureCerts: true})
}

// widgetTarget waits for the browser target (an iframe or a popup) showing
// the widget at base and returns a context driving it.
func widgetTarget(t *testing.T, ctx context.Context, typ, base string) context.Context {
	t.Helper()
	return testenv.Target(t, ctx, 10*time.Second, typ, base+"/connect")
}

// widgetStep waits until the widget's heading reads want.
func widgetStep(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	js := fmt.Sprintf(`!!document.getElementById("title") && document.getElementById("title").textContent === %q && document.getElementById("app").getAttribute("aria-busy") === "false"`, want)
	// A loop rather than chromedp.Poll: the OAuth round trip navigates
	// the page, which ends a poll with an error.
	var err error
	if !testenv.Poll(20*time.Second, func() bool {
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && !ok {
			// The consent screen comes first: share what is asked.
			chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){var b=document.getElementById("consent-continue");if(!b||b.disabled)return false;b.click();return true})()`))
		}
		return err == nil && ok
	}) {
		t.Fatalf("widget never showed %q (%v)", want, err)
	}
}

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// TestEmbedScript opens the widget with /connect/embed.js from an app on
// another origin, in an iframe and in a popup, links Sandbox Bank (a
// password login) and Sandbox OAuth Bank (a redirect login) and checks that the app's onSuccess receives the connection id, after
// ignoring a look-alike message from another origin.
func TestEmbedScript(t *testing.T) {
	p := startProcess(t, nil, "-data-dir", t.TempDir())

	resp, err := http.Get(p.url + "/connect/embed.js")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
		len(script) > 10<<10 || !strings.Contains(string(script), "Banklink") {
		t.Fatalf("embed.js: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(script))
	}

	password := func(t *testing.T, w context.Context) {
		run(t, w,
			chromedp.WaitVisible(chromedp.ID("field-username")),
			chromedp.SendKeys(chromedp.ID("field-username"), "user_good"),
			chromedp.SendKeys(chromedp.ID("field-password"), "pass_good"),
			chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	}
	// The sandbox OAuth bank's consent page is served by banklink, so it
	// loads in the frame or popup; the widget comes back to itself.
	oauth := func(t *testing.T, w context.Context) {
		run(t, w, chromedp.Click(chromedp.CSS(`a.primary`)), chromedp.WaitVisible(chromedp.ID("approve")), chromedp.Click(chromedp.ID("approve")))
	}
	browser := embedBrowser(t)
	for _, tc := range []struct {
		name, mode, institution, bankName string
		login                             func(*testing.T, context.Context)
	}{
		{"iframe", "iframe", "Vc1FabzHnWE7LZuwXhuC6d", "Sandbox Bank", password},
		{"popup", "popup", "Vc1FabzHnWE7LZuwXhuC6d", "Sandbox Bank", password},
		{"iframe OAuth bank", "iframe", "J49BHiNGdxpGXvJ2oeN9NM", "Sandbox OAuth Bank", oauth},
		// After the redirect round trip the popup's document.referrer is
		// empty (the consent page sends no referrer): connect.js must
		// have kept its opener's origin from the first load.
		{"popup OAuth bank", "popup", "J49BHiNGdxpGXvJ2oeN9NM", "Sandbox OAuth Bank", oauth},
	} {
		mode := tc.mode
		t.Run(tc.name, func(t *testing.T) {
			var start struct{ ID, WidgetURL string }
			body := fmt.Sprintf(`{"externalCustomerId":"embed-%s","institutionId":%q}`, strings.ReplaceAll(tc.name, " ", "-"), tc.institution)
			if code := api(t, p.url, p.key, "POST", "/bank-linking/connect/start", body, &start); code != 201 {
				t.Fatalf("connect/start: %d", code)
			}
			app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `<!doctype html><title>app</title><button id="open">Link a bank</button>
<script src="%s/connect/embed.js"></script>
<script>
window.calls = [];
document.getElementById("open").addEventListener("click", function () {
  Banklink.open({widgetUrl: %q, mode: %q,
    onSuccess: function (r) { calls.push({cb: "success", arg: r}); },
    onExit: function (e) { calls.push({cb: "exit", arg: e}); },
    onError: function (e) { calls.push({cb: "error", arg: e}); },
    onEvent: function (e) { calls.push({cb: "event", arg: e.name}); }});
  // A look-alike from another origin (this page's) must be ignored.
  window.postMessage({domain: "meld-connect", eventName: "connect_complete", metadata: {connectionId: "forged"}}, "*");
});
</script>`, p.url, start.WidgetURL, mode)
			}))
			defer app.Close()
			u, _ := url.Parse(app.URL)
			appURL := "http://localhost:" + u.Port() // another site than banklink's 127.0.0.1

			ctx, cancel := chromedp.NewContext(browser)
			defer cancel()
			run(t, ctx, chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.ID("open")), chromedp.Click(chromedp.ID("open")))
			typ := map[string]string{"iframe": "iframe", "popup": "page"}[mode]
			w := widgetTarget(t, ctx, typ, p.url)
			widgetStep(t, w, "Log in")
			tc.login(t, w)
			widgetStep(t, w, "Choose accounts")
			run(t, w, chromedp.Click(chromedp.CSS(`form button.primary`)))

			raw, err := chromedp.Run(ctx, chromedp.Poll[[]byte](`calls.some(function (c) { return c.cb === "success"; }) && calls`, chromedp.WithPollingTimeout(20*time.Second)))
			if err != nil {
				t.Fatalf("onSuccess never called: %v", err)
			}
			var calls []struct {
				CB  string          `json:"cb"`
				Arg json.RawMessage `json:"arg"`
			}
			if err := json.Unmarshal(raw, &calls); err != nil {
				t.Fatal(err)
			}
			var events []string
			successes := 0
			for _, c := range calls {
				switch c.CB {
				case "event":
					var name string
					json.Unmarshal(c.Arg, &name)
					events = append(events, name)
				case "success":
					successes++
					var r struct {
						ConnectionID, InstitutionName string
						AccountCount                  int
						Accounts                      []map[string]any
					}
					json.Unmarshal(c.Arg, &r)
					if r.ConnectionID != start.ID || r.InstitutionName != tc.bankName || r.AccountCount == 0 || len(r.Accounts) != r.AccountCount {
						t.Errorf("onSuccess(%s), want connection %s at %s", c.Arg, start.ID, tc.bankName)
					}
				default:
					t.Errorf("unexpected %s(%s)", c.CB, c.Arg)
				}
			}
			// The OAuth round trip reloads the widget, which says init again.
			if successes != 1 || len(events) == 0 || events[0] != "init" || events[len(events)-1] != "connect_complete" {
				t.Errorf("%d onSuccess calls; events %v", successes, events)
			}
			// The widget is gone once the connection is linked.
			gone := map[string]string{"iframe": `!document.querySelector("iframe")`, "popup": `true`}[mode]
			if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](gone)); err != nil || !ok {
				t.Errorf("the iframe is still there after success (%v)", err)
			}
			if mode == "popup" {
				closed := testenv.Poll(10*time.Second, func() bool {
					infos, err := chromedp.Targets(ctx)
					if err != nil {
						t.Fatal(err)
					}
					for _, info := range infos {
						if info.Type == "page" && strings.HasPrefix(info.URL, p.url+"/connect") {
							return false
						}
					}
					return true
				})
				if !closed {
					t.Errorf("the popup is still open after success")
				}
			}
		})
	}
}

// TestEmbedScriptRedirect opens the widget in "redirect" mode: the app's
// page leaves for the widget, which after linking sends the customer to
// the redirectUrl given to connect/start, where Banklink.redirectResult
// reads the connection id.
func TestEmbedScriptRedirect(t *testing.T) {
	p := startProcess(t, nil, "-data-dir", t.TempDir())
	var widgetURL string
	app := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>app</title><button id="open">Link a bank</button><p id="got"></p>
<script src="%s/connect/embed.js"></script>
<script>
var r = Banklink.redirectResult();
document.getElementById("got").textContent = r ? r.connectionId : "none";
document.getElementById("open").addEventListener("click", function () { Banklink.open({widgetUrl: %q, mode: "redirect"}); });
</script>`, p.url, widgetURL)
	}))
	defer app.Close()
	var start struct{ ID, WidgetURL string }
	body := fmt.Sprintf(`{"externalCustomerId":"embed-redirect","institutionId":"Vc1FabzHnWE7LZuwXhuC6d","redirectUrl":%q}`, app.URL+"/linked")
	if code := api(t, p.url, p.key, "POST", "/bank-linking/connect/start", body, &start); code != 201 {
		t.Fatalf("connect/start: %d", code)
	}
	widgetURL = start.WidgetURL

	ctx, cancel := chromedp.NewContext(embedBrowser(t))
	defer cancel()
	run(t, ctx, chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible(chromedp.ID("open")))
	if got, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("got"))); err != nil || got != "none" {
		t.Fatalf("before linking redirectResult gives %q (%v), want none", got, err)
	}
	run(t, ctx, chromedp.Click(chromedp.ID("open")))
	widgetStep(t, ctx, "Log in")
	run(t, ctx,
		chromedp.WaitVisible(chromedp.ID("field-username")),
		chromedp.SendKeys(chromedp.ID("field-username"), "user_good"),
		chromedp.SendKeys(chromedp.ID("field-password"), "pass_good"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	widgetStep(t, ctx, "Choose accounts")
	run(t, ctx, chromedp.Click(chromedp.CSS(`form button.primary`)))
	widgetStep(t, ctx, "Connected")
	run(t, ctx, chromedp.Click(chromedp.ID("finish")), chromedp.WaitVisible(chromedp.ID("got")))
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("got")))
	if err != nil || got != start.ID {
		t.Errorf("back at the app, redirectResult gives %q (%v), want %s", got, err, start.ID)
	}
}

// TestEmbedScriptOAuthDeny: the customer refuses at the OAuth bank. Back
// in the widget (iframe or popup), the refusal stays on screen, the
// customer can try again, and the app's onError hears it after init with
// the provider's reason; nothing calls onSuccess.
func TestEmbedScriptOAuthDeny(t *testing.T) {
	p := startProcess(t, nil, "-data-dir", t.TempDir())
	browser := embedBrowser(t)
	for _, mode := range []string{"iframe", "popup"} {
		t.Run(mode, func(t *testing.T) {
			var start struct{ ID, WidgetURL string }
			body := fmt.Sprintf(`{"externalCustomerId":"deny-%s","institutionId":"J49BHiNGdxpGXvJ2oeN9NM"}`, mode)
			if code := api(t, p.url, p.key, "POST", "/bank-linking/connect/start", body, &start); code != 201 {
				t.Fatalf("connect/start: %d", code)
			}
			app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `<!doctype html><title>app</title><button id="open">Link a bank</button>
<script src="%s/connect/embed.js"></script>
<script>
window.calls = [];
document.getElementById("open").addEventListener("click", function () {
  Banklink.open({widgetUrl: %q, mode: %q,
    onSuccess: function (r) { calls.push({cb: "success", arg: r}); },
    onError: function (e) { calls.push({cb: "error", arg: e}); },
    onEvent: function (e) { calls.push({cb: "event", arg: e.name}); }});
});
</script>`, p.url, start.WidgetURL, mode)
			}))
			defer app.Close()
			u, _ := url.Parse(app.URL)
			ctx, cancel := chromedp.NewContext(browser)
			defer cancel()
			run(t, ctx, chromedp.Navigate("http://localhost:"+u.Port()), chromedp.WaitVisible(chromedp.ID("open")), chromedp.Click(chromedp.ID("open")))
			w := widgetTarget(t, ctx, map[string]string{"iframe": "iframe", "popup": "page"}[mode], p.url)
			widgetStep(t, w, "Log in")
			run(t, w, chromedp.Click(chromedp.CSS(`a.primary`)), chromedp.WaitVisible(chromedp.ID("deny")), chromedp.Click(chromedp.ID("deny")))
			widgetStep(t, w, "Log in")

			raw, err := chromedp.Run(ctx, chromedp.Poll[[]byte](`calls.some(function (c) { return c.cb === "error"; }) && calls`, chromedp.WithPollingTimeout(20*time.Second)))
			if err != nil {
				t.Fatalf("onError never called: %v", err)
			}
			var calls []struct {
				CB  string          `json:"cb"`
				Arg json.RawMessage `json:"arg"`
			}
			if err := json.Unmarshal(raw, &calls); err != nil {
				t.Fatal(err)
			}
			sawInit := false
			for _, c := range calls {
				switch {
				case c.CB == "event" && string(c.Arg) == `"init"`:
					sawInit = true
				case c.CB == "error":
					var e struct{ Reason, Details, ConnectionID string }
					json.Unmarshal(c.Arg, &e)
					if !sawInit || e.Reason != string(banklink.LoginOAuthDenied) || e.Details == "" || e.ConnectionID != start.ID {
						t.Errorf("onError(%s) (after init: %v)", c.Arg, sawInit)
					}
				case c.CB == "success":
					t.Errorf("onSuccess(%s) after a refusal", c.Arg)
				}
			}
			// The message does not flash away: it is still there a moment
			// later, on the login step the customer can try again from.
			time.Sleep(300 * time.Millisecond)
			msg, err := chromedp.Run(w, chromedp.Evaluate[string](`document.getElementById("alert").hidden ? "" : document.getElementById("alert").textContent`))
			if err != nil || msg == "" {
				t.Errorf("after the refusal the alert shows %q (%v)", msg, err)
			}
			run(t, w, chromedp.WaitVisible(chromedp.CSS(`a.primary`)))
		})
	}
}
