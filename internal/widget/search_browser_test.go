package widget_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"banklink/internal/testenv"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// listObserver records, in the page, when the picker's first result
// appears: window.__listAt, in ms since navigation start.
const listObserver = `window.__listAt = 0;
new MutationObserver(function (m, o) {
  if (document.querySelector("#results li")) { window.__listAt = performance.now(); o.disconnect(); }
}).observe(document, {childList: true, subtree: true});`

// TestBrowserTimeToList measures how long a cold widget takes to show the
// picker's list, on loopback and with a phone-like 150 ms round trip
// emulated, and the bytes it loads (uncompressed and gzip -9). It asserts
// no timing (the machine is shared); the numbers go to
// test-artifacts/widget/time-to-list.tsv and docs/benchmarks.md.
func TestBrowserTimeToList(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	var report []string
	for _, latency := range []float64{0, 150} {
		var times []float64
		var requests int
		for run := range 7 {
			resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"ttl-%v-%d"}`, latency, run))
			// Past the consent screen already: this measures the picker.
			st.Call(resp.ConnectToken, "POST", "consent", `{}`)
			ctx := tab(t, browser)
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
				MatchedNetworkConditions: []*network.Conditions{{Latency: latency, DownloadThroughput: -1, UploadThroughput: -1}},
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: listObserver}); err != nil {
				t.Fatal(err)
			}
			do(t, ctx, chromedp.Navigate(resp.WidgetURL), chromedp.WaitVisible(chromedp.CSS(`#results li`)))
			at, err := chromedp.Run(ctx, chromedp.Poll[float64](`window.__listAt || false`, chromedp.WithPollingTimeout(10*time.Second)))
			if err != nil {
				t.Fatal(err)
			}
			n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`performance.getEntriesByType("resource").filter(function(e){return e.startTime < window.__listAt}).length + 1`))
			times = append(times, at)
			requests = n
			if run == 0 {
				tl, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource")).map(function(e){return e.name.replace(/\?.*/,"").replace(location.origin,"")+" "+Math.round(e.startTime)+"-"+Math.round(e.responseEnd)}).join("; ")`))
				report = append(report, fmt.Sprintf("latency %v ms timeline (start-end ms): %s", latency, tl))
			}
		}
		slices.Sort(times)
		report = append(report, fmt.Sprintf("latency %v ms\trequests before the list %d\ttime to list (median of 7) %.0f ms\truns %v", latency, requests, times[3], times))
	}

	// Bytes, cold: every response the picker needs, as served, and gzip -9.
	resp := st.Start(`{"externalCustomerId":"ttl-bytes"}`)
	st.Call(resp.ConnectToken, "POST", "consent", `{}`)
	ctx := tab(t, browser)
	do(t, ctx, chromedp.Navigate(resp.WidgetURL), chromedp.WaitVisible(chromedp.CSS(`#results li`)))
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`performance.getEntriesByType("resource").map(function(e){return e.name})`))
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	if err := json.Unmarshal(raw, &urls); err != nil {
		t.Fatal(err)
	}
	urls = append([]string{resp.WidgetURL}, urls...)
	var plain, packed int
	for _, u := range urls {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+resp.ConnectToken)
		req.Header.Set("Accept-Encoding", "identity")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		plain += len(body)
		packed += gz.Len()
		name := strings.TrimPrefix(u, st.Srv.URL)
		if i := strings.IndexAny(name, "?"); i >= 0 {
			name = name[:i]
		}
		report = append(report, fmt.Sprintf("%s\t%d\tgzip -9 %d", name, len(body), gz.Len()))
	}
	report = append(report, fmt.Sprintf("total bodies\t%d\tgzip -9 %d", plain, packed))
	t.Logf("\n%s", strings.Join(report, "\n"))
	if err := os.WriteFile(filepath.Join(artifactsDir(t), "time-to-list.tsv"), []byte(strings.Join(report, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// searchSizes are the viewports the picker is tested at: a phone and a
// desktop browser.
var searchSizes = []struct {
	name string
	w, h int64
}{{"phone", 360, 630}, {"desktop", 1280, 800}}

// results returns the names the picker lists.
func results(t *testing.T, ctx context.Context) []string {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`[].map.call(document.querySelectorAll("#results .name"), function (n) { return n.textContent })`))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	json.Unmarshal(raw, &out)
	return out
}

// searchFor types q into the picker's empty search box and waits until
// the list or the status says the search answered (cond, in the page).
func searchFor(t *testing.T, ctx context.Context, q, cond string) {
	t.Helper()
	replaceValue(t, ctx, "search", q)
	testenv.Eventually(t, 10*time.Second, "the picker's answer to "+q, func() bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		return err == nil && ok
	})
}

