package widget_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"banklink"
	"banklink/internal/sandbox"
	"banklink/internal/testenv"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// sizes are the viewports the consent tests run at: a phone and a desktop.
var sizes = []struct {
	name          string
	width, height int64
}{{"phone", 375, 740}, {"desktop", 1280, 800}}

// emulateMedia sets (or, with no features, clears) emulated CSS media
// features such as prefers-color-scheme.
func emulateMedia(features ...*emulation.MediaFeature) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features})
		return err
	})
}

func evalBool(t *testing.T, ctx context.Context, js string) bool {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return ok
}

func evalString(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// logoServer serves the app's logo over https (the throwaway certificate
// is accepted by the tests' Chromium).
func logoServer(t *testing.T) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" rx="10" fill="#0f766e"/></svg>`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBrowserConsent is a customer's way through the consent screen at a
// phone's and a desktop's size: it names the app, shows its logo and
// links its privacy policy; a declined optional product survives a
// reload on the screen and after it, and the connection completes
// without it; the account choice says what is shared above the accounts
// and ticks only the kinds the products are about.
func TestBrowserConsent(t *testing.T) {
	st := newStack(t)
	logo := logoServer(t)
	if err := st.Store.SaveAppProfile(t.Context(), st.Scope, &banklink.AppProfile{DisplayName: "Acme Budget",
		LogoURL: logo.URL + "/logo.svg", PrivacyPolicyURL: "https://acme.example/privacy", BrandColor: "#0f766e"}); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	for _, size := range sizes {
		t.Run(size.name, func(t *testing.T) {
			resp := st.Start(`{"externalCustomerId":"consent-` + size.name + `","products":["BALANCES","TRANSACTIONS"],"optionalProducts":["OWNERS","IDENTIFIERS"]}`)
			ctx := tab(t, browser)
			name := "consent-" + size.name
			do(t, ctx, chromedp.EmulateViewport(size.width, size.height), chromedp.Navigate(resp.WidgetURL))
			waitTitle(t, ctx, consentTitle)
			if got := text(t, ctx, "#consent-heading"); got != "Acme Budget uses banklink to connect your accounts" {
				t.Errorf("heading = %q", got)
			}
			if got := evalString(t, ctx, `document.getElementById("privacy").href`); got != "https://acme.example/privacy" {
				t.Errorf("privacy link = %q", got)
			}
			// The logo loaded: the CSP lets its origin in, and only it.
			testLogo := `(function(){var i=document.querySelector("img.app-logo");return !!i&&i.complete&&i.naturalWidth>0})()`
			if !pollBool(ctx, testLogo) {
				t.Error("the app's logo did not load")
			}
			if got := text(t, ctx, "#consent-required"); !strings.Contains(got, "Account balances") || !strings.Contains(got, "Transactions") || strings.Contains(got, "routing") {
				t.Errorf("required products = %q", got)
			}
			if got := text(t, ctx, "#consent-optional"); !strings.Contains(got, "Account and routing numbers") || !strings.Contains(got, "Account holder names") {
				t.Errorf("optional products = %q", got)
			}
			shot(t, ctx, name+"-1-consent")
			checkAxe(t, ctx, "consent")

			// Decline the owners, then reload before continuing: the
			// screen comes back as the customer left it.
			do(t, ctx, chromedp.Click(chromedp.ID("opt-OWNERS")))
			do(t, ctx, chromedp.Reload())
			waitTitle(t, ctx, consentTitle)
			if evalBool(t, ctx, `document.getElementById("opt-OWNERS").checked`) || !evalBool(t, ctx, `document.getElementById("opt-IDENTIFIERS").checked`) {
				t.Fatal("a reload on the consent screen lost the customer's choice")
			}
			do(t, ctx, chromedp.Click(chromedp.ID("consent-continue")))
			waitTitle(t, ctx, "Find your bank")
			// A reload after it: the server holds the answer, the consent
			// screen does not come back.
			do(t, ctx, chromedp.Reload())
			waitTitle(t, ctx, "Find your bank")
			pick(t, ctx, "Sandbox Bank", "Sandbox Bank")
			login(t, ctx, sandbox.UserGood, sandbox.PasswordGood)
			waitTitle(t, ctx, "Choose accounts")

			// "You're sharing" comes before the accounts and lists only
			// what the customer agreed to.
			if !evalBool(t, ctx, `!!(document.getElementById("sharing").compareDocumentPosition(document.querySelector("input[name=account]")) & Node.DOCUMENT_POSITION_FOLLOWING)`) {
				t.Error(`"You're sharing" is not above the accounts`)
			}
			sharing := text(t, ctx, "#sharing")
			if !strings.Contains(sharing, "You're sharing with Acme Budget") || !strings.Contains(sharing, "Account and routing numbers") || strings.Contains(sharing, "names") {
				t.Errorf("sharing = %q", sharing)
			}
			raw := evalString(t, ctx, `JSON.stringify([].map.call(document.querySelectorAll("input[name=account]"),function(i){return [i.getAttribute("data-type"),i.checked]}))`)
			var ticks [][2]any
			if err := json.Unmarshal([]byte(raw), &ticks); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, tk := range ticks {
				typ, checked := tk[0].(string), tk[1].(bool)
				seen[typ] = true
				if want := typ == "DEPOSITORY" || typ == "CREDIT"; checked != want {
					t.Errorf("a %s account is ticked %v, want %v", typ, checked, want)
				}
			}
			if !seen["LOAN"] || !seen["DEPOSITORY"] {
				t.Errorf("account kinds offered: %v", seen)
			}
			connectAccounts(t, ctx, name)

			var conn struct {
				OptionalProducts []string `json:"optionalProducts"`
			}
			st.Runner.Wait()
			st.Get("/bank-linking/connections/"+resp.ID, &conn)
			if strings.Join(conn.OptionalProducts, ",") != "IDENTIFIERS" {
				t.Errorf("connection optional products %v, want the declined OWNERS gone", conn.OptionalProducts)
			}
			var accounts struct {
				FinancialAccounts []struct {
					Type   string `json:"type"`
					Owners []any  `json:"owners"`
				} `json:"financialAccounts"`
			}
			st.Get("/bank-linking/accounts?limit=100&connectionId="+resp.ID, &accounts)
			if len(accounts.FinancialAccounts) == 0 {
				t.Error("no accounts aggregated")
			}
			for _, a := range accounts.FinancialAccounts {
				if a.Type == "LOAN" {
					t.Error("the unticked loan was linked")
				}
				if a.Owners != nil {
					t.Errorf("owners stored for a %s account though the customer declined them", a.Type)
				}
			}
		})
	}
}

// pollBool waits up to 10 seconds for js to be true.
func pollBool(ctx context.Context, js string) bool {
	return testenv.Poll(10*time.Second, func() bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		return err == nil && ok
	})
}

