package widget_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"banklink"

	"banklink/internal/sandbox"
	"banklink/internal/testenv"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// artifactsDir is where browser tests leave screenshots: $BANKLINK_TEST_ARTIFACTS
// or test-artifacts/ at the repository root (ignored by git).
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("BANKLINK_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-artifacts")
	}
	dir = filepath.Join(dir, "widget")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts headless Chromium for one test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	// The redirectUrl test serves the app's https page from a throwaway
	// certificate.
	return testenv.Browser(t, testenv.BrowserOptions{Width: 360, Height: 630, InsecureCerts: true})
}

// tab opens a new tab in the test's browser.
func tab(t *testing.T, browser context.Context) context.Context {
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 630)); err != nil {
		t.Fatal(err)
	}
	return ctx
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
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(artifactsDir(t), name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitTitle waits until the widget's heading reads want. It survives
// navigations (the OAuth round trip reloads the page).
func waitTitle(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	js := fmt.Sprintf(`!!document.getElementById("title") && document.getElementById("title").textContent === %q && document.getElementById("app").getAttribute("aria-busy") === "false"`, want)
	var err error
	if testenv.Poll(20*time.Second, func() bool {
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && !ok && want != consentTitle {
			acceptConsent(ctx)
		}
		return err == nil && ok
	}) {
		return
	}
	got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("title").textContent + " | " + document.getElementById("alert").textContent`))
	t.Fatalf("waiting for %q: %v (page shows %q)", want, err, got)
}

// replaceValue clears an input and types v into it.
func replaceValue(t *testing.T, ctx context.Context, id, v string) {
	t.Helper()
	do(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).value = ""`, id)), chromedp.SendKeys(chromedp.ID(id), v))
}

// consentTitle is the consent screen's heading, the widget's first.
const consentTitle = "Connect your accounts"

// acceptConsent presses Continue on the consent screen if it shows,
// sharing everything asked for, and reports whether it did. The helpers
// below wait through the consent screen with it, so a test that is not
// about consent reads as the flow did before it.
func acceptConsent(ctx context.Context) bool {
	ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){var b=document.getElementById("consent-continue");
		if(!b||b.disabled)return false;b.click();return true})()`))
	return ok
}

// waitPastConsent waits until the element id is on the page, accepting
// the consent screen on the way.
func waitPastConsent(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	js := fmt.Sprintf(`!!document.getElementById(%q)`, id)
	if !testenv.Poll(20*time.Second, func() bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && !ok {
			acceptConsent(ctx)
		}
		return err == nil && ok
	}) {
		t.Fatalf("waiting for #%s", id)
	}
	do(t, ctx, chromedp.WaitVisible(chromedp.ID(id)))
}

func pick(t *testing.T, ctx context.Context, query, name string) {
	t.Helper()
	waitPastConsent(t, ctx, "search")
	if query != "" {
		do(t, ctx, chromedp.SendKeys(chromedp.ID("search"), query))
	}
	sel := fmt.Sprintf(`//button[contains(@class,"inst")][.//span[@class="name" and text()=%q]]`, name)
	do(t, ctx, chromedp.WaitVisible(sel), chromedp.Click(sel))
}

func login(t *testing.T, ctx context.Context, user, pass string) {
	t.Helper()
	waitPastConsent(t, ctx, "field-username")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("field-username"), user),
		chromedp.SendKeys(chromedp.ID("field-password"), pass),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
	)
}

func connectAccounts(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	waitTitle(t, ctx, "Choose accounts")
	shot(t, ctx, name+"-5-accounts")
	do(t, ctx, chromedp.Click(chromedp.CSS(`form button.primary`)))
	waitTitle(t, ctx, "Connected")
	shot(t, ctx, name+"-6-success")
}

