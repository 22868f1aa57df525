package widget_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"banklink/internal/sandbox"
	"banklink/internal/testenv"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// loadCatalogue reads one of the widget's catalogues from the source tree.
func loadCatalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("assets", "i18n", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]string
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// englishFragments are the pieces of English text a French page must not
// show: the literal parts of every English catalogue entry (placeholders
// cut out) of at least 6 characters, unless the French entry has the
// same piece (a brand, "Roth IRA").
func englishFragments(en, fr map[string]string) []string {
	ph := regexp.MustCompile(`\{[A-Za-z0-9]+\}`)
	seen := map[string]bool{}
	var out []string
	for k, v := range en {
		for _, f := range ph.Split(v, -1) {
			f = strings.TrimSpace(f)
			// "Sandbox" is also in the sandbox banks' names, which are
			// data, not the widget's words.
			if len([]rune(f)) < 6 || strings.Contains(fr[k], f) || seen[f] || f == "Sandbox" {
				continue
			}
			seen[f] = true
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// visibleText is what the customer reads or hears on the page: its text,
// its title and the labels of its controls.
const visibleText = `[document.title, document.body.innerText].concat(
  [].map.call(document.querySelectorAll("[aria-label],[placeholder],[title]"), function (e) {
    return [e.getAttribute("aria-label"), e.getAttribute("placeholder"), e.getAttribute("title")].join(" ");
  })).join("\n")`

// checkNoEnglish fails when the page shows a piece of the English
// catalogue, or is not marked as French.
func checkNoEnglish(t *testing.T, ctx context.Context, step string, english []string) {
	t.Helper()
	page, err := chromedp.Run(ctx, chromedp.Evaluate[string](visibleText))
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	for _, f := range english {
		if strings.Contains(page, f) {
			t.Errorf("%s: English %q on the French page:\n%s", step, f, page)
		}
	}
	if lang, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); lang != "fr-CA" {
		t.Errorf("%s: <html lang=%q>, want fr-CA", step, lang)
	}
}

// checkAxe runs axe-core on the page and fails on any serious or critical
// violation. It is a subtest: without axe-core (BANKLINK_TEST_AXE) it
// alone skips.
func checkAxe(t *testing.T, ctx context.Context, step string) {
	t.Helper()
	t.Run("axe "+step, func(t *testing.T) {
		src := testenv.AxeCore(t)
		// DevTools' evaluation is not the page's script: the widget's
		// strict CSP does not stop it.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src+";void 0")); err != nil {
			t.Fatalf("load axe-core: %v", err)
		}
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`axe.run(document, {resultTypes: ["violations"]}).then(function (r) {
  return r.violations.filter(function (v) { return v.impact === "serious" || v.impact === "critical"; }).map(function (v) {
    return {id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(function (n) { return n.html; })};
  });
})`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe.run: %v", err)
		}
		var violations []struct {
			ID, Impact, Help string
			Nodes            []string
		}
		if err := json.Unmarshal(raw, &violations); err != nil {
			t.Fatal(err)
		}
		for _, v := range violations {
			t.Errorf("%s: axe %s (%s): %s at %v", step, v.ID, v.Impact, v.Help, v.Nodes)
		}
	})
}

