package widget_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// OAuth banks that refuse to be framed (the sandbox's Chase, like the
// real one, sends X-Frame-Options: DENY and frame-ancestors 'none'), with
// the widget in an app's iframe through embed.js: the login opens in a
// popup, or the whole window when popups are blocked or unavailable (a
// WebView), and the outcome reaches the app's callbacks either way.

// oauthSizes are the screen sizes every OAuth flow runs at.
var oauthSizes = []struct {
	name string
	w, h int64
}{{"phone", 360, 640}, {"desktop", 1280, 800}}

// popupBrowser starts headless Chromium with its popup blocker on (the
// default options turn it off): a popup opened without a click is
// blocked, as in a customer's browser.
func popupBrowser(t *testing.T) context.Context {
	t.Helper()
	return testenv.Browser(t, testenv.BrowserOptions{Width: 1280, Height: 800, Timeout: 150 * time.Second, PopupBlocker: true})
}

// oauthApp serves an app page on another site (localhost, banklink is on
// 127.0.0.1) that opens widgetURL with embed.js and records every
// callback in window.calls; on load it calls Banklink.resume, which
// reports a flow the widget sent back to it.
func oauthApp(t *testing.T, st *stack, widgetURL, mode, oauth string) string {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><meta name="viewport" content="width=device-width, initial-scale=1"><title>app</title>
<h1>An app</h1><button id="open">Link a bank</button><pre id="log"></pre>
<script src="%s/connect/embed.js"></script>
<script>
window.calls = [];
function rec(cb) { return function (a) { calls.push({cb: cb, arg: a}); document.getElementById("log").textContent += cb + " " + JSON.stringify(a) + "\n"; }; }
var cbs = {onSuccess: rec("success"), onExit: rec("exit"), onError: rec("error"), onEvent: rec("event")};
Banklink.resume(cbs);
document.getElementById("open").addEventListener("click", function () {
  Banklink.open(Object.assign({widgetUrl: %q, mode: %q, oauth: %q}, cbs));
});
</script>`, st.Srv.URL, widgetURL, mode, oauth)
	}))
	t.Cleanup(app.Close)
	u, _ := url.Parse(app.URL)
	return "http://localhost:" + u.Port() + "/app?page=1"
}

// appCall is one callback the app page received.
type appCall struct {
	CB  string `json:"cb"`
	Arg struct {
		Name         string         `json:"name"`
		Metadata     map[string]any `json:"metadata"`
		ConnectionID string         `json:"connectionId"`
		Reason       string         `json:"reason"`
		Status       string         `json:"status"`
		Resumed      bool           `json:"resumed"`
	} `json:"arg"`
}

// appCalls waits until the app page has a callback cb and returns them all.
func appCalls(t *testing.T, ctx context.Context, cb string) []appCall {
	t.Helper()
	var raw []byte
	var err error
	if !testenv.Poll(30*time.Second, func() bool {
		raw, err = chromedp.Run(ctx, chromedp.Evaluate[[]byte](fmt.Sprintf(`(window.calls || []).some(function (c) { return c.cb === %q; }) ? JSON.stringify(calls) : ""`, cb)))
		return err == nil && len(raw) > 2
	}) {
		t.Fatalf("the app never got %s (%v)", cb, err)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	var calls []appCall
	if err := json.Unmarshal([]byte(s), &calls); err != nil {
		t.Fatal(err)
	}
	return calls
}

// events lists the event names (debug events as debug:action).
func events(calls []appCall) []string {
	var out []string
	for _, c := range calls {
		if c.CB != "event" {
			continue
		}
		n := c.Arg.Name
		if a, ok := c.Arg.Metadata["action"].(string); ok {
			n += ":" + a
		}
		out = append(out, n)
	}
	return out
}

// target waits for a browser target of type typ whose URL starts with
// prefix (the widget's iframe, the bank's popup) and returns a context
// driving it.
func target(t *testing.T, ctx context.Context, typ, prefix string) context.Context {
	t.Helper()
	return testenv.Target(t, ctx, 15*time.Second, typ, prefix)
}

// targetGone waits until no page target's URL starts with prefix.
func targetGone(t *testing.T, ctx context.Context, prefix string) bool {
	return testenv.Poll(15*time.Second, func() bool {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "page" && strings.HasPrefix(info.URL, prefix) {
				return false
			}
		}
		return true
	})
}

// openApp opens the app page at a size and presses its button.
func openApp(t *testing.T, browser context.Context, appURL string, w, h int64) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	do(t, ctx, chromedp.EmulateViewport(w, h), chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.ID("open")), chromedp.Click(chromedp.ID("open")))
	return ctx
}

// TestOAuthRefusesFraming: the sandbox's real-world OAuth banks refuse
// to be framed, as the real ones do, and the widget is told so.
func TestOAuthRefusesFraming(t *testing.T) {
	st := newStack(t)
	chase := st.Institution("Chase")
	resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"nf-1","institutionId":%q}`, chase.ID))
	tok := strings.TrimPrefix(resp.WidgetURL[strings.Index(resp.WidgetURL, "connectToken="):], "connectToken=")
	code, s := st.CallTab(tok, "tab-0123456789abcdef", "GET", "session", "")
	if code != 200 || s["step"] != banklink.StepRedirect || s["loginNoFrame"] != true {
		t.Fatalf("session: %d %v", code, s)
	}
	r, err := http.Get(s["loginUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 || r.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("the bank's page: %d, X-Frame-Options %q, CSP %q", r.StatusCode, r.Header.Get("X-Frame-Options"), r.Header.Get("Content-Security-Policy"))
	}
	// A bank that may be framed is shown in the frame, as before.
	resp = st.Start(fmt.Sprintf(`{"externalCustomerId":"nf-2","institutionId":%q}`, st.Institution("Sandbox OAuth Bank").ID))
	tok = strings.TrimPrefix(resp.WidgetURL[strings.Index(resp.WidgetURL, "connectToken="):], "connectToken=")
	if code, s = st.CallTab(tok, "tab-0123456789abcdef", "GET", "session", ""); code != 200 || s["step"] != banklink.StepRedirect || s["loginNoFrame"] != nil {
		t.Fatalf("framable bank's session: %d %v", code, s)
	}
}