func TestBrowserFlows(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	bank := st.Institution("Sandbox Bank")
	for _, tc := range []struct {
		name  string
		body  string
		steps func(t *testing.T, ctx context.Context)
	}{
		{
			name: "search-and-pick",
			body: `{"externalCustomerId":"b1","products":["BALANCES","TRANSACTIONS"],"regions":["US"]}`,
			steps: func(t *testing.T, ctx context.Context) {
				waitTitle(t, ctx, "Find your bank")
				shot(t, ctx, "search-and-pick-1-picker")
				pick(t, ctx, "sandbox b", "Sandbox Bank")
				waitTitle(t, ctx, "Log in")
				shot(t, ctx, "search-and-pick-2-login")
				login(t, ctx, sandbox.UserGood, sandbox.PasswordGood)
				connectAccounts(t, ctx, "search-and-pick")
			},
		},
		{
			name: "prefilled-search",
			body: `{"externalCustomerId":"b2","institutionSearchString":"Sandbox Cred"}`,
			steps: func(t *testing.T, ctx context.Context) {
				waitTitle(t, ctx, "Find your bank")
				v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("search")))
				if err != nil || v != "Sandbox Cred" {
					t.Fatalf("search box = %q, %v", v, err)
				}
				first := `#results li:first-child .name`
				do(t, ctx, chromedp.WaitVisible(chromedp.CSS(first)))
				if got := text(t, ctx, first); got != "Sandbox Credit Union" {
					t.Errorf("first result = %q", got)
				}
				shot(t, ctx, "prefilled-search-1-picker")
			},
		},
		{
			name: "skipped-picker",
			body: fmt.Sprintf(`{"externalCustomerId":"b3","institutionId":%q}`, bank.ID),
			steps: func(t *testing.T, ctx context.Context) {
				waitTitle(t, ctx, "Log in")
				if got := text(t, ctx, ".head h2"); got != "Sandbox Bank" {
					t.Errorf("institution = %q", got)
				}
				shot(t, ctx, "skipped-picker-1-login")
				login(t, ctx, sandbox.UserGood, sandbox.PasswordGood)
				connectAccounts(t, ctx, "skipped-picker")
			},
		},
		{
			name: "mfa-code",
			body: fmt.Sprintf(`{"externalCustomerId":"b4","institutionId":%q}`, bank.ID),
			steps: func(t *testing.T, ctx context.Context) {
				login(t, ctx, sandbox.UserMFACode, sandbox.PasswordGood)
				waitTitle(t, ctx, "Verify it's you")
				shot(t, ctx, "mfa-code-3-mfa")
				do(t, ctx, chromedp.SendKeys(chromedp.ID("answer"), sandbox.MFACodeAnswer), chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
				connectAccounts(t, ctx, "mfa-code")
			},
		},
		{
			name: "mfa-question",
			body: fmt.Sprintf(`{"externalCustomerId":"b5","institutionId":%q}`, bank.ID),
			steps: func(t *testing.T, ctx context.Context) {
				login(t, ctx, sandbox.UserMFAQuestion, sandbox.PasswordGood)
				waitTitle(t, ctx, "Verify it's you")
				shot(t, ctx, "mfa-question-3-mfa")
				// A wrong answer first: the error shows and the form stays.
				do(t, ctx, chromedp.SendKeys(chromedp.ID("answer"), "spot"), chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
					chromedp.WaitVisible(chromedp.ID("alert")))
				if got := text(t, ctx, "#alert"); !strings.Contains(got, "not correct") {
					t.Errorf("alert = %q", got)
				}
				replaceValue(t, ctx, "answer", sandbox.MFAQuestionReply)
				do(t, ctx, chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
				connectAccounts(t, ctx, "mfa-question")
			},
		},
		{
			name: "mfa-choice",
			body: fmt.Sprintf(`{"externalCustomerId":"b6","institutionId":%q}`, bank.ID),
			steps: func(t *testing.T, ctx context.Context) {
				login(t, ctx, sandbox.UserMFAChoice, sandbox.PasswordGood)
				waitTitle(t, ctx, "Verify it's you")
				shot(t, ctx, "mfa-choice-3-mfa")
				do(t, ctx, chromedp.Click(chromedp.CSS(`input[name=answer][value="1"]`)), chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
				do(t, ctx, chromedp.WaitVisible(chromedp.ID("answer")))
				do(t, ctx, chromedp.SendKeys(chromedp.ID("answer"), sandbox.MFACodeAnswer), chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
				connectAccounts(t, ctx, "mfa-choice")
			},
		},
		{
			name: "wrong-password-then-retry",
			body: fmt.Sprintf(`{"externalCustomerId":"b7","institutionId":%q}`, bank.ID),
			steps: func(t *testing.T, ctx context.Context) {
				login(t, ctx, sandbox.UserGood, "wrong")
				do(t, ctx, chromedp.WaitVisible(chromedp.ID("alert")))
				if got := text(t, ctx, "#alert"); !strings.Contains(got, "incorrect") {
					t.Errorf("alert = %q", got)
				}
				shot(t, ctx, "wrong-password-2-error")
				replaceValue(t, ctx, "field-password", sandbox.PasswordGood)
				do(t, ctx, chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
				connectAccounts(t, ctx, "wrong-password")
			},
		},
		{
			// Enter on an empty form, many times: a message says what is
			// missing, nothing is sent, the session does not lock.
			name: "empty-submits",
			body: fmt.Sprintf(`{"externalCustomerId":"b10","institutionId":%q}`, bank.ID),
			steps: func(t *testing.T, ctx context.Context) {
				waitPastConsent(t, ctx, "field-username")
				for range banklink.MaxLoginFailures + 2 {
					do(t, ctx, chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
				}
				do(t, ctx, chromedp.WaitVisible(chromedp.ID("alert")))
				if got := text(t, ctx, "#alert"); !strings.Contains(got, "Enter your username") {
					t.Errorf("alert = %q", got)
				}
				shot(t, ctx, "empty-submits-1-alert")
				do(t, ctx, chromedp.SendKeys(chromedp.ID("field-username"), sandbox.UserGood))
				for range 2 {
					do(t, ctx, chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
				}
				if got := text(t, ctx, "#alert"); !strings.Contains(got, "Enter your password") {
					t.Errorf("alert = %q", got)
				}
				do(t, ctx, chromedp.SendKeys(chromedp.ID("field-password"), sandbox.PasswordGood), chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
				connectAccounts(t, ctx, "empty-submits")
			},
		},
		{
			// "Show more" is hidden when everything is shown, appends the
			// next page once however fast it is pressed, and disappears at
			// the end of the list.
			name: "show-more",
			body: `{"externalCustomerId":"b11"}`,
			steps: func(t *testing.T, ctx context.Context) {
				waitTitle(t, ctx, "Find your bank")
				visible := func() bool {
					v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){var m=document.querySelector("button.more"); return !!m && m.offsetParent !== null})()`))
					return err == nil && v
				}
				count := func() int {
					n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#results li").length`))
					return n
				}
				distinct := func() bool {
					ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){var ids=[].map.call(document.querySelectorAll("#results button.inst"),function(b){return b.dataset.id}); return new Set(ids).size===ids.length})()`))
					return ok
				}
				testenv.Eventually(t, 10*time.Second, "a first page with Show more", func() bool { return count() == 20 && visible() })
				// Three quick presses: one more page, no duplicates.
				do(t, ctx, chromedp.Evaluate[chromedp.Void](`(function(){var m=document.querySelector("button.more"); m.click(); m.click(); m.click();})()`))
				testenv.Eventually(t, 10*time.Second, "the second page", func() bool { return count() == 40 })
				if !distinct() {
					t.Error("Show more appended an institution twice")
				}
				shot(t, ctx, "show-more-1-two-pages")
				// A search whose results fit one page: no Show more.
				replaceValue(t, ctx, "search", "Sandbox OAuth")
				testenv.Eventually(t, 10*time.Second, "one short page", func() bool { return count() > 0 && count() < 20 })
				if visible() {
					t.Error("Show more is visible under a complete list")
				}
			},
		},
		{
			name: "back-to-picker",
			body: `{"externalCustomerId":"b8"}`,
			steps: func(t *testing.T, ctx context.Context) {
				pick(t, ctx, "Sandbox Bank", "Sandbox Bank")
				waitTitle(t, ctx, "Log in")
				waitPastConsent(t, ctx, "field-username")
				do(t, ctx, chromedp.Click(chromedp.ID("back")))
				waitTitle(t, ctx, "Find your bank")
				shot(t, ctx, "back-to-picker")
			},
		},
		{
			name: "oauth",
			body: `{"externalCustomerId":"b9","institutionSearchString":"Sandbox OAuth"}`,
			steps: func(t *testing.T, ctx context.Context) {
				pick(t, ctx, "", "Sandbox OAuth Bank")
				waitTitle(t, ctx, "Log in")
				shot(t, ctx, "oauth-2-redirect")
				do(t, ctx, chromedp.Click(chromedp.CSS(`a.primary`)), chromedp.WaitVisible(chromedp.ID("approve")))
				shot(t, ctx, "oauth-3-bank")
				do(t, ctx, chromedp.Click(chromedp.ID("approve")))
				connectAccounts(t, ctx, "oauth")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := st.Start(tc.body)
			ctx := tab(t, browser)
			do(t, ctx, chromedp.Navigate(resp.WidgetURL))
			tc.steps(t, ctx)
		})
	}
}

func TestBrowserTokenErrors(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	bank := st.Institution("Sandbox Bank")

	t.Run("expired token", func(t *testing.T) {
		resp := st.Start(`{"externalCustomerId":"e1"}`)
		ctx := tab(t, browser)
		do(t, ctx, chromedp.Navigate(st.Srv.URL+"/connect?connectToken="+st.ExpiredToken(resp)))
		waitTitle(t, ctx, "Something went wrong")
		if got := text(t, ctx, "#view h2"); got != "Link expired" {
			t.Errorf("heading = %q", got)
		}
		shot(t, ctx, "expired-token")
	})
	t.Run("reused token", func(t *testing.T) {
		resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"e2","institutionId":%q}`, bank.ID))
		ctx := tab(t, browser)
		do(t, ctx, chromedp.Navigate(resp.WidgetURL))
		login(t, ctx, sandbox.UserGood, sandbox.PasswordGood)
		connectAccounts(t, ctx, "reused-token")
		do(t, ctx, chromedp.Navigate(resp.WidgetURL))
		waitTitle(t, ctx, "Something went wrong")
		if got := text(t, ctx, "#view h2"); got != "Already connected" {
			t.Errorf("heading = %q", got)
		}
		shot(t, ctx, "reused-token")
	})
	t.Run("tampered token", func(t *testing.T) {
		ctx := tab(t, browser)
		do(t, ctx, chromedp.Navigate(st.Srv.URL+"/connect?connectToken=not-a-token"))
		waitTitle(t, ctx, "Something went wrong")
		if got := text(t, ctx, "#view p"); !strings.Contains(got, "not valid") {
			t.Errorf("message = %q", got)
		}
	})
}