// contrastJS computes, in the page, WCAG 2 contrast ratios of what is on
// screen: every visible element's own text against the background it
// sits on (semi-transparent backgrounds composed over their ancestors'),
// and the borders of inputs and fieldsets and the focus ring of a
// focused input against theirs. It returns the failures.
const contrastJS = `(function(){
function parse(c){var m=c.match(/rgba?\(([^)]+)\)/);if(!m)return null;var p=m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);return {r:p[0],g:p[1],b:p[2],a:p.length>3?p[3]:1}}
function over(top,bot){var a=top.a+bot.a*(1-top.a);if(!a)return {r:0,g:0,b:0,a:0};return {r:(top.r*top.a+bot.r*bot.a*(1-top.a))/a,g:(top.g*top.a+bot.g*bot.a*(1-top.a))/a,b:(top.b*top.a+bot.b*bot.a*(1-top.a))/a,a:a}}
function bg(el){var layers=[];for(var n=el;n&&n.nodeType===1;n=n.parentElement){var s=getComputedStyle(n);var c=parse(s.backgroundColor);if(c&&c.a>0)layers.push(c);
  var sh=s.boxShadow.match(/rgba?\([^)]+\)[^,]*inset/);if(sh)layers.push(parse(sh[0]));if(c&&c.a>=1)break}
  var out={r:255,g:255,b:255,a:1};for(var i=layers.length-1;i>=0;i--)out=over(layers[i],out);return out}
function lum(c){return [c.r,c.g,c.b].map(function(v){v/=255;return v<=0.04045?v/12.92:Math.pow((v+0.055)/1.055,2.4)}).reduce(function(s,v,i){return s+v*[0.2126,0.7152,0.0722][i]},0)}
function ratio(a,b){var x=lum(a),y=lum(b);return (Math.max(x,y)+0.05)/(Math.min(x,y)+0.05)}
function visible(el){var r=el.getBoundingClientRect();var s=getComputedStyle(el);return r.width>0&&r.height>0&&s.visibility!=="hidden"&&s.display!=="none"}
function label(el){return el.tagName.toLowerCase()+(el.id?"#"+el.id:"")+(el.className&&el.className.baseVal===undefined?"."+String(el.className).split(" ").join("."):"")}
var fails=[],checked=0;
document.querySelectorAll("body *").forEach(function(el){
  if(!visible(el)||el.closest("[aria-hidden=true]"))return;
  var own=[].some.call(el.childNodes,function(n){return n.nodeType===3&&n.textContent.trim()});
  var s=getComputedStyle(el);
  if(own){checked++;var r=ratio(over(parse(s.color),bg(el)),bg(el));if(r<4.5)fails.push("text "+label(el)+" "+r.toFixed(2)+" ("+el.textContent.trim().slice(0,30)+")")}
  if(el.matches("input[type=text],input[type=password],input[type=search],fieldset")){checked++;var bgc=el.parentElement?bg(el.parentElement):bg(el);var r2=ratio(parse(s.borderTopColor),bgc);if(r2<3)fails.push("border "+label(el)+" "+r2.toFixed(2))}
});
var inp=document.querySelector("input[type=text],input[type=password],input[type=search]");
if(inp){inp.focus();var fs=getComputedStyle(inp);checked++;var r3=ratio(parse(fs.outlineColor),bg(inp.parentElement));if(fs.outlineStyle==="none"||r3<3)fails.push("focus ring "+fs.outlineStyle+" "+r3.toFixed(2));inp.blur()}
return JSON.stringify({checked:checked,fails:fails})})()`