// TestOAuthPopupFromIframe: the widget in an app's iframe opens Chase in
// a popup from the customer's click; the popup's return hands the result
// to the frame and closes; the frame goes on to the accounts, and the app
// hears init, open_oauth and connect_complete with the connection id.
// Deny in the popup reaches the app as an error, and closing the widget
// then as an exit with status ERROR.
func TestOAuthPopupFromIframe(t *testing.T) {
	st := newStack(t)
	browser := popupBrowser(t)
	chase := st.Institution("Chase")
	authorize := st.Srv.URL + "/connect/sandbox/authorize"
	for _, size := range oauthSizes {
		t.Run("approve/"+size.name, func(t *testing.T) {
			resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"pop-%s","institutionId":%q}`, size.name, chase.ID))
			ctx := openApp(t, browser, oauthApp(t, st, resp.WidgetURL, "iframe", ""), size.w, size.h)
			frame := target(t, ctx, "iframe", st.Srv.URL+"/connect")
			waitTitle(t, frame, "Log in")
			shot(t, ctx, "oauth-popup-"+size.name+"-1-continue")
			do(t, frame, chromedp.Click(chromedp.ID("oauth-open")))
			popup := target(t, ctx, "page", authorize)
			do(t, popup, chromedp.WaitVisible(chromedp.ID("approve")))
			do(t, frame, chromedp.WaitVisible(chromedp.ID("oauth-waiting")))
			shot(t, ctx, "oauth-popup-"+size.name+"-2-waiting")
			shot(t, popup, "oauth-popup-"+size.name+"-3-bank")
			do(t, popup, chromedp.Click(chromedp.ID("approve")))
			waitTitle(t, frame, "Choose accounts")
			if !targetGone(t, ctx, st.Srv.URL) {
				t.Errorf("the popup is still open after the bank's return")
			}
			shot(t, ctx, "oauth-popup-"+size.name+"-4-accounts")
			do(t, frame, chromedp.Click(chromedp.CSS(`form button.primary`)))

			calls := appCalls(t, ctx, "success")
			ev := events(calls)
			want := []string{"init", "debug:open_oauth", "connect_complete"}
			if !subsequence(ev, want) || strings.Count(strings.Join(ev, " "), "init") != 1 {
				t.Errorf("events %v, want %v in order and init once", ev, want)
			}
			for _, c := range calls {
				switch {
				case c.CB == "event" && c.Arg.Name == "debug" && c.Arg.Metadata["action"] == "open_oauth" && c.Arg.Metadata["mode"] != "popup":
					t.Errorf("open_oauth %v, want mode popup", c.Arg.Metadata)
				case c.CB == "event" && c.Arg.Name == "connect_complete" && c.Arg.Metadata["connectionId"] != resp.ID:
					t.Errorf("connect_complete %v, want connection %s", c.Arg.Metadata, resp.ID)
				case c.CB == "success" && c.Arg.ConnectionID != resp.ID:
					t.Errorf("onSuccess for %q, want %s", c.Arg.ConnectionID, resp.ID)
				case c.CB == "error" || c.CB == "exit":
					t.Errorf("%s %+v", c.CB, c.Arg)
				}
			}
			shot(t, ctx, "oauth-popup-"+size.name+"-5-app")
		})
		t.Run("deny/"+size.name, func(t *testing.T) {
			resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"deny-%s","institutionId":%q}`, size.name, chase.ID))
			ctx := openApp(t, browser, oauthApp(t, st, resp.WidgetURL, "iframe", ""), size.w, size.h)
			frame := target(t, ctx, "iframe", st.Srv.URL+"/connect")
			waitTitle(t, frame, "Log in")
			do(t, frame, chromedp.Click(chromedp.ID("oauth-open")))
			popup := target(t, ctx, "page", authorize)
			do(t, popup, chromedp.WaitVisible(chromedp.ID("deny")), chromedp.Click(chromedp.ID("deny")))
			calls := appCalls(t, ctx, "error")
			var denied bool
			for _, c := range calls {
				if c.CB == "error" {
					denied = c.Arg.Reason == string(banklink.LoginOAuthDenied) && c.Arg.ConnectionID == resp.ID
				}
			}
			if !denied {
				t.Errorf("calls %+v, want onError %s", calls, banklink.LoginOAuthDenied)
			}
			// The refusal stays on screen, on a step the customer can try
			// again from.
			waitTitle(t, frame, "Log in")
			do(t, frame, chromedp.WaitVisible(chromedp.ID("oauth-open")))
			if msg := text(t, frame, "#alert"); msg == "" {
				t.Errorf("no message after the refusal")
			}
			shot(t, ctx, "oauth-deny-"+size.name)
			do(t, frame, chromedp.Click(chromedp.ID("close")))
			calls = appCalls(t, ctx, "exit")
			last := calls[len(calls)-1]
			if last.CB != "exit" || last.Arg.Status != "ERROR" {
				t.Errorf("last call %+v, want onExit with status ERROR", last)
			}
		})
	}
}