// TestBrowserParentReceivesEvents embeds the widget in a page on another
// origin (localhost vs 127.0.0.1) and checks the events it receives.
func TestBrowserParentReceivesEvents(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	bank := st.Institution("Sandbox Bank")
	resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"p1","institutionId":%q}`, bank.ID))
	parent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>app</title><body><iframe id="w" src=%q width="360" height="630" style="border:0"></iframe>
<script>window.events=[];addEventListener("message",function(e){window.events.push({origin:e.origin,data:e.data})});</script>`, resp.WidgetURL)
	}))
	defer parent.Close()
	u, _ := url.Parse(parent.URL)
	parentURL := "http://localhost:" + u.Port() // another origin than the widget's 127.0.0.1

	ctx := tab(t, browser)
	do(t, ctx, chromedp.Navigate(parentURL))
	// The widget is a cross-site iframe: Chrome runs it as its own target.
	var frame context.Context
	testenv.Eventually(t, 5*time.Second, "an iframe target for the widget", func() bool {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, st.Srv.URL) {
				f, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				frame = f
			}
		}
		return frame != nil
	})
	waitTitle(t, frame, "Log in")
	// Escape typed in a field must not close the embedded widget.
	do(t, frame, chromedp.SendKeys(chromedp.ID("field-username"), kb.Escape))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`window.events.filter(function(e){return e.data.eventName==="exit"}).length`)); n != 0 {
		t.Fatalf("Escape in a field closed the widget (%d exit events)", n)
	}
	login(t, frame, sandbox.UserGood, sandbox.PasswordGood)
	waitTitle(t, frame, "Choose accounts")
	do(t, frame, chromedp.Click(chromedp.CSS(`form button.primary`)))
	waitTitle(t, frame, "Connected")
	shot(t, ctx, "parent-page-complete")
	// Escape in a field does not close; Done closes with a success exit.
	do(t, frame, chromedp.Click(chromedp.ID("finish")))

	raw, err := chromedp.Run(ctx, chromedp.Poll[[]byte](`window.events.some(function(e){return e.data.eventName==="exit"}) && window.events`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("no exit after Done: %v", err)
	}
	var events []struct {
		Origin string
		Data   struct {
			Domain, EventName string
			Metadata          map[string]any
		}
	}
	if err := json.Unmarshal(raw, &events); err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range events {
		if e.Origin != st.Srv.URL || e.Data.Domain != "meld-connect" {
			t.Errorf("event from %q domain %q", e.Origin, e.Data.Domain)
		}
		names = append(names, e.Data.EventName)
		if e.Data.EventName == "connect_complete" {
			m := e.Data.Metadata
			accts, _ := m["accounts"].([]any)
			if m["connectionId"] != resp.ID || m["institutionId"] != bank.ID || m["institutionName"] != "Sandbox Bank" || m["accountCount"] != float64(len(accts)) || len(accts) == 0 {
				t.Errorf("connect_complete metadata = %v", m)
			}
			a := accts[0].(map[string]any)
			if a["name"] == "" || a["type"] == "" || a["subtype"] == "" || a["subtype"] == nil || len(a["mask"].(string)) != 4 {
				t.Errorf("account = %v", a)
			}
		}
		if e.Data.EventName == "exit" {
			if m := e.Data.Metadata; m["status"] != "SUCCESS" || m["step"] != nil {
				t.Errorf("exit after success = %v", m)
			}
		}
	}
	for _, want := range []string{"init", "submit_credentials", "connect_complete", "exit"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s event (all: %v)", want, names)
		}
	}
	if names[0] != "init" {
		t.Errorf("first event = %q, want init (all: %v)", names[0], names)
	}
}