// checkContrast runs contrastJS and fails the test on any failure.
func checkContrast(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	var res struct {
		Checked int
		Fails   []string
	}
	if err := json.Unmarshal([]byte(evalString(t, ctx, contrastJS)), &res); err != nil {
		t.Fatal(err)
	}
	if res.Checked < 5 {
		t.Errorf("%s: only %d elements checked", where, res.Checked)
	}
	for _, f := range res.Fails {
		t.Errorf("%s: contrast too low: %s", where, f)
	}
}

// TestBrowserThemeContrast: in the light and the dark scheme (emulated
// prefers-color-scheme), with a pale brand colour that needs dark text,
// every text on the consent screen, the picker, the login form and the
// account choice contrasts at least 4.5:1 with its background, and the
// input borders and the focus ring at least 3:1.
func TestBrowserThemeContrast(t *testing.T) {
	st := newStack(t)
	if err := st.Store.SaveAppProfile(t.Context(), st.Scope, &banklink.AppProfile{DisplayName: "Sunny", BrandColor: "#fde047"}); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	for _, scheme := range []string{"light", "dark"} {
		for _, size := range sizes {
			t.Run(scheme+"-"+size.name, func(t *testing.T) {
				resp := st.Start(`{"externalCustomerId":"theme","products":["BALANCES"],"optionalProducts":["OWNERS"]}`)
				ctx := tab(t, browser)
				name := "theme-" + scheme + "-" + size.name
				do(t, ctx, chromedp.EmulateViewport(size.width, size.height),
					emulateMedia(&emulation.MediaFeature{Name: "prefers-color-scheme", Value: scheme}),
					chromedp.Navigate(resp.WidgetURL))
				waitTitle(t, ctx, consentTitle)
				wantDark := scheme == "dark"
				if got := evalBool(t, ctx, `matchMedia("(prefers-color-scheme: dark)").matches`); got != wantDark {
					t.Fatalf("dark scheme emulated: %v", got)
				}
				// The brand colour is on the button, with black text on yellow.
				if got := evalString(t, ctx, `getComputedStyle(document.getElementById("consent-continue")).backgroundColor+" "+getComputedStyle(document.getElementById("consent-continue")).color`); got != "rgb(253, 224, 71) rgb(0, 0, 0)" {
					t.Errorf("brand button = %s", got)
				}
				bodyBG := evalString(t, ctx, `getComputedStyle(document.body).backgroundColor`)
				if (bodyBG != "rgb(255, 255, 255)") != wantDark {
					t.Errorf("page background %s in the %s scheme", bodyBG, scheme)
				}
				checkContrast(t, ctx, "consent")
				checkAxe(t, ctx, "consent "+scheme)
				shot(t, ctx, name+"-1-consent")
				do(t, ctx, chromedp.Click(chromedp.ID("consent-continue")))
				waitTitle(t, ctx, "Find your bank")
				do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#results li`)))
				checkContrast(t, ctx, "picker")
				shot(t, ctx, name+"-2-picker")
				pick(t, ctx, "", "Sandbox Bank")
				waitTitle(t, ctx, "Log in")
				checkContrast(t, ctx, "login")
				shot(t, ctx, name+"-3-login")
				login(t, ctx, sandbox.UserGood, sandbox.PasswordGood)
				waitTitle(t, ctx, "Choose accounts")
				checkContrast(t, ctx, "accounts")
				shot(t, ctx, name+"-4-accounts")
			})
		}
	}
}