// TestBrowserFrench runs the whole sandbox flow in Canadian French, at a
// phone's and a desktop's size: chosen by connect/start's language (the
// browser is English) and by the browser's Accept-Language. At every step
// the page shows no English from the catalogue, is marked fr-CA and has
// no serious accessibility violation; reloads keep the language.
func TestBrowserFrench(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	en, fr := loadCatalogue(t, "en"), loadCatalogue(t, "fr-CA")
	english := englishFragments(en, fr)
	if len(english) < 50 {
		t.Fatalf("only %d English fragments to look for", len(english))
	}
	for _, tc := range []struct {
		name string
		// language is connect/start's; acceptLanguage the browser's.
		language, acceptLanguage string
		width, height            int64
		oauth                    bool
	}{
		{name: "language-phone", language: "fr-CA", width: 360, height: 630},
		{name: "language-desktop", language: "fr-CA", width: 1280, height: 800},
		{name: "accept-language-phone", acceptLanguage: "fr-FR,fr;q=0.9,en;q=0.5", width: 360, height: 630, oauth: true},
		{name: "accept-language-desktop", acceptLanguage: "fr-CA,fr;q=0.9", width: 1280, height: 800, oauth: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"externalCustomerId":%q,"products":["BALANCES","TRANSACTIONS"]}`, tc.name)
			if tc.language != "" {
				body = fmt.Sprintf(`{"externalCustomerId":%q,"products":["BALANCES","TRANSACTIONS"],"language":%q}`, tc.name, tc.language)
			}
			resp := st.Start(body)
			ctx := tab(t, browser)
			do(t, ctx, chromedp.EmulateViewport(tc.width, tc.height))
			if tc.acceptLanguage != "" {
				// What a French browser sends (network is enabled on
				// every chromedp target).
				do(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": tc.acceptLanguage}})
					return err
				}))
			}
			name := "fr-" + tc.name
			step := func(n int, label string) {
				t.Helper()
				checkNoEnglish(t, ctx, label, english)
				shot(t, ctx, fmt.Sprintf("%s-%d-%s", name, n, label))
				checkAxe(t, ctx, label)
			}
			reload := func(title string) {
				t.Helper()
				do(t, ctx, chromedp.Reload())
				waitTitle(t, ctx, title)
			}

			do(t, ctx, chromedp.Navigate(resp.WidgetURL))
			waitTitle(t, ctx, fr["pick.title"])
			do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#results li`)))
			step(1, "picker")
			// A search that finds nothing says so in French.
			do(t, ctx, chromedp.SendKeys(chromedp.ID("search"), "zzzzqqq"))
			testenv.Eventually(t, 10*time.Second, "the no-match message", func() bool {
				s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("result-status")))
				return strings.HasPrefix(s, strings.Split(fr["pick.noMatch"], "{")[0])
			})
			step(2, "no-match")
			reload(fr["pick.title"])
			replaceValue(t, ctx, "search", "")

			if tc.oauth {
				pick(t, ctx, "", "Sandbox OAuth Bank")
				waitTitle(t, ctx, fr["login.title"])
				step(3, "redirect")
				do(t, ctx, chromedp.Click(chromedp.CSS(`a.primary`)), chromedp.WaitVisible(chromedp.ID("approve")))
				if got := text(t, ctx, "#approve"); got != fr["authorize.approve"] {
					t.Errorf("the bank's page says %q", got)
				}
				checkNoEnglish(t, ctx, "bank", englishFragments(en, fr))
				shot(t, ctx, name+"-4-bank")
				checkAxe(t, ctx, "bank")
				do(t, ctx, chromedp.Click(chromedp.ID("approve")))
			} else {
				pick(t, ctx, "", "Sandbox Bank")
				waitTitle(t, ctx, fr["login.title"])
				step(3, "login")
				// An empty form, then a wrong password: both in French.
				do(t, ctx, chromedp.Click(chromedp.CSS(`form button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("alert")))
				if got := text(t, ctx, "#alert"); got != "Entrez votre nom d’utilisateur." {
					t.Errorf("empty form: %q", got)
				}
				step(4, "empty")
				login(t, ctx, sandbox.UserGood, "wrong")
				testenv.Eventually(t, 10*time.Second, "the wrong-password message", func() bool {
					s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("alert")))
					return strings.Contains(s, "mot de passe est incorrect")
				})
				step(5, "wrong-password")
				reload(fr["login.title"])
				login(t, ctx, sandbox.UserMFACode, sandbox.PasswordGood)
				waitTitle(t, ctx, fr["mfa.title"])
				// The sandbox bank asks in the customer's language too.
				if got := text(t, ctx, "#mfa-prompt"); got != "Entrez le code à 4 chiffres que nous vous avons envoyé." {
					t.Errorf("MFA prompt %q", got)
				}
				step(6, "mfa")
				reload(fr["mfa.title"])
				do(t, ctx, chromedp.SendKeys(chromedp.ID("answer"), sandbox.MFACodeAnswer), chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
			}
			waitTitle(t, ctx, fr["accounts.title"])
			step(7, "accounts")
			reload(fr["accounts.title"])
			if tc.language != "" {
				// The bare address (the lang parameter lost): the page
				// comes back in the session's language, not the
				// browser's.
				do(t, ctx, chromedp.Navigate(st.Srv.URL+"/connect"))
				waitTitle(t, ctx, fr["accounts.title"])
			}
			do(t, ctx, chromedp.Click(chromedp.CSS(`form button.primary`)))
			waitTitle(t, ctx, fr["done.title"])
			if got := text(t, ctx, "#view h2"); got != fr["done.heading"] {
				t.Errorf("success heading %q", got)
			}
			step(8, "success")
		})
	}
}

// TestBrowserEnglishAxe runs axe-core on each step of the English flow,
// so both languages are checked.
func TestBrowserEnglishAxe(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	resp := st.Start(`{"externalCustomerId":"axe-en","products":["BALANCES"]}`)
	ctx := tab(t, browser)
	do(t, ctx, chromedp.Navigate(resp.WidgetURL))
	waitTitle(t, ctx, "Find your bank")
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#results li`)))
	checkAxe(t, ctx, "en picker")
	// Picked from the first page, without a search whose results could
	// replace the button under the click on a loaded machine.
	pick(t, ctx, "", "Sandbox Bank")
	waitTitle(t, ctx, "Log in")
	checkAxe(t, ctx, "en login")
	login(t, ctx, sandbox.UserMFAQuestion, sandbox.PasswordGood)
	waitTitle(t, ctx, "Verify it's you")
	checkAxe(t, ctx, "en mfa")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("answer"), sandbox.MFAQuestionReply), chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	waitTitle(t, ctx, "Choose accounts")
	checkAxe(t, ctx, "en accounts")
	do(t, ctx, chromedp.Click(chromedp.CSS(`form button.primary`)))
	waitTitle(t, ctx, "Connected")
	checkAxe(t, ctx, "en success")
}

// TestBrowserDemoFrench: the demo app's language choice opens the widget
// in French (through the page's lang parameter).
func TestBrowserDemoFrench(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	fr := loadCatalogue(t, "fr-CA")
	ctx := tab(t, browser)
	do(t, ctx, chromedp.EmulateViewport(1100, 900), chromedp.Navigate(st.Srv.URL+"/"),
		chromedp.SetValue(chromedp.ID("lang"), "fr-CA"), chromedp.Click(chromedp.ID("start")))
	testenv.Eventually(t, 15*time.Second, "the French picker in the demo's frame", func() bool {
		title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function(){var f=document.getElementById("widget"); var d=f&&f.contentDocument; var h=d&&d.getElementById("title"); return h && d.getElementById("app").getAttribute("aria-busy")==="false" ? h.textContent : ""})()`))
		if err == nil && title == fr["consent.title"] {
			// The consent screen comes first: share what is asked.
			chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("widget").contentDocument.getElementById("consent-continue").click(), true`))
		}
		return err == nil && title == fr["pick.title"]
	})
	shot(t, ctx, "demo-page-fr")
}