func firstIs(name string) string {
	return fmt.Sprintf(`(function(){var n=document.querySelector("#results li:first-child .name"); return !!n && n.textContent === %q})()`, name)
}

func statusHas(s string) string {
	return fmt.Sprintf(`document.getElementById("result-status").textContent.indexOf(%q) >= 0`, s)
}

const notFoundShown = `(function(){var n=document.getElementById("not-found"); return !!n && n.offsetParent !== null})()`

// TestBrowserSearch: typo tolerance, routing numbers (a valid one finds
// its bank, a mistyped one says so), the count announced without the
// list being a live region, logos served by banklink with a monogram
// for those without one (or whose logo fails), at phone and desktop
// sizes, with screenshots.
func TestBrowserSearch(t *testing.T) {
	cdn := newLogoCDN(t)
	st := newLogoStack(t, cdn)
	browser := newBrowser(t)
	for _, size := range searchSizes {
		t.Run(size.name, func(t *testing.T) {
			shotName := func(s string) string { return "search-" + size.name + "-" + s }
			resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"search-%s","products":["BALANCES"]}`, size.name))
			ctx := tab(t, browser)
			do(t, ctx, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(resp.WidgetURL))
			waitTitle(t, ctx, "Find your bank")
			do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#results li`)))
			shot(t, ctx, shotName("1-picker"))

			// The list is not read out; the count is, politely.
			live, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("results").getAttribute("aria-live") || "") + "|" + document.getElementById("result-count").getAttribute("role")`))
			if live != "|status" {
				t.Errorf("aria-live of the list | role of the count = %q, want no live list and a status count", live)
			}
			// Monograms differ from bank to bank, and their initials are
			// readable on their colour (4.5:1).
			raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`[].map.call(document.querySelectorAll("#results .avatar"), function (a) { var s = getComputedStyle(a); return [s.backgroundColor, s.color] })`))
			if err != nil {
				t.Fatal(err)
			}
			var colours [][2]string
			json.Unmarshal(raw, &colours)
			distinct := map[string]bool{}
			for _, c := range colours {
				distinct[c[0]] = true
				if r := contrast(c[0], c[1]); r < 4.5 {
					t.Errorf("monogram %s on %s: contrast %.2f, want 4.5 or more", c[1], c[0], r)
				}
			}
			if len(colours) < 10 || len(distinct) < 4 {
				t.Errorf("%d monograms in %d colours: %v", len(colours), len(distinct), colours)
			}

			// A typo.
			searchFor(t, ctx, "fidelty", firstIs("Fidelity Investments"))
			testenv.Eventually(t, 10*time.Second, "the count announced", func() bool {
				s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("result-count").textContent`))
				return strings.HasSuffix(s, "result") || strings.HasSuffix(s, "results")
			})
			shot(t, ctx, shotName("2-typo"))

			// A routing number, as printed on a check.
			searchFor(t, ctx, "021000021", firstIs("Chase"))
			if got := results(t, ctx); len(got) != 1 {
				t.Errorf("routing number 021000021 lists %v, want Chase alone", got)
			}
			shot(t, ctx, shotName("3-routing-number"))
			// One digit wrong: the checksum fails, and the page says so.
			searchFor(t, ctx, "021000022", statusHas("valid routing number")+" && "+notFoundShown)
			if got := text(t, ctx, "#result-status"); !strings.Contains(got, "not a valid routing number") {
				t.Errorf("status for a mistyped routing number = %q", got)
			}
			shot(t, ctx, shotName("4-routing-invalid"))

			// Logos: served by banklink; a monogram for the rest.
			searchFor(t, ctx, "logo", `document.querySelectorAll("#results li").length >= 6 && !!document.querySelector("#results .avatar.has-logo")`)
			testenv.Eventually(t, 10*time.Second, "the logos loaded or dropped", func() bool {
				n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`[].filter.call(document.querySelectorAll("#results .avatar img"), function (i) { return !i.complete }).length`))
				return n == 0
			})
			raw, err = chromedp.Run(ctx, chromedp.Evaluate[[]byte](`[].map.call(document.querySelectorAll("#results button.inst"), function (b) {
				var a = b.querySelector(".avatar"), img = a.querySelector("img");
				return {name: b.querySelector(".name").textContent, logo: a.classList.contains("has-logo"), img: img ? img.getAttribute("src") : "",
					width: img ? img.naturalWidth : 0, bg: getComputedStyle(a).backgroundColor, mono: a.querySelector(".mono").textContent} })`))
			if err != nil {
				t.Fatal(err)
			}
			var avatars []struct {
				Name, Img, Bg, Mono string
				Logo                bool
				Width               int
			}
			json.Unmarshal(raw, &avatars)
			byName := map[string]int{}
			for i, a := range avatars {
				byName[a.Name] = i
			}
			for _, tc := range []struct {
				name string
				logo bool
				bg   string // the monogram's colour, under a logo or instead of one
			}{
				{"Logo Harbor Bank", true, "rgb(17, 122, 202)"},
				{"Logo Maple Bank", true, ""},
				{"Logo Platypus Bank", true, "rgb(0, 73, 102)"},
				{"Logo Broken Bank", false, "rgb(200, 16, 46)"},
				{"Logo Script Bank", false, ""},
				{"Logo Plain Bank", false, ""},
			} {
				i, ok := byName[tc.name]
				if !ok {
					t.Errorf("%s not listed (%v)", tc.name, avatars)
					continue
				}
				a := avatars[i]
				if a.Logo != tc.logo || tc.logo && (a.Width == 0 || !strings.HasPrefix(a.Img, "/connect/logo/")) || !tc.logo && a.Img != "" {
					t.Errorf("%s: logo shown %v (img %q, width %d), want %v", tc.name, a.Logo, a.Img, a.Width, tc.logo)
				}
				if tc.bg != "" && a.Bg != tc.bg || a.Mono == "" {
					t.Errorf("%s: monogram %q on %s, want on %s", tc.name, a.Mono, a.Bg, tc.bg)
				}
			}
			shot(t, ctx, shotName("5-logos"))
			// Nothing came from another host: not the CDN, not anyone.
			raw, _ = chromedp.Run(ctx, chromedp.Evaluate[[]byte](`performance.getEntriesByType("resource").map(function (e) { return e.name })`))
			var urls []string
			json.Unmarshal(raw, &urls)
			for _, u := range urls {
				if !strings.HasPrefix(u, st.Srv.URL+"/") {
					t.Errorf("the page loaded %s", u)
				}
			}
		})
	}
}