// TestBrowserReducedMotion: the loading spinner turns under the default
// motion preference and stands still under prefers-reduced-motion.
func TestBrowserReducedMotion(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	resp := st.Start(`{"externalCustomerId":"motion"}`)
	spinner := `(function(){var d=document.createElement("div");d.className="spinner";document.body.appendChild(d);var n=getComputedStyle(d).animationName;d.remove();return n})()`
	for _, tc := range []struct{ motion, want string }{{"no-preference", "spin"}, {"reduce", "none"}} {
		t.Run(tc.motion, func(t *testing.T) {
			ctx := tab(t, browser)
			do(t, ctx, emulateMedia(&emulation.MediaFeature{Name: "prefers-reduced-motion", Value: tc.motion}), chromedp.Navigate(resp.WidgetURL))
			waitTitle(t, ctx, consentTitle)
			if got := evalString(t, ctx, spinner); got != tc.want {
				t.Errorf("spinner animation under %s = %q, want %q", tc.motion, got, tc.want)
			}
		})
	}
}

// gatedLogin is the sandbox login, held until the test opens the gate:
// the widget's state while a login is in flight can be looked at.
type gatedLogin struct {
	*sandbox.Provider
	gate chan struct{}
	once sync.Once
}

func (g *gatedLogin) SubmitCredentials(ctx context.Context, req banklink.LoginRequest) (*banklink.LoginStep, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Provider.SubmitCredentials(ctx, req)
}

func (g *gatedLogin) open() { g.once.Do(func() { close(g.gate) }) }

// TestBrowserConnecting: while the login is with the provider the fields
// are locked and the button says "Connecting…"; the answer moves on.
func TestBrowserConnecting(t *testing.T) {
	gl := &gatedLogin{Provider: &sandbox.Provider{}, gate: make(chan struct{})}
	t.Cleanup(gl.open)
	st := newStackWithProviders(t, []string{sandbox.ProviderType}, map[string]banklink.InteractiveLogin{sandbox.ProviderType: gl}, nil)
	browser := newBrowser(t)
	bank := st.Institution("Sandbox Bank")
	resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"busy","products":["BALANCES"],"institutionId":%q}`, bank.ID))
	ctx := tab(t, browser)
	do(t, ctx, chromedp.EmulateViewport(375, 740), chromedp.Navigate(resp.WidgetURL))
	login(t, ctx, sandbox.UserGood, sandbox.PasswordGood)
	busy := `(function(){var b=document.querySelector("form button[type=submit]");return b.textContent==="Connecting\u2026"&&b.disabled&&document.getElementById("field-username").disabled&&document.getElementById("field-password").disabled})()`
	if !pollBool(ctx, busy) {
		t.Fatalf("no Connecting state: %s", evalString(t, ctx, `document.querySelector("form").outerHTML`))
	}
	shot(t, ctx, "connecting")
	gl.open()
	waitTitle(t, ctx, "Choose accounts")
}

// TestBrowserConsentFrench: the consent screen in Canadian French, with
// no serious accessibility violation.
func TestBrowserConsentFrench(t *testing.T) {
	st := newStack(t)
	if err := st.Store.SaveAppProfile(t.Context(), st.Scope, &banklink.AppProfile{DisplayName: "Acme Budget", PrivacyPolicyURL: "https://acme.example/privacy"}); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	resp := st.Start(`{"externalCustomerId":"consent-fr","language":"fr-CA","products":["BALANCES"],"optionalProducts":["OWNERS"]}`)
	ctx := tab(t, browser)
	do(t, ctx, chromedp.EmulateViewport(375, 740), chromedp.Navigate(resp.WidgetURL))
	// Not waitTitle: it would accept the consent screen on the way.
	if !pollBool(ctx, `document.getElementById("title").textContent === "Connectez vos comptes" && document.getElementById("app").getAttribute("aria-busy") === "false"`) {
		t.Fatalf("no French consent screen: %s", evalString(t, ctx, `document.getElementById("title").textContent`))
	}
	if got := evalString(t, ctx, `document.getElementById("consent-heading").textContent`); got != "Acme Budget utilise banklink pour connecter vos comptes" {
		t.Errorf("heading = %q", got)
	}
	if got := evalString(t, ctx, `document.getElementById("privacy").textContent`); got != "Politique de confidentialité de Acme Budget" {
		t.Errorf("privacy link = %q", got)
	}
	checkAxe(t, ctx, "consent fr")
	shot(t, ctx, "consent-fr-1-consent")
	do(t, ctx, chromedp.Click(chromedp.ID("consent-continue")))
	waitTitle(t, ctx, "Trouvez votre institution financière")
}