// TestBrowserPageWeight measures every byte the browser loads to show the
// picker (page, CSS, script and the API calls, headers included), and
// checks that nothing comes from another host.
func TestBrowserPageWeight(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	resp := st.Start(`{"externalCustomerId":"w1"}`)
	ctx := tab(t, browser)
	do(t, ctx, chromedp.Navigate(resp.WidgetURL))
	waitTitle(t, ctx, "Find your bank")
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#results li`)))
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource")).map(function(e){return {name:e.name,transfer:e.transferSize,body:e.encodedBodySize}})`))
	if err != nil {
		t.Fatal(err)
	}
	var entries []struct {
		Name           string
		Transfer, Body float64
	}
	if err := json.Unmarshal(raw, &entries); err != nil {
		t.Fatal(err)
	}
	total := 0.0
	var lines []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name, st.Srv.URL+"/") {
			t.Errorf("request to another host: %s", e.Name)
		}
		total += e.Transfer
		name := strings.TrimPrefix(e.Name, st.Srv.URL)
		if i := strings.Index(name, "?"); i >= 0 {
			name = name[:i]
		}
		lines = append(lines, fmt.Sprintf("%s\t%.0f\t%.0f", name, e.Transfer, e.Body))
	}
	if len(entries) < 4 {
		t.Errorf("only %d requests recorded: %v", len(entries), lines)
	}
	t.Logf("picker page weight: %.0f bytes over %d requests\n%s", total, len(entries), strings.Join(lines, "\n"))
	if total > 60*1024 {
		t.Errorf("picker page weight %.0f bytes, want under 60 KB", total)
	}
	report := fmt.Sprintf("total\t%.0f\nrequest\ttransfer\tbody\n%s\n", total, strings.Join(lines, "\n"))
	if err := os.WriteFile(filepath.Join(artifactsDir(t), "page-weight.tsv"), []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserRedirectURL opens the widget outside an iframe with a
// redirectUrl: after success the browser lands on the app's page with the
// connection id.
func TestBrowserRedirectURL(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	app := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>app</title><p id="got">%s</p>`, r.URL.Query().Get("connectionId"))
	}))
	defer app.Close()
	bank := st.Institution("Sandbox Bank")
	resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"r1","institutionId":%q,"redirectUrl":%q}`, bank.ID, app.URL+"/done?from=banklink"))
	ctx := tab(t, browser)
	do(t, ctx, chromedp.Navigate(resp.WidgetURL))
	login(t, ctx, sandbox.UserGood, sandbox.PasswordGood)
	connectAccounts(t, ctx, "redirect-url")
	do(t, ctx, chromedp.Click(chromedp.ID("finish")), chromedp.WaitVisible(chromedp.ID("got")))
	if got := text(t, ctx, "#got"); got != resp.ID {
		t.Errorf("app page got connectionId %q, want %q", got, resp.ID)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	if !strings.Contains(loc, "from=banklink") {
		t.Errorf("redirect lost the app's own query: %s", loc)
	}
}