// contrast is the WCAG contrast ratio of two CSS rgb() colours.
func contrast(a, b string) float64 {
	lum := func(css string) float64 {
		var r, g, bl float64
		fmt.Sscanf(css, "rgb(%g, %g, %g)", &r, &g, &bl)
		lin := func(v float64) float64 {
			v /= 255
			if v <= 0.03928 {
				return v / 12.92
			}
			return math.Pow((v+0.055)/1.055, 2.4)
		}
		return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(bl)
	}
	la, lb := lum(a), lum(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// TestBrowserCantFindBank: a search that finds nothing offers tips and
// "My bank isn't listed", which closes the widget with an exit event
// telling the app why (INSTITUTION_NOT_FOUND, with the search text); the
// widget is embedded in an app page on another origin, at phone and
// desktop sizes.
func TestBrowserCantFindBank(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	for _, size := range searchSizes {
		t.Run(size.name, func(t *testing.T) {
			resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"cant-find-%s"}`, size.name))
			parent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `<!doctype html><title>app</title><body style="margin:0"><iframe id="w" src=%q style="border:0;width:100vw;height:100vh"></iframe>
<script>window.events=[];addEventListener("message",function(e){window.events.push({origin:e.origin,data:e.data})});</script>`, resp.WidgetURL)
			}))
			defer parent.Close()
			u, _ := url.Parse(parent.URL)
			ctx := tab(t, browser)
			do(t, ctx, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate("http://localhost:"+u.Port()))
			var frame context.Context
			testenv.Eventually(t, 5*time.Second, "an iframe target for the widget", func() bool {
				infos, err := chromedp.Targets(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, info := range infos {
					if info.Type == "iframe" && strings.HasPrefix(info.URL, st.Srv.URL) && frame == nil {
						f, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
						t.Cleanup(cancel)
						frame = f
					}
				}
				return frame != nil
			})
			waitTitle(t, frame, "Find your bank")
			do(t, frame, chromedp.WaitVisible(chromedp.CSS(`#results li`)))
			searchFor(t, frame, "Bank of Nowhere Special", statusHas("No results")+" && "+notFoundShown)
			if got := text(t, frame, "#result-status"); !strings.Contains(got, "No results for") {
				t.Errorf("status = %q", got)
			}
			if got := text(t, frame, "#not-found"); !strings.Contains(got, "routing number") || !strings.Contains(got, "spelling") {
				t.Errorf("the can't-find tips = %q", got)
			}
			testenv.Eventually(t, 10*time.Second, "the empty result announced", func() bool {
				s, _ := chromedp.Run(frame, chromedp.Evaluate[string](`document.getElementById("result-count").textContent`))
				return strings.Contains(s, "No results")
			})
			shot(t, ctx, "cant-find-"+size.name+"-1-empty")
			do(t, frame, chromedp.Click(chromedp.ID("not-listed")))
			raw, err := chromedp.Run(ctx, chromedp.Poll[[]byte](`window.events.some(function(e){return e.data.eventName==="exit"}) && window.events`, chromedp.WithPollingTimeout(10*time.Second)))
			if err != nil {
				t.Fatalf("no exit event: %v", err)
			}
			var events []struct {
				Origin string
				Data   struct {
					EventName string
					Metadata  map[string]any
				}
			}
			json.Unmarshal(raw, &events)
			var names []string
			for _, e := range events {
				names = append(names, e.Data.EventName)
				if e.Data.EventName != "exit" {
					continue
				}
				m := e.Data.Metadata
				if e.Origin != st.Srv.URL || m["status"] != "ABANDONED" || m["step"] != "PICK" || m["reason"] != "INSTITUTION_NOT_FOUND" ||
					m["searchString"] != "Bank of Nowhere Special" {
					t.Errorf("exit = %v from %s", m, e.Origin)
				}
			}
			if !slices.Contains(names, "init") {
				t.Errorf("events %v", names)
			}
			// The activity log says so too (the page's keepalive call).
			testenv.Eventually(t, 10*time.Second, "the exit in the activity log", func() bool {
				for _, a := range activity(st, "connectionId="+resp.ID) {
					if a.Reason != nil && *a.Reason == "INSTITUTION_NOT_FOUND" && a.SearchString != nil && *a.SearchString == "Bank of Nowhere Special" {
						return true
					}
				}
				return false
			})
		})
	}
}

// TestBrowserPlainWords: the words the issue called jargon are gone:
// no "Investments's", accounts say their kind and "ending in" rather
// than "roth ••7897", OAuth banks are tagged in plain words.
func TestBrowserPlainWords(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	resp := st.Start(`{"externalCustomerId":"plain-words","products":["BALANCES","INVESTMENT_HOLDINGS"],"institutionSearchString":"Fidelity"}`)
	ctx := tab(t, browser)
	do(t, ctx, chromedp.Navigate(resp.WidgetURL))
	waitTitle(t, ctx, "Find your bank")
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#results li`)))
	if got := text(t, ctx, "#results li:first-child"); !strings.Contains(got, "Fidelity Investments") || !strings.Contains(got, "Opens bank site") {
		t.Errorf("first row = %q", got)
	}
	pick(t, ctx, "", "Fidelity Investments")
	waitTitle(t, ctx, "Log in")
	if got := text(t, ctx, "#view"); strings.Contains(got, "Investments's") || !strings.Contains(got, "website of Fidelity Investments") {
		t.Errorf("login page = %q", got)
	}
	shot(t, ctx, "plain-words-1-redirect")
	do(t, ctx, chromedp.Click(chromedp.CSS(`a.primary`)), chromedp.WaitVisible(chromedp.ID("approve")), chromedp.Click(chromedp.ID("approve")))
	waitTitle(t, ctx, "Choose accounts")
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`[].map.call(document.querySelectorAll(".acct .sub"), function (s) { return s.textContent })`))
	if err != nil {
		t.Fatal(err)
	}
	var subs []string
	json.Unmarshal(raw, &subs)
	if len(subs) == 0 {
		t.Fatal("no accounts")
	}
	for _, s := range subs {
		if strings.Contains(s, "\u2022") || !strings.Contains(strings.ToLower(s), "ending in ") || s != strings.TrimSpace(s) {
			t.Errorf("account line %q", s)
		}
	}
	shot(t, ctx, "plain-words-2-accounts")
}