// subsequence reports whether want appears in got in order.
func subsequence(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestOAuthWholeWindow: the OAuth bank takes the whole window and the
// flow comes back to the app's page, where Banklink.resume calls
// onSuccess with the connection id: after the browser blocked the popup
// (the widget says so and offers this window), in a WebView-like
// embedding that has no popups (oauth: "redirect"), and in embed.js's
// redirect mode without a redirectUrl.
func TestOAuthWholeWindow(t *testing.T) {
	st := newStack(t)
	browser := popupBrowser(t)
	chase := st.Institution("Chase")
	for _, size := range oauthSizes {
		for _, tc := range []struct {
			name, mode, oauth string
			// leave starts the OAuth login from the app's tab.
			leave func(t *testing.T, ctx context.Context)
		}{
			{"popup-blocked", "iframe", "", func(t *testing.T, ctx context.Context) {
				frame := target(t, ctx, "iframe", st.Srv.URL+"/connect")
				waitTitle(t, frame, "Log in")
				// A click the browser does not count as the customer's:
				// its popup blocker refuses the window.
				do(t, frame, chromedp.Evaluate[chromedp.Void](`document.getElementById("oauth-open").click()`),
					chromedp.WaitVisible(chromedp.ID("oauth-redirect")))
				if msg := text(t, frame, "#alert"); !strings.Contains(msg, "blocked") {
					t.Errorf("after a blocked popup the widget says %q", msg)
				}
				shot(t, ctx, "oauth-blocked-"+size.name)
				do(t, frame, chromedp.Click(chromedp.ID("oauth-redirect")))
			}},
			{"webview", "iframe", "redirect", func(t *testing.T, ctx context.Context) {
				frame := target(t, ctx, "iframe", st.Srv.URL+"/connect")
				waitTitle(t, frame, "Log in")
				do(t, frame, chromedp.WaitVisible(chromedp.ID("oauth-redirect")))
				shot(t, ctx, "oauth-webview-"+size.name)
				do(t, frame, chromedp.Click(chromedp.ID("oauth-redirect")))
			}},
			{"redirect-mode", "redirect", "", func(t *testing.T, ctx context.Context) {
				waitTitle(t, ctx, "Log in")
				do(t, ctx, chromedp.Click(chromedp.CSS(`a.primary`)))
			}},
		} {
			t.Run(tc.name+"/"+size.name, func(t *testing.T) {
				resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"win-%s-%s","institutionId":%q}`, tc.name, size.name, chase.ID))
				appURL := oauthApp(t, st, resp.WidgetURL, tc.mode, tc.oauth)
				ctx := openApp(t, browser, appURL, size.w, size.h)
				tc.leave(t, ctx)
				// The whole tab is at the bank, then back in the widget.
				do(t, ctx, chromedp.WaitVisible(chromedp.ID("approve")))
				shot(t, ctx, "oauth-"+tc.name+"-"+size.name+"-bank")
				do(t, ctx, chromedp.Click(chromedp.ID("approve")))
				waitTitle(t, ctx, "Choose accounts")
				do(t, ctx, chromedp.Click(chromedp.CSS(`form button.primary`)))
				waitTitle(t, ctx, "Connected")
				do(t, ctx, chromedp.Click(chromedp.ID("finish")))

				calls := appCalls(t, ctx, "success")
				loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
				if err != nil || !strings.HasPrefix(loc, strings.TrimSuffix(appURL, "?page=1")) || strings.Contains(loc, "connectionId") {
					t.Errorf("back at %q (%v), want the app's page without the outcome in its address", loc, err)
				}
				for _, c := range calls {
					if c.CB == "success" && (c.Arg.ConnectionID != resp.ID || !c.Arg.Resumed) {
						t.Errorf("onSuccess %+v, want connection %s, resumed", c.Arg, resp.ID)
					}
					if c.CB == "error" || c.CB == "exit" {
						t.Errorf("%s %+v", c.CB, c.Arg)
					}
				}
				shot(t, ctx, "oauth-"+tc.name+"-"+size.name+"-app")
			})
		}
	}
}

// TestOAuthWholeWindowDeny: a refusal at a bank that took the whole
// window stays on the widget's screen; closing the widget then takes the
// customer back to the app's page, where Banklink.resume reports the
// refusal (onError) and the exit (onExit, status ERROR).
func TestOAuthWholeWindowDeny(t *testing.T) {
	st := newStack(t)
	browser := popupBrowser(t)
	resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"win-deny","institutionId":%q}`, st.Institution("Chase").ID))
	ctx := openApp(t, browser, oauthApp(t, st, resp.WidgetURL, "iframe", "redirect"), 360, 640)
	frame := target(t, ctx, "iframe", st.Srv.URL+"/connect")
	waitTitle(t, frame, "Log in")
	do(t, frame, chromedp.WaitVisible(chromedp.ID("oauth-redirect")), chromedp.Click(chromedp.ID("oauth-redirect")))
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("deny")), chromedp.Click(chromedp.ID("deny")))
	waitTitle(t, ctx, "Log in")
	if msg := text(t, ctx, "#alert"); msg == "" {
		t.Errorf("no message after the refusal")
	}
	shot(t, ctx, "oauth-window-deny")
	do(t, ctx, chromedp.Click(chromedp.ID("close")))
	calls := appCalls(t, ctx, "exit")
	var cbs []string
	for _, c := range calls {
		cbs = append(cbs, c.CB)
		switch c.CB {
		case "error":
			if c.Arg.Reason != string(banklink.LoginOAuthDenied) {
				t.Errorf("onError %+v", c.Arg)
			}
		case "exit":
			if c.Arg.Status != "ERROR" {
				t.Errorf("onExit %+v", c.Arg)
			}
		}
	}
	if !subsequence(cbs, []string{"error", "exit"}) || subsequence(cbs, []string{"success"}) {
		t.Errorf("callbacks %v, want error then exit", cbs)
	}
}