// TestBrowserDemoPage is what a newcomer clicks first: the demo app starts
// a connection, embeds the widget (same origin, so the test drives the
// frame through its document) and shows the events and the connection.
func TestBrowserDemoPage(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	ctx := tab(t, browser)
	do(t, ctx, chromedp.EmulateViewport(1100, 900), chromedp.Navigate(st.Srv.URL+"/"), chromedp.Click(chromedp.ID("start")))
	frame := `document.getElementById("widget") && document.getElementById("widget").contentDocument`
	step := func(js string) {
		t.Helper()
		testenv.Eventually(t, 15*time.Second, "demo step "+js, func() bool {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(function(){var d=%s; if(!d) return false; %s})()`, frame, js)))
			return err == nil && ok
		})
	}
	step(`var c=d.getElementById("consent-continue"); if(!c) return false; c.click(); return true`)
	step(`var b=[].find.call(d.querySelectorAll("button.inst"),function(b){return b.querySelector(".name").textContent==="Sandbox Bank"}); if(!b) return false; b.click(); return true`)
	step(`var u=d.getElementById("field-username"); if(!u) return false; u.value="user_good"; d.getElementById("field-password").value="pass_good"; d.querySelector("form button[type=submit]").click(); return true`)
	step(`var b=d.querySelector("form button.primary"); if(!b || d.getElementById("title").textContent!=="Choose accounts") return false; b.click(); return true`)
	step(`return document.getElementById("events").textContent.indexOf("connect_complete")>=0 && document.getElementById("connection").textContent.indexOf("ACTIVE")>=0`)
	shot(t, ctx, "demo-page")
	if got := text(t, ctx, "#connection"); !strings.Contains(got, `"institutionName": "Sandbox Bank"`) {
		t.Errorf("connection shown = %s", got)
	}
}

// TestBrowserReloadResumes: the token leaves the address bar at once,
// yet a reload at every step, and Back then Forward, resume the session
// where the customer was (sessionStorage keeps the token for this tab).
// A second tab opened on the bare widget address has no session.
func TestBrowserReloadResumes(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	resp := st.Start(`{"externalCustomerId":"reload","products":["BALANCES"]}`)
	ctx := tab(t, browser)
	do(t, ctx, chromedp.Navigate(st.Srv.URL+"/connect/sandbox/authorize-nothing"), chromedp.Navigate(resp.WidgetURL))
	waitTitle(t, ctx, "Find your bank")
	href, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	if strings.Contains(href, "connectToken") {
		t.Fatalf("the token is still in the address bar: %s", href)
	}
	reload := func(want string) {
		t.Helper()
		do(t, ctx, chromedp.Reload())
		waitTitle(t, ctx, want)
	}
	reload("Find your bank")
	pick(t, ctx, "Sandbox Bank", "Sandbox Bank")
	waitTitle(t, ctx, "Log in")
	reload("Log in")
	if got := text(t, ctx, ".head h2"); got != "Sandbox Bank" {
		t.Errorf("after a reload the login is for %q", got)
	}
	login(t, ctx, sandbox.UserMFACode, sandbox.PasswordGood)
	waitTitle(t, ctx, "Verify it's you")
	reload("Verify it's you")
	// Leaving for another page and coming back (Back, then Forward).
	do(t, ctx, chromedp.NavigateBack())
	do(t, ctx, chromedp.NavigateForward())
	waitTitle(t, ctx, "Verify it's you")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("answer"), sandbox.MFACodeAnswer), chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	waitTitle(t, ctx, "Choose accounts")
	reload("Choose accounts")
	shot(t, ctx, "reload-resumes-accounts")

	// Another tab has its own sessionStorage: the bare address there is
	// not this customer's session.
	other := tab(t, browser)
	do(t, other, chromedp.Navigate(st.Srv.URL+"/connect"))
	waitTitle(t, other, "Something went wrong")
}

// TestBrowserTwoTabs: the customer opens the same link in two tabs. The
// second is told the session continues in the first and can take it
// over; the first, once taken over, says so too, and its login form no
// longer sends anything to the bank the second tab chose.
func TestBrowserTwoTabs(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	resp := st.Start(`{"externalCustomerId":"two-tabs","products":["BALANCES"]}`)
	first := tab(t, browser)
	do(t, first, chromedp.Navigate(resp.WidgetURL))
	pick(t, first, "Sandbox Bank", "Sandbox Bank")
	waitTitle(t, first, "Log in")

	second := tab(t, browser)
	do(t, second, chromedp.Navigate(resp.WidgetURL))
	waitTitle(t, second, "Continued in another tab")
	shot(t, second, "two-tabs-1-elsewhere")
	do(t, second, chromedp.Click(chromedp.ID("continue-here")))
	waitTitle(t, second, "Log in")
	do(t, second, chromedp.Click(chromedp.ID("back")))
	waitTitle(t, second, "Find your bank")
	pick(t, second, "Sandbox Credit", "Sandbox Credit Union")
	waitTitle(t, second, "Log in")

	// The first tab still shows Sandbox Bank's form; submitting it must
	// not log in at the credit union the second tab chose.
	login(t, first, sandbox.UserGood, sandbox.PasswordGood)
	waitTitle(t, first, "Continued in another tab")
	shot(t, first, "two-tabs-2-taken-over")
	var s map[string]any
	if status, body := st.Call(resp.ConnectToken, "GET", "session", ""); status != 200 {
		t.Fatalf("session: %d %v", status, body)
	} else {
		s = body
	}
	if s["step"] != "CREDENTIALS" || s["institution"].(map[string]any)["name"] != "Sandbox Credit Union" {
		t.Errorf("after the first tab's submit the session is at %v %v", s["step"], s["institution"])
	}
}
