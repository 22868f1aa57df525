package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"banklink/client"
	"banklink/internal/testenv"

	"github.com/chromedp/chromedp"
)

// TestEmbedQuickstart runs the embed script's quick start of
// docs/clients.md as the doc shows it: linkRoutes (the backend, equal
// to the doc's by TestQuickstartDoc) and the doc's page. Clicking the
// button opens the widget in an iframe; once Sandbox Bank is linked, the
// page shows the accounts its backend read with the Go client.
func TestEmbedQuickstart(t *testing.T) {
	page := docBlock(t, "Quick start: the embed script", "html", 0)
	linkFromDocPage(t, page, nil, "iframe")
}

// TestReactExample runs the React example of docs/clients.md the same
// way, in popup mode. This machine has no network, so the page's import
// map is pointed at fakeReact instead of the CDN.
func TestReactExample(t *testing.T) {
	page := docBlock(t, "Quick start: the embed script", "html", 1)
	for _, cdn := range []string{`"https://esm.sh/react@18"`, `"https://esm.sh/react-dom@18/client"`} {
		if !strings.Contains(page, cdn) {
			t.Fatalf("the React example no longer imports %s", cdn)
		}
	}
	page = strings.NewReplacer(`"https://esm.sh/react@18"`, `"/fake/react.js"`, `"https://esm.sh/react-dom@18/client"`, `"/fake/react.js"`).Replace(page)
	linkFromDocPage(t, page, map[string]string{"/fake/react.js": fakeReact}, "page")
}

// fakeReact stands in for react and react-dom/client: createElement,
// useState, useEffect and createRoot, rendering the whole tree again on
// every state change, which is all the React example needs.
const fakeReact = `
let hooks = [], at = 0, effects = [], root, tree;
function createElement(type, props, ...children) { return { type, props: props || {}, children: children.flat() }; }
function useState(init) {
  const i = at++;
  if (!(i in hooks)) hooks[i] = init;
  return [hooks[i], (v) => { hooks[i] = typeof v === "function" ? v(hooks[i]) : v; render(); }];
}
function useEffect(fn, deps) {
  const i = at++, prev = hooks[i];
  if (!prev || !deps || deps.some((d, j) => d !== prev[j])) { hooks[i] = deps || []; effects.push(fn); }
}
function dom(n) {
  if (n == null || n === false) return document.createTextNode("");
  if (typeof n !== "object") return document.createTextNode(String(n));
  if (typeof n.type === "function") return dom(n.type(Object.assign({ children: n.children }, n.props)));
  const el = document.createElement(n.type);
  for (const [k, v] of Object.entries(n.props)) {
    if (k.startsWith("on")) el[k.toLowerCase()] = v; else if (k === "disabled") el.disabled = !!v; else el.setAttribute(k, v);
  }
  n.children.forEach((c) => el.appendChild(dom(c)));
  return el;
}
function render() {
  at = 0;
  root.replaceChildren(dom(tree));
  const run = effects; effects = [];
  run.forEach((f) => f());
}
export function createRoot(el) { return { render(node) { root = el; tree = node; render(); } }; }
export default { createElement, useState, useEffect };
`

// linkFromDocPage serves page (with banklink's URL in place of the doc's
// http://127.0.0.1:8080), the files in extra and linkRoutes on another
// site than banklink's, clicks #link in Chromium, links Sandbox Bank in
// the widget, which opens as a target of type typ (an "iframe" or a
// popup "page"), and waits for the accounts in #accounts.
func linkFromDocPage(t *testing.T, page string, extra map[string]string, typ string) {
	testenv.Chromium(t) // skips (or fails on CI) before anything starts
	banklink := os.Getenv("BANKLINK_URL")
	if !strings.Contains(page, "http://127.0.0.1:8080/connect/embed.js") {
		t.Fatal("the doc's page no longer loads http://127.0.0.1:8080/connect/embed.js")
	}
	page = strings.ReplaceAll(page, "http://127.0.0.1:8080", banklink)

	mux := http.NewServeMux()
	linkRoutes(mux, client.New(banklink, os.Getenv("BANKLINK_KEY")))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>app</title>\n" + page))
	})
	for p, js := range extra {
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write([]byte(js))
		})
	}
	app := httptest.NewServer(mux)
	defer app.Close()
	u, _ := url.Parse(app.URL)
	appURL := "http://localhost:" + u.Port() // another site than banklink's 127.0.0.1

	ctx := testenv.Browser(t, testenv.BrowserOptions{})
	do := func(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do(ctx, "open the app", chromedp.Navigate(appURL), chromedp.WaitEnabled(chromedp.ID("link")), chromedp.Click(chromedp.ID("link")))

	// The widget, in the iframe or the popup the script made.
	widget := testenv.Target(t, ctx, 10*time.Second, typ, banklink+"/connect")
	// The widget's heading says which step is up once its answer is in.
	step := func(title string) {
		t.Helper()
		js := `document.getElementById("title") && document.getElementById("title").textContent === "` + title +
			`" && document.getElementById("app").getAttribute("aria-busy") === "false"`
		if _, err := chromedp.Run(widget, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("the widget never showed %q: %v", title, err)
		}
	}
	// The consent screen comes first: share what the app asks for.
	step("Connect your accounts")
	do(widget, "consent", chromedp.Click(chromedp.ID("consent-continue")))
	step("Find your bank")
	do(widget, "pick Sandbox Bank",
		chromedp.WaitVisible(chromedp.ID("search")),
		chromedp.SendKeys(chromedp.ID("search"), "Sandbox Bank"),
		chromedp.WaitVisible(chromedp.CSS(`button.inst[data-id="`+sandboxBank+`"]`)),
		chromedp.Click(chromedp.CSS(`button.inst[data-id="`+sandboxBank+`"]`)))
	step("Log in")
	do(widget, "log in",
		chromedp.WaitVisible(chromedp.ID("field-username")),
		chromedp.SendKeys(chromedp.ID("field-username"), "user_good"),
		chromedp.SendKeys(chromedp.ID("field-password"), "pass_good"),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	step("Choose accounts")
	do(widget, "link the accounts", chromedp.Click(chromedp.CSS(`form button.primary`)))

	shown, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("accounts").textContent`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("the page never showed the accounts: %v", err)
	}
	if !strings.Contains(shown, "Sandbox Bank ") || strings.Count(shown, "\n") < 2 {
		t.Errorf("the page shows %q, want a line per linked Sandbox Bank account", shown)
	}
}
